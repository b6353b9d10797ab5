"""Every write of the accounts app: authorities, LOS units, employees, role profiles and grants.

Each service is atomic, checks the actor's permission itself and writes its audit record in the
same transaction (ARCHITECTURE.md section 2). Operators may do everything; a local administrator
acts only inside their own authority and, for anything tied to a unit, only on the units their
local-administration grants cover.
"""

from collections.abc import Sequence
from typing import Any

import pghistory
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Case, F, Value, When
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import audit_record
from accounts.functions import Function
from accounts.grants import grant_permissions_sync, role_profile_permissions_sync
from accounts.models import Authority, Bank, Grant, LosUnit, RoleProfile, User
from accounts.selectors import admin_units, is_operator
from nemkonto.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.identifiers import IdentifierError, parse_cvr

# --- Permission checks --------------------------------------------------------------------------


def _require_operator(actor: User) -> None:
    if not is_operator(actor):
        raise PermissionDenied(
            _("Only operators of the NemKonto service may do this."), code="operator_only"
        )


def _administers_unit(actor: User, unit: LosUnit) -> bool:
    return admin_units(actor=actor).filter(pk=unit.pk).exists()


def _require_unit_admin(actor: User, unit: LosUnit, *, field: str | None = None) -> None:
    if not is_operator(actor) and not _administers_unit(actor, unit):
        raise PermissionDenied(
            _("You do not administer this LOS unit."), field=field, code="not_permitted"
        )


def _require_authority_admin(actor: User, authority: Authority) -> None:
    if is_operator(actor):
        return
    if not admin_units(actor=actor).filter(authority_id=authority.pk).exists():
        raise PermissionDenied(
            _("You are not a local administrator of this authority."), code="not_permitted"
        )


def _require_employee_admin(actor: User, user: User) -> None:
    """The actor administers every unit the employee holds a grant on (so no powers granted by
    someone else are cut off by a local administrator of another branch)."""
    if user.kind != User.Kind.EMPLOYEE or user.authority is None:
        if is_operator(actor):
            return
        raise PermissionDenied(
            _("Only the authority's employees can be administered here."), code="not_employee"
        )
    _require_authority_admin(actor, user.authority)
    if is_operator(actor):
        return
    if user.grants.exclude(unit__in=admin_units(actor=actor)).exists():
        raise PermissionDenied(
            _("The user has role profiles on units you do not administer."),
            code="grants_outside_scope",
        )


# --- Authorities --------------------------------------------------------------------------------


def _clean_cvr(cvr: str) -> str:
    try:
        return parse_cvr(cvr).number
    except IdentifierError as error:
        raise ValidationFailed(str(error), field="cvr", code=error.code) from None


def _clean_kind(kind: str) -> str:
    if kind not in Authority.Kind.values:
        raise ValidationFailed(_("Unknown kind of authority."), field="kind", code="invalid_choice")
    return kind


def _clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_("This field is required."), field=field, code="required")
    if len(value) > max_length:
        raise ValidationFailed(
            _("At most %(n)d characters.") % {"n": max_length}, field=field, code="max_length"
        )
    return value


@transaction.atomic
def authority_create(*, actor: User, code: str, name: str, kind: str, cvr: str) -> Authority:
    """Create an authority; raises PermissionDenied, ValidationFailed, Conflict."""
    _require_operator(actor)
    code = _clean_text(code, field="code", max_length=20).lower()
    name = _clean_text(name, field="name", max_length=200)
    kind = _clean_kind(kind)
    cvr = _clean_cvr(cvr)
    if Authority.objects.filter(code=code).exists():
        raise Conflict(_("An authority with this code exists."), field="code", code="duplicate")
    if Authority.objects.filter(cvr=cvr).exists():
        raise Conflict(
            _("An authority with this CVR number exists."), field="cvr", code="duplicate"
        )
    authority = Authority.objects.create(code=code, name=name, kind=kind, cvr=cvr)
    audit_record(
        actor=actor,
        action="authority_create",
        target=authority,
        authority=authority,
        data={"code": code, "name": name, "kind": kind, "cvr": cvr},
    )
    return authority


