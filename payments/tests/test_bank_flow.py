"""Bank files and answers: the file written for the cycle, the simulated bank's answer applied
once, and the banks' API (list, fetch, upload)."""

import datetime
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.api_clients import api_client_create
from accounts.models import ApiClient
from payments import pipeline
from payments.iso20022.pain001_reader import iter_pain001
from payments.iso20022.schemas import pain001_schema, validate_file
from payments.models import BankFile, BankMessage, Batch, Payment
from payments.tests.pipeline_world import (
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    CPR_WITHOUT_ACCOUNT,
    World,
    payment,
)
from payments.tests.test_pipeline_stages import FRIDAY_CYCLE, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def bank_dir(settings, tmp_path: Path) -> Path:
    settings.NEMKONTO_BANK_DIR = tmp_path / "banks"
    return settings.NEMKONTO_BANK_DIR


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)


def forwarded(world: World, client: Client) -> tuple[Batch, BankFile]:
    batch = submit(
        world,
        client,
        [
            payment("A", CPR_WITH_NEMKONTO),
            payment("B", CPR_WITH_SPECIFIC, amount="10.00"),
            payment("C", CPR_WITH_NEMKONTO, text="REJECT this"),
            payment("D", CPR_WITHOUT_ACCOUNT),
        ],
    )
    pipeline.batch_process(str(batch.pk))
    cycle = pipeline.cycle_run(at=FRIDAY_CYCLE)
    assert pipeline.bank_file_write(cycle.file_ids[0]) is True
    return batch, BankFile.objects.get(pk=cycle.file_ids[0])


def test_the_file_is_valid_pain001_with_the_claimed_payments(world, client, bank_dir):
    _batch, file = forwarded(world, client)

    assert file.status == BankFile.Status.WRITTEN
    validate_file(Path(file.path), pain001_schema())
    document = iter_pain001(Path(file.path))
    ids = sorted(tx.end_to_end_id for tx in document.transactions)
    claimed = Payment.objects.filter(bank_file=file).order_by("pk")
    assert ids == sorted(pipeline.end_to_end_id(p.pk) for p in claimed)
    assert document.number_of_transactions == file.transaction_count == 3
    assert (bank_dir / "3000" / "outbox" / f"{file.message_id}.xml").is_file()
    # Writing again does nothing: the file is no longer claimed.
    assert pipeline.bank_file_write(file.pk) is False


def test_the_simulated_banks_answer_is_applied_once(world, client, bank_dir):
    batch, file = forwarded(world, client)

    call_command("simulate_bank", "--once")
    results = pipeline.bank_answers_collect()

    assert sorted(r.kind for r in results) == ["camt054", "pain002"]
    outcome = {
        p.reference: (p.status, p.return_code, p.return_reason) for p in batch.payments.all()
    }
    assert outcome["A"] == ("bank_received", 8, "")
    assert outcome["B"] == ("bank_received", 8, "")
    assert outcome["C"][:2] == ("bank_error", 9)
    assert outcome["C"][2]
    assert outcome["D"] == ("failed", 7, "")
    assert Payment.objects.filter(booked_at__isnull=False).count() == 2
    file.refresh_from_db()
    batch.refresh_from_db()
    assert file.status == BankFile.Status.ANSWERED
    assert batch.status == Batch.Status.CLOSED
    # The same answer delivered twice changes nothing.
    processed = bank_dir / "3000" / "processed"
    for path in processed.glob("*.xml"):
        shutil.copy(path, bank_dir / "3000" / "inbox" / path.name)
    again = pipeline.bank_answers_collect()
    assert [r.applied for r in again] == [False, False]
    assert BankMessage.objects.count() == 2


def bank_token(world: World, client: Client) -> str:
    credentials = api_client_create(
        actor=None, kind=ApiClient.Kind.BANK, name="Danske Bank", bank=world.bank
    )
    from urllib.parse import urlencode

    form = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "scope": "bank",
    }
    answer = client.post(
        "/o/token/", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    return str(answer.json()["access_token"])


def test_a_bank_lists_fetches_and_answers_through_the_api(world, client, bank_dir, tmp_path):
    _batch, file = forwarded(world, client)
    auth = {"Authorization": f"Bearer {bank_token(world, client)}"}

    listed = client.get("/api/v1/bank/files", headers=auth).json()
    assert [f["message_id"] for f in listed["results"]] == [file.message_id]
    fetched = client.get(f"/api/v1/bank/files/{file.pk}", headers=auth)
    assert fetched.status_code == 200
    body = b"".join(fetched.streaming_content)
    assert body == Path(file.path).read_bytes()
    assert client.get("/api/v1/bank/files", headers=auth).json()["results"] == []

    from payments.iso20022.simulated_bank import answer_pain001

    answer = answer_pain001(
        Path(file.path),
        tmp_path / "answers",
        reject_rate=0.0,
        seed="t",
        now=datetime.datetime(2026, 11, 27, 7, 0, tzinfo=datetime.UTC),
    )
    upload = client.post(
        "/api/v1/bank/files",
        answer.pain002_path.read_bytes(),
        content_type="application/xml",
        headers=auth,
    )
    assert upload.status_code == 201, upload.content
    assert upload.json()["accepted"] == 2
    assert upload.json()["rejected"] == 1
    replay = client.post(
        "/api/v1/bank/files",
        answer.pain002_path.read_bytes(),
        content_type="application/xml",
        headers=auth,
    )
    assert replay.status_code == 200
    assert replay.json()["applied"] is False


def test_a_hostile_answer_file_is_refused_and_changes_nothing(world, client, bank_dir):
    _batch, _file = forwarded(world, client)
    auth = {"Authorization": f"Bearer {bank_token(world, client)}"}
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<Document>&lol2;</Document>"
    )
    response = client.post("/api/v1/bank/files", bomb, content_type="application/xml", headers=auth)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert not BankMessage.objects.exists()
    assert set(Payment.objects.values_list("status", flat=True)) == {"forwarded", "failed"}


def test_statements_per_batch_do_not_grow_with_its_size(world, client, bank_dir, settings):
    """Issue 6, acceptance 3: intake, processing, the cycle, the file and the bank's answer take
    the same number of SQL statements for 100 and for 10,000 payments (with the duplicate guard
    and the reconciliation of the bookings, issue 9)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.models import ConnectionAgreement

    settings.NEMKONTO_DUPLICATE_WINDOW_DAYS = 35
    counts = []
    rounds = [
        (1, FRIDAY_CYCLE),  # warms the caches (content types, calendar) before counting
        (100, FRIDAY_CYCLE + datetime.timedelta(days=3)),
        (10_000, FRIDAY_CYCLE + datetime.timedelta(days=4)),
    ]
    for size, cycle_at in rounds:
        # Each round forwards only its own batch.
        Payment.objects.filter(status="completed").update(status="stopped")
        with CaptureQueriesContext(connection) as queries:
            # A new amount each round: the guard looks (one statement), and holds nothing.
            batch = submit(
                world,
                client,
                [
                    payment(f"S{size}-{i}", CPR_WITH_NEMKONTO, amount=f"{size}.00")
                    for i in range(size)
                ],
            )
            pipeline.batch_process(str(batch.pk))
            cycle = pipeline.cycle_run(at=cycle_at)
            pipeline.bank_file_write(cycle.file_ids[0])
            call_command("simulate_bank", "--once")
            pipeline.bank_answers_collect()
        assert batch.payments.filter(status="bank_received").count() == size
        counts.append(len(queries))
    assert ConnectionAgreement.objects.count() == 1
    assert counts[1] == counts[2], counts
