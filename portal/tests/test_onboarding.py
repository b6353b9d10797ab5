"""Onboarding in the portal (issue 10): the connection request in three steps, the operator's
decision in the admin and what the requester then sees, user requests, the agreements page with
test scripts and readiness, and the printable documents (the request, the cheque information
sheet, the documentation form of a reported NemKonto).

Texts are asserted on the English pages (/en/...): the msgids, whatever the Danish catalogue holds.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import ConnectionRequest, Grant, RoleProfile, User, UserRequest
from accounts.tests.onboarding_fixtures import *  # noqa: F403
from accounts.tests.onboarding_fixtures import pdf_text, request_fields
from payments.models import ConnectionAgreement
from payments.tests.payment_factories import caseworker_with, make_batch, make_payment
from payments.tests.pipeline_world import build_world
from portal.tests.caseworker_fixtures import *  # noqa: F403
from portal.tests.caseworker_fixtures import look_up
from registry.models import ActivationLetter, Recipient

pytestmark = pytest.mark.django_db


def onboarding_url(name, *args):
    with translation.override("en"):
        return reverse(f"portal:onboarding:{name}", args=args)


def admin_url(model):
    return reverse(f"admin:accounts_{model}_changelist")


def page(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def post_details(client, fields, step="summary"):
    return client.post(onboarding_url("request-new"), {**fields, "step": step})


# --- Access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["caseworker", "nemkonto_caseworker", "citizen"])
def test_connection_requests_are_404_for_others(client, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(onboarding_url("request-new")).status_code == 404
    assert client.get(onboarding_url("agreements")).status_code == 404


def test_the_requester_of_another_authority_sees_nothing(
    client, authority, units, bank, local_admin, outsider, other_authority
):
    client.force_login(local_admin)
    post_details(client, request_fields([units.root], bank), step="confirm")
    request = ConnectionRequest.objects.get()
    client.force_login(outsider)
    assert client.get(onboarding_url("request", request.pk)).status_code == 404
    assert client.get(onboarding_url("request-pdf", request.pk)).status_code == 404


# --- The three steps ---------------------------------------------------------------------------


def test_step_one_asks_whether_the_system_is_connected(client, coordinator):
    client.force_login(coordinator)
    first = page(client.get(onboarding_url("request-new")))
    assert "Is the payment system already connected to NemKonto?" in first

    new = page(client.get(onboarding_url("request-new") + "?connection=new"))
    assert 'name="system_name"' in new
    assert 'name="payment_system"' not in new
    existing = page(client.get(onboarding_url("request-new") + "?connection=existing"))
    assert 'name="payment_system"' in existing
    assert 'name="system_name"' not in existing


def test_the_summary_is_confirmed_before_the_request_is_stored(
    client, authority, units, bank, local_admin
):
    client.force_login(local_admin)
    fields = request_fields([units.child], bank)

    summary = page(post_details(client, fields))

    assert "Step 3 of 3" in summary
    assert "Opus Debitor (KMD)" in summary
    assert "BA-2026-77" in summary
    assert not ConnectionRequest.objects.exists()
    back = post_details(client, fields, step="edit")
    assert back.context["form"]["bank_agreement_number"].value() == "BA-2026-77"

    done = post_details(client, fields, step="confirm")

    request = ConnectionRequest.objects.get()
    assert done["Location"].endswith(f"/anmodninger/{request.pk}/")
    assert request.status == ConnectionRequest.Status.SUBMITTED
    assert list(request.units.all()) == [units.child]
    assert request.requested_by == local_admin
    listing = page(client.get(onboarding_url("index")))
    assert "Opus Debitor (KMD)" in listing
    assert "Submitted" in listing


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"bank_agreement_number": "BA/77"},
            "bank_agreement_number",
            "The bank agreement number may hold only letters, digits and",
        ),
        (
            {"failure_choice": "error_account"},
            "error_account_reg",
            "The failure choice error account needs the account",
        ),
        (
            {"go_live_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat()},
            "go_live_on",
            "The go-live date cannot be in the past.",
        ),
        ({"contact_email": "kirsten"}, "contact_email", "Enter a valid email address."),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_stored(
    client, units, bank, local_admin, overrides, field, message
):
    client.force_login(local_admin)
    response = post_details(client, request_fields([units.root], bank, **overrides), "confirm")
    html = page(response)
    assert field in response.context["form"].errors
    assert message in html
    assert not ConnectionRequest.objects.exists()


def test_the_go_live_date_must_be_a_bank_day(client, units, bank, local_admin):
    day = timezone.localdate() + datetime.timedelta(days=30)
    saturday = day + datetime.timedelta(days=(5 - day.weekday()) % 7)
    client.force_login(local_admin)
    response = post_details(client, request_fields([units.root], bank, go_live_on=saturday))
    assert "is not a bank day" in page(response)
    assert "go_live_on" in response.context["form"].errors


def test_units_of_another_authority_cannot_be_chosen(client, units, bank, local_admin, other_unit):
    client.force_login(local_admin)
    response = post_details(client, request_fields([units.root, other_unit], bank))
    assert "units" in response.context["form"].errors
    assert not ConnectionRequest.objects.exists()


# --- The operator's decision and what the requester sees ---------------------------------------


def _admin_action(client, model, action, ids, **extra):
    return client.post(
        admin_url(model), {"action": action, "_selected_action": [str(i) for i in ids], **extra}
    )


def test_approval_in_the_admin_puts_a_new_system_in_test(
    client, authority, units, bank, local_admin, operator
):
    client.force_login(local_admin)
    post_details(client, request_fields([units.root], bank), step="confirm")
    request = ConnectionRequest.objects.get()
    client.force_login(operator)

    _admin_action(client, "connectionrequest", "approve", [request.pk])

    agreement = ConnectionAgreement.objects.get(authority=authority)
    assert agreement.status == ConnectionAgreement.Status.IN_TEST
    client.force_login(local_admin)
    detail = page(client.get(onboarding_url("request", request.pk)))
    assert "Approved" in detail
    assert 'its status is now "In test"' in detail
    agreements = page(client.get(onboarding_url("agreements")))
    assert "Opus Debitor" in agreements
    assert "In test" in agreements
    assert "Test script:" in agreements
    assert "Readiness checklist" in agreements
    assert "1.1 Connection agreement signed" in agreements


def test_approval_activates_a_system_connected_elsewhere(
    client, authority, units, bank, coordinator, operator, connected_system
):
    client.force_login(coordinator)
    fields = request_fields([units.root], bank, connection="existing")
    fields["payment_system"] = connected_system.pk
    post_details(client, fields, step="confirm")
    client.force_login(operator)

    _admin_action(client, "connectionrequest", "approve", [ConnectionRequest.objects.get().pk])

    agreement = ConnectionAgreement.objects.get(authority=authority)
    assert agreement.status == ConnectionAgreement.Status.ACTIVE


def test_a_returned_request_shows_the_reason_and_is_corrected(
    client, units, bank, local_admin, operator
):
    client.force_login(local_admin)
    post_details(client, request_fields([units.root], bank), step="confirm")
    request = ConnectionRequest.objects.get()
    client.force_login(operator)

    asked = page(_admin_action(client, "connectionrequest", "return_requests", [request.pk]))
    assert "Reason for returning" in asked
    request.refresh_from_db()
    assert request.status == ConnectionRequest.Status.SUBMITTED  # nothing before the reason
    _admin_action(
        client,
        "connectionrequest",
        "return_requests",
        [request.pk],
        apply="1",
        reason="Use the bank agreement number from Danske Bank's letter.",
    )
    request.refresh_from_db()
    assert request.status == ConnectionRequest.Status.RETURNED

    client.force_login(local_admin)
    detail = page(client.get(onboarding_url("request", request.pk)))
    assert "Use the bank agreement number from Danske Bank&#x27;s letter." in detail
    form = client.get(onboarding_url("request-correct", request.pk)).context["form"]
    assert form["bank_agreement_number"].value() == "BA-2026-77"
    client.post(
        onboarding_url("request-correct", request.pk),
        {**request_fields([units.root], bank, bank_agreement_number="DB-88"), "step": "confirm"},
    )
    request.refresh_from_db()
    assert (request.status, request.bank_agreement_number) == ("submitted", "DB-88")
    assert client.get(onboarding_url("request-correct", request.pk)).status_code == 404


def test_the_request_pdf_is_downloaded(client, units, bank, local_admin):
    client.force_login(local_admin)
    post_details(client, request_fields([units.root], bank), step="confirm")
    request = ConnectionRequest.objects.get()

    response = client.get(onboarding_url("request-pdf", request.pk) + "?download")

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    text = pdf_text(response.content)
    assert f"Connection request no. {request.pk}" in text
    assert "BA-2026-77" in text
    assert "Kirsten Koordinator" in text


# --- User requests -----------------------------------------------------------------------------


def test_any_caseworker_requests_a_user_and_sees_it_done(
    client, authority, units, caseworker, operator
):
    client.force_login(caseworker)
    response = client.post(
        onboarding_url("user-request-new"),
        {
            "kind": "create",
            "username": "ny-kollega",
            "first_name": "Nina",
            "last_name": "Nielsen",
            "email": "nina@kbh.example",
            "line0_profile": RoleProfile.objects.get(code="nks-opdater-nemkonto").pk,
            "line0_unit": units.child.pk,
            "line0_action": "grant",
        },
    )
    request = UserRequest.objects.get()
    assert response.status_code == 302
    assert "Submitted" in page(client.get(onboarding_url("user-request", request.pk)))

    client.force_login(operator)
    _admin_action(client, "userrequest", "carry_out", [request.pk])

    user = User.objects.get(username="ny-kollega")
    assert Grant.objects.filter(user=user, unit=units.child).exists()
    client.force_login(caseworker)
    assert "Done: the user ny-kollega has the role profiles asked for." in page(
        client.get(onboarding_url("user-request", request.pk))
    )


def test_a_user_request_row_needs_profile_and_unit(client, units, caseworker):
    client.force_login(caseworker)
    response = client.post(
        onboarding_url("user-request-new"),
        {
            "kind": "create",
            "username": "x",
            "first_name": "X",
            "last_name": "Y",
            "line0_unit": units.root.pk,
        },
    )
    assert "line0_profile" in response.context["form"].errors
    assert not UserRequest.objects.exists()


# --- Documents for recipients ----------------------------------------------------------------


def test_a_cheque_payment_has_its_information_sheet(client):
    world = build_world(failure_choice="cheque")
    recipient = Recipient.objects.create(
        id_type="CPR",
        id_number="0303801234",
        name="Uden Konto",
        address="Checkvej 7",
        postcode="8000",
        city="Aarhus C",
    )
    batch = make_batch(world)
    cheque = make_payment(
        batch,
        "failed",
        failure_handling="cheque",
        recipient=recipient,
        recipient_number=recipient.id_number,
        amount_ore=123450,
        text="Boligstøtte marts",
    )
    returned = make_payment(batch, "failed")
    client.force_login(
        caseworker_with(world.authority, world.root, "nks-soeg-bet", "nks-soeg-gennemf-bet")
    )
    with translation.override("en"):
        detail_url = reverse("portal:payments:detail", args=[cheque.pk])
        sheet_url = reverse("portal:documents:cheque-information", args=[cheque.pk])
        other_url = reverse("portal:documents:cheque-information", args=[returned.pk])
    assert sheet_url in page(client.get(detail_url))

    response = client.get(sheet_url)

    text = pdf_text(response.content)
    assert "Your payment was sent as a cheque" in text
    assert "Uden Konto" in text
    assert "Checkvej 7" in text
    assert "8000 Aarhus C" in text
    assert "1,234.50 kr." in text
    assert "Testkøbing Kommune" in text
    assert "Boligstøtte marts" in text
    assert "How to get a NemKonto" in text
    assert "The money will be paid into your NemKonto." in text
    assert client.get(other_url).status_code == 404  # not a cheque


def test_the_documentation_form_of_a_reported_nemkonto(
    client, logged_in, nemkonto_caseworker, person, payments_caseworker
):
    caseworker = logged_in(nemkonto_caseworker)
    look_up(caseworker, person)
    with translation.override("en"):
        change = reverse("portal:caseworker:nemkonto_change", args=[person.pk])
    caseworker.post(
        change,
        {
            "kind": "danish",
            "reg": "3000",
            "number": "1234567",
            "iban": "",
            "bic": "",
            "step": "confirm",
        },
    )
    letter = ActivationLetter.objects.get()
    with translation.override("en"):
        form_url = reverse("portal:documents:documentation-form", args=[letter.pk])
        letter_page = reverse("portal:caseworker:letter", args=[letter.pk])
    assert form_url in page(caseworker.get(letter_page))

    text = pdf_text(caseworker.get(form_url).content)

    assert "Documentation of a reported NemKonto" in text
    assert "Borger Testesen" in text
    assert "010190-****" in text
    assert "0101901234" not in text
    assert "3000-0001234567" in text
    assert "Testkøbing Kommune" in text
    assert "BORGER Borgerservice" in text
    assert "Date and the recipient's signature" in text

    client.force_login(payments_caseworker)  # not the author
    assert client.get(form_url).status_code == 404
