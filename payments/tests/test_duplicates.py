"""The duplicate-payment guard across batches (issue 9): a repeat of an earlier payment (same
authority, recipient, benefit, amount and month, within the window) is held, not forwarded, until
the payment system or a caseworker with the stop profile confirms or rejects it."""

import datetime
import json
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from accounts.tests.factories import grant
from nemkonto.errors import PermissionDenied, ValidationFailed
from payments import pipeline
from payments.models import Batch, CallbackDelivery, Payment, PaymentHold
from payments.services.duplicates import duplicates_decide, duplicates_decide_for_client
from payments.services.stops import payments_stop_for_client
from payments.tests.helpers import employee
from payments.tests.pipeline_world import (
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    World,
    payment,
)
from payments.tests.test_pipeline_stages import FRIDAY_CYCLE, submit

pytestmark = pytest.mark.django_db
MONDAY_CYCLE = FRIDAY_CYCLE + datetime.timedelta(days=3)


@pytest.fixture(autouse=True)
def guard_on(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.NEMKONTO_DUPLICATE_WINDOW_DAYS = 35
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)
    monkeypatch.setattr("payments.callback_tasks.callbacks_dispatch.delay", lambda: None)


def processed(world: World, client: Client, rows: list[dict[str, Any]], **envelope: Any) -> Batch:
    batch = submit(world, client, rows, **envelope)
    assert pipeline.batch_process(str(batch.pk))
    return batch


def statuses(batch: Batch) -> dict[str, str]:
    return dict(batch.payments.values_list("reference", "status"))


@pytest.fixture
def repeated(world: World, client: Client) -> tuple[Batch, Batch]:
    """A batch, and a second one that repeats its first payment and pays a new one."""
    first = processed(world, client, [payment("A1", CPR_WITH_NEMKONTO, amount="500.00")])
    second = processed(
        world,
        client,
        [
            payment("B1", CPR_WITH_NEMKONTO, amount="500.00"),
            payment("B2", CPR_WITH_NEMKONTO, amount="500.01"),
            payment("B3", CPR_WITH_NEMKONTO, amount="500.00", benefit="KONTANT"),
            payment("B4", CPR_WITH_SPECIFIC, amount="500.00"),
        ],
    )
    return first, second


def test_a_repeat_from_another_batch_is_held_with_the_payment_it_repeats(repeated):
    first, second = repeated

    assert statuses(second) == {
        "B1": "held",
        "B2": "completed",
        "B3": "completed",
        "B4": "completed",
    }
    held = Payment.objects.get(reference="B1")
    assert held.return_code is None
    hold = PaymentHold.objects.get(payment=held)
    assert hold.duplicate_of == first.payments.get()
    assert hold.decision == "pending"
    second.refresh_from_db()
    assert second.status == Batch.Status.COMPLETED


def test_held_payments_are_not_forwarded(repeated):
    _first, second = repeated

    pipeline.cycle_run(at=FRIDAY_CYCLE)

    assert statuses(second)["B1"] == "held"
    assert Payment.objects.get(reference="B1").bank_file_id is None
    second.refresh_from_db()
    assert second.status == Batch.Status.COMPLETED  # not forwarded while a payment is held


def test_repeats_within_one_batch_another_month_or_after_the_window_are_not_held(
    world, client, settings
):
    processed(
        world,
        client,
        [payment("S1", CPR_WITH_NEMKONTO), payment("S2", CPR_WITH_NEMKONTO)],
    )
    next_month = processed(
        world, client, [payment("M1", CPR_WITH_NEMKONTO)], requested_value_date="2027-01-04"
    )
    assert statuses(next_month) == {"M1": "completed"}
    Payment.objects.update(received_at=FRIDAY_CYCLE - datetime.timedelta(days=40))
    after = processed(world, client, [payment("W1", CPR_WITH_NEMKONTO)])
    assert statuses(after) == {"W1": "completed"}
    settings.NEMKONTO_DUPLICATE_WINDOW_DAYS = 0
    off = processed(world, client, [payment("O1", CPR_WITH_NEMKONTO)])
    assert statuses(off) == {"O1": "completed"}


def test_a_stopped_earlier_payment_is_no_reason_to_hold(world, client):
    first = processed(world, client, [payment("A1", CPR_WITH_NEMKONTO)])
    payments_stop_for_client(client=world.api_client, batch=first, references=None, stop_all=True)

    second = processed(world, client, [payment("B1", CPR_WITH_NEMKONTO)])

    assert statuses(second) == {"B1": "completed"}


