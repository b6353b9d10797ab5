"""Caseworkers' changes and activation (DOMAIN.md section 4): pending until the recipient enters
the code from the letter; until then the previous account stays in force. Expired codes and too
many attempts are refused; the letter is a real PDF with the code and the masked account."""

import datetime
import io

import pgtrigger
import pypdf
import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from nemkonto.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.models import ActivationLetter, Channel, NemKonto, Notice
from registry.selectors import account_resolve, nemkonto_at
from registry.services import (
    activation_activate,
    activation_activate_own,
    activation_codes_expire,
    nemkonto_change_by_caseworker,
    nemkonto_report_by_bank,
    nemkonto_review,
    nemkonto_set,
)
from registry.tests.conftest import CITIZEN_CPR, CODE, DANISH, DANISH_2, FOREIGN, make_recipient

pytestmark = pytest.mark.django_db
State = NemKonto.State


def change(actor, account=DANISH_2, id_type="CPR", id_number=CITIZEN_CPR):
    return nemkonto_change_by_caseworker(
        actor=actor, id_type=id_type, id_number=id_number, account=account
    )


def activate(code=CODE, id_number=CITIZEN_CPR, id_type="CPR"):
    return activation_activate(id_type=id_type, id_number=id_number, code=code, via="phone")


def written() -> tuple[int, int, int]:
    return NemKonto.objects.count(), ActivationLetter.objects.count(), Notice.objects.count()


@pytest.fixture
def current(citizen_in_register):
    return nemkonto_set(actor=citizen_in_register, account=DANISH).version


def test_caseworker_change_is_unused_until_activated(nk_caseworker, person, current):
    result = change(nk_caseworker)
    pending = result.version

    assert pending.state == State.PENDING
    assert pending.activated_at is None
    assert pending.channel == Channel.CASEWORKER
    assert pending.authority == nk_caseworker.authority
    assert result.current == current
    assert nemkonto_at(recipient=person) == current  # the previous account stays in force
    resolution = account_resolve(recipient=person)
    assert resolution.kind == "nemkonto"
    assert resolution.version_id == current.pk
    assert resolution.reason_code == "nemkonto_change_waiting"

    letter = result.letter
    assert letter.status == ActivationLetter.Status.UNPRINTED
    assert letter.addressee == "Borger Testesen\nTestvej 1\n1000 København K"
    assert (letter.expires_at - pending.created_at) == datetime.timedelta(days=14)
    assert CODE not in (letter.code_hash, letter.code_salt)  # stored hashed only

    activated = activate()
    current.refresh_from_db()
    assert activated.pk == pending.pk
    assert activated.state == State.ACTIVE
    assert current.state == State.ENDED
    assert current.ended_channel == Channel.ACTIVATION
    assert nemkonto_at(recipient=person) == activated
    letter.refresh_from_db()
    assert letter.used_at is not None


def test_pending_only_resolves_to_pending(nk_caseworker, person):
    change(nk_caseworker)
    resolution = account_resolve(recipient=person)
    assert (resolution.kind, resolution.reason_code) == ("pending", "pending_activation")
    assert resolution.account is None


def test_activation_on_the_portal_by_the_citizen(nk_caseworker, person, citizen_in_register):
    pending = change(nk_caseworker).version
    activated = activation_activate_own(actor=citizen_in_register, code="1234 5678")
    assert activated.pk == pending.pk
    assert activated.state == State.ACTIVE


def test_another_citizen_cannot_activate_someone_elses_change(
    nk_caseworker, person, other_person, another_citizen
):
    change(nk_caseworker)
    with pytest.raises(NotFound):
        activation_activate_own(actor=another_citizen, code=CODE)
    assert NemKonto.objects.get().state == State.PENDING


def test_business_activates_a_caseworker_change(nk_caseworker, company, business):
    pending = change(nk_caseworker, id_type="CVR", id_number=company.id_number).version
    activated = activation_activate_own(actor=business, code=CODE)
    assert activated.pk == pending.pk
    assert activated.state == State.ACTIVE


def test_wrong_codes_count_and_too_many_cancel(nk_caseworker, person, current, settings):
    settings.NEMKONTO_ACTIVATION_MAX_ATTEMPTS = 3
    pending = change(nk_caseworker).version
    for left in (2, 1):
        with pytest.raises(ValidationFailed) as refused:
            activate(code="00000000")
        assert refused.value.code == "wrong_code"
        # The citizen is told, in Danish (the default language), how many tries are left.
        assert str(refused.value) == f"Aktiveringskoden er forkert. Du har {left} forsøg tilbage."
    with pytest.raises(ValidationFailed) as refused:
        activate(code="00000000")
    assert refused.value.code == "too_many_attempts"
    pending.refresh_from_db()
    assert pending.state == State.CANCELLED
    assert pending.end_reason == NemKonto.EndReason.TOO_MANY_ATTEMPTS
    assert ActivationLetter.objects.get().attempts == 3
    # Even the right code is refused now, and the previous account is still in force.
    with pytest.raises(ValidationFailed) as refused:
        activate()
    assert refused.value.code == "too_many_attempts"
    assert nemkonto_at(recipient=person) == current
    assert AuditEvent.objects.filter(action="nemkonto.activation_failed").count() == 3


