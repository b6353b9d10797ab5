"""The rules of benefits, connection agreements, bank agreements and readiness confirmations."""

import datetime

import pytest
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.tests.factories import grant
from nemkonto.errors import Conflict, PermissionDenied, ValidationFailed
from payments import services
from payments.models import (
    BankAgreement,
    Benefit,
    ConnectionAgreement,
    ReadinessConfirmation,
)
from payments.selectors import agreement_history
from payments.tests.helpers import agreement_with, employee, los_unit

Status = ConnectionAgreement.Status
Choice = ConnectionAgreement.FailureChoice
pytestmark = pytest.mark.django_db


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- Benefits ------------------------------------------------------------------------------


def test_caseworker_with_the_benefits_profile_creates_a_benefit(authority, benefits_clerk):
    benefit = services.benefit_create(
        actor=benefits_clerk, authority=authority, code="KONT-HJ", name="Kontanthjælp"
    )
    assert (benefit.authority, benefit.code, benefit.name, benefit.is_active) == (
        authority,
        "KONT-HJ",
        "Kontanthjælp",
        True,
    )
    event = AuditEvent.objects.get(action="benefit.create")
    assert (event.actor, event.authority, event.data["code"]) == (
        benefits_clerk,
        authority,
        "KONT-HJ",
    )


def test_the_benefits_profile_must_cover_the_whole_authority(authority, units):
    clerk = employee(authority=authority)
    grant(clerk, "nks-ydelser", units.child)
    with pytest.raises(PermissionDenied):
        services.benefit_create(actor=clerk, authority=authority, code="B1", name="Boligstøtte")
    assert not Benefit.objects.exists()
    grant(clerk, "nks-ydelser", units.root)
    services.benefit_create(actor=clerk, authority=authority, code="B1", name="Boligstøtte")
    assert Benefit.objects.filter(authority=authority, code="B1").exists()