def test_the_payment_system_confirms_and_rejects(world, client, repeated, receiver, before_cut_off):
    from payments.callbacks import callback_set

    callback_set(client=world.api_client, url=receiver.url)
    _first, second = repeated
    third = processed(world, client, [payment("C1", CPR_WITH_NEMKONTO, amount="500.00")])

    confirmed = duplicates_decide_for_client(
        client=world.api_client, batch=second, confirm=["B1"], reject=[]
    )
    rejected = duplicates_decide_for_client(
        client=world.api_client, batch=third, confirm=[], reject=["C1", "C9"]
    )
    again = duplicates_decide_for_client(
        client=world.api_client, batch=second, confirm=[], reject=["B1", "B2"]
    )

    assert confirmed == {"B1": "confirmed"}
    assert rejected == {"C1": "rejected", "C9": "not_found"}
    assert again == {"B1": "not_held", "B2": "not_held"}
    b1, c1 = Payment.objects.get(reference="B1"), Payment.objects.get(reference="C1")
    assert (b1.status, b1.return_code, b1.account_source) == ("completed", 0, "nemkonto")
    assert (c1.status, c1.stopped_by_label) == ("stopped", world.api_client.application.name)
    assert PaymentHold.objects.get(payment=b1).decision == "confirmed"
    assert PaymentHold.objects.get(payment=c1).decision == "rejected"
    third.refresh_from_db()
    assert third.status == Batch.Status.CLOSED
    reasons = sorted(
        delivery.payload["reason"]
        for delivery in CallbackDelivery.objects.filter(event="payments_updated")
    )
    assert reasons == ["duplicate_confirmed", "duplicate_rejected"]
    # The confirmed payment leaves in the next cycle.
    assert pipeline.cycle_run(at=FRIDAY_CYCLE).payments == 5
    assert Payment.objects.get(reference="B1").status == "forwarded"


def test_a_decision_names_something_and_not_twice(world, repeated):
    _first, second = repeated
    with pytest.raises(ValidationFailed) as none:
        duplicates_decide_for_client(client=world.api_client, batch=second, confirm=[], reject=[])
    assert none.value.field == "confirm"
    with pytest.raises(ValidationFailed) as both:
        duplicates_decide_for_client(
            client=world.api_client, batch=second, confirm=["B1"], reject=["B1"]
        )
    assert both.value.code == "ambiguous"
    assert Payment.objects.get(reference="B1").status == "held"


def test_a_caseworker_with_the_stop_profile_decides_within_their_units(world, repeated):
    held = Payment.objects.get(reference="B1")
    stopper = employee(username="stopper", authority=world.authority)
    grant(stopper, "nks-stop-bet", world.root)
    elsewhere = employee(username="elsewhere", authority=world.authority)
    grant(elsewhere, "nks-stop-bet", world.sibling)
    searcher = employee(username="searcher", authority=world.authority)
    grant(searcher, "nks-soeg-bet", world.root)

    with pytest.raises(PermissionDenied):
        duplicates_decide(actor=searcher, confirm=[held.pk], reject=[])
    assert duplicates_decide(actor=elsewhere, confirm=[held.pk], reject=[]) == {
        held.pk: "not_found"
    }
    assert Payment.objects.get(pk=held.pk).status == "held"

    answer = duplicates_decide(actor=stopper, confirm=[], reject=[held.pk], reason="Paid twice")

    assert answer == {held.pk: "rejected"}
    held.refresh_from_db()
    assert (held.status, held.stopped_by) == ("stopped", stopper)
    from accounts.models import AuditEvent

    audit = AuditEvent.objects.get(action="payment.duplicates_decide", actor=stopper)
    assert audit.data["reason"] == "Paid twice"


def test_the_database_refuses_to_forward_a_held_payment(repeated):
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(reference="B1").update(status="forwarded")


def test_the_api_lists_and_decides(world, client, repeated):
    _first, second = repeated
    auth = {"Authorization": f"Bearer {world.token(client)}"}
    url = f"/api/v1/batches/{second.pk}/duplicates"

    listed = client.get(url, headers=auth)
    assert listed.status_code == 200
    [item] = listed.json()["results"]
    assert item["reference"] == "B1"
    assert item["repeats"]["reference"] == "A1"
    assert item["amount"] == "500.00"

    bad = client.post(url, {"confirm": "B1"}, content_type="application/json", headers=auth)
    assert bad.status_code in (400, 422)
    assert Payment.objects.get(reference="B1").status == "held"

    decided = client.post(url, {"confirm": ["B1"]}, content_type="application/json", headers=auth)
    assert decided.json() == {"results": {"B1": "confirmed"}}
    assert client.get(url, headers=auth).json()["results"] == []


def test_dry_run_tells_the_repeat(world, client, repeated, before_cut_off):
    auth = {"Authorization": f"Bearer {world.token(client)}"}
    body = world.envelope(
        dry_run=True,
        payments=[
            payment("D1", CPR_WITH_NEMKONTO, amount="500.00"),
            payment("D2", CPR_WITH_NEMKONTO),
        ],
    )
    answer = client.post("/api/v1/batches", body, content_type="application/json", headers=auth)
    rows = json.loads(b"".join(answer.streaming_content))["payments"]
    assert [row["status"] for row in rows] == ["held", "completed"]
