"""The waiting account (issue 9): a payment without an account waits instead of failing, is
released and forwarded in the first cycle after the recipient registers an account (by any
channel), exactly once; the payment system and the recipient are told; after
NEMKONTO_WAITING_DAYS the agreement's fallback applies."""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import ApiClient
from nemkonto.errors import ValidationFailed
from payments import pipeline, tasks
from payments.callbacks import callback_set
from payments.models import BankFile, Batch, CallbackDelivery, ConnectionAgreement, Payment
from payments.services import agreement_failure_choice_change
from payments.tests.pipeline_world import (
    CPR_WITH_NEMKONTO,
    CPR_WITHOUT_ACCOUNT,
    CPR_WITHOUT_ADDRESS,
    ERROR_ACCOUNT,
    World,
    payment,
)
from payments.tests.test_pipeline_stages import FRIDAY_CYCLE, submit
from registry.models import Notice, Recipient
from registry.services.nemkonto import nemkonto_report_by_bank

pytestmark = pytest.mark.django_db
MONDAY_CYCLE = FRIDAY_CYCLE + datetime.timedelta(days=3)


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Nothing goes to a broker: batches are processed by the test; the registry's hook runs at
    once when its transaction commits (what the worker would do)."""
    hooks: list[Any] = []
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)
    monkeypatch.setattr("payments.callback_tasks.callbacks_dispatch.delay", lambda: None)
    monkeypatch.setattr("registry.tasks.notices_send.delay", lambda ids: None)

    def hook(ids: Any) -> None:
        hooks.append(ids)
        tasks.accounts_changed(ids)

    monkeypatch.setattr("payments.tasks.accounts_changed.delay", hook)
    return hooks


@pytest.fixture
def waiting(world: World) -> World:
    world.agreement.failure_choice = ConnectionAgreement.FailureChoice.WAITING
    world.agreement.save(update_fields=["failure_choice"])
    return world


@pytest.fixture
def bank_client(world: World) -> ApiClient:
    from accounts.api_clients import api_client_create

    credentials = api_client_create(
        actor=None, kind=ApiClient.Kind.BANK, name="Danske Bank", bank=world.bank
    )
    return ApiClient.objects.get(application__client_id=credentials.client_id)


def processed(world: World, client: Client, rows: list[dict[str, Any]]) -> Batch:
    batch = submit(world, client, rows)
    assert pipeline.batch_process(str(batch.pk))
    return batch


def report_account(
    bank_client: ApiClient, cpr: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """The recipient's bank reports a NemKonto, through the registry's service (a channel)."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        nemkonto_report_by_bank(
            actor=bank_client,
            id_type="CPR",
            id_number=cpr,
            account={"reg": "3000", "number": "0007654321"},
        )


def test_a_payment_without_an_account_waits_and_the_recipient_is_told(waiting, client):
    batch = processed(waiting, client, [payment("W", CPR_WITHOUT_ACCOUNT, amount="1234.50")])

    paid = batch.payments.get()
    assert (paid.status, paid.return_code, paid.failure_handling) == ("waiting", 7, "waiting")
    assert paid.waiting_since is not None
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED  # not closed: a payment is still to be paid
    notice = Notice.objects.get(kind=Notice.Kind.PAYMENT_WAITING)
    assert notice.recipient.id_number == CPR_WITHOUT_ACCOUNT
    assert "1234,50" in notice.body
    assert "Testkøbing Kommune" in notice.body
    # The cycle does not forward it.
    cycle = pipeline.cycle_run(at=FRIDAY_CYCLE)
    assert cycle.payments == 0
    assert Payment.objects.get(pk=paid.pk).status == "waiting"


def test_registering_an_account_releases_it_into_the_next_cycle_exactly_once(
    waiting, client, bank_client, receiver, django_capture_on_commit_callbacks, no_worker
):
    callback_set(client=waiting.api_client, url=receiver.url)
    batch = processed(waiting, client, [payment("W", CPR_WITHOUT_ACCOUNT)])
    first = pipeline.cycle_run(at=FRIDAY_CYCLE)
    assert first.payments == 0

    report_account(bank_client, CPR_WITHOUT_ACCOUNT, django_capture_on_commit_callbacks)

    assert no_worker == [[Recipient.objects.get(id_number=CPR_WITHOUT_ACCOUNT).pk]]
    released = Payment.objects.get(batch=batch)
    assert (released.status, released.return_code, released.account_source) == (
        "completed",
        0,
        "nemkonto",
    )
    assert released.number == "0007654321"
    # The recipient is told it is on its way, the payment system by a payments_updated callback.
    notice = Notice.objects.get(kind=Notice.Kind.PAYMENT_RELEASED)
    assert "****4321" in notice.body
    event = CallbackDelivery.objects.get(event=CallbackDelivery.Event.PAYMENTS_UPDATED)
    assert event.payload["reason"] == "waiting_released"
    assert event.payload["payments"] == [
        {
            "reference": "W",
            "status": "completed",
            "return_code": 0,
            "failure_handling": None,
            "value_date": released.value_date.isoformat(),
        }
    ]
    # The first cycle after the registration forwards it; no later cycle does again.
    cycle = pipeline.cycle_run(at=MONDAY_CYCLE)
    assert cycle.payments == 1
    again = pipeline.cycle_run(at=MONDAY_CYCLE + datetime.timedelta(days=1))
    assert again.payments == 0
    assert pipeline.waiting_release().payment_ids == []
    forwarded = Payment.objects.get(batch=batch)
    assert forwarded.status == "forwarded"
    assert BankFile.objects.filter(payments=forwarded).count() == 1
    assert Notice.objects.filter(kind=Notice.Kind.PAYMENT_RELEASED).count() == 1
    assert CallbackDelivery.objects.filter(event="payments_updated").count() == 1