@transaction.atomic
def authority_update(
    *,
    actor: User,
    authority: Authority,
    name: str | None = None,
    kind: str | None = None,
    cvr: str | None = None,
    is_active: bool | None = None,
) -> Authority:
    """Change an authority (not its code); raises PermissionDenied, ValidationFailed, Conflict."""
    _require_operator(actor)
    current = Authority.objects.select_for_update().get(pk=authority.pk)
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = _clean_text(name, field="name", max_length=200)
    if kind is not None:
        wanted["kind"] = _clean_kind(kind)
    if cvr is not None:
        wanted["cvr"] = _clean_cvr(cvr)
        if Authority.objects.filter(cvr=wanted["cvr"]).exclude(pk=current.pk).exists():
            raise Conflict(
                _("An authority with this CVR number exists."), field="cvr", code="duplicate"
            )
    if is_active is not None:
        wanted["is_active"] = is_active
    changes = {
        field: [getattr(current, field), value]
        for field, value in wanted.items()
        if getattr(current, field) != value
    }
    for field, (_old, value) in changes.items():
        setattr(current, field, value)
    if changes:
        current.save(update_fields=list(changes))
        audit_record(
            actor=actor,
            action="authority_update",
            target=current,
            authority=current,
            data={"changes": changes},
        )
    return current


# --- LOS units ----------------------------------------------------------------------------------


def _next_unit_id() -> int:
    # The id is taken first so that the row is inserted once with its final path (one history
    # event, never a row with an empty path).
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [LosUnit._meta.db_table])
        return int(cursor.fetchone()[0])


@transaction.atomic
def los_unit_create(
    *, actor: User, authority: Authority, parent: LosUnit | None, code: str, name: str
) -> LosUnit:
    """Create a unit (a root if no parent); raises PermissionDenied, ValidationFailed, Conflict."""
    if parent is None:
        _require_operator(actor)
    else:
        _require_unit_admin(actor, parent, field="parent")
        if parent.authority_id != authority.pk:
            raise ValidationFailed(
                _("The parent unit belongs to another authority."),
                field="parent",
                code="other_authority",
            )
        if not parent.is_open:
            raise ValidationFailed(_("The parent unit is closed."), field="parent", code="closed")
    code = _clean_text(code, field="code", max_length=30)
    name = _clean_text(name, field="name", max_length=200)
    if LosUnit.objects.filter(authority=authority, code=code).exists():
        raise Conflict(
            _("The authority already has a LOS unit with this code."),
            field="code",
            code="duplicate",
        )
    unit_id = _next_unit_id()
    with pghistory.context(actor=actor.pk, action="los_unit_create"):
        unit = LosUnit.objects.create(
            id=unit_id,
            authority=authority,
            parent=parent,
            code=code,
            name=name,
            path=f"{parent.path if parent else '/'}{unit_id}/",
        )
    audit_record(
        actor=actor,
        action="los_unit_create",
        target=unit,
        authority=authority,
        data={"unit": unit.pk, "code": code, "name": name, "parent": parent.pk if parent else None},
    )
    return unit


@transaction.atomic
def los_unit_update(
    *, actor: User, unit: LosUnit, code: str | None = None, name: str | None = None
) -> LosUnit:
    """Rename a unit or change its LOS code; raises PermissionDenied, ValidationFailed, Conflict."""
    unit = LosUnit.objects.select_for_update().get(pk=unit.pk)
    _require_unit_admin(actor, unit, field="unit")
    wanted: dict[str, str] = {}
    if code is not None:
        wanted["code"] = _clean_text(code, field="code", max_length=30)
        duplicate = LosUnit.objects.filter(authority_id=unit.authority_id, code=wanted["code"])
        if duplicate.exclude(pk=unit.pk).exists():
            raise Conflict(
                _("The authority already has a LOS unit with this code."),
                field="code",
                code="duplicate",
            )
    if name is not None:
        wanted["name"] = _clean_text(name, field="name", max_length=200)
    changes = {
        field: [getattr(unit, field), value]
        for field, value in wanted.items()
        if getattr(unit, field) != value
    }
    if not changes:
        return unit
    for field, (_old, value) in changes.items():
        setattr(unit, field, value)
    with pghistory.context(actor=actor.pk, action="los_unit_update"):
        unit.save(update_fields=list(changes))
    audit_record(
        actor=actor,
        action="los_unit_update",
        target=unit,
        authority=unit.authority,
        data={"unit": unit.pk, "changes": changes},
    )
    return unit


