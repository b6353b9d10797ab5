"""The operators' admin for the payments set-up: forms and actions go through the services, and
only operators get in (issue 4, acceptance 1 for admin actions). The admin is in Danish (the
default language), so its messages are asserted in Danish."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from payments.models import BankAgreement, Benefit, ConnectionAgreement, PaymentSystem
from payments.selectors import agreement_history
from payments.tests.helpers import agreement_with

Status = ConnectionAgreement.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, operator):
    client.force_login(operator)
    return client


def action(client, model: str, name: str, *pks: int):
    return client.post(
        reverse(f"admin:payments_{model}_changelist"),
        {"action": name, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )


def with_inlines(client, url: str, data: dict) -> dict:
    """The form data plus the management forms of the page's inlines (the agreement history)."""
    page = client.get(url)
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name, field in management.fields.items():
            data[management.add_prefix(name)] = management.initial.get(name, field.initial)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Who gets in ---------------------------------------------------------------------------

NOT_STAFF = ("anonymous", "citizen", "caseworker", "outsider", "on_parent", "on_sibling")


@pytest.mark.parametrize("who", NOT_STAFF)
def test_only_operators_reach_the_payments_admin_and_its_actions(
    client, persona, system, authority, other_authority, who
):
    agreement = agreement_with(authority, system)
    active_elsewhere = agreement_with(other_authority, system, Status.ACTIVE)
    user = persona(who, "nks-lokal-admin")
    if user is not None:
        client.force_login(user)
    pages = [
        reverse("admin:payments_benefit_changelist"),
        reverse("admin:payments_benefit_add"),
        reverse("admin:payments_connectionagreement_changelist"),
        reverse("admin:payments_connectionagreement_change", args=[agreement.pk]),
        reverse("admin:payments_bankagreement_changelist"),
        reverse("admin:payments_paymentsystem_changelist"),
        reverse("admin:payments_readinessconfirmation_changelist"),
        reverse("admin:payments_readiness_changelist"),
        reverse("admin:payments_readiness_checklist", args=["kbh"]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("admin:login"))
    for name in ("move_to_test", "activate", "suspend", "terminate"):
        response = client.post(
            reverse("admin:payments_connectionagreement_changelist"),
            {"action": name, "_selected_action": [str(agreement.pk), str(active_elsewhere.pk)]},
        )
        assert response.status_code == 302
    client.post(
        reverse("admin:payments_connectionagreement_change", args=[agreement.pk]),
        {"failure_choice": "cheque"},
    )
    client.post(
        reverse("admin:payments_benefit_add"),
        {"authority": authority.pk, "code": "B1", "name": "X", "is_active": "on"},
    )
    agreement.refresh_from_db()
    active_elsewhere.refresh_from_db()
    assert (agreement.status, agreement.failure_choice) == (Status.REQUESTED, "return")
    assert active_elsewhere.status == Status.ACTIVE
    assert not Benefit.objects.exists()
    assert not AuditEvent.objects.exists()


def test_operator_sees_every_page(admin_client_, authority, system):
    agreement = agreement_with(authority, system)
    for page in (
        reverse("admin:payments_benefit_changelist"),
        reverse("admin:payments_benefit_add"),
        reverse("admin:payments_connectionagreement_changelist"),
        reverse("admin:payments_connectionagreement_add"),
        reverse("admin:payments_connectionagreement_change", args=[agreement.pk]),
        reverse("admin:payments_bankagreement_changelist"),
        reverse("admin:payments_bankagreement_add"),
        reverse("admin:payments_paymentsystem_changelist"),
        reverse("admin:payments_readinessconfirmation_changelist"),
        reverse("admin:payments_readiness_changelist"),
    ):
        assert admin_client_.get(page).status_code == 200, page


# --- Benefits ------------------------------------------------------------------------------


def test_benefit_added_and_changed_in_the_admin_goes_through_the_service(
    admin_client_, operator, authority
):
    response = admin_client_.post(
        reverse("admin:payments_benefit_add"),
        {"authority": authority.pk, "code": "KONT", "name": "Kontanthjælp", "is_active": "on"},
    )
    assert response.status_code == 302, response.content
    benefit = Benefit.objects.get()
    response = admin_client_.post(
        reverse("admin:payments_benefit_change", args=[benefit.pk]), {"name": "Kontanthjælp 2"}
    )
    assert response.status_code == 302
    benefit.refresh_from_db()
    assert (benefit.code, benefit.name, benefit.is_active) == ("KONT", "Kontanthjælp 2", False)
    assert list(
        AuditEvent.objects.filter(actor=operator).order_by("id").values_list("action", flat=True)
    ) == ["benefit.create", "benefit.update"]


def test_duplicate_benefit_in_the_admin_is_a_form_error(admin_client_, authority):
    Benefit.objects.create(authority=authority, code="KONT", name="Kontanthjælp")
    response = admin_client_.post(
        reverse("admin:payments_benefit_add"),
        {"authority": authority.pk, "code": "KONT", "name": "Igen", "is_active": "on"},
    )
    assert response.status_code == 200
    assert Benefit.objects.count() == 1


# --- Connection agreements -----------------------------------------------------------------


def test_agreement_requested_in_the_admin(admin_client_, authority, system):
    url = reverse("admin:payments_connectionagreement_add")
    data = {
        "authority": authority.pk,
        "payment_system": system.pk,
        "failure_choice": "error_account",
        "error_account_reg": "3001",
        "error_account_number": "4711",
        "signed_at": "2026-10-01",
    }
    response = admin_client_.post(url, with_inlines(admin_client_, url, data))
    assert response.status_code == 302, response.content
    agreement = ConnectionAgreement.objects.get()
    assert (agreement.status, agreement.error_account_number) == (Status.REQUESTED, "0000004711")
    assert AuditEvent.objects.filter(action="agreement.request").count() == 1


def test_failure_choice_changed_in_the_admin_keeps_history(admin_client_, authority, system):
    agreement = agreement_with(authority, system, Status.ACTIVE)
    url = reverse("admin:payments_connectionagreement_change", args=[agreement.pk])
    refused = admin_client_.post(
        url, with_inlines(admin_client_, url, {"failure_choice": "error_account"})
    )
    assert refused.status_code == 200  # the form again, with the error
    assert "kræver, at kontoen angives (reg.nr. og kontonummer)" in refused.content.decode()
    response = admin_client_.post(
        url, with_inlines(admin_client_, url, {"failure_choice": "cheque"})
    )
    assert response.status_code == 302
    history = agreement_history(agreement=agreement)
    assert [(h["failure_choice"], h["by"]) for h in history] == [
        ("return", ""),
        ("cheque", "drift"),
    ]
    page = admin_client_.get(url).content.decode()
    assert "drift" in page  # the history inline names who changed it


def test_actions_move_to_test_then_refuse_to_activate_before_the_test_script(
    admin_client_, authority, system
):
    agreement = agreement_with(authority, system)
    response = action(admin_client_, "connectionagreement", "activate", agreement.pk)
    assert any(
        "skal testes (flyttes til test), før det aktiveres" in m for m in messages_of(response)
    )
    agreement.refresh_from_db()
    assert agreement.status == Status.REQUESTED
    action(admin_client_, "connectionagreement", "move_to_test", agreement.pk)
    agreement.refresh_from_db()
    assert agreement.status == Status.IN_TEST
    # Not before its test script has passed (test_test_mode drives the script to the end).
    response = action(admin_client_, "connectionagreement", "activate", agreement.pk)
    assert [m for m in messages_of(response) if m.startswith(f"{agreement}: ")]
    agreement.refresh_from_db()
    assert agreement.status == Status.IN_TEST


def test_activate_action_skips_the_test_for_a_system_active_elsewhere(
    admin_client_, authority, other_authority, system
):
    agreement_with(other_authority, system, Status.ACTIVE)
    agreement = agreement_with(authority, system)
    action(admin_client_, "connectionagreement", "activate", agreement.pk)
    agreement.refresh_from_db()
    assert agreement.status == Status.ACTIVE
    assert AuditEvent.objects.get(action="agreement.status_change").data["test_skipped"] is True


def test_suspend_and_terminate_actions(admin_client_, authority, system):
    agreement = agreement_with(authority, system, Status.ACTIVE)
    action(admin_client_, "connectionagreement", "suspend", agreement.pk)
    agreement.refresh_from_db()
    assert agreement.status == Status.SUSPENDED
    action(admin_client_, "connectionagreement", "terminate", agreement.pk)
    agreement.refresh_from_db()
    assert agreement.status == Status.TERMINATED


def test_payment_system_list_counts_active_agreements(admin_client_, authority, system):
    agreement_with(authority, system, Status.ACTIVE)
    PaymentSystem.objects.create(code="ny", name="Nyt system")
    page = admin_client_.get(reverse("admin:payments_paymentsystem_changelist")).content.decode()
    assert "KMD Ydelse" in page
    assert "Nyt system" in page


# --- Bank agreements -----------------------------------------------------------------------


def test_bank_agreement_added_and_changed_in_the_admin(admin_client_, authority, bank):
    response = admin_client_.post(
        reverse("admin:payments_bankagreement_add"),
        {
            "authority": authority.pk,
            "bank": bank.pk,
            "number": "10001",
            "pays_from": "2026-12-01",
            "accounts": "3000 4711\n\n3000-4712\n",
        },
    )
    assert response.status_code == 302, response.content
    agreement = BankAgreement.objects.get()
    assert list(agreement.disbursement_accounts.values_list("number", flat=True)) == [
        "0000004711",
        "0000004712",
    ]
    response = admin_client_.post(
        reverse("admin:payments_bankagreement_change", args=[agreement.pk]),
        {"bank": bank.pk, "number": "10001", "pays_from": "2027-01-04", "accounts": "3000 4711"},
    )
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.pays_from.isoformat() == "2027-01-04"
    assert agreement.disbursement_accounts.count() == 1
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "bank_agreement.create",
        "bank_agreement.update",
    ]


