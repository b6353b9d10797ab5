"""Bank reconciliation (issue 9): the simulated bank's camt.054 matched against the pain.001 it
answers; missing, extra and amount differences stored once and listed for the authority (API)
and the operator (admin)."""

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.api_clients import api_client_create
from accounts.models import ApiClient
from payments import pipeline
from payments.iso20022.camt054 import BookedEntry, write_camt054
from payments.iso20022.pain001_writer import danish_iban
from payments.models import BankDifference, BankFile, Batch, Payment
from payments.reconciliation import reconciliation_sweep
from payments.tests.pipeline_world import CPR_WITH_NEMKONTO, CPR_WITH_SPECIFIC, World, payment
from payments.tests.test_pipeline_stages import FRIDAY_CYCLE, submit

pytestmark = pytest.mark.django_db
URL = "/api/v1/reconciliation/differences"


@pytest.fixture(autouse=True)
def bank_dir(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.NEMKONTO_BANK_DIR = tmp_path / "banks"
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)
    return settings.NEMKONTO_BANK_DIR


def forwarded(world: World, client: Client, rows: list[dict[str, Any]]) -> tuple[Batch, BankFile]:
    batch = submit(world, client, rows)
    pipeline.batch_process(str(batch.pk))
    cycle = pipeline.cycle_run(at=FRIDAY_CYCLE)
    pipeline.bank_file_write(cycle.file_ids[0])
    return batch, BankFile.objects.get(pk=cycle.file_ids[0])


def kinds() -> list[tuple[str, str, str]]:
    return sorted(
        (d.kind, d.reason, d.payment.reference if d.payment else d.end_to_end_id)
        for d in BankDifference.objects.select_related("payment")
    )


@pytest.fixture
def answered(world: World, client: Client) -> Batch:
    batch, _file = forwarded(
        world,
        client,
        [
            payment("FINE", CPR_WITH_NEMKONTO),
            payment("UNBOOKED", CPR_WITH_NEMKONTO, text="UNBOOKED"),
            payment("MISBOOKED", CPR_WITH_NEMKONTO, text="MISBOOKED", amount="10.00"),
            payment("DOUBLE", CPR_WITH_SPECIFIC, text="DOUBLEBOOKED"),
            payment("GHOST", CPR_WITH_SPECIFIC, text="GHOSTBOOKED"),
        ],
    )
    call_command("simulate_bank", "--once")
    pipeline.bank_answers_collect()
    return batch


def test_the_bookings_are_matched_and_the_differences_stored(world, answered):
    ghost = Payment.objects.get(reference="GHOST")

    assert kinds() == [
        ("amount_differs", "amount", "MISBOOKED"),
        ("extra", "booked_twice", "DOUBLE"),
        ("extra", "unknown_payment", f"NK{ghost.pk}-GHOST"),
        ("missing", "not_booked", "UNBOOKED"),
    ]
    misbooked = BankDifference.objects.get(kind="amount_differs")
    assert (misbooked.sent_amount_ore, misbooked.booked_amount_ore) == (1000, 1100)
    # The booking of an id never sent is tied to the authority of the disbursement account.
    unknown = BankDifference.objects.get(reason="unknown_payment")
    assert unknown.authority == world.authority
    assert unknown.payment is None
    assert Payment.objects.filter(booked_at__isnull=False).count() == 4


def test_the_same_report_twice_adds_nothing(world, answered, bank_dir):
    import shutil

    processed = bank_dir / "3000" / "processed"
    for path in processed.glob("*.xml"):
        shutil.copy(path, bank_dir / "3000" / "inbox" / path.name)
    pipeline.bank_answers_collect()
    reconciliation_sweep(today=datetime.date(2026, 12, 31))

    assert BankDifference.objects.count() == 4


def _camt(world: World, path: Path, entries: list[BookedEntry], message_id: str) -> Path:
    with path.open("wb") as out:
        write_camt054(
            out,
            message_id=message_id,
            created_at=datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC),
            account_iban=danish_iban("3000", "0004444444"),
            booking_date=datetime.date(2026, 11, 30),
            entries=entries,
        )
    return path


