"""Permission matrix over every local-administration endpoint (issue 4, acceptance 1).

The target of each operation sits on ``units.child``: the local administrator of the root (its
parent) may act on it, the one of the sibling unit may not, nor may anyone of another authority,
a caseworker without the profile, a citizen or an anonymous caller. A denied request writes
nothing; a list answers 200 without the target when the caller simply may not see it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import get_resolver
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuditEvent, Grant, LosUnitUserObjectPermission, RoleProfile, User
from accounts.tests.factories import EmployeeFactory

PERSONAS = ("anonymous", "citizen", "caseworker", "outsider", "parent_admin", "sibling_admin")

# What each persona gets: a status, and for lists whether the target is among the results.
OK, SEES, HIDDEN = "ok", "sees", "hidden"


@dataclass
class Ctx:
    users: dict[str, User | None]
    target_user: User
    target_grant: Grant
    grantee: User
    audit_target: str
    units: Any


@dataclass
class Case:
    name: str
    method: str
    route: str
    url: Callable[[Ctx], str]
    body: Callable[[Ctx], dict[str, Any] | None]
    allowed_status: int
    # persona -> expected status (or SEES / HIDDEN for a 200 list)
    expected: dict[str, int | str]
    writes: bool = False
    prepare: Callable[[Ctx], object] | None = None
    found: Callable[[Ctx, list[dict[str, Any]]], bool] | None = None


def _ids(results: list[dict[str, Any]]) -> set[Any]:
    return {item.get("id") for item in results}


DENY_ALL = {"anonymous": 403, "citizen": 403, "caseworker": 403}

CASES = [
    Case(
        "list users",
        "get",
        "admin/users",
        lambda c: "/api/v1/admin/users",
        lambda c: None,
        200,
        {**DENY_ALL, "outsider": HIDDEN, "parent_admin": SEES, "sibling_admin": SEES},
        found=lambda c, results: c.target_user.pk in _ids(results),
    ),
    Case(
        "create user with a grant on the child",
        "post",
        "admin/users",
        lambda c: "/api/v1/admin/users",
        lambda c: {
            "username": "ny.bruger",
            "first_name": "Ny",
            "last_name": "Bruger",
            "grants": [{"role_profile": "nks-soeg-bet", "unit": c.units.child.pk}],
        },
        201,
        {**DENY_ALL, "outsider": 400, "parent_admin": OK, "sibling_admin": 400},
        writes=True,
    ),
    Case(
        "deactivate a user with a grant on the child",
        "post",
        "admin/users/<int:user_id>/deactivate",
        lambda c: f"/api/v1/admin/users/{c.target_user.pk}/deactivate",
        lambda c: None,
        200,
        {**DENY_ALL, "outsider": 404, "parent_admin": OK, "sibling_admin": 403},
        writes=True,
    ),
    Case(
        "reactivate a user with a grant on the child",
        "post",
        "admin/users/<int:user_id>/reactivate",
        lambda c: f"/api/v1/admin/users/{c.target_user.pk}/reactivate",
        lambda c: None,
        200,
        {**DENY_ALL, "outsider": 404, "parent_admin": OK, "sibling_admin": 403},
        writes=True,
        prepare=lambda c: User.objects.filter(pk=c.target_user.pk).update(is_active=False),
    ),
    Case(
        "list grants",
        "get",
        "admin/grants",
        lambda c: "/api/v1/admin/grants",
        lambda c: None,
        200,
        {**DENY_ALL, "outsider": HIDDEN, "parent_admin": SEES, "sibling_admin": HIDDEN},
        found=lambda c, results: c.target_grant.pk in _ids(results),
    ),
    Case(
        "grant a profile on the child",
        "post",
        "admin/grants",
        lambda c: "/api/v1/admin/grants",
        lambda c: {"user": c.grantee.pk, "role_profile": "nks-stop-bet", "unit": c.units.child.pk},
        201,
        {**DENY_ALL, "outsider": 400, "parent_admin": OK, "sibling_admin": 400},
        writes=True,
    ),
    Case(
        "revoke a grant on the child",
        "delete",
        "admin/grants/<int:grant_id>",
        lambda c: f"/api/v1/admin/grants/{c.target_grant.pk}",
        lambda c: None,
        204,
        {**DENY_ALL, "outsider": 404, "parent_admin": OK, "sibling_admin": 404},
        writes=True,
    ),
    Case(
        "list units",
        "get",
        "admin/units",
        lambda c: "/api/v1/admin/units",
        lambda c: None,
        200,
        {**DENY_ALL, "outsider": HIDDEN, "parent_admin": SEES, "sibling_admin": HIDDEN},
        found=lambda c, results: c.units.child.pk in _ids(results),
    ),
    Case(
        "list role profiles",
        "get",
        "admin/role-profiles",
        lambda c: "/api/v1/admin/role-profiles",
        lambda c: None,
        200,
        # Profiles are the same for every authority: any local administrator sees them.
        {**DENY_ALL, "outsider": SEES, "parent_admin": SEES, "sibling_admin": SEES},
        found=lambda c, results: "nks-soeg-bet" in {item["code"] for item in results},
    ),
    Case(
        "list audit events",
        "get",
        "admin/audit",
        lambda c: "/api/v1/admin/audit",
        lambda c: None,
        200,
        {**DENY_ALL, "outsider": HIDDEN, "parent_admin": SEES, "sibling_admin": HIDDEN},
        found=lambda c, results: c.audit_target in {item["target_id"] for item in results},
    ),
]


@pytest.fixture
def ctx(citizen, caseworker, outsider, local_admin, sibling_admin, colleague, units) -> Ctx:
    grantee = EmployeeFactory.create(username="modtager", authority=units.root.authority)
    # An audit event about the child unit, written by the service as in real use.
    audited = services.grant_create(
        actor=local_admin,
        user=grantee,
        role_profile=RoleProfile.objects.get(code="nks-soeg-bet"),
        unit=units.child,
    )
    return Ctx(
        users={
            "anonymous": None,
            "citizen": citizen,
            "caseworker": caseworker,
            "outsider": outsider,
            "parent_admin": local_admin,
            "sibling_admin": sibling_admin,
        },
        target_user=colleague,
        target_grant=colleague.grants.get(),
        grantee=grantee,
        audit_target=str(audited.pk),
        units=units,
    )


def _snapshot(ctx: Ctx) -> tuple[Any, ...]:
    return (
        User.objects.count(),
        Grant.objects.count(),
        AuditEvent.objects.count(),
        LosUnitUserObjectPermission.objects.count(),
        User.objects.get(pk=ctx.target_user.pk).is_active,
    )


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_permission_matrix(ctx: Ctx, case: Case, persona: str) -> None:
    if case.prepare:
        case.prepare(ctx)
    client = APIClient()
    user = ctx.users[persona]
    if user is not None:
        client.force_login(user)
    before = _snapshot(ctx)
    response = getattr(client, case.method)(case.url(ctx), case.body(ctx), format="json")
    expected = case.expected[persona]

    if expected in (SEES, HIDDEN):
        assert response.status_code == 200, response.content
        assert case.found is not None
        assert case.found(ctx, response.json()["results"]) is (expected == SEES)
    elif expected == OK:
        assert response.status_code == case.allowed_status, response.content
    else:
        assert response.status_code == expected, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == expected

    if expected != OK or not case.writes:
        assert _snapshot(ctx) == before, "a refused or read-only request wrote something"
    else:
        assert _snapshot(ctx) != before
        assert AuditEvent.objects.count() > before[2], "a write without an audit record"


def test_anonymous_is_refused_with_a_problem(api) -> None:
    response = api.get("/api/v1/admin/users")
    assert response.status_code in (401, 403)
    assert response.json()["title"] == "Forbidden"


def test_matrix_covers_every_admin_operation() -> None:
    """Every (method, route) of accounts.api_urls is a row of the matrix."""
    operations = set()
    for pattern in get_resolver("accounts.api_urls").url_patterns:
        view_class = pattern.callback.view_class  # type: ignore[union-attr]
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view_class, method):
                operations.add((method, str(pattern.pattern)))
    assert operations == {(case.method, case.route) for case in CASES}


def test_inactive_local_admin_is_refused(local_admin, units) -> None:
    client = APIClient()
    client.force_login(local_admin)
    User.objects.filter(pk=local_admin.pk).update(is_active=False)
    assert client.get("/api/v1/admin/units").status_code == 403
