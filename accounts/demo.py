"""The organisations part of the demo data: authorities, LOS trees, local administrators and
caseworkers with different role profiles. Idempotent; writes go through the services with the
demo operator as actor, so they are audited like any other change."""

from dataclasses import dataclass
from typing import Any

from accounts import services
from accounts.models import Authority, Grant, LosUnit, RoleProfile, User

# Employees log in with MitID Erhverv (locally: the demo identities of the local OpenID
# provider, portal.demo_identities), never with a password.
LOGIN_WITH = "MitID Erhverv"


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    children: tuple["DemoUnit", ...] = ()


@dataclass(frozen=True)
class DemoEmployee:
    username: str
    first_name: str
    last_name: str
    role: str
    grants: tuple[tuple[str, str], ...]  # (role profile code, unit code)


@dataclass(frozen=True)
class DemoAuthority:
    code: str
    name: str
    kind: str
    cvr: str
    tree: DemoUnit
    employees: tuple[DemoEmployee, ...]


def _unit(actor: User, authority: Authority, parent: LosUnit | None, spec: DemoUnit) -> None:
    unit = LosUnit.objects.filter(authority=authority, code=spec.code).first()
    if unit is None:
        unit = services.los_unit_create(
            actor=actor, authority=authority, parent=parent, code=spec.code, name=spec.name
        )
    for child in spec.children:
        _unit(actor, authority, unit, child)


def _employee(actor: User, authority: Authority, spec: DemoEmployee) -> User:
    user = User.objects.filter(username=spec.username).first()
    if user is None:
        user = services.employee_create(
            actor=actor,
            authority=authority,
            username=spec.username,
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.username}@{authority.code}.example.dk",
        )
    for profile_code, unit_code in spec.grants:
        profile = RoleProfile.objects.get(code=profile_code)
        unit = LosUnit.objects.get(authority=authority, code=unit_code)
        if not Grant.objects.filter(user=user, role_profile=profile, unit=unit).exists():
            services.grant_create(actor=actor, user=user, role_profile=profile, unit=unit)
    return user


def demo_organisation_load(*, actor: User, spec: DemoAuthority) -> dict[str, Any]:
    """Create the authority, its LOS tree and its staff if missing; describe them."""
    authority = Authority.objects.filter(code=spec.code).first()
    if authority is None:
        authority = services.authority_create(
            actor=actor, code=spec.code, name=spec.name, kind=spec.kind, cvr=spec.cvr
        )
    _unit(actor, authority, None, spec.tree)
    staff = {e.username: _employee(actor, authority, e) for e in spec.employees}
    return {
        "authority": authority,
        "los_units": list(
            LosUnit.objects.filter(authority=authority)
            .order_by("path")
            .values_list("code", flat=True)
        ),
        "staff": staff,
        "logins": [
            {
                "username": e.username,
                "login_with": LOGIN_WITH,
                "role": e.role,
                "authority": authority.code,
                "profiles": sorted({code for code, _unit in e.grants}),
            }
            for e in spec.employees
        ],
    }