@transaction.atomic
def los_unit_move(*, actor: User, unit: LosUnit, new_parent: LosUnit | None) -> LosUnit:
    """Move a unit and its subtree; raises PermissionDenied, ValidationFailed, Conflict."""
    unit = LosUnit.objects.select_for_update().get(pk=unit.pk)
    _require_unit_admin(actor, unit, field="unit")
    if new_parent is None:
        _require_operator(actor)
    else:
        new_parent = LosUnit.objects.get(pk=new_parent.pk)
        _require_unit_admin(actor, new_parent, field="new_parent")
        if new_parent.authority_id != unit.authority_id:
            raise ValidationFailed(
                _("A unit can only be moved within its authority."),
                field="new_parent",
                code="other_authority",
            )
        if new_parent.path.startswith(unit.path):
            raise ValidationFailed(
                _("A unit cannot be moved under itself."), field="new_parent", code="cycle"
            )
        if not new_parent.is_open:
            raise ValidationFailed(
                _("The new parent unit is closed."), field="new_parent", code="closed"
            )
    if not unit.is_open:
        raise Conflict(_("A closed unit cannot be moved."), field="unit", code="closed")
    new_parent_id = new_parent.pk if new_parent else None
    if unit.parent_id == new_parent_id:
        return unit
    old_path = unit.path
    new_path = f"{new_parent.path if new_parent else '/'}{unit.pk}/"
    # One statement for the whole subtree: the moved unit gets its new parent, and every path
    # under it has its prefix replaced. pghistory records a version of each row changed.
    with pghistory.context(actor=actor.pk, action="los_unit_move"):
        moved = LosUnit.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            parent_id=Case(
                When(pk=unit.pk, then=Value(new_parent_id)),
                default=F("parent_id"),
                output_field=BigIntegerField(),
            ),
        )
    audit_record(
        actor=actor,
        action="los_unit_move",
        target=unit,
        authority=unit.authority,
        data={
            "unit": unit.pk,
            "from_parent": unit.parent_id,
            "to_parent": new_parent_id,
            "old_path": old_path,
            "new_path": new_path,
            "units_moved": moved,
        },
    )
    unit.refresh_from_db()
    return unit


@transaction.atomic
def los_unit_close(*, actor: User, unit: LosUnit) -> LosUnit:
    """Close a unit (its history and grants are kept); raises PermissionDenied, Conflict."""
    unit = LosUnit.objects.select_for_update().get(pk=unit.pk)
    _require_unit_admin(actor, unit, field="unit")
    if not unit.is_open:
        raise Conflict(_("The unit is already closed."), field="unit", code="already_closed")
    if unit.children.filter(closed_at__isnull=True).exists():
        raise Conflict(
            _("Close the unit's open sub-units first."), field="unit", code="open_sub_units"
        )
    unit.closed_at = timezone.now()
    with pghistory.context(actor=actor.pk, action="los_unit_close"):
        unit.save(update_fields=["closed_at"])
    audit_record(
        actor=actor,
        action="los_unit_close",
        target=unit,
        authority=unit.authority,
        data={"unit": unit.pk, "code": unit.code, "closed_at": unit.closed_at.isoformat()},
    )
    return unit


# --- Employees ----------------------------------------------------------------------------------


def _clean_username(username: str) -> str:
    username = _clean_text(username, field="username", max_length=150)
    try:
        User.username_validator(username)
    except ValidationError as error:
        raise ValidationFailed(error.messages[0], field="username", code="invalid") from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("This username is taken."), field="username", code="duplicate")
    return username


def _clean_email(email: str) -> str:
    email = _clean_text(email, field="email", max_length=254, required=False)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationFailed(
                _("Enter a valid email address."), field="email", code="invalid"
            ) from None
    return email


@transaction.atomic
def employee_create(
    *,
    actor: User,
    authority: Authority,
    username: str,
    first_name: str,
    last_name: str,
    email: str = "",
    grants: Sequence[tuple[RoleProfile, LosUnit]] = (),
) -> User:
    """Create a caseworker and grants; raises PermissionDenied, ValidationFailed, Conflict."""
    _require_authority_admin(actor, authority)
    user = User(
        # Never an operator, staff or superuser, whatever the caller sends.
        kind=User.Kind.EMPLOYEE,
        authority=authority,
        is_staff=False,
        is_superuser=False,
        username=_clean_username(username),
        first_name=_clean_text(first_name, field="first_name", max_length=150),
        last_name=_clean_text(last_name, field="last_name", max_length=150),
        email=_clean_email(email),
    )
    # Employees log in with their employee credential (MitID Erhverv), never a password here.
    user.set_unusable_password()
    user.save()
    audit_record(
        actor=actor,
        action="employee_create",
        target=user,
        authority=authority,
        data={"user": user.pk, "username": user.username},
    )
    for index, (role_profile, unit) in enumerate(grants):
        try:
            grant_create(actor=actor, user=user, role_profile=role_profile, unit=unit)
        except ApplicationError as error:
            error.field = f"grants[{index}].{error.field or 'unit'}"
            raise
    return user


