"""Issue 9, acceptance 1 and 2: each feature through real processes (gunicorn, a Celery worker and
beat, the simulated bank, the operator's run_cycle), the payment system and the bank talking
HTTP, callbacks received by a real HTTP server. Nothing is called in-process except the checks.

- the waiting account: a payment waits, the recipient's bank reports a NemKonto over the API, the
  worker releases the payment (the payment system and the recipient are told), and the first
  cycle after that forwards it, once; the missing-account webhook tells the same story;
- a dry run writes nothing;
- the duplicate guard holds a repeat until the payment system confirms it;
- bank reconciliation lists what the simulated bank booked wrongly.
"""

import datetime
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from accounts.api_clients import api_client_create
from accounts.models import ApiClient
from payments.models import BankFile, Batch, CallbackDelivery, ConnectionAgreement, Payment
from payments.tests.callback_receiver import Receiver, receiver_fixture  # noqa: F401 - fixture
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    CPR_WITHOUT_ACCOUNT,
    World,
    build_world,
    payment,
)
from registry.models import Notice
from tests.conftest import Stack
from tests.test_pipeline_e2e import (
    assert_every_payment_final_and_in_one_file,
    pipeline_env,
    run,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


class Api:
    """One API client's side of the API, over HTTP."""

    def __init__(self, stack: Stack, client_id: str, secret: str, scope: str) -> None:
        self.base = stack.base_url
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": scope,
            }
        ).encode()
        with urllib.request.urlopen(f"{self.base}/o/token/", form) as answer:
            self.token = json.load(answer)["access_token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, content = self.call(method, path, body)
        assert status < 300, (status, content)
        return json.loads(content)


def payment_system(stack: Stack, world: World) -> Api:
    return Api(stack, world.client_id, world.client_secret, "payments")


def bank(stack: Stack, world: World) -> Api:
    credentials = api_client_create(
        actor=None, kind=ApiClient.Kind.BANK, name="Danske Bank", bank=world.bank
    )
    return Api(stack, credentials.client_id, credentials.client_secret, "bank")


def use_waiting_account(world: World) -> None:
    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(failure_choice="waiting")


def processed(stack: Stack, batch_id: str) -> None:
    wait_for(
        lambda: (
            Batch.objects.filter(pk=batch_id).exclude(status="received").exists()
            and not Payment.objects.filter(batch_id=batch_id, status="received").exists()
        ),
        stack,
        "the worker to process the batch",
    )


def events(receiver: Receiver, event: str) -> list[dict[str, Any]]:
    bodies = [json.loads(request.body) for request in receiver.requests]
    return [body for body in bodies if body.get("event") == event]


def cycle(stack: Stack, at: str) -> dict[str, Any]:
    return dict(json.loads(run(stack, "run_cycle", "--at", at, "--json")))


def next_cut_off(cut_off: str, days: int) -> str:
    return (datetime.datetime.fromisoformat(cut_off) + datetime.timedelta(days=days)).isoformat()


def test_a_waiting_payment_leaves_in_the_first_cycle_after_the_recipient_registers_once(
    stack_factory, tmp_path, receiver
):
    world = build_world()
    use_waiting_account(world)
    stack = stack_factory(pipeline_env(tmp_path), beat=True)
    system = payment_system(stack, world)
    system.json("PUT", "/api/v1/callback", {"url": receiver.url})
    system.json("PUT", "/api/v1/missing-accounts/subscription")
    answer = system.json(
        "POST",
        "/api/v1/batches",
        world.envelope(
            payments=[payment("WAITS", CPR_WITHOUT_ACCOUNT), payment("PAID", CPR_WITH_NEMKONTO)]
        ),
    )
    batch_id = answer["batch_id"]
    processed(stack, batch_id)
    waits = Payment.objects.get(batch_id=batch_id, reference="WAITS")
    assert (waits.status, waits.return_code, waits.failure_handling) == ("waiting", 7, "waiting")
    assert Notice.objects.filter(kind=Notice.Kind.PAYMENT_WAITING).count() == 1
    # The authority hears of the recipient without an account (webhook, list, CSV).
    wait_for(
        lambda: bool(events(receiver, "missing_accounts")), stack, "the missing-accounts event"
    )
    [appeared] = events(receiver, "missing_accounts")
    assert [item["recipient"]["id"] for item in appeared["missing"]] == [CPR_WITHOUT_ACCOUNT]
    status, csv_body = system.call("GET", "/api/v1/missing-accounts?format=csv")
    assert status == 200
    assert csv_body.decode().splitlines()[1].startswith(f"CPR,{CPR_WITHOUT_ACCOUNT},1,")

    # The first cycle forwards only the payment that has an account.
    first = cycle(stack, answer["cut_off"])
    assert first["payments_forwarded"] == 1
    assert Payment.objects.get(pk=waits.pk).status == "waiting"

    # The recipient's bank reports a NemKonto: the worker releases the payment.
    reported = bank(stack, world).json(
        "PUT",
        f"/api/v1/nemkonto/CPR/{CPR_WITHOUT_ACCOUNT}",
        {"account": {"reg": "3000", "number": "0007654321"}},
    )
    assert reported["recipient"]
    wait_for(
        lambda: Payment.objects.get(pk=waits.pk).status == "completed",
        stack,
        "the waiting payment to be released",
    )
    released = Payment.objects.get(pk=waits.pk)
    assert (released.return_code, released.account_source, released.number) == (
        0,
        "nemkonto",
        "0007654321",
    )
    assert Notice.objects.filter(kind=Notice.Kind.PAYMENT_RELEASED).count() == 1
    wait_for(
        lambda: bool(events(receiver, "payments_updated")), stack, "the payments_updated callback"
    )
    [updated] = events(receiver, "payments_updated")
    assert updated["reason"] == "waiting_released"
    assert updated["payments"][0]["reference"] == "WAITS"
    wait_for(
        lambda: any(event["resolved"] for event in events(receiver, "missing_accounts")),
        stack,
        "the recipient to be resolved on the missing-account list",
    )

    # The first cycle after the registration forwards it; the bank answers; no cycle again.
    second = cycle(stack, next_cut_off(answer["cut_off"], 3))
    assert second["payments_forwarded"] == 1
    run(stack, "simulate_bank", "--once")
    wait_for(
        lambda: Batch.objects.filter(pk=batch_id, status="closed").exists(),
        stack,
        "the bank's answers to close the batch",
    )
    third = cycle(stack, next_cut_off(answer["cut_off"], 4))
    assert third["payments_forwarded"] == 0
    assert Payment.objects.get(pk=waits.pk).status == "bank_received"
    assert_every_payment_final_and_in_one_file([batch_id])
    assert BankFile.objects.count() == 2
    assert CallbackDelivery.objects.filter(event="payments_updated").count() == 1


def row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for label in ("payments", "registry"):
            for model in apps.get_app_config(label).get_models():
                table = model._meta.db_table
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - model metadata
                counts[table] = cursor.fetchone()[0]
    return counts


def test_a_dry_run_answers_every_row_and_writes_nothing(stack_factory, tmp_path):
    world = build_world()
    stack = stack_factory(pipeline_env(tmp_path))
    system = payment_system(stack, world)
    rows = [
        payment("NK", CPR_WITH_NEMKONTO),
        payment("SPEC", CPR_WITH_SPECIFIC),
        payment("NONE", CPR_WITHOUT_ACCOUNT),
        payment("UNKNOWN", CPR_NOT_IN_REGISTER),
        payment("BAD", "3213901234"),
    ]
    before = row_counts()

    answer = system.json("POST", "/api/v1/batches", world.envelope(dry_run=True, payments=rows))

    assert row_counts() == before
    assert [
        (row["reference"], row["return_code"], row["account_kind"]) for row in answer["payments"]
    ] == [
        ("NK", 0, "nemkonto"),
        ("SPEC", 0, "specific"),
        ("NONE", 7, "none"),
        ("UNKNOWN", 1, "none"),
        ("BAD", 2, "none"),
    ]
    # The same batch for real gets the same answers.
    real = system.json("POST", "/api/v1/batches", world.envelope(payments=rows))
    processed(stack, real["batch_id"])
    codes = dict(
        Payment.objects.filter(batch_id=real["batch_id"]).values_list("reference", "return_code")
    )
    assert codes == {row["reference"]: row["return_code"] for row in answer["payments"]}


def test_a_duplicate_is_held_until_the_payment_system_confirms_it(stack_factory, tmp_path):
    world = build_world()
    env = {**pipeline_env(tmp_path), "NEMKONTO_DUPLICATE_WINDOW_DAYS": "35"}
    stack = stack_factory(env, beat=True)
    system = payment_system(stack, world)
    first = system.json("POST", "/api/v1/batches", world.envelope(payments=[payment("A1")]))
    processed(stack, first["batch_id"])
    second = system.json(
        "POST",
        "/api/v1/batches",
        world.envelope(payments=[payment("B1"), payment("B2", amount="1.00")]),
    )
    processed(stack, second["batch_id"])
    statuses = dict(
        Payment.objects.filter(batch_id=second["batch_id"]).values_list("reference", "status")
    )
    assert statuses == {"B1": "held", "B2": "completed"}
    listed = system.json("GET", f"/api/v1/batches/{second['batch_id']}/duplicates")
    assert [(item["reference"], item["repeats"]["reference"]) for item in listed["results"]] == [
        ("B1", "A1")
    ]

    held_cycle = cycle(stack, second["cut_off"])
    assert held_cycle["payments_forwarded"] == 2  # A1 and B2; B1 is held
    assert Payment.objects.get(reference="B1").status == "held"

    decided = system.json(
        "POST", f"/api/v1/batches/{second['batch_id']}/duplicates", {"confirm": ["B1"]}
    )
    assert decided == {"results": {"B1": "confirmed"}}
    later = cycle(stack, next_cut_off(second["cut_off"], 3))
    assert later["payments_forwarded"] == 1
    assert Payment.objects.get(reference="B1").status == "forwarded"
    run(stack, "simulate_bank", "--once")
    wait_for(
        lambda: Batch.objects.filter(status="closed").count() == 2, stack, "both batches closed"
    )
    assert_every_payment_final_and_in_one_file([first["batch_id"], second["batch_id"]])


def test_the_reconciliation_lists_what_the_bank_booked_wrongly(stack_factory, tmp_path):
    world = build_world()
    stack = stack_factory(pipeline_env(tmp_path), beat=True)
    system = payment_system(stack, world)
    answer = system.json(
        "POST",
        "/api/v1/batches",
        world.envelope(
            payments=[
                payment("FINE", CPR_WITH_NEMKONTO),
                payment("UNBOOKED", CPR_WITH_NEMKONTO, text="UNBOOKED"),
                payment("MISBOOKED", CPR_WITH_SPECIFIC, text="MISBOOKED"),
                payment("DOUBLE", CPR_WITH_NEMKONTO, text="DOUBLEBOOKED"),
            ]
        ),
    )
    processed(stack, answer["batch_id"])
    cycle(stack, answer["cut_off"])
    run(stack, "simulate_bank", "--once")
    banks = Path(tmp_path / "banks")
    wait_for(
        lambda: (
            not any(banks.glob("*/inbox/*.xml"))
            and Payment.objects.filter(booked_at__isnull=False).exists()
        ),
        stack,
        "the bank's answers and bookings to be applied",
    )

    differences = system.json("GET", "/api/v1/reconciliation/differences")["results"]

    assert Counter((item["kind"], item["reference"]) for item in differences) == Counter(
        {("missing", "UNBOOKED"): 1, ("amount_differs", "MISBOOKED"): 1, ("extra", "DOUBLE"): 1}
    )
    misbooked = next(item for item in differences if item["kind"] == "amount_differs")
    assert (misbooked["sent_amount"], misbooked["booked_amount"]) == ("1234.50", "1235.50")