@pytest.mark.parametrize("who", ["caseworker", "outsider", "citizen", "local_admin"])
def test_others_may_not_create_benefits(request, authority, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.benefit_create(actor=actor, authority=authority, code="B1", name="Boligstøtte")
    assert not Benefit.objects.exists()
    assert audit_actions() == []


def test_operator_creates_benefits(authority, operator):
    services.benefit_create(actor=operator, authority=authority, code="B1", name="Boligstøtte")
    assert Benefit.objects.get().code == "B1"


def test_benefit_code_is_unique_per_authority(authority, other_authority, operator):
    services.benefit_create(actor=operator, authority=authority, code="B1", name="Boligstøtte")
    with pytest.raises(Conflict) as refused:
        services.benefit_create(actor=operator, authority=authority, code="B1", name="Andet")
    assert refused.value.field == "code"
    services.benefit_create(actor=operator, authority=other_authority, code="B1", name="Andet")
    assert Benefit.objects.count() == 2


@pytest.mark.parametrize(
    ("code", "name", "field"),
    [("", "Navn", "code"), ("æøå", "Navn", "code"), ("B 1", "Navn", "code"), ("B1", " ", "name")],
)
def test_benefit_code_and_name_are_checked(authority, operator, code, name, field):
    with pytest.raises(ValidationFailed) as refused:
        services.benefit_create(actor=operator, authority=authority, code=code, name=name)
    assert refused.value.field == field
    assert not Benefit.objects.exists()


def test_benefit_is_renamed_and_deactivated_and_each_change_is_audited(authority, benefits_clerk):
    benefit = services.benefit_create(
        actor=benefits_clerk, authority=authority, code="B1", name="Boligstøtte"
    )
    services.benefit_update(actor=benefits_clerk, benefit=benefit, name="Boligydelse")
    services.benefit_update(actor=benefits_clerk, benefit=benefit, is_active=False)
    services.benefit_update(actor=benefits_clerk, benefit=benefit, is_active=False)  # no change
    benefit.refresh_from_db()
    assert (benefit.code, benefit.name, benefit.is_active) == ("B1", "Boligydelse", False)
    changes = [
        e.data["changes"] for e in AuditEvent.objects.filter(action="benefit.update").order_by("id")
    ]
    assert changes == [{"name": ["Boligstøtte", "Boligydelse"]}, {"is_active": [True, False]}]


def test_outsider_may_not_change_a_benefit(authority, benefits_clerk, outsider):
    benefit = services.benefit_create(
        actor=benefits_clerk, authority=authority, code="B1", name="Boligstøtte"
    )
    with pytest.raises(PermissionDenied):
        services.benefit_update(actor=outsider, benefit=benefit, name="Andet", is_active=False)
    benefit.refresh_from_db()
    assert (benefit.name, benefit.is_active) == ("Boligstøtte", True)


# --- Connection agreements: request ---------------------------------------------------------


def test_an_operator_registers_payment_systems_with_unique_codes(operator, local_admin):
    first = services.payment_system_create(actor=operator, name="Opus Debitor", vendor="KMD")
    second = services.payment_system_create(actor=operator, name="Opus  debitor!")

    assert (first.code, second.code) == ("opus-debitor", "opus-debitor-2")
    assert AuditEvent.objects.filter(action="payment_system.create").count() == 2
    with pytest.raises(PermissionDenied):
        services.payment_system_create(actor=local_admin, name="Eget system")


def test_local_admin_requests_an_agreement(authority, local_admin, system):
    agreement = services.agreement_request(
        actor=local_admin,
        authority=authority,
        payment_system=system,
        failure_choice=Choice.CHEQUE,
        signed_at=datetime.date(2026, 10, 1),
    )
    assert (agreement.status, agreement.failure_choice, agreement.signed_at) == (
        Status.REQUESTED,
        Choice.CHEQUE,
        datetime.date(2026, 10, 1),
    )
    assert audit_actions() == ["agreement.request"]


def test_error_account_is_required_with_that_choice_and_normalised(authority, operator, system):
    with pytest.raises(ValidationFailed) as refused:
        services.agreement_request(
            actor=operator,
            authority=authority,
            payment_system=system,
            failure_choice=Choice.ERROR_ACCOUNT,
        )
    assert refused.value.field == "error_account_reg"
    agreement = services.agreement_request(
        actor=operator,
        authority=authority,
        payment_system=system,
        failure_choice=Choice.ERROR_ACCOUNT,
        error_account_reg="3001",
        error_account_number="1234567",
    )
    assert (agreement.error_account_reg, agreement.error_account_number) == ("3001", "0001234567")


@pytest.mark.parametrize(
    ("choice", "reg", "number", "field"),
    [
        (Choice.RETURN, "3001", "1234567", "error_account_reg"),
        (Choice.CHEQUE, "", "1234567", "error_account_number"),
        (Choice.ERROR_ACCOUNT, "12", "1234567", "error_account_reg"),
        (Choice.ERROR_ACCOUNT, "9999", "1234567", "error_account_reg"),
        (Choice.ERROR_ACCOUNT, "3001", "12345678901", "error_account_number"),
        (Choice.ERROR_ACCOUNT, "3001", "", "error_account_number"),
        ("nowhere", "", "", "failure_choice"),
    ],
)
def test_failure_choice_and_error_account_are_checked(
    authority, operator, system, choice, reg, number, field
):
    with pytest.raises(ValidationFailed) as refused:
        services.agreement_request(
            actor=operator,
            authority=authority,
            payment_system=system,
            failure_choice=choice,
            error_account_reg=reg,
            error_account_number=number,
        )
    assert refused.value.field == field
    assert not ConnectionAgreement.objects.exists()


def test_database_refuses_an_error_account_that_does_not_fit_the_choice(authority, system):
    with pytest.raises(IntegrityError):
        ConnectionAgreement.objects.create(
            authority=authority, payment_system=system, failure_choice=Choice.ERROR_ACCOUNT
        )


@pytest.mark.parametrize("who", ["caseworker", "outsider", "child_admin", "sibling_admin"])
def test_only_operators_and_the_whole_authoritys_local_admin_request(
    request, authority, units, system, who
):
    actor = request.getfixturevalue(who) if who in ("caseworker", "outsider") else None
    if actor is None:
        actor = employee(authority=authority)
        grant(actor, "nks-lokal-admin", units.child if who == "child_admin" else units.sibling)
    with pytest.raises(PermissionDenied):
        services.agreement_request(actor=actor, authority=authority, payment_system=system)
    assert not ConnectionAgreement.objects.exists()


def test_one_agreement_per_authority_and_system_but_a_terminated_one_is_reopened(
    authority, operator, system
):
    agreement = services.agreement_request(
        actor=operator, authority=authority, payment_system=system
    )
    with pytest.raises(Conflict):
        services.agreement_request(actor=operator, authority=authority, payment_system=system)
    services.agreement_advance(actor=operator, agreement=agreement, to=Status.TERMINATED)
    reopened = services.agreement_request(
        actor=operator, authority=authority, payment_system=system, failure_choice=Choice.CHEQUE
    )
    assert reopened.pk == agreement.pk
    assert (reopened.status, reopened.failure_choice) == (Status.REQUESTED, Choice.CHEQUE)


# --- Connection agreements: status -----------------------------------------------------------


def test_a_new_system_goes_requested_then_in_test_and_waits_for_its_test_script(
    authority, operator, system
):
    agreement = services.agreement_request(
        actor=operator, authority=authority, payment_system=system
    )
    agreement = services.agreement_advance(actor=operator, agreement=agreement)
    assert agreement.status == Status.IN_TEST
    assert agreement.test_started_at is not None
    assert agreement.activated_at is None
    # Active only once its test script has passed (driven for real in test_test_mode).
    with pytest.raises(Conflict) as refused:
        services.agreement_advance(actor=operator, agreement=agreement)
    assert refused.value.code == "test_script_incomplete"
    agreement.refresh_from_db()
    assert agreement.status == Status.IN_TEST
    transitions = [
        (e.data["from"], e.data["to"], e.data["test_skipped"])
        for e in AuditEvent.objects.filter(action="agreement.status_change").order_by("id")
    ]
    assert transitions == [("requested", "in_test", False)]


def test_a_new_system_cannot_skip_its_test(authority, operator, system):
    agreement = services.agreement_request(
        actor=operator, authority=authority, payment_system=system
    )
    with pytest.raises(Conflict) as refused:
        services.agreement_advance(actor=operator, agreement=agreement, to=Status.ACTIVE)
    assert refused.value.code == "test_required"
    agreement.refresh_from_db()
    assert agreement.status == Status.REQUESTED


def test_a_system_active_elsewhere_is_simply_activated(
    authority, other_authority, operator, system
):
    agreement_with(other_authority, system, Status.ACTIVE)
    agreement = services.agreement_request(
        actor=operator, authority=authority, payment_system=system
    )
    agreement = services.agreement_advance(actor=operator, agreement=agreement)
    assert agreement.status == Status.ACTIVE
    assert agreement.test_started_at is None
    assert AuditEvent.objects.get(action="agreement.status_change").data["test_skipped"] is True


def test_a_system_only_in_test_elsewhere_still_needs_its_own_test(
    authority, other_authority, operator, system
):
    agreement_with(other_authority, system, Status.IN_TEST)
    agreement = services.agreement_request(
        actor=operator, authority=authority, payment_system=system
    )
    assert services.agreement_advance(actor=operator, agreement=agreement).status == Status.IN_TEST


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (Status.ACTIVE, Status.SUSPENDED, True),
        (Status.SUSPENDED, Status.ACTIVE, True),
        (Status.ACTIVE, Status.TERMINATED, True),
        (Status.IN_TEST, Status.TERMINATED, True),
        (Status.TERMINATED, Status.ACTIVE, False),
        (Status.ACTIVE, Status.IN_TEST, False),
        (Status.IN_TEST, Status.REQUESTED, False),
        (Status.REQUESTED, Status.SUSPENDED, False),
    ],
)
def test_status_transitions(authority, operator, system, start, to, allowed):
    agreement = agreement_with(authority, system, start)
    if allowed:
        assert services.agreement_advance(actor=operator, agreement=agreement, to=to).status == to
    else:
        with pytest.raises(Conflict):
            services.agreement_advance(actor=operator, agreement=agreement, to=to)
        agreement.refresh_from_db()
        assert agreement.status == start