def test_the_cycle_releases_waiting_payments_itself(waiting, client):
    """A lost hook delays nothing: the cycle attaches the payments whose recipient has an
    account now, before it claims."""
    batch = processed(waiting, client, [payment("W", CPR_WITHOUT_ACCOUNT)])
    recipient = Recipient.objects.get(id_number=CPR_WITHOUT_ACCOUNT)
    from payments.tests.pipeline_world import _nemkonto

    _nemkonto(recipient, "3000", "0001112223")  # written behind the services' back

    cycle = pipeline.cycle_run(at=FRIDAY_CYCLE)

    assert cycle.payments == 1
    paid = Payment.objects.get(batch=batch)
    assert (paid.status, paid.account_source, paid.value_date) == (
        "forwarded",
        "nemkonto",
        cycle.value_date,
    )
    assert Notice.objects.filter(kind=Notice.Kind.PAYMENT_RELEASED).count() == 1


def test_a_stopped_waiting_payment_is_not_released(waiting, client):
    from payments.services.stops import payments_stop_for_client

    batch = processed(waiting, client, [payment("W", CPR_WITHOUT_ACCOUNT)])
    payments_stop_for_client(
        client=waiting.api_client, batch=batch, references=["W"], stop_all=False
    )
    from payments.tests.pipeline_world import _nemkonto

    _nemkonto(Recipient.objects.get(id_number=CPR_WITHOUT_ACCOUNT), "3000", "0001112223")

    assert pipeline.cycle_run(at=FRIDAY_CYCLE).payments == 0
    assert Payment.objects.get(batch=batch).status == "stopped"


def _age(days: int) -> None:
    Payment.objects.filter(status="waiting").update(
        waiting_since=timezone.now() - datetime.timedelta(days=days)
    )


@pytest.mark.parametrize(
    ("fallback", "cpr", "expected"),
    [
        ("return", CPR_WITHOUT_ACCOUNT, ("failed", 7, "returned")),
        ("cheque", CPR_WITHOUT_ACCOUNT, ("failed", 7, "cheque")),
        ("cheque", CPR_WITHOUT_ADDRESS, ("rejected", 7, "")),
        ("error_account", CPR_WITHOUT_ACCOUNT, ("failed", 7, "error_account")),
    ],
)
def test_after_the_longest_wait_the_fallback_applies(
    waiting, client, settings, fallback, cpr, expected, before_cut_off
):
    settings.NEMKONTO_WAITING_DAYS = 30
    agreement_failure_choice_change(
        actor=None,
        agreement=waiting.agreement,
        failure_choice="waiting",
        waiting_fallback=fallback,
        error_account_reg=ERROR_ACCOUNT[0] if fallback == "error_account" else "",
        error_account_number=ERROR_ACCOUNT[1] if fallback == "error_account" else "",
    )
    batch = processed(waiting, client, [payment("W", cpr), payment("N", CPR_WITH_NEMKONTO)])
    _age(29)
    assert pipeline.waiting_expire().payment_ids == []

    _age(31)
    moved = pipeline.waiting_expire()

    paid = Payment.objects.get(batch=batch, reference="W")
    assert len(moved.payment_ids) == 1
    assert (paid.status, paid.return_code, paid.failure_handling) == expected
    if fallback == "error_account":
        assert (paid.reg, paid.number) == ERROR_ACCOUNT
        # It leaves in the next cycle, to the error account.
        assert pipeline.cycle_run(at=FRIDAY_CYCLE).payments == 2


def test_the_agreement_may_choose_the_waiting_account_and_its_fallback(world):
    agreement = agreement_failure_choice_change(
        actor=None, agreement=world.agreement, failure_choice="waiting", waiting_fallback="cheque"
    )
    assert (agreement.failure_choice, agreement.waiting_fallback) == ("waiting", "cheque")
    with pytest.raises(ValidationFailed) as error:
        agreement_failure_choice_change(
            actor=None,
            agreement=world.agreement,
            failure_choice="waiting",
            waiting_fallback="error_account",
        )
    assert error.value.field == "error_account_reg"
    with pytest.raises(ValidationFailed) as unknown:
        agreement_failure_choice_change(
            actor=None, agreement=world.agreement, failure_choice="waiting", waiting_fallback="x"
        )
    assert unknown.value.field == "waiting_fallback"
    world.agreement.refresh_from_db()
    assert world.agreement.waiting_fallback == "cheque"


def test_the_database_refuses_an_error_account_fallback_without_the_account(world):
    world.agreement.failure_choice = "waiting"
    world.agreement.waiting_fallback = "error_account"
    with pytest.raises(IntegrityError), transaction.atomic():
        world.agreement.save()


def test_the_history_tells_the_wait(
    waiting, client, bank_client, django_capture_on_commit_callbacks
):
    from payments.payment_selectors import payment_history

    batch = processed(waiting, client, [payment("W", CPR_WITHOUT_ACCOUNT)])
    report_account(bank_client, CPR_WITHOUT_ACCOUNT, django_capture_on_commit_callbacks)

    events = [event["event"] for event in payment_history(payment=batch.payments.get())]
    assert events == ["received", "waiting", "validated", "attached"]
