"""The Django admin for operators: every change and action goes through the services."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.functions import Function
from accounts.models import (
    AuditEvent,
    Authority,
    Grant,
    LosUnit,
    LosUnitUserObjectPermission,
    RoleProfile,
    User,
)
from accounts.selectors import units_for
from accounts.tests.factories import valid_cvr

MODELS = (
    "authority",
    "losunit",
    "losunitevent",
    "user",
    "roleprofile",
    "grant",
    "auditevent",
    "bank",
    "apiclient",
)


@pytest.fixture
def ops(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def url(name: str, *args: object) -> str:
    # The English admin (/en/admin/...), so that messages can be compared whatever the Danish
    # translations say.
    with translation.override("en"):
        return reverse(f"admin:accounts_{name}", args=args)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_operator_sees_every_page(ops, units, colleague) -> None:
    for model in MODELS:
        assert ops.get(url(f"{model}_changelist")).status_code == 200, model
    for model in ("authority", "losunit", "user", "roleprofile", "grant", "bank"):
        assert ops.get(url(f"{model}_add")).status_code == 200, model
    for model in ("auditevent", "apiclient", "losunitevent"):
        assert ops.get(url(f"{model}_add")).status_code == 403, model
    assert ops.get(url("losunit_change", units.child.pk)).status_code == 200
    assert ops.get(url("user_change", colleague.pk)).status_code == 200


def test_unit_tree_display_and_history_link(ops, units) -> None:
    page = ops.get(url("losunit_changelist")).content.decode()
    assert "— — YDELSE Ydelseskontoret" in page
    change = ops.get(url("losunit_change", units.child.pk)).content.decode()
    history = f"{url('losunitevent_changelist')}?pgh_obj={units.child.pk}"
    assert history in change
    assert ops.get(history).status_code == 200


def test_authority_add_goes_through_the_service(ops) -> None:
    response = ops.post(
        url("authority_add"),
        {"code": "aarhus", "name": "Aarhus", "kind": "municipality", "cvr": valid_cvr(600001)},
    )
    assert response.status_code == 302
    created = Authority.objects.get(code="aarhus")
    assert created.is_active is False  # unchecked box
    assert actions()[-2:] == ["authority_create", "authority_update"]
    refused = ops.post(
        url("authority_add"), {"code": "odense", "name": "O", "kind": "state", "cvr": "12345678"}
    )
    assert refused.status_code == 200
    assert "cvr" in refused.context["adminform"].form.errors
    assert not Authority.objects.filter(code="odense").exists()


def test_unit_add_move_and_close(ops, operator, units) -> None:
    response = ops.post(
        url("losunit_add"),
        {
            "authority": units.root.authority_id,
            "parent": units.child.pk,
            "code": "NY",
            "name": "Ny",
        },
    )
    assert response.status_code == 302
    unit = LosUnit.objects.get(code="NY")
    assert unit.path == f"{units.child.path}{unit.pk}/"
    response = ops.post(
        url("losunit_change", units.child.pk),
        {"parent": units.sibling.pk, "code": "BORGER", "name": "Borgerservice"},
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.path.startswith(f"{units.sibling.path}{units.child.pk}/")
    assert actions()[-2:] == ["los_unit_create", "los_unit_move"]
    # Closing: the deepest first; the child's open sub-units close together with it.
    response = ops.post(
        url("losunit_changelist"),
        {
            "action": "close_units",
            "_selected_action": [units.child.pk, units.grandchild.pk, unit.pk],
        },
    )
    assert response.status_code == 302
    assert LosUnit.objects.filter(closed_at__isnull=False).count() == 3


def test_close_action_reports_refusals_and_changes_nothing(ops, units) -> None:
    before = actions()
    response = ops.post(
        url("losunit_changelist"),
        {"action": "close_units", "_selected_action": [units.root.pk]},
        follow=True,
    )
    assert "Close the unit&#x27;s open sub-units first." in response.content.decode()
    assert not LosUnit.objects.filter(closed_at__isnull=False).exists()
    assert actions() == before


def test_move_under_itself_is_a_form_error(ops, units) -> None:
    response = ops.post(
        url("losunit_change", units.child.pk),
        {"parent": units.grandchild.pk, "code": "BORGER", "name": "Borgerservice"},
    )
    assert response.status_code == 200
    units.child.refresh_from_db()
    assert units.child.parent == units.root


def test_user_actions_call_the_services(ops, colleague, caseworker) -> None:
    selected = [colleague.pk, caseworker.pk]
    ops.post(url("user_changelist"), {"action": "deactivate_users", "_selected_action": selected})
    assert not User.objects.filter(pk__in=selected, is_active=True).exists()
    assert actions()[-2:] == ["employee_deactivate", "employee_deactivate"]
    ops.post(url("user_changelist"), {"action": "reactivate_users", "_selected_action": selected})
    assert User.objects.filter(pk__in=selected, is_active=True).count() == 2
    assert AuditEvent.objects.filter(action="employee_reactivate").count() == 2


def test_operator_cannot_deactivate_themselves_by_action(ops, operator) -> None:
    response = ops.post(
        url("user_changelist"),
        {"action": "deactivate_users", "_selected_action": [operator.pk]},
        follow=True,
    )
    assert "You cannot change your own access." in response.content.decode()
    operator.refresh_from_db()
    assert operator.is_active


def test_operator_adds_an_employee_in_the_admin(ops, authority) -> None:
    response = ops.post(
        url("user_add"),
        {
            "username": "ny.medarbejder",
            "usable_password": "false",
            "password1": "",
            "password2": "",
            "kind": "employee",
            "authority": authority.pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = User.objects.get(username="ny.medarbejder")
    assert (created.kind, created.authority) == (User.Kind.EMPLOYEE, authority)
    assert actions()[-1] == "user_create"


def test_grant_add_and_delete_go_through_the_services(ops, operator, caseworker, units) -> None:
    stop = RoleProfile.objects.get(code="nks-stop-bet")
    response = ops.post(
        url("grant_add"), {"user": caseworker.pk, "role_profile": stop.pk, "unit": units.child.pk}
    )
    assert response.status_code == 302
    created = Grant.objects.get(user=caseworker)
    assert created.granted_by == operator
    assert units.grandchild in units_for(user=caseworker, function=Function.STOP_PENDING_PAYMENTS)
    assert actions()[-1] == "grant_create"

    response = ops.post(url("grant_delete", created.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Grant.objects.filter(pk=created.pk).exists()
    assert not LosUnitUserObjectPermission.objects.filter(user=caseworker).exists()
    assert actions()[-1] == "grant_revoke"


def test_grant_bulk_delete_revokes_each(ops, colleague, local_admin) -> None:
    selected = list(Grant.objects.values_list("pk", flat=True))
    response = ops.post(
        url("grant_changelist"),
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )
    assert response.status_code == 302
    assert not Grant.objects.exists()
    assert not LosUnitUserObjectPermission.objects.exists()
    assert actions().count("grant_revoke") == len(selected)


def test_grant_for_another_authoritys_user_is_a_form_error(ops, outsider, units) -> None:
    search = RoleProfile.objects.get(code="nks-soeg-bet")
    before = (Grant.objects.count(), AuditEvent.objects.count())
    response = ops.post(
        url("grant_add"), {"user": outsider.pk, "role_profile": search.pk, "unit": units.child.pk}
    )
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    assert (Grant.objects.count(), AuditEvent.objects.count()) == before


def test_grants_cannot_be_edited(ops, colleague) -> None:
    held = colleague.grants.get()
    response = ops.post(url("grant_change", held.pk), {"unit": held.unit_id})
    assert response.status_code == 403


def test_standard_profiles_are_read_only_custom_ones_are_not(ops) -> None:
    standard = RoleProfile.objects.get(code="nks-soeg-bet")
    page = ops.get(url("roleprofile_change", standard.pk))
    assert page.status_code == 200  # shown, with its functions
    assert "Search pending payments" in page.content.decode()
    response = ops.post(url("roleprofile_change", standard.pk), {"name": "Ændret"})
    assert response.status_code == 403
    assert ops.post(url("roleprofile_delete", standard.pk), {"post": "yes"}).status_code == 403
    function = standard.functions.get()
    response = ops.post(
        url("roleprofile_add"),
        {"code": "egen", "name": "Egen", "description": "", "functions": [function.pk]},
    )
    assert response.status_code == 302
    assert RoleProfile.objects.get(code="egen").functions.get() == function
    assert actions()[-1] == "role_profile_create"


def test_audit_events_are_read_only(ops, local_admin) -> None:
    event = AuditEvent.objects.create(actor_label="x", action="x", target_type="t", target_id="1")
    assert ops.get(url("auditevent_change", event.pk)).status_code == 200
    assert ops.post(url("auditevent_change", event.pk), {"action": "y"}).status_code == 403
    assert ops.post(url("auditevent_delete", event.pk), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "x"


def test_bank_add_goes_through_the_service(ops) -> None:
    response = ops.post(url("bank_add"), {"reg": "9999", "bic": "abcddkkk", "name": "Testbank"})
    assert response.status_code == 302
    assert actions()[-1] == "bank_create"


# --- Who may use the admin at all (the admin half of the permission matrix) ---------------------


@pytest.mark.parametrize(
    "persona", ["anonymous", "citizen", "caseworker", "outsider", "local_admin", "sibling_admin"]
)
@pytest.mark.parametrize(
    "action",
    [
        ("losunit_changelist", "close_units"),
        ("user_changelist", "deactivate_users"),
        ("user_changelist", "reactivate_users"),
        ("grant_changelist", "delete_selected"),
        ("grant_add", None),
        ("authority_add", None),
    ],
    ids=lambda action: f"{action[0]}:{action[1]}",
)
def test_only_operators_reach_the_admin(request, persona, action, units, colleague) -> None:
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    view, action_name = action
    before = (
        LosUnit.objects.filter(closed_at__isnull=True).count(),
        User.objects.filter(is_active=True).count(),
        Grant.objects.count(),
        Authority.objects.count(),
        AuditEvent.objects.count(),
    )
    body: dict[str, object] = {
        "user": colleague.pk,
        "role_profile": RoleProfile.objects.get(code="nks-stop-bet").pk,
        "unit": units.child.pk,
        "code": "x",
        "name": "x",
        "kind": "state",
        "cvr": valid_cvr(600002),
    }
    if action_name:
        selected = {
            "losunit_changelist": [units.grandchild.pk],
            "user_changelist": [colleague.pk],
            "grant_changelist": [colleague.grants.get().pk],
        }[view]
        body = {"action": action_name, "_selected_action": selected, "post": "yes"}
    response = client.post(url(view), body)
    assert response.status_code == 302
    with translation.override("en"):
        assert reverse("admin:login") in response["Location"]
    after = (
        LosUnit.objects.filter(closed_at__isnull=True).count(),
        User.objects.filter(is_active=True).count(),
        Grant.objects.count(),
        Authority.objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before
