"""Onboarding services (issue 10): connection requests become agreements when an operator
approves them (in test for a new system, active for one connected elsewhere), or go back with a
reason; user requests are carried out through the accounts services. Refusals write nothing."""

import pytest

from accounts.models import AuditEvent, ConnectionRequest, Grant, RoleProfile, User, UserRequest
from accounts.onboarding_documents import connection_request_pdf
from accounts.onboarding_services import (
    RequestedGrant,
    connection_request_approve,
    connection_request_resubmit,
    connection_request_return,
    connection_request_submit,
    user_request_carry_out,
    user_request_return,
    user_request_submit,
)
from accounts.tests.onboarding_fixtures import *  # noqa: F403
from accounts.tests.onboarding_fixtures import go_live, pdf_text, request_data
from nemkonto.errors import Conflict, PermissionDenied, ValidationFailed
from payments.models import BankAgreement, ConnectionAgreement, PaymentSystem

pytestmark = pytest.mark.django_db


def _submit(actor, authority, units, bank, **overrides):
    return connection_request_submit(
        actor=actor, authority=authority, data=request_data(units, bank, **overrides)
    )


def test_approving_a_new_system_makes_system_bank_agreement_and_agreement_in_test(
    authority, units, bank, local_admin, operator
):
    request = _submit(local_admin, authority, [units.child], bank)

    approved = connection_request_approve(actor=operator, request=request)

    system = PaymentSystem.objects.get(name="Opus Debitor")
    assert (system.code, system.vendor) == ("opus-debitor", "KMD")
    created = AuditEvent.objects.get(action="payment_system.create", target_id=str(system.pk))
    assert created.data["request"] == request.pk
    agreement = ConnectionAgreement.objects.get(authority=authority, payment_system=system)
    assert agreement.status == ConnectionAgreement.Status.IN_TEST
    assert agreement.failure_choice == "cheque"
    assert agreement.go_live_on == go_live()
    bank_agreement = BankAgreement.objects.get(number="BA-2026-77")
    assert (bank_agreement.authority, bank_agreement.bank) == (authority, bank)
    assert bank_agreement.pays_from == go_live()
    assert list(bank_agreement.disbursement_accounts.values_list("reg", "number")) == [
        ("3000", "0004444444")
    ]
    approved.refresh_from_db()
    assert approved.status == ConnectionRequest.Status.APPROVED
    assert approved.agreement == agreement
    assert approved.decided_by == operator
    assert AuditEvent.objects.filter(
        action="connection_request.approve", target_id=str(request.pk)
    ).exists()


def test_approving_a_system_connected_elsewhere_activates_it_at_once(
    authority, units, bank, coordinator, operator, connected_system
):
    request = _submit(
        coordinator,
        authority,
        [units.root],
        bank,
        new_system=False,
        payment_system=connected_system,
    )

    connection_request_approve(actor=operator, request=request)

    agreement = ConnectionAgreement.objects.get(
        authority=authority, payment_system=connected_system
    )
    assert agreement.status == ConnectionAgreement.Status.ACTIVE
    assert PaymentSystem.objects.count() == 1  # no new system


def test_a_known_bank_agreement_is_used_as_it_is(authority, units, bank, local_admin, operator):
    known = BankAgreement.objects.create(
        authority=authority, bank=bank, number="BA-2026-77", pays_from=go_live()
    )
    request = _submit(
        local_admin, authority, [units.root], bank, disbursement_reg="", disbursement_number=""
    )

    connection_request_approve(actor=operator, request=request)

    assert list(BankAgreement.objects.all()) == [known]


def test_only_operators_approve_and_a_refusal_writes_nothing(
    authority, units, bank, local_admin, operator
):
    request = _submit(local_admin, authority, [units.root], bank)

    with pytest.raises(PermissionDenied):
        connection_request_approve(actor=local_admin, request=request)

    assert not PaymentSystem.objects.exists()
    assert not BankAgreement.objects.exists()
    request.refresh_from_db()
    assert request.status == ConnectionRequest.Status.SUBMITTED