def test_bad_disbursement_account_is_a_form_error(admin_client_, authority, bank):
    response = admin_client_.post(
        reverse("admin:payments_bankagreement_add"),
        {
            "authority": authority.pk,
            "bank": bank.pk,
            "number": "10001",
            "pays_from": "2026-12-01",
            "accounts": "12 4711",
        },
    )
    assert response.status_code == 200
    assert "Linje 1:" in response.content.decode()
    assert not BankAgreement.objects.exists()


# --- Readiness -----------------------------------------------------------------------------


def test_readiness_pages_show_met_and_unmet_items_with_reasons(
    admin_client_, authority, units, system
):
    agreement_with(authority, system, Status.ACTIVE)
    listing = admin_client_.get(reverse("admin:payments_readiness_changelist")).content.decode()
    assert "0 / 11" in listing
    page = admin_client_.get(reverse("admin:payments_readiness_checklist", args=["kbh"]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Aftalen med KMD Ydelse har været aktiv siden 2026-11-01." in text
    assert "Ingen bruger har profilen NKS-Søg-Bet" in text
    assert "Endnu ikke bekræftet af den lokale administrator." in text
    change = admin_client_.get(reverse("admin:payments_readiness_change", args=[authority.pk]))
    assert change.status_code == 302
    assert change["Location"] == reverse("admin:payments_readiness_checklist", args=["kbh"])


def test_readiness_page_of_an_unknown_authority_is_404(admin_client_):
    response = admin_client_.get(reverse("admin:payments_readiness_checklist", args=["nope"]))
    assert response.status_code == 404