def _employee_set_active(actor: User, user: User, active: bool) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    _require_employee_admin(actor, user)
    if user.pk == actor.pk:
        raise PermissionDenied(_("You cannot change your own access."), code="self")
    if user.is_active == active:
        message = _("The user is already active.") if active else _("The user is already inactive.")
        raise Conflict(message, code="already_active" if active else "already_inactive")
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="employee_reactivate" if active else "employee_deactivate",
        target=user,
        authority=user.authority,
        data={"user": user.pk, "username": user.username},
    )
    return user


@transaction.atomic
def employee_deactivate(*, actor: User, user: User) -> User:
    """Deactivate an employee (grants kept, scope empty); raises PermissionDenied, Conflict."""
    return _employee_set_active(actor, user, False)


@transaction.atomic
def employee_reactivate(*, actor: User, user: User) -> User:
    """Reactivate an employee with the grants they had; raises PermissionDenied, Conflict."""
    return _employee_set_active(actor, user, True)


@transaction.atomic
def user_admin_save(*, actor: User, user: User, created: bool, changed: Sequence[str]) -> User:
    """Save a user edited by an operator in the Django admin; raises PermissionDenied."""
    _require_operator(actor)
    user.save()
    audit_record(
        actor=actor,
        action="user_create" if created else "user_update",
        target=user,
        authority=user.authority,
        data={"user": user.pk, "username": user.username, "changed": sorted(changed)},
    )
    return user


# --- Grants -------------------------------------------------------------------------------------


def _grant_data(grant: Grant) -> dict[str, Any]:
    return {
        "grant": grant.pk,
        "user": grant.user_id,
        "username": grant.user.username,
        "role_profile": grant.role_profile.code,
        "unit": grant.unit_id,
        "unit_code": grant.unit.code,
    }


@transaction.atomic
def grant_create(*, actor: User, user: User, role_profile: RoleProfile, unit: LosUnit) -> Grant:
    """Grant a role profile on a unit; raises PermissionDenied, ValidationFailed, Conflict."""
    # The current rows, locked against a concurrent deactivation or closing.
    user = User.objects.select_for_update().get(pk=user.pk)
    unit = LosUnit.objects.select_for_update().get(pk=unit.pk)
    _require_unit_admin(actor, unit, field="unit")
    if user.pk == actor.pk and not is_operator(actor):
        raise PermissionDenied(
            _("Your own role profiles are granted by another administrator."),
            field="user",
            code="self",
        )
    if user.kind != User.Kind.EMPLOYEE or user.authority_id != unit.authority_id:
        raise ValidationFailed(
            _("The user is not an employee of the unit's authority."),
            field="user",
            code="other_authority",
        )
    if not user.is_active:
        raise ValidationFailed(_("The user is deactivated."), field="user", code="inactive")
    if not unit.is_open:
        raise ValidationFailed(_("The unit is closed."), field="unit", code="closed")
    try:
        with transaction.atomic():
            grant = Grant.objects.create(
                user=user, role_profile=role_profile, unit=unit, granted_by=actor
            )
    except IntegrityError:
        raise Conflict(
            _("The user already has this role profile on this unit."),
            field="role_profile",
            code="duplicate",
        ) from None
    grant_permissions_sync(user_id=user.pk, unit_id=unit.pk)
    audit_record(
        actor=actor,
        action="grant_create",
        target=grant,
        authority=unit.authority,
        data=_grant_data(grant),
    )
    return grant


@transaction.atomic
def grant_revoke(*, actor: User, grant: Grant) -> None:
    """Take a grant back (and what only it implied); raises PermissionDenied, NotFound."""
    locked = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("user", "role_profile", "unit__authority")
        .filter(pk=grant.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("Grant not found."), code="not_found")
    _require_unit_admin(actor, locked.unit, field="unit")
    if locked.user_id == actor.pk and not is_operator(actor):
        raise PermissionDenied(
            _("Your own role profiles are revoked by another administrator."),
            field="user",
            code="self",
        )
    data = _grant_data(locked)
    locked.delete()
    grant_permissions_sync(user_id=data["user"], unit_id=data["unit"])
    audit_record(
        actor=actor,
        action="grant_revoke",
        target=grant,
        authority=locked.unit.authority,
        data=data,
    )


# --- Role profiles (operators, in the admin) ----------------------------------------------------


def _clean_functions(functions: Sequence[Permission]) -> list[Permission]:
    allowed = set(Function.values)
    chosen = list(functions)
    if not chosen:
        raise ValidationFailed(
            _("A role profile needs at least one function."), field="functions", code="required"
        )
    for permission in chosen:
        if (
            permission.content_type.app_label != "accounts"
            or permission.content_type.model != "losunit"
            or permission.codename not in allowed
        ):
            raise ValidationFailed(
                _("Only LOS unit functions can be part of a role profile."),
                field="functions",
                code="invalid_choice",
            )
    return chosen