def test_a_failing_approval_is_rolled_back_as_a_whole(
    authority, units, bank, local_admin, operator, other_authority
):
    # The bank agreement number is taken by another authority after the request was submitted:
    # the system made before the refusal must not stay behind.
    request = _submit(local_admin, authority, [units.root], bank)
    BankAgreement.objects.create(
        authority=other_authority, bank=bank, number="BA-2026-77", pays_from=go_live()
    )

    with pytest.raises(ValidationFailed) as refused:
        connection_request_approve(actor=operator, request=request)

    assert refused.value.field == "bank_agreement_number"
    assert not PaymentSystem.objects.exists()
    assert not ConnectionAgreement.objects.filter(authority=authority).exists()


def test_a_request_is_decided_once(authority, units, bank, local_admin, operator):
    request = _submit(local_admin, authority, [units.root], bank)
    connection_request_approve(actor=operator, request=request)

    with pytest.raises(Conflict):
        connection_request_approve(actor=operator, request=request)
    with pytest.raises(Conflict):
        connection_request_return(actor=operator, request=request, reason="Too late")


def test_return_needs_a_reason_and_the_requester_resubmits(
    authority, units, bank, local_admin, operator
):
    request = _submit(local_admin, authority, [units.root], bank)
    with pytest.raises(ValidationFailed):
        connection_request_return(actor=operator, request=request, reason="  ")

    connection_request_return(actor=operator, request=request, reason="The vendor is missing.")
    request.refresh_from_db()
    assert request.status == ConnectionRequest.Status.RETURNED
    assert request.return_reason == "The vendor is missing."

    connection_request_resubmit(
        actor=local_admin,
        request=request,
        data=request_data([units.root], bank, system_vendor="KMD A/S"),
    )
    request.refresh_from_db()
    assert request.status == ConnectionRequest.Status.SUBMITTED
    assert request.system_vendor == "KMD A/S"
    assert request.return_reason == ""
    with pytest.raises(Conflict):  # only a returned request can be resubmitted
        connection_request_resubmit(
            actor=local_admin, request=request, data=request_data([units.root], bank)
        )


def test_only_the_coordinator_and_local_administrators_request(
    authority, units, bank, caseworker, outsider
):
    for who in (caseworker, outsider):
        with pytest.raises(PermissionDenied):
            _submit(who, authority, [units.root], bank)
    assert not ConnectionRequest.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"bank_agreement_number": "BA/2026"}, "bank_agreement_number"),
        ({"failure_choice": "error_account"}, "error_account_reg"),
        ({"error_account_reg": "3000", "error_account_number": "1234"}, "error_account_reg"),
        ({"disbursement_number": ""}, "disbursement_number"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"system_name": ""}, "system_name"),
    ],
)
def test_invalid_requests_are_refused_naming_the_field(
    authority, units, bank, local_admin, overrides, field
):
    with pytest.raises(ValidationFailed) as refused:
        _submit(local_admin, authority, [units.root], bank, **overrides)
    assert refused.value.field == field
    assert not ConnectionRequest.objects.exists()


def test_units_of_another_authority_are_refused(authority, units, bank, local_admin, other_unit):
    with pytest.raises(ValidationFailed) as refused:
        _submit(local_admin, authority, [units.root, other_unit], bank)
    assert refused.value.field == "units"


def test_a_system_not_connected_anywhere_must_be_requested_as_new(
    authority, units, bank, local_admin
):
    untested = PaymentSystem.objects.create(code="nyt", name="Nyt system")
    with pytest.raises(ValidationFailed) as refused:
        _submit(
            local_admin, authority, [units.root], bank, new_system=False, payment_system=untested
        )
    assert refused.value.code == "not_connected"


