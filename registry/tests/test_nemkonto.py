"""NemKonto rules per channel and actor (DOMAIN.md section 4): citizens change their own at once,
banks report at once, businesses are read-only, foreign accounts wait for review, every version
is kept with who, when and how, and every change is audited and noticed."""

import datetime

import pytest
from django.db import IntegrityError, ProgrammingError, transaction
from django.utils import timezone

from accounts.models import AuditEvent, User
from nemkonto.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.models import Channel, NemKonto, Notice
from registry.selectors import account_resolve, nemkonto_at, nemkonto_history, nemkonto_versions_on
from registry.services import (
    nemkonto_change_by_caseworker,
    nemkonto_delete,
    nemkonto_report_by_bank,
    nemkonto_review,
    nemkonto_set,
)
from registry.tests.conftest import CITIZEN_CPR, DANISH, DANISH_2, FOREIGN, OTHER_BANK_ACCOUNT

pytestmark = pytest.mark.django_db
State = NemKonto.State


def snapshot() -> tuple[int, int, int]:
    return NemKonto.objects.count(), Notice.objects.count(), AuditEvent.objects.count()


# --- Citizen --------------------------------------------------------------------------------------


def test_citizen_creates_their_nemkonto_at_once(citizen_in_register, person):
    change = nemkonto_set(actor=citizen_in_register, account=DANISH)

    version = change.version
    assert change.changed
    assert change.previous is None
    assert version.state == State.ACTIVE
    assert version.activated_at == version.created_at
    assert (version.reg, version.number) == ("3000", "0001234567")
    assert version.channel == Channel.CITIZEN
    assert version.actor == citizen_in_register
    assert nemkonto_at(recipient=person) == version
    assert account_resolve(recipient=person).kind == "nemkonto"


def test_citizen_change_ends_the_old_version_and_keeps_it(citizen_in_register, person):
    first = nemkonto_set(actor=citizen_in_register, account=DANISH).version
    second = nemkonto_set(actor=citizen_in_register, account=DANISH_2).version

    first.refresh_from_db()
    assert first.state == State.ENDED
    assert first.end_reason == NemKonto.EndReason.REPLACED
    assert first.ended_at == second.activated_at
    assert first.ended_by == citizen_in_register
    assert list(nemkonto_history(recipient=person)) == [second, first]


def test_same_account_again_writes_no_version(citizen_in_register, person):
    first = nemkonto_set(actor=citizen_in_register, account=DANISH)
    before = snapshot()
    again = nemkonto_set(actor=citizen_in_register, account={"reg": "3000", "number": "0001234567"})
    assert again.version == first.version
    assert not again.changed
    assert snapshot() == before


def test_citizen_deletes_their_nemkonto(citizen_in_register, person):
    version = nemkonto_set(actor=citizen_in_register, account=DANISH).version
    ended = nemkonto_delete(actor=citizen_in_register)

    assert ended.pk == version.pk
    assert ended.state == State.ENDED
    assert ended.end_reason == NemKonto.EndReason.DELETED
    assert nemkonto_at(recipient=person) is None
    resolution = account_resolve(recipient=person)
    assert (resolution.kind, resolution.reason_code) == ("none", "nemkonto_deleted")
    assert NemKonto.objects.filter(recipient=person).count() == 1  # kept as history


def test_deleting_when_there_is_none_is_a_conflict(citizen_in_register, person):
    with pytest.raises(Conflict):
        nemkonto_delete(actor=citizen_in_register)


def test_business_cannot_create_change_or_delete_on_the_portal(business, company):
    before = snapshot()
    with pytest.raises(PermissionDenied) as refused:
        nemkonto_set(actor=business, account=DANISH)
    assert refused.value.code == "business_read_only"
    with pytest.raises(PermissionDenied):
        nemkonto_delete(actor=business)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["caseworker", "operator"])
def test_only_citizens_use_the_citizen_service(request, person, who):
    user: User = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        nemkonto_set(actor=user, account=DANISH)
    assert NemKonto.objects.count() == 0


def test_citizen_not_in_the_register_gets_not_found(citizen):
    with pytest.raises(NotFound):
        nemkonto_set(actor=citizen, account=DANISH)
    assert NemKonto.objects.count() == 0


@pytest.mark.parametrize(
    ("account", "field", "code"),
    [
        ({"reg": "9999", "number": "1"}, "account.reg", "reg_unknown"),
        ({"reg": "30", "number": "1"}, "account.reg", "reg_format"),
        ({"reg": "3000", "number": "12345678901"}, "account.number", "number_too_long"),
        ({"iban": "DE00370400440532013000", "bic": "COBADEFFXXX"}, "account.iban", "iban_checksum"),
        ({"iban": "DE89370400440532013000"}, "account.bic", "bic_required"),
        ({}, "account", "account_missing"),
    ],
)
def test_bad_accounts_are_refused_with_the_field(citizen_in_register, account, field, code):
    with pytest.raises(ValidationFailed) as refused:
        nemkonto_set(actor=citizen_in_register, account=account)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert snapshot() == (0, 0, 0)