def test_active_agreement_has_no_next_step(authority, operator, system):
    agreement = agreement_with(authority, system, Status.ACTIVE)
    with pytest.raises(Conflict):
        services.agreement_advance(actor=operator, agreement=agreement)


@pytest.mark.parametrize("who", ["local_admin", "caseworker", "outsider"])
def test_only_operators_move_agreements(request, authority, system, who):
    agreement = agreement_with(authority, system, Status.IN_TEST)
    with pytest.raises(PermissionDenied):
        services.agreement_advance(actor=request.getfixturevalue(who), agreement=agreement)
    agreement.refresh_from_db()
    assert agreement.status == Status.IN_TEST
    assert audit_actions() == []


# --- Connection agreements: failure choice and history --------------------------------------


def test_local_admin_changes_the_failure_choice_and_the_history_keeps_the_old_one(
    authority, local_admin, operator, system
):
    agreement = services.agreement_request(
        actor=operator, authority=authority, payment_system=system
    )
    services.agreement_failure_choice_change(
        actor=local_admin,
        agreement=agreement,
        failure_choice=Choice.ERROR_ACCOUNT,
        error_account_reg="3001",
        error_account_number="4455",
    )
    services.agreement_failure_choice_change(
        actor=local_admin, agreement=agreement, failure_choice=Choice.CHEQUE
    )
    agreement.refresh_from_db()
    assert (agreement.failure_choice, agreement.error_account_number) == (Choice.CHEQUE, "")
    history = agreement_history(agreement=agreement)
    assert [(h["failure_choice"], h["error_account_number"], h["by"]) for h in history] == [
        ("return", "", "drift"),
        ("error_account", "0000004455", "lokaladmin"),
        ("cheque", "", "lokaladmin"),
    ]
    assert [h["action"] for h in history] == [
        "agreement.request",
        "agreement.failure_choice_change",
        "agreement.failure_choice_change",
    ]
    audited = AuditEvent.objects.filter(action="agreement.failure_choice_change").order_by("id")
    assert [e.data["to"]["failure_choice"] for e in audited] == ["error_account", "cheque"]