def test_the_request_pdf_holds_the_request(authority, units, bank, local_admin):
    request = _submit(local_admin, authority, [units.child, units.sibling], bank)

    text = pdf_text(connection_request_pdf(request, language="en"))

    assert f"Connection request no. {request.pk}" in text
    assert "Testkøbing Kommune" in text
    assert "Opus Debitor (KMD)" in text
    assert "BA-2026-77" in text
    assert "BORGER Borgerservice" in text
    assert "SKAT Opkrævningen" in text
    assert "Cheque to the recipient's address" in text
    assert "Tom Tekniker" in text
    assert "Submitted" in text


# --- User requests ----------------------------------------------------------------------------


def _profile(code):
    return RoleProfile.objects.get(code=code)


def test_a_user_request_is_carried_out_with_the_grants(authority, units, caseworker, operator):
    request = user_request_submit(
        actor=caseworker,
        authority=authority,
        kind="create",
        username="ny-kollega",
        first_name="Nina",
        last_name="Nielsen",
        email="nina@kbh.example",
        lines=[
            RequestedGrant("grant", _profile("nks-opdater-nemkonto"), units.child),
            RequestedGrant("grant", _profile("nks-soeg-bet"), units.root),
        ],
    )
    assert request.status == UserRequest.Status.SUBMITTED

    user_request_carry_out(actor=operator, request=request)

    user = User.objects.get(username="ny-kollega")
    assert (user.authority, user.kind, user.email) == (authority, "employee", "nina@kbh.example")
    assert set(Grant.objects.filter(user=user).values_list("role_profile__code", "unit")) == {
        ("nks-opdater-nemkonto", units.child.pk),
        ("nks-soeg-bet", units.root.pk),
    }
    request.refresh_from_db()
    assert (request.status, request.user) == (UserRequest.Status.DONE, user)


def test_a_change_request_grants_and_revokes(authority, units, caseworker, colleague, operator):
    request = user_request_submit(
        actor=caseworker,
        authority=authority,
        kind="change",
        user=colleague,
        lines=[
            RequestedGrant("revoke", _profile("nks-soeg-bet"), units.child),
            RequestedGrant("grant", _profile("nks-stop-bet"), units.child),
        ],
    )

    user_request_carry_out(actor=operator, request=request)

    assert list(
        Grant.objects.filter(user=colleague).values_list("role_profile__code", flat=True)
    ) == ["nks-stop-bet"]


def test_a_user_request_that_no_longer_holds_changes_nothing(
    authority, units, caseworker, operator
):
    request = user_request_submit(
        actor=caseworker,
        authority=authority,
        kind="create",
        username="ny-kollega",
        first_name="Nina",
        last_name="Nielsen",
        lines=[RequestedGrant("grant", _profile("nks-opdater-nemkonto"), units.child)],
    )
    User.objects.create_user("NY-KOLLEGA", kind="employee", authority=authority)

    with pytest.raises(Conflict):
        user_request_carry_out(actor=operator, request=request)

    request.refresh_from_db()
    assert request.status == UserRequest.Status.SUBMITTED
    assert not Grant.objects.filter(unit=units.child).exists()


def test_user_requests_are_refused_for_outsiders_and_returned_with_a_reason(
    authority, units, caseworker, outsider, operator
):
    lines = [RequestedGrant("grant", _profile("nks-soeg-bet"), units.root)]
    with pytest.raises(PermissionDenied):
        user_request_submit(
            actor=outsider,
            authority=authority,
            kind="create",
            username="x",
            first_name="X",
            last_name="Y",
            lines=lines,
        )
    request = user_request_submit(
        actor=caseworker,
        authority=authority,
        kind="create",
        username="ny",
        first_name="Ny",
        last_name="Bruger",
        lines=lines,
    )

    user_request_return(actor=operator, request=request, reason="Ask your local administrator.")

    request.refresh_from_db()
    assert request.status == UserRequest.Status.RETURNED
    assert not User.objects.filter(username="ny").exists()