def test_a_late_booking_resolves_the_missing_payment(world, answered, tmp_path):
    late = Payment.objects.get(reference="UNBOOKED")
    path = _camt(
        world,
        tmp_path / "late.xml",
        [BookedEntry(pipeline.end_to_end_id(late.pk), late.amount_ore or 0)],
        "LATE-1",
    )

    pipeline.camt054_apply(bank=world.bank, path=path)

    missing = BankDifference.objects.get(kind="missing")
    assert missing.resolved_at is not None
    assert Payment.objects.get(pk=late.pk).booked_at == datetime.date(2026, 11, 30)


def test_a_booking_of_a_payment_the_bank_rejected_is_extra(world, client, tmp_path):
    batch, _file = forwarded(world, client, [payment("REJ", CPR_WITH_NEMKONTO, text="REJECT")])
    call_command("simulate_bank", "--once")
    pipeline.bank_answers_collect()
    rejected = batch.payments.get()
    assert rejected.status == "bank_error"
    path = _camt(
        world, tmp_path / "c.xml", [BookedEntry(f"NK{rejected.pk}", rejected.amount_ore or 0)], "X1"
    )

    pipeline.camt054_apply(bank=world.bank, path=path)

    assert kinds() == [("extra", "rejected_by_bank", "REJ")]


def test_the_sweep_lists_accepted_payments_never_booked(world, client, settings):
    settings.NEMKONTO_RECONCILE_AFTER_BANK_DAYS = 2
    _batch, file = forwarded(world, client, [payment("P1", CPR_WITH_NEMKONTO)])
    call_command("simulate_bank", "--once")
    bank = world.bank
    inbox = Path(settings.NEMKONTO_BANK_DIR) / bank.reg / "inbox"
    for camt in inbox.glob("*.camt054.xml"):
        camt.unlink()  # the booking report never comes
    pipeline.bank_answers_collect()
    file.refresh_from_db()

    assert reconciliation_sweep(today=file.value_date + datetime.timedelta(days=1)) == 0
    assert reconciliation_sweep(today=file.value_date + datetime.timedelta(days=5)) == 1
    assert kinds() == [("missing", "not_booked", "P1")]


def _token(client: Client, scope: str, **binding: Any) -> dict[str, str]:
    kind = {"resolve": ApiClient.Kind.AUTHORITY, "payments": ApiClient.Kind.PAYMENT_SYSTEM}[scope]
    credentials = api_client_create(actor=None, kind=kind, name=f"{scope} client", **binding)
    answer = client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "scope": scope,
        },
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_authority_lists_its_differences(world, client, answered):
    auth = _token(client, "resolve", authority=world.authority)

    everything = client.get(URL, headers=auth).json()["results"]
    missing = client.get(f"{URL}?kind=missing", headers=auth).json()["results"]
    bad = client.get(f"{URL}?kind=wrong", headers=auth)

    assert len(everything) == 4
    [item] = missing
    assert (item["reference"], item["reason"], item["sent_amount"], item["booked_amount"]) == (
        "UNBOOKED",
        "not_booked",
        "1234.50",
        None,
    )
    assert item["batch_id"] == str(answered.pk)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "kind"


def test_a_payment_system_sees_its_own_payments_differences(world, client, answered):
    from payments.models import ConnectionAgreement, PaymentSystem

    other_system = PaymentSystem.objects.create(code="andet", name="Andet")
    ConnectionAgreement.objects.create(
        authority=world.authority,
        payment_system=other_system,
        status="active",
        activated_at=FRIDAY_CYCLE,
    )
    own = client.get(URL, headers={"Authorization": f"Bearer {world.token(client)}"})
    other = client.get(
        URL,
        headers=_token(client, "payments", authority=world.authority, payment_system=other_system),
    )

    assert len(own.json()["results"]) == 4
    # The other system sees only the booking tied to no payment.
    assert [item["reason"] for item in other.json()["results"]] == ["unknown_payment"]


def test_the_operator_sees_the_differences_in_the_admin(client, operator, answered):
    client.force_login(operator)
    page = client.get("/admin/payments/bankdifference/")
    assert page.status_code == 200
    assert b"not_booked" in page.content or b"Sent and accepted" in page.content