# --- Foreign accounts: held for review (our rule) -------------------------------------------------


def test_foreign_account_is_held_for_review_and_current_stays(
    citizen_in_register, person, operator
):
    current = nemkonto_set(actor=citizen_in_register, account=DANISH).version
    held = nemkonto_set(actor=citizen_in_register, account=FOREIGN).version

    assert held.state == State.HELD
    assert (held.iban, held.bic) == ("DE89370400440532013000", "COBADEFFXXX")
    assert nemkonto_at(recipient=person) == current
    assert account_resolve(recipient=person).reason_code == "nemkonto_change_waiting"

    nemkonto_review(actor=operator, version=held, approve=True)
    held.refresh_from_db()
    current.refresh_from_db()
    assert held.state == State.ACTIVE
    assert current.state == State.ENDED
    assert nemkonto_at(recipient=person) == held


def test_rejected_foreign_account_is_cancelled(citizen_in_register, person, operator):
    held = nemkonto_set(actor=citizen_in_register, account=FOREIGN).version
    assert account_resolve(recipient=person).kind == "pending"
    nemkonto_review(actor=operator, version=held, approve=False)
    held.refresh_from_db()
    assert held.state == State.CANCELLED
    assert held.end_reason == NemKonto.EndReason.REJECTED
    assert account_resolve(recipient=person).kind == "none"


def test_only_operators_review(citizen_in_register, person, nk_caseworker):
    held = nemkonto_set(actor=citizen_in_register, account=FOREIGN).version
    for user in (citizen_in_register, nk_caseworker):
        with pytest.raises(PermissionDenied):
            nemkonto_review(actor=user, version=held, approve=True)
    held.refresh_from_db()
    assert held.state == State.HELD


# --- Bank -----------------------------------------------------------------------------------------


def test_bank_report_takes_effect_at_once(bank_client, person):
    change = nemkonto_report_by_bank(
        actor=bank_client.api_client, id_type="CPR", id_number="010190-1234", account=DANISH
    )
    version = change.version
    assert version.state == State.ACTIVE
    assert version.channel == Channel.BANK
    assert version.actor is None
    assert version.actor_label == "bank 3000"
    assert version.bank == bank_client.api_client.bank
    assert nemkonto_at(recipient=person) == version


def test_bank_report_for_a_business(bank_client, company):
    change = nemkonto_report_by_bank(
        actor=bank_client.api_client, id_type="CVR", id_number=company.id_number, account=DANISH
    )
    assert change.version.state == State.ACTIVE


def test_bank_may_report_another_reg_of_the_same_bank(bank_client, person):
    # 3001 is also Danske Bank (same BIC as the client's bank, reg.nr. 3000).
    change = nemkonto_report_by_bank(
        actor=bank_client.api_client, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH_2
    )
    assert change.version.reg == "3001"


@pytest.mark.parametrize(
    ("id_type", "id_number", "account", "error", "code"),
    [
        ("CPR", "3102901234", DANISH, ValidationFailed, "cpr_invalid_date"),
        ("CPR", "0101991234", DANISH, NotFound, "not_in_register"),
        ("CVR", "12345678", DANISH, ValidationFailed, "cvr_checksum"),
        ("XX", "1", DANISH, ValidationFailed, "id_type_unknown"),
        ("CPR", CITIZEN_CPR, {"reg": "9999", "number": "1"}, ValidationFailed, "reg_unknown"),
        ("CPR", CITIZEN_CPR, OTHER_BANK_ACCOUNT, ValidationFailed, "account_not_at_bank"),
        ("CPR", CITIZEN_CPR, FOREIGN, ValidationFailed, "account_not_at_bank"),
    ],
)
def test_bad_bank_reports_change_nothing(
    bank_client, person, id_type, id_number, account, error, code
):
    with pytest.raises(error) as refused:
        nemkonto_report_by_bank(
            actor=bank_client.api_client, id_type=id_type, id_number=id_number, account=account
        )
    assert refused.value.code == code
    assert snapshot() == (0, 0, 0)


def test_a_non_bank_client_cannot_report(resolve_client, person):
    with pytest.raises(PermissionDenied):
        nemkonto_report_by_bank(
            actor=resolve_client.api_client, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH
        )


# --- The newest instruction wins ------------------------------------------------------------------


