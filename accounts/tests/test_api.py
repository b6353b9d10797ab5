"""The local administrator's REST API: behaviour, error shape, paging (issue 4)."""

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuditEvent, Grant, LosUnitUserObjectPermission, User
from accounts.tests.factories import EmployeeFactory


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Grant.objects.count(),
        AuditEvent.objects.count(),
        LosUnitUserObjectPermission.objects.count(),
    )


@pytest.fixture
def admin_api(local_admin) -> APIClient:
    client = APIClient()
    client.force_login(local_admin)
    return client


# --- Acceptance 3: no grants abroad, no operators -----------------------------------------------


def test_local_admin_cannot_grant_on_another_authoritys_unit(
    admin_api, colleague, other_unit
) -> None:
    before = counts()
    response = admin_api.post(
        "/api/v1/admin/grants",
        {"user": colleague.pk, "role_profile": "nks-lokal-admin", "unit": other_unit.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {
            "field": "unit",
            "code": "does_not_exist",
            "message": "Unknown, or not yours to administer.",
        }
    ]
    assert counts() == before


def test_local_admin_cannot_grant_to_another_authoritys_user(admin_api, outsider, units) -> None:
    before = counts()
    response = admin_api.post(
        "/api/v1/admin/grants",
        {"user": outsider.pk, "role_profile": "nks-soeg-bet", "unit": units.child.pk},
        format="json",
    )
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["user"]
    assert counts() == before


@pytest.mark.parametrize(
    "extra",
    [
        {"is_staff": True},
        {"is_superuser": True},
        {"kind": "operator"},
        {"authority": "andre"},
        {"is_staff": True, "is_superuser": True, "kind": "operator"},
    ],
)
def test_local_admin_cannot_create_an_operator(admin_api, extra) -> None:
    before = counts()
    body = {"username": "drift2", "first_name": "D", "last_name": "O", **extra}
    response = admin_api.post("/api/v1/admin/users", body, format="json")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == set(extra)
    assert {error["code"] for error in response.json()["errors"]} == {"unknown_field"}
    assert counts() == before
    assert not User.objects.filter(is_staff=True).exclude(kind=User.Kind.OPERATOR).exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_there_is_no_way_to_edit_a_user(admin_api, local_admin, method) -> None:
    for url in (f"/api/v1/admin/users/{local_admin.pk}", "/api/v1/admin/users"):
        response = getattr(admin_api, method)(
            url, {"is_staff": True, "kind": "operator"}, format="json"
        )
        assert response.status_code in (404, 405)
    local_admin.refresh_from_db()
    assert (local_admin.kind, local_admin.is_staff, local_admin.is_superuser) == (
        User.Kind.EMPLOYEE,
        False,
        False,
    )


def test_local_admin_cannot_grant_themselves_or_deactivate_themselves(
    admin_api, local_admin, units
) -> None:
    before = counts()
    response = admin_api.post(
        "/api/v1/admin/grants",
        {"user": local_admin.pk, "role_profile": "nks-stop-bet", "unit": units.child.pk},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "user"
    response = admin_api.post(f"/api/v1/admin/users/{local_admin.pk}/deactivate")
    assert response.status_code == 403
    assert counts() == before


# --- Users --------------------------------------------------------------------------------------


def test_create_user_with_grants(admin_api, local_admin, units) -> None:
    response = admin_api.post(
        "/api/v1/admin/users",
        {
            "username": "ny.bruger",
            "first_name": "Ny",
            "last_name": "Bruger",
            "email": "ny@kbh.example",
            "grants": [
                {"role_profile": "nks-soeg-bet", "unit": units.child.pk},
                {"role_profile": "nks-ydelser", "unit": units.root.pk},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "ny.bruger"
    assert body["authority"] == "kbh"
    assert body["is_active"] is True
    created = User.objects.get(pk=body["id"])
    assert created.authority == local_admin.authority
    assert set(created.grants.values_list("role_profile__code", flat=True)) == {
        "nks-soeg-bet",
        "nks-ydelser",
    }


def test_a_failed_create_changes_nothing(child_admin, units) -> None:
    client = APIClient()
    client.force_login(child_admin)
    before = counts()
    response = client.post(
        "/api/v1/admin/users",
        {
            "username": "halv",
            "first_name": "H",
            "last_name": "B",
            "grants": [
                {"role_profile": "nks-soeg-bet", "unit": units.child.pk},
                {"role_profile": "nks-soeg-bet", "unit": units.sibling.pk},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "grants[1].unit"
    assert counts() == before


def test_create_user_errors_name_their_fields(admin_api, colleague) -> None:
    response = admin_api.post(
        "/api/v1/admin/users",
        {"username": "", "last_name": "B", "email": "nej"},
        format="json",
    )
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {
        "username",
        "first_name",
        "email",
    }
    response = admin_api.post(
        "/api/v1/admin/users",
        {"username": "KOLLEGA", "first_name": "A", "last_name": "B"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["errors"][0] == {
        "field": "username",
        "code": "duplicate",
        "message": "This username is taken.",
    }


def test_user_list_search_and_cursor_paging(admin_api, authority, colleague) -> None:
    EmployeeFactory.create_batch(55, authority=authority)
    EmployeeFactory.create_batch(3)  # other authorities
    first = admin_api.get("/api/v1/admin/users", {"page_size": 50}).json()
    assert len(first["results"]) == 50
    assert "cursor=" in (first["next"] or "")
    second = admin_api.get(first["next"]).json()
    names = [user["username"] for user in first["results"] + second["results"]]
    assert len(names) == User.objects.filter(authority=authority).count() == 55 + 2
    assert names == sorted(names)
    assert second["next"] is None
    found = admin_api.get("/api/v1/admin/users", {"search": "kbh.example"}).json()["results"]
    assert [user["username"] for user in found] == ["kollega"]


def test_deactivated_user_loses_their_session(admin_api, child_admin) -> None:
    sub_admin = child_admin
    own = APIClient()
    own.force_login(sub_admin)
    assert own.get("/api/v1/admin/units").status_code == 200
    response = admin_api.post(f"/api/v1/admin/users/{sub_admin.pk}/deactivate")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert own.get("/api/v1/admin/units").status_code == 403
    again = admin_api.post(f"/api/v1/admin/users/{sub_admin.pk}/deactivate")
    assert again.status_code == 409
    assert admin_api.post(f"/api/v1/admin/users/{sub_admin.pk}/reactivate").status_code == 200
    assert own.get("/api/v1/admin/units").status_code == 200  # the same grants, back


# --- Grants, units, profiles, audit -------------------------------------------------------------


def test_grant_create_list_and_revoke(admin_api, local_admin, caseworker, units) -> None:
    response = admin_api.post(
        "/api/v1/admin/grants",
        {"user": caseworker.pk, "role_profile": "nks-stop-bet", "unit": units.child.pk},
        format="json",
    )
    assert response.status_code == 201
    created = response.json()
    assert created["user"] == {"id": caseworker.pk, "username": "sagsbehandler"}
    assert created["role_profile"] == {"code": "nks-stop-bet", "name": "NKS-Stop-Bet"}
    assert created["unit"]["id"] == units.child.pk
    assert created["granted_by"] == "lokaladmin"
    listed = admin_api.get("/api/v1/admin/grants", {"user": caseworker.pk}).json()["results"]
    assert [grant["id"] for grant in listed] == [created["id"]]
    assert admin_api.delete(f"/api/v1/admin/grants/{created['id']}").status_code == 204
    assert admin_api.delete(f"/api/v1/admin/grants/{created['id']}").status_code == 404
    actions = list(
        AuditEvent.objects.filter(target_id=str(created["id"])).values_list("action", flat=True)
    )
    assert sorted(actions) == ["grant_create", "grant_revoke"]
    audit = admin_api.get("/api/v1/admin/audit", {"target_type": "accounts.Grant"}).json()
    assert [event["action"] for event in audit["results"]][:2] == ["grant_revoke", "grant_create"]
    assert audit["results"][0]["actor"] == "lokaladmin"
    assert audit["results"][0]["data"]["unit"] == units.child.pk


def test_grant_on_closed_unit_is_a_business_rule_error(
    admin_api, local_admin, caseworker, units
) -> None:
    services.los_unit_close(actor=local_admin, unit=units.grandchild)
    before = counts()
    response = admin_api.post(
        "/api/v1/admin/grants",
        {"user": caseworker.pk, "role_profile": "nks-soeg-bet", "unit": units.grandchild.pk},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "unit"
    assert counts() == before


def test_units_are_listed_as_a_tree(admin_api, units) -> None:
    results = admin_api.get("/api/v1/admin/units").json()["results"]
    assert {(unit["code"], unit["depth"]) for unit in results} == {
        ("ROOT", 0),
        ("BORGER", 1),
        ("YDELSE", 2),
        ("SKAT", 1),
    }
    seen: set[int] = set()
    for unit in results:  # tree order: every parent before its children
        assert unit["parent"] is None or unit["parent"] in seen
        seen.add(unit["id"])


def test_role_profiles_with_functions(admin_api) -> None:
    results = admin_api.get("/api/v1/admin/role-profiles").json()["results"]
    by_code = {profile["code"]: profile for profile in results}
    assert len(by_code) == 7
    assert [f["codename"] for f in by_code["nks-stop-bet"]["functions"]] == [
        "search_pending_payments",
        "stop_pending_payments",
    ]
    assert by_code["nks-soeg-bet"]["description"].startswith("Search the authority's pending")


def test_schema_documents_the_admin_endpoints(api) -> None:
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/admin/users",
        "/api/v1/admin/users/{user_id}/deactivate",
        "/api/v1/admin/users/{user_id}/reactivate",
        "/api/v1/admin/grants",
        "/api/v1/admin/grants/{grant_id}",
        "/api/v1/admin/units",
        "/api/v1/admin/role-profiles",
        "/api/v1/admin/audit",
    ):
        assert f"{path}:" in text or f'"{path}"' in text
    assert "application/problem+json" in text
