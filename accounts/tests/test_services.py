"""The accounts services: permission, rules, audit and history (DOMAIN.md section 6)."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.functions import Function
from accounts.models import AuditEvent, Authority, Grant, LosUnit, RoleProfile, User
from accounts.selectors import los_unit_history, units_for, user_has_function
from accounts.tests.factories import EmployeeFactory, LosUnitFactory, grant, valid_cvr
from nemkonto.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


def profile(code: str) -> RoleProfile:
    return RoleProfile.objects.get(code=code)


def last_audit() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()  # type: ignore[return-value]


# --- Audit --------------------------------------------------------------------------------------


def test_audit_record_names_actor_and_target(local_admin, units) -> None:
    from accounts.audit import audit_record

    event = audit_record(actor=local_admin, action="x", target=units.child, data={"a": 1})
    assert (event.actor, event.actor_label) == (local_admin, "lokaladmin")
    assert (event.target_type, event.target_id) == ("accounts.LosUnit", str(units.child.pk))
    system = audit_record(actor=None, action="y", target=units.child)
    assert (system.actor, system.actor_label, system.data) == (None, "system", {})


# --- Authorities --------------------------------------------------------------------------------


def test_operator_creates_and_updates_an_authority(operator) -> None:
    created = services.authority_create(
        actor=operator,
        code="Aarhus",
        name="Aarhus Kommune",
        kind="municipality",
        cvr=valid_cvr(500007),
    )
    assert created.code == "aarhus"
    assert last_audit().action == "authority_create"
    services.authority_update(actor=operator, authority=created, name="Århus", is_active=False)
    created.refresh_from_db()
    assert (created.name, created.is_active) == ("Århus", False)
    event = last_audit()
    assert event.action == "authority_update"
    assert event.data["changes"]["name"] == ["Aarhus Kommune", "Århus"]


@pytest.mark.parametrize("cvr", ["1234567", "12345678", "0" * 8])
def test_authority_cvr_is_validated(operator, cvr) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.authority_create(actor=operator, code="x", name="X", kind="state", cvr=cvr)
    assert refused.value.field == "cvr"
    assert not Authority.objects.filter(code="x").exists()


def test_authority_code_and_cvr_are_unique(operator, authority) -> None:
    with pytest.raises(Conflict) as refused:
        services.authority_create(
            actor=operator, code="kbh", name="X", kind="state", cvr=valid_cvr(500099)
        )
    assert refused.value.field == "code"
    with pytest.raises(Conflict) as refused:
        services.authority_create(
            actor=operator, code="ny", name="X", kind="state", cvr=authority.cvr
        )
    assert refused.value.field == "cvr"


def test_only_operators_manage_authorities(local_admin, authority) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.authority_create(
            actor=local_admin, code="ny", name="X", kind="state", cvr=valid_cvr(500005)
        )
    with pytest.raises(PermissionDenied):
        services.authority_update(actor=local_admin, authority=authority, name="Mit navn")
    authority.refresh_from_db()
    assert authority.name == "Testkøbing Kommune"
    assert AuditEvent.objects.count() == before


# --- LOS units ----------------------------------------------------------------------------------


def test_local_admin_creates_a_unit_below_their_scope(local_admin, units) -> None:
    unit = services.los_unit_create(
        actor=local_admin, authority=units.root.authority, parent=units.child, code="NY", name="Ny"
    )
    assert unit.path == f"{units.child.path}{unit.pk}/"
    assert unit in units_for(user=local_admin, function=Function.LOCAL_ADMINISTRATION)
    assert last_audit().data["unit"] == unit.pk
    history = los_unit_history(actor=local_admin, unit_id=unit.pk)
    assert [event.pgh_label for event in history] == ["insert"]


def test_unit_create_refusals(child_admin, operator, units, other_unit) -> None:
    authority = units.root.authority
    with pytest.raises(PermissionDenied):  # not in their scope
        services.los_unit_create(
            actor=child_admin, authority=authority, parent=units.sibling, code="A", name="A"
        )
    with pytest.raises(PermissionDenied):  # root units: operators only
        services.los_unit_create(
            actor=child_admin, authority=authority, parent=None, code="A", name="A"
        )
    with pytest.raises(ValidationFailed):
        services.los_unit_create(
            actor=operator, authority=authority, parent=other_unit, code="A", name="A"
        )
    with pytest.raises(Conflict):
        services.los_unit_create(
            actor=child_admin, authority=authority, parent=units.child, code="ROOT", name="A"
        )
    root = services.los_unit_create(
        actor=operator, authority=authority, parent=None, code="ROD2", name="Anden rod"
    )
    assert root.path == f"/{root.pk}/"


def test_move_rewrites_the_subtree_in_one_statement(local_admin, units) -> None:
    deep = LosUnitFactory.create(parent=units.grandchild, code="DYB")
    with CaptureQueriesContext(connection) as queries:
        services.los_unit_move(actor=local_admin, unit=units.child, new_parent=units.sibling)
    updates = [q["sql"] for q in queries if 'UPDATE "accounts_losunit"' in q["sql"]]
    assert len(updates) == 1
    for unit in (units.child, units.grandchild, deep):
        unit.refresh_from_db()
    assert units.child.parent == units.sibling
    assert units.child.path == f"{units.sibling.path}{units.child.pk}/"
    assert units.grandchild.path == f"{units.child.path}{units.grandchild.pk}/"
    assert deep.path == f"{units.grandchild.path}{deep.pk}/"
    assert deep.parent_id == units.grandchild.pk  # only the moved unit changes parent


def test_grants_follow_a_moved_unit(caseworker, local_admin, units) -> None:
    grant(caseworker, "nks-soeg-bet", units.sibling)
    assert not user_has_function(
        user=caseworker, function=Function.SEARCH_PENDING_PAYMENTS, unit=units.grandchild
    )
    services.los_unit_move(actor=local_admin, unit=units.child, new_parent=units.sibling)
    units.grandchild.refresh_from_db()
    assert user_has_function(
        user=caseworker, function=Function.SEARCH_PENDING_PAYMENTS, unit=units.grandchild
    )


def test_move_and_close_history_can_be_read_back(local_admin, units) -> None:
    unit = services.los_unit_create(
        actor=local_admin, authority=units.root.authority, parent=units.child, code="NY", name="Ny"
    )
    old_path = unit.path
    services.los_unit_move(actor=local_admin, unit=unit, new_parent=units.sibling)
    services.los_unit_close(actor=local_admin, unit=unit)
    history = list(los_unit_history(actor=local_admin, unit_id=unit.pk))
    assert [event.pgh_label for event in history] == ["insert", "update", "update"]
    created, moved, closed = history
    assert (created.parent_id, created.path) == (units.child.pk, old_path)
    assert moved.path == f"{units.sibling.path}{unit.pk}/"
    assert (moved.parent_id, moved.closed_at) == (units.sibling.pk, None)
    assert moved.pgh_context.metadata == {"actor": local_admin.pk, "action": "los_unit_move"}
    assert closed.closed_at is not None
    assert closed.pgh_context.metadata["action"] == "los_unit_close"


def test_history_is_scoped(child_admin, units) -> None:
    with pytest.raises(NotFound):
        los_unit_history(actor=child_admin, unit_id=units.sibling.pk)


def test_move_refusals(local_admin, child_admin, operator, units, other_unit) -> None:
    with pytest.raises(ValidationFailed) as refused:  # under itself
        services.los_unit_move(actor=local_admin, unit=units.child, new_parent=units.grandchild)
    assert refused.value.code == "cycle"
    with pytest.raises(ValidationFailed) as refused:
        services.los_unit_move(actor=local_admin, unit=units.child, new_parent=units.child)
    assert refused.value.code == "cycle"
    with pytest.raises(ValidationFailed) as refused:  # another authority
        services.los_unit_move(actor=operator, unit=units.child, new_parent=other_unit)
    assert refused.value.code == "other_authority"
    with pytest.raises(PermissionDenied):  # new parent outside the child admin's scope
        services.los_unit_move(actor=child_admin, unit=units.grandchild, new_parent=units.sibling)
    with pytest.raises(PermissionDenied):  # making a root: operators only
        services.los_unit_move(actor=local_admin, unit=units.child, new_parent=None)
    units.grandchild.refresh_from_db()
    assert units.grandchild.path == f"{units.child.path}{units.grandchild.pk}/"


def test_operator_can_make_a_unit_a_root(operator, units) -> None:
    moved = services.los_unit_move(actor=operator, unit=units.child, new_parent=None)
    units.grandchild.refresh_from_db()
    assert (moved.parent, moved.path) == (None, f"/{units.child.pk}/")
    assert units.grandchild.path == f"/{units.child.pk}/{units.grandchild.pk}/"


def test_close_refuses_while_sub_units_are_open(local_admin, units) -> None:
    with pytest.raises(Conflict) as refused:
        services.los_unit_close(actor=local_admin, unit=units.child)
    assert refused.value.code == "open_sub_units"
    services.los_unit_close(actor=local_admin, unit=units.grandchild)
    closed = services.los_unit_close(actor=local_admin, unit=units.child)
    assert closed.closed_at is not None
    with pytest.raises(Conflict):
        services.los_unit_close(actor=local_admin, unit=units.child)
    with pytest.raises(Conflict):
        services.los_unit_move(actor=local_admin, unit=units.child, new_parent=units.sibling)


def test_close_needs_the_unit_in_scope(sibling_admin, units) -> None:
    with pytest.raises(PermissionDenied):
        services.los_unit_close(actor=sibling_admin, unit=units.grandchild)
    units.grandchild.refresh_from_db()
    assert units.grandchild.is_open


def test_unit_rename(local_admin, units) -> None:
    services.los_unit_update(actor=local_admin, unit=units.child, name="Borgerservice Nord")
    units.child.refresh_from_db()
    assert units.child.name == "Borgerservice Nord"
    with pytest.raises(Conflict):
        services.los_unit_update(actor=local_admin, unit=units.child, code="SKAT")


# --- Employees ----------------------------------------------------------------------------------


def test_local_admin_creates_an_employee_of_their_authority(local_admin, authority, units) -> None:
    user = services.employee_create(
        actor=local_admin,
        authority=authority,
        username="ny.bruger",
        first_name="Ny",
        last_name="Bruger",
        email="ny@kbh.example",
        grants=[(profile("nks-soeg-bet"), units.child)],
    )
    assert (user.kind, user.authority, user.is_staff, user.is_superuser) == (
        User.Kind.EMPLOYEE,
        authority,
        False,
        False,
    )
    assert not user.has_usable_password()
    assert units.grandchild in units_for(user=user, function=Function.SEARCH_PENDING_PAYMENTS)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["employee_create", "grant_create"]


def test_employee_create_refusals(local_admin, outsider, authority, units) -> None:
    common: dict[str, Any] = {"first_name": "A", "last_name": "B", "email": ""}
    with pytest.raises(PermissionDenied):  # another authority's administrator
        services.employee_create(actor=outsider, authority=authority, username="x", **common)
    with pytest.raises(Conflict):
        services.employee_create(
            actor=local_admin, authority=authority, username="LOKALADMIN", **common
        )
    with pytest.raises(ValidationFailed) as refused:
        services.employee_create(actor=local_admin, authority=authority, username="a b", **common)
    assert refused.value.field == "username"
    with pytest.raises(ValidationFailed) as refused:
        services.employee_create(
            actor=local_admin, authority=authority, username="ok", **{**common, "email": "nej"}
        )
    assert refused.value.field == "email"
    assert not User.objects.filter(username__in=["x", "ok", "a b"]).exists()


def test_failing_first_grant_creates_no_user(child_admin, authority, units) -> None:
    before = (User.objects.count(), Grant.objects.count(), AuditEvent.objects.count())
    with pytest.raises(PermissionDenied) as refused:
        services.employee_create(
            actor=child_admin,
            authority=authority,
            username="halv",
            first_name="H",
            last_name="B",
            grants=[(profile("nks-soeg-bet"), units.child), (profile("nks-soeg-bet"), units.root)],
        )
    assert refused.value.field == "grants[1].unit"
    assert (User.objects.count(), Grant.objects.count(), AuditEvent.objects.count()) == before


def test_deactivate_and_reactivate(local_admin, colleague) -> None:
    services.employee_deactivate(actor=local_admin, user=colleague)
    colleague.refresh_from_db()
    assert not colleague.is_active
    assert list(units_for(user=colleague, function=Function.SEARCH_PENDING_PAYMENTS)) == []
    assert colleague.grants.count() == 1  # kept for reactivation
    with pytest.raises(Conflict):
        services.employee_deactivate(actor=local_admin, user=colleague)
    services.employee_reactivate(actor=local_admin, user=colleague)
    colleague.refresh_from_db()
    assert colleague.is_active
    assert units_for(user=colleague, function=Function.SEARCH_PENDING_PAYMENTS).count() == 2
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["employee_deactivate", "employee_reactivate"]


def test_deactivation_needs_every_grant_of_the_user_in_scope(
    sibling_admin, child_admin, colleague, local_admin
) -> None:
    with pytest.raises(PermissionDenied):  # colleague's grant is on the child
        services.employee_deactivate(actor=sibling_admin, user=colleague)
    services.employee_deactivate(actor=child_admin, user=colleague)  # the child is theirs
    with pytest.raises(PermissionDenied):  # the root admin's grant is above the child admin
        services.employee_deactivate(actor=child_admin, user=local_admin)


def test_nobody_deactivates_themselves(local_admin, operator) -> None:
    with pytest.raises(PermissionDenied):
        services.employee_deactivate(actor=local_admin, user=local_admin)
    with pytest.raises(PermissionDenied):
        services.employee_deactivate(actor=operator, user=operator)


def test_other_authority_cannot_deactivate(outsider, colleague) -> None:
    with pytest.raises(PermissionDenied):
        services.employee_deactivate(actor=outsider, user=colleague)
    colleague.refresh_from_db()
    assert colleague.is_active


# --- Grants -------------------------------------------------------------------------------------


def test_grant_create_and_revoke_keep_permissions_and_audit(local_admin, caseworker, units) -> None:
    created = services.grant_create(
        actor=local_admin, user=caseworker, role_profile=profile("nks-stop-bet"), unit=units.child
    )
    assert created.granted_by == local_admin
    assert units.grandchild in units_for(user=caseworker, function=Function.STOP_PENDING_PAYMENTS)
    event = last_audit()
    assert (event.action, event.actor, event.authority) == (
        "grant_create",
        local_admin,
        units.child.authority,
    )
    assert event.data == {
        "grant": created.pk,
        "user": caseworker.pk,
        "username": "sagsbehandler",
        "role_profile": "nks-stop-bet",
        "unit": units.child.pk,
        "unit_code": "BORGER",
    }
    services.grant_revoke(actor=local_admin, grant=created)
    assert not Grant.objects.filter(pk=created.pk).exists()
    assert not units_for(user=caseworker, function=Function.STOP_PENDING_PAYMENTS).exists()
    assert last_audit().action == "grant_revoke"
    assert last_audit().target_id == str(created.pk)


def test_revoking_one_of_two_overlapping_grants_keeps_the_shared_function(
    local_admin, caseworker, units
) -> None:
    stop = services.grant_create(
        actor=local_admin, user=caseworker, role_profile=profile("nks-stop-bet"), unit=units.child
    )
    services.grant_create(
        actor=local_admin, user=caseworker, role_profile=profile("nks-soeg-bet"), unit=units.child
    )
    services.grant_revoke(actor=local_admin, grant=stop)
    assert units_for(user=caseworker, function=Function.SEARCH_PENDING_PAYMENTS).exists()
    assert not units_for(user=caseworker, function=Function.STOP_PENDING_PAYMENTS).exists()


def test_grant_refusals(
    local_admin, sibling_admin, caseworker, outsider, units, other_unit
) -> None:
    search = profile("nks-soeg-bet")
    before = (Grant.objects.count(), AuditEvent.objects.count())
    with pytest.raises(PermissionDenied):  # the child is not under the sibling
        services.grant_create(
            actor=sibling_admin, user=caseworker, role_profile=search, unit=units.child
        )
    with pytest.raises(PermissionDenied):  # another authority's unit
        services.grant_create(
            actor=local_admin, user=caseworker, role_profile=search, unit=other_unit
        )
    with pytest.raises(ValidationFailed):  # another authority's user
        services.grant_create(
            actor=local_admin, user=outsider, role_profile=search, unit=units.child
        )
    with pytest.raises(PermissionDenied):  # their own grants come from someone else
        services.grant_create(
            actor=local_admin, user=local_admin, role_profile=search, unit=units.child
        )
    assert (Grant.objects.count(), AuditEvent.objects.count()) == before


def test_duplicate_grant_is_a_conflict(local_admin, colleague, units) -> None:
    with pytest.raises(Conflict):
        services.grant_create(
            actor=local_admin,
            user=colleague,
            role_profile=profile("nks-soeg-bet"),
            unit=units.child,
        )


def test_no_grant_on_closed_unit_or_to_inactive_user(local_admin, caseworker, units) -> None:
    services.los_unit_close(actor=local_admin, unit=units.grandchild)
    with pytest.raises(ValidationFailed) as refused:
        services.grant_create(
            actor=local_admin,
            user=caseworker,
            role_profile=profile("nks-soeg-bet"),
            unit=units.grandchild,
        )
    assert refused.value.field == "unit"
    services.employee_deactivate(actor=local_admin, user=caseworker)
    caseworker.refresh_from_db()
    with pytest.raises(ValidationFailed) as refused:
        services.grant_create(
            actor=local_admin,
            user=caseworker,
            role_profile=profile("nks-soeg-bet"),
            unit=units.child,
        )
    assert refused.value.field == "user"


def test_revoke_needs_the_unit_in_scope(sibling_admin, local_admin, colleague) -> None:
    held = colleague.grants.get()
    with pytest.raises(PermissionDenied):
        services.grant_revoke(actor=sibling_admin, grant=held)
    with pytest.raises(PermissionDenied):  # not their own
        services.grant_revoke(actor=local_admin, grant=local_admin.grants.get())
    assert Grant.objects.filter(pk=held.pk).exists()


def test_operator_may_grant_anything(operator, outsider, other_unit) -> None:
    services.grant_create(
        actor=operator, user=outsider, role_profile=profile("nks-soeg-bet"), unit=other_unit
    )
    assert outsider.grants.filter(role_profile__code="nks-soeg-bet").exists()


# --- Role profiles ------------------------------------------------------------------------------


def _functions(*functions: Function) -> list[Permission]:
    return list(
        Permission.objects.filter(
            content_type__app_label="accounts", codename__in=[f.value for f in functions]
        )
    )


def test_custom_profile_change_resyncs_every_holder(operator, local_admin, units) -> None:
    custom = services.role_profile_create(
        actor=operator,
        code="kun-soeg",
        name="Kun søg",
        description="",
        functions=_functions(Function.SEARCH_PENDING_PAYMENTS),
    )
    holders = [EmployeeFactory.create(authority=units.root.authority) for _ in range(3)]
    for holder in holders:
        services.grant_create(actor=local_admin, user=holder, role_profile=custom, unit=units.child)
    services.role_profile_update(
        actor=operator,
        profile=custom,
        name="Søg og stop",
        description="",
        functions=_functions(Function.STOP_PENDING_PAYMENTS),
    )
    for holder in holders:
        assert units_for(user=holder, function=Function.STOP_PENDING_PAYMENTS).count() == 2
        assert not units_for(user=holder, function=Function.SEARCH_PENDING_PAYMENTS).exists()
    with pytest.raises(Conflict):
        services.role_profile_delete(actor=operator, profile=custom)


def test_standard_profiles_cannot_be_changed(operator) -> None:
    standard = profile("nks-soeg-bet")
    with pytest.raises(PermissionDenied):
        services.role_profile_update(
            actor=operator,
            profile=standard,
            name="x",
            description="",
            functions=_functions(Function.LOCAL_ADMINISTRATION),
        )
    with pytest.raises(PermissionDenied):
        services.role_profile_delete(actor=operator, profile=standard)
    assert list(standard.functions.values_list("codename", flat=True)) == [
        "search_pending_payments"
    ]


def test_role_profile_functions_are_unit_functions(operator) -> None:
    foreign = Permission.objects.exclude(content_type__model="losunit").first()
    assert foreign is not None
    with pytest.raises(ValidationFailed):
        services.role_profile_create(
            actor=operator, code="x", name="x", description="", functions=[foreign]
        )


# --- Banks --------------------------------------------------------------------------------------


def test_operator_registers_a_bank(operator, local_admin) -> None:
    bank = services.bank_create(actor=operator, reg="1234", bic="danbdkkk", name="Banken")
    assert bank.bic == "DANBDKKK"
    with pytest.raises(ValidationFailed):
        services.bank_create(actor=operator, reg="12a4", bic="", name="X")
    with pytest.raises(PermissionDenied):
        services.bank_update(actor=local_admin, bank=bank, bic="", name="Min bank")


def test_staff_are_always_operators(db) -> None:
    superuser = User.objects.create_superuser("root", password="x-long-password-1")
    staff = User.objects.create_user("ops", password="x-long-password-1", is_staff=True)
    assert superuser.kind == staff.kind == User.Kind.OPERATOR
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        EmployeeFactory.create(is_staff=True)
    assert LosUnit.objects.count() == 0