def test_unchanged_failure_choice_writes_nothing(authority, local_admin, system):
    agreement = agreement_with(authority, system)
    services.agreement_failure_choice_change(
        actor=local_admin, agreement=agreement, failure_choice=Choice.RETURN
    )
    assert audit_actions() == []
    assert len(agreement_history(agreement=agreement)) == 1


@pytest.mark.parametrize("who", ["caseworker", "outsider", "child_admin", "benefits_clerk"])
def test_others_may_not_change_the_failure_choice(request, authority, units, system, who):
    if who == "child_admin":
        actor = employee(authority=authority)
        grant(actor, "nks-lokal-admin", units.child)
    else:
        actor = request.getfixturevalue(who)
    agreement = agreement_with(authority, system)
    with pytest.raises(PermissionDenied):
        services.agreement_failure_choice_change(
            actor=actor, agreement=agreement, failure_choice=Choice.CHEQUE
        )
    agreement.refresh_from_db()
    assert agreement.failure_choice == Choice.RETURN
    assert len(agreement_history(agreement=agreement)) == 1


def test_terminated_agreement_keeps_its_failure_choice(authority, operator, system):
    agreement = agreement_with(authority, system, Status.TERMINATED)
    with pytest.raises(Conflict):
        services.agreement_failure_choice_change(
            actor=operator, agreement=agreement, failure_choice=Choice.CHEQUE
        )


# --- Bank agreements -----------------------------------------------------------------------


def test_operator_records_a_bank_agreement(authority, operator, bank):
    agreement = services.bank_agreement_create(
        actor=operator,
        authority=authority,
        bank=bank,
        number="PIA-10001",
        pays_from=datetime.date(2026, 12, 1),
        disbursement_accounts=[("3000", "4711"), ("3000", "0000004712")],
    )
    assert list(agreement.disbursement_accounts.values_list("reg", "number")) == [
        ("3000", "0000004711"),
        ("3000", "0000004712"),
    ]
    event = AuditEvent.objects.get(action="bank_agreement.create")
    assert event.data["disbursement_accounts"] == ["3000 0000004711", "3000 0000004712"]


def test_bank_agreement_number_is_unique(authority, other_authority, operator, bank):
    services.bank_agreement_create(
        actor=operator,
        authority=authority,
        bank=bank,
        number="10001",
        pays_from=datetime.date(2026, 12, 1),
        disbursement_accounts=[("3000", "4711")],
    )
    with pytest.raises(Conflict):
        services.bank_agreement_create(
            actor=operator,
            authority=other_authority,
            bank=bank,
            number="10001",
            pays_from=datetime.date(2026, 12, 1),
            disbursement_accounts=[("3000", "4712")],
        )
    assert BankAgreement.objects.count() == 1


@pytest.mark.parametrize(
    ("number", "accounts", "field"),
    [
        ("", [("3000", "1")], "number"),
        ("10 01", [("3000", "1")], "number"),
        ("1001", [], "disbursement_accounts"),
        ("1001", [("12", "1")], "disbursement_accounts[0].reg"),
        ("1001", [("3000", "1"), ("3000", "x")], "disbursement_accounts[1].number"),
        ("1001", [("3000", "1"), ("3000", "0000000001")], "disbursement_accounts[1]"),
    ],
)
def test_bank_agreement_is_checked(authority, operator, bank, number, accounts, field):
    with pytest.raises(ValidationFailed) as refused:
        services.bank_agreement_create(
            actor=operator,
            authority=authority,
            bank=bank,
            number=number,
            pays_from=datetime.date(2026, 12, 1),
            disbursement_accounts=accounts,
        )
    assert refused.value.field == field
    assert not BankAgreement.objects.exists()