def test_bank_report_cancels_a_caseworker_change_waiting_for_activation(
    nk_caseworker, bank_client, person
):
    pending = nemkonto_change_by_caseworker(
        actor=nk_caseworker, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH_2
    ).version
    nemkonto_report_by_bank(
        actor=bank_client.api_client, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH
    )
    pending.refresh_from_db()
    assert pending.state == State.CANCELLED
    assert pending.end_reason == NemKonto.EndReason.SUPERSEDED
    assert pending.ended_channel == Channel.BANK


# --- History: which account applied on date D -----------------------------------------------------


def test_which_account_applied_at_a_moment_and_on_a_day(citizen_in_register, person):
    first = nemkonto_set(actor=citizen_in_register, account=DANISH).version
    between = timezone.now()
    second = nemkonto_set(actor=citizen_in_register, account=DANISH_2).version

    assert nemkonto_at(recipient=person, at=between) == first
    assert nemkonto_at(recipient=person) == second
    assert (
        nemkonto_at(recipient=person, at=first.created_at - datetime.timedelta(seconds=1)) is None
    )
    today = timezone.localdate()
    assert list(nemkonto_versions_on(recipient=person, day=today)) == [first, second]
    yesterday = today - datetime.timedelta(days=1)
    assert list(nemkonto_versions_on(recipient=person, day=yesterday)) == []


# --- Database guarantees --------------------------------------------------------------------------


def test_at_most_one_active_version_per_recipient(citizen_in_register, person):
    version = nemkonto_set(actor=citizen_in_register, account=DANISH).version
    with pytest.raises(IntegrityError), transaction.atomic():
        NemKonto.objects.create(
            recipient=person,
            state=State.ACTIVE,
            channel=Channel.OPERATOR,
            actor_label="x",
            account_kind="danish",
            reg="3000",
            number="0000000001",
            activated_at=timezone.now(),
        )
    assert version.state == State.ACTIVE


def test_history_cannot_be_rewritten_or_deleted(citizen_in_register, person):
    first = nemkonto_set(actor=citizen_in_register, account=DANISH).version
    with pytest.raises(ProgrammingError, match="Cannot update"), transaction.atomic():
        NemKonto.objects.filter(pk=first.pk).update(number="0000000009")  # the account is fixed
    nemkonto_set(actor=citizen_in_register, account=DANISH_2)
    with pytest.raises(ProgrammingError, match="Cannot update"), transaction.atomic():
        NemKonto.objects.filter(pk=first.pk).update(ended_at=timezone.now())  # finished: final
    with pytest.raises(ProgrammingError, match="Cannot delete"), transaction.atomic():
        NemKonto.objects.filter(pk=first.pk).delete()


# --- Audit and notices ----------------------------------------------------------------------------


def test_every_change_is_audited_with_actor_and_channel(citizen_in_register, person, bank_client):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    nemkonto_report_by_bank(
        actor=bank_client.api_client, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH_2
    )
    nemkonto_delete(actor=citizen_in_register)
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor_label", "data"))
    assert [(action, label) for action, label, _data in events] == [
        ("nemkonto.change", "borger"),
        ("nemkonto.change", "system"),
        ("nemkonto.delete", "borger"),
    ]
    assert [data["channel"] for _a, _l, data in events] == ["citizen", "bank", "citizen"]
    assert events[1][2]["by"] == "bank 3000"


def test_a_change_notices_the_recipient_and_the_old_account(
    citizen_in_register, person, django_capture_on_commit_callbacks, mailoutbox
):
    citizen_in_register.email = "borger@example.org"
    citizen_in_register.save()
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    with django_capture_on_commit_callbacks(execute=True):
        nemkonto_set(actor=citizen_in_register, account=DANISH_2)

    latest = list(Notice.objects.order_by("-id")[:2])
    kinds = {notice.kind: notice for notice in latest}
    assert set(kinds) == {Notice.Kind.NEMKONTO_CHANGED, Notice.Kind.OLD_ACCOUNT}
    changed, old = kinds[Notice.Kind.NEMKONTO_CHANGED], kinds[Notice.Kind.OLD_ACCOUNT]
    assert changed.channel == Notice.Channel.EMAIL
    assert changed.to_address == "borger@example.org"
    assert "****4321" in changed.body
    assert old.channel == Notice.Channel.OLD_ACCOUNT
    assert old.to_address == "reg.nr. 3000"
    assert "****4567" in old.body
    assert CITIZEN_CPR not in changed.body + old.body
    # Sent after the commit by the Celery task (run eagerly here).
    assert {message.subject for message in mailoutbox} == {changed.subject, old.subject}
    assert all(n.sent_at is not None for n in Notice.objects.filter(pk__in=[changed.pk, old.pk]))


def test_first_nemkonto_has_no_old_account_notice(citizen_in_register, person):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    notice = Notice.objects.get()
    assert notice.kind == Notice.Kind.NEMKONTO_CHANGED
    assert notice.channel == Notice.Channel.DIGITAL_POST