def test_expired_code_is_refused_and_cancels(nk_caseworker, person, current, settings):
    settings.NEMKONTO_ACTIVATION_DAYS = 3
    pending = change(nk_caseworker).version
    letter = pending.activation_letter
    assert letter.expires_at == pending.created_at + datetime.timedelta(days=3)
    _age_letter(letter)
    with pytest.raises(ValidationFailed) as refused:
        activate()
    assert refused.value.code == "code_expired"
    pending.refresh_from_db()
    assert pending.state == State.CANCELLED
    assert pending.end_reason == NemKonto.EndReason.CODE_EXPIRED
    assert nemkonto_at(recipient=person) == current
    with pytest.raises(ValidationFailed) as again:
        activate()
    assert again.value.code == "code_expired"


def _age_letter(letter: ActivationLetter) -> None:
    """Move a letter's expiry into the past (its code fields are protected by a trigger)."""
    with pgtrigger.ignore("registry.ActivationLetter:activation_letter_code_fixed"):
        ActivationLetter.objects.filter(pk=letter.pk).update(
            expires_at=timezone.now() - datetime.timedelta(minutes=1)
        )


def test_periodic_job_cancels_expired_codes(nk_caseworker, person, other_person):
    expiring = change(nk_caseworker).version
    fresh = change(nk_caseworker, id_number=other_person.id_number).version
    _age_letter(expiring.activation_letter)
    assert activation_codes_expire() == 1
    expiring.refresh_from_db()
    fresh.refresh_from_db()
    assert expiring.state == State.CANCELLED
    assert fresh.state == State.PENDING


def test_nothing_waiting_and_unknown_ids_look_the_same(person):
    with pytest.raises(NotFound) as nothing:
        activate()
    with pytest.raises(NotFound) as unknown:
        activate(id_number="0101991234")
    assert nothing.value.code == unknown.value.code == "no_pending_change"
    assert str(nothing.value) == str(unknown.value)


def test_malformed_id_is_refused(person):
    with pytest.raises(ValidationFailed):
        activate(id_number="3199901234")


def test_a_newer_caseworker_change_supersedes_the_older(nk_caseworker, outsider, person):
    first = change(nk_caseworker).version
    second = change(outsider, account=DANISH).version  # another authority, same recipient
    first.refresh_from_db()
    assert first.state == State.CANCELLED
    assert first.end_reason == NemKonto.EndReason.SUPERSEDED
    assert second.authority == outsider.authority
    assert activate().pk == second.pk


def test_caseworker_change_to_the_current_account_is_a_conflict(nk_caseworker, current):
    with pytest.raises(Conflict):
        change(nk_caseworker, account=DANISH)


def test_recipient_without_address_gets_no_letter(nk_caseworker, db):
    make_recipient("CPR", "0303801234", "Uden Adresse", address="", postcode="", city="")
    with pytest.raises(ValidationFailed) as refused:
        change(nk_caseworker, id_number="0303801234")
    assert refused.value.code == "no_address"
    assert written() == (0, 0, 0)


@pytest.mark.parametrize("who", ["caseworker", "citizen", "operator", "sa_caseworker"])
def test_who_may_not_register_a_caseworker_change(request, person, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        change(user)
    assert written() == (0, 0, 0)


def test_a_bank_report_cannot_be_reverted_by_a_stale_activation(nk_caseworker, bank_client, person):
    change(nk_caseworker)
    nemkonto_report_by_bank(
        actor=bank_client.api_client, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH
    )
    with pytest.raises(NotFound):
        activate()


def test_foreign_account_from_a_caseworker_is_reviewed_after_activation(
    nk_caseworker, person, operator
):
    pending = change(nk_caseworker, account=FOREIGN).version
    held = activate()
    assert held.pk == pending.pk
    assert held.state == State.HELD
    assert account_resolve(recipient=person).reason_code == "held_for_review"
    nemkonto_review(actor=operator, version=held, approve=True)
    assert nemkonto_at(recipient=person) == pending


def test_pending_change_and_activation_are_noticed(nk_caseworker, person, current):
    change(nk_caseworker)
    assert Notice.objects.filter(kind=Notice.Kind.NEMKONTO_PENDING).count() == 1
    activate()
    assert Notice.objects.filter(kind=Notice.Kind.NEMKONTO_CHANGED).count() == 2
    old = Notice.objects.get(kind=Notice.Kind.OLD_ACCOUNT)
    assert "****4567" in old.body


# --- The letter ---------------------------------------------------------------------------------


@pytest.mark.real_letters
def test_letter_is_a_pdf_with_the_code_and_masked_account(nk_caseworker, person, current):
    result = change(nk_caseworker)
    data = result.letter.pdf.read()
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages).replace("-\n", "-")
    assert len(reader.pages) == 1
    assert "1234 5678" in text  # the code, grouped for reading
    assert "****4321" in text  # the new account, masked
    assert "****4567" in text  # the account in force until activation, masked
    assert "7654321" not in text
    assert "1234567" not in text.replace("1234 5678", "")
    assert "Testkøbing Kommune" in text  # who made the change
    assert "Borger Testesen" in text
    assert "1000 København K" in text
    assert "/om-nemkonto/" in text  # the standard wording points to our information page
    assert CITIZEN_CPR not in text