@pytest.mark.parametrize("who", ["local_admin", "caseworker", "outsider"])
def test_only_operators_record_bank_agreements(request, authority, bank, who):
    with pytest.raises(PermissionDenied):
        services.bank_agreement_create(
            actor=request.getfixturevalue(who),
            authority=authority,
            bank=bank,
            number="1001",
            pays_from=datetime.date(2026, 12, 1),
            disbursement_accounts=[("3000", "1")],
        )
    assert not BankAgreement.objects.exists()


def test_bank_agreement_update_replaces_accounts_and_is_audited(
    authority, operator, local_admin, bank, other_bank
):
    agreement = services.bank_agreement_create(
        actor=operator,
        authority=authority,
        bank=bank,
        number="1001",
        pays_from=datetime.date(2026, 12, 1),
        disbursement_accounts=[("3000", "1")],
    )
    with pytest.raises(PermissionDenied):
        services.bank_agreement_update(
            actor=local_admin, bank_agreement=agreement, pays_from=datetime.date(2027, 1, 4)
        )
    services.bank_agreement_update(
        actor=operator,
        bank_agreement=agreement,
        bank=other_bank,
        number="1002",
        pays_from=datetime.date(2027, 1, 4),
        disbursement_accounts=[("0400", "2"), ("0400", "3")],
    )
    agreement.refresh_from_db()
    assert (agreement.bank, agreement.number, agreement.pays_from) == (
        other_bank,
        "1002",
        datetime.date(2027, 1, 4),
    )
    assert sorted(agreement.disbursement_accounts.values_list("number", flat=True)) == [
        "0000000002",
        "0000000003",
    ]
    changes = AuditEvent.objects.get(action="bank_agreement.update").data["changes"]
    assert set(changes) == {"bank", "number", "pays_from", "disbursement_accounts"}


# --- Readiness confirmations ---------------------------------------------------------------


def test_local_admin_confirms_and_withdraws_a_manual_item(authority, local_admin):
    services.readiness_confirm(
        actor=local_admin, authority=authority, item="1.5", note="Kendt af bogholderiet."
    )
    services.readiness_confirm(actor=local_admin, authority=authority, item="1.5", note="Igen.")
    confirmation = ReadinessConfirmation.objects.get()
    assert (confirmation.item, confirmation.confirmed_by, confirmation.note) == (
        "1.5",
        local_admin,
        "Igen.",
    )
    services.readiness_withdraw(actor=local_admin, authority=authority, item="1.5")
    assert not ReadinessConfirmation.objects.exists()
    assert audit_actions() == ["readiness.confirm", "readiness.confirm", "readiness.withdraw"]


@pytest.mark.parametrize("item", ["1.1", "1.2", "1.3", "1.6", "2.1"])
def test_computed_and_unknown_items_cannot_be_confirmed(authority, local_admin, item):
    with pytest.raises(ValidationFailed):
        services.readiness_confirm(actor=local_admin, authority=authority, item=item)
    assert not ReadinessConfirmation.objects.exists()


@pytest.mark.parametrize("who", ["caseworker", "outsider", "operator", "child_admin"])
def test_only_the_authoritys_local_admin_confirms(request, authority, units, who):
    if who == "child_admin":
        actor = employee(authority=authority)
        grant(actor, "nks-lokal-admin", units.child)
    else:
        actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.readiness_confirm(actor=actor, authority=authority, item="1.4")
    assert not ReadinessConfirmation.objects.exists()


def test_local_admin_of_every_root_of_a_forest_is_the_authoritys(authority, units):
    """Grants on every open unit count; a closed unit outside the grants does not matter."""
    second_root = los_unit(authority=authority, code="ANDEN")
    admin = employee(authority=authority)
    grant(admin, "nks-lokal-admin", units.root)
    with pytest.raises(PermissionDenied):
        services.readiness_confirm(actor=admin, authority=authority, item="1.4")
    second_root.closed_at = timezone.now()
    second_root.save()
    services.readiness_confirm(actor=admin, authority=authority, item="1.4")