def _require_custom(profile: RoleProfile) -> None:
    if profile.is_standard:
        raise PermissionDenied(
            _("The standard role profiles cannot be changed."), code="standard_profile"
        )


@transaction.atomic
def role_profile_create(
    *, actor: User, code: str, name: str, description: str, functions: Sequence[Permission]
) -> RoleProfile:
    """Create a custom role profile; raises PermissionDenied, ValidationFailed, Conflict."""
    _require_operator(actor)
    code = _clean_text(code, field="code", max_length=40)
    if RoleProfile.objects.filter(code=code).exists():
        raise Conflict(_("A role profile with this code exists."), field="code", code="duplicate")
    profile = RoleProfile.objects.create(
        code=code,
        name=_clean_text(name, field="name", max_length=100),
        description=description.strip(),
        is_standard=False,
    )
    profile.functions.set(_clean_functions(functions))
    audit_record(
        actor=actor,
        action="role_profile_create",
        target=profile,
        data={"code": code, "functions": sorted(p.codename for p in functions)},
    )
    return profile


@transaction.atomic
def role_profile_update(
    *,
    actor: User,
    profile: RoleProfile,
    name: str,
    description: str,
    functions: Sequence[Permission],
) -> RoleProfile:
    """Change a custom profile (resyncs its holders); raises PermissionDenied, ValidationFailed."""
    _require_operator(actor)
    profile = RoleProfile.objects.select_for_update().get(pk=profile.pk)
    _require_custom(profile)
    chosen = _clean_functions(functions)
    before = sorted(profile.functions.values_list("codename", flat=True))
    profile.name = _clean_text(name, field="name", max_length=100)
    profile.description = description.strip()
    profile.save(update_fields=["name", "description"])
    profile.functions.set(chosen)
    after = sorted(p.codename for p in chosen)
    if before != after:
        role_profile_permissions_sync(role_profile_id=profile.pk)
    audit_record(
        actor=actor,
        action="role_profile_update",
        target=profile,
        data={"code": profile.code, "functions": [before, after]},
    )
    return profile


@transaction.atomic
def role_profile_delete(*, actor: User, profile: RoleProfile) -> None:
    """Delete a custom role profile nobody holds; raises PermissionDenied, Conflict."""
    _require_operator(actor)
    profile = RoleProfile.objects.select_for_update().get(pk=profile.pk)
    _require_custom(profile)
    if profile.grants.exists():
        raise Conflict(_("The role profile is granted to users."), code="in_use")
    audit_record(
        actor=actor, action="role_profile_delete", target=profile, data={"code": profile.code}
    )
    profile.delete()


# --- Banks (operators, in the admin) ------------------------------------------------------------


@transaction.atomic
def bank_create(*, actor: User, reg: str, bic: str, name: str) -> Bank:
    """Register a bank; raises PermissionDenied, ValidationFailed, Conflict."""
    _require_operator(actor)
    reg = _clean_text(reg, field="reg", max_length=4)
    if not (reg.isdigit() and len(reg) == 4):
        raise ValidationFailed(
            _("The registration number is 4 digits."), field="reg", code="invalid"
        )
    if Bank.objects.filter(reg=reg).exists():
        raise Conflict(_("A bank with this registration number exists."), field="reg")
    bank = Bank.objects.create(
        reg=reg,
        bic=_clean_text(bic, field="bic", max_length=11, required=False).upper(),
        name=_clean_text(name, field="name", max_length=200),
    )
    audit_record(
        actor=actor, action="bank_create", target=bank, data={"reg": reg, "name": bank.name}
    )
    return bank


@transaction.atomic
def bank_update(*, actor: User, bank: Bank, bic: str, name: str) -> Bank:
    """Change a bank's BIC and name; raises PermissionDenied, ValidationFailed."""
    _require_operator(actor)
    bank = Bank.objects.select_for_update().get(pk=bank.pk)
    before = {"bic": bank.bic, "name": bank.name}
    bank.bic = _clean_text(bic, field="bic", max_length=11, required=False).upper()
    bank.name = _clean_text(name, field="name", max_length=200)
    bank.save(update_fields=["bic", "name"])
    audit_record(
        actor=actor,
        action="bank_update",
        target=bank,
        data={"before": before, "after": {"bic": bank.bic, "name": bank.name}},
    )
    return bank
