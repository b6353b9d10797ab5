"""The set-based stages: validate and attach, the failure choices, the cut-off cycle, the
transition trigger, and that each stage is idempotent."""

import datetime
import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments import pipeline
from payments.calendar import COPENHAGEN
from payments.models import BankFile, Batch, ConnectionAgreement, Payment
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    CPR_WITHOUT_ACCOUNT,
    CPR_WITHOUT_ADDRESS,
    ERROR_ACCOUNT,
    NEMKONTO_ACCOUNT,
    SPECIFIC_ACCOUNT,
    World,
    payment,
)
from registry.models import NemKonto

pytestmark = pytest.mark.django_db
# Received on Thursday 26 November 2026 at 10:00: cut-off Friday 06:00, value date Monday.
RECEIVED = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN)
FRIDAY_CYCLE = datetime.datetime(2026, 11, 27, 6, 0, tzinfo=COPENHAGEN)


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)


def submit(world: World, client: Client, payments: list[dict], **envelope: object) -> Batch:
    from payments.intake import SpooledBody
    from payments.services.batches import batch_submit

    raw = json.dumps(world.envelope(payments=payments, **envelope)).encode()
    import hashlib
    import io

    body = SpooledBody(io.BytesIO(raw), hashlib.sha256(raw).hexdigest(), len(raw))
    answer = batch_submit(
        client=world.api_client,
        agreement=world.agreement,
        body=body,
        source_format="json",
        params={},
        now=RECEIVED,
    ).answer
    return Batch.objects.get(pk=answer["batch_id"])


def outcome(batch: Batch) -> dict[str, tuple]:
    return {
        p.reference: (p.status, p.return_code, p.account_source, p.failure_handling)
        for p in batch.payments.all()
    }


def test_attach_uses_the_specific_account_then_the_nemkonto(world, client):
    batch = submit(
        world,
        client,
        [
            payment("NK", CPR_WITH_NEMKONTO),
            payment("SPEC", CPR_WITH_SPECIFIC),
            payment("SPEC-OTHER-BENEFIT", CPR_WITH_SPECIFIC, benefit="KONTANT"),
            payment("GIVEN", CPR_WITHOUT_ACCOUNT, account={"reg": "3000", "number": "55"}),
            payment("UNKNOWN", CPR_NOT_IN_REGISTER),
            payment("NOACCOUNT", CPR_WITHOUT_ACCOUNT),
        ],
    )

    assert pipeline.batch_process(str(batch.pk)) is True

    assert outcome(batch) == {
        "NK": ("completed", 0, "nemkonto", ""),
        "SPEC": ("completed", 0, "specific", ""),
        "SPEC-OTHER-BENEFIT": ("completed", 0, "nemkonto", ""),
        "GIVEN": ("completed", 0, "given", ""),
        "UNKNOWN": ("rejected", 1, "", ""),
        "NOACCOUNT": ("failed", 7, "none", "returned"),
    }
    rows = {p.reference: p for p in batch.payments.all()}
    assert (rows["NK"].reg, rows["NK"].number) == NEMKONTO_ACCOUNT
    assert rows["NK"].nemkonto_id == NemKonto.objects.get(number=NEMKONTO_ACCOUNT[1]).pk
    assert (rows["SPEC"].reg, rows["SPEC"].number) == SPECIFIC_ACCOUNT
    assert rows["SPEC"].specific_account_id is not None
    assert rows["SPEC"].nemkonto_id is None
    assert (rows["GIVEN"].reg, rows["GIVEN"].number) == ("3000", "0000000055")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    # Idempotent: a second run finds nothing to do.
    assert pipeline.batch_process(str(batch.pk)) is False


@pytest.mark.parametrize(
    ("choice", "no_account", "no_address"),
    [
        ("return", ("failed", 7, "none", "returned"), ("failed", 7, "none", "returned")),
        ("cheque", ("failed", 7, "none", "cheque"), ("rejected", 7, "none", "")),
        (
            "error_account",
            ("failed", 7, "none", "error_account"),
            ("failed", 7, "none", "error_account"),
        ),
    ],
)
def test_each_failure_choice(world, client, choice, no_account, no_address):
    error_reg, error_number = ERROR_ACCOUNT if choice == "error_account" else ("", "")
    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(
        failure_choice=choice, error_account_reg=error_reg, error_account_number=error_number
    )
    world.agreement.refresh_from_db()
    batch = submit(
        world, client, [payment("A", CPR_WITHOUT_ACCOUNT), payment("B", CPR_WITHOUT_ADDRESS)]
    )

    pipeline.batch_process(str(batch.pk))

    assert outcome(batch) == {"A": no_account, "B": no_address}
    if choice == "error_account":
        assert {(p.reg, p.number) for p in batch.payments.all()} == {ERROR_ACCOUNT}
    if choice == "cheque":
        assert batch.payments.get(reference="B").return_reason == "no_address"


def test_processing_takes_the_same_number_of_statements_for_10_and_300_payments(world, client):
    counts = []
    for size, prefix in ((10, "S"), (300, "L")):
        batch = submit(world, client, [payment(f"{prefix}{i}") for i in range(size)])
        with CaptureQueriesContext(connection) as queries:
            pipeline.batch_process(str(batch.pk))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_cycle_claims_due_payments_into_one_file_per_bank_agreement(world, client):
    batch = submit(
        world,
        client,
        [
            payment("P1"),
            payment("P2", CPR_WITH_SPECIFIC, amount="10.00"),
            payment("P3", CPR_WITHOUT_ACCOUNT),
        ],
    )
    later = submit(world, client, [payment("LATER")], requested_value_date="2026-12-15")
    pipeline.batch_process(str(batch.pk))
    pipeline.batch_process(str(later.pk))

    result = pipeline.cycle_run(at=FRIDAY_CYCLE)

    assert result.value_date == datetime.date(2026, 11, 30)
    assert len(result.file_ids) == 1
    file = BankFile.objects.get(pk=result.file_ids[0])
    assert (file.transaction_count, file.control_sum_ore) == (2, 123450 + 1000)
    assert file.bank_agreement == world.bank_agreement
    assert file.value_date == result.value_date
    assert outcome(batch)["P1"][0] == "forwarded"
    assert Payment.objects.get(reference="LATER").status == "completed"
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FORWARDED
    # Running the same cycle again claims nothing twice.
    again = pipeline.cycle_run(at=FRIDAY_CYCLE)
    assert again.payments == 0
    assert BankFile.objects.count() == 1


def _replace_nemkonto(at: datetime.datetime) -> NemKonto:
    """End the test recipient's NemKonto and put a new one in force, both stamped ``at``."""
    old = NemKonto.objects.get(number=NEMKONTO_ACCOUNT[1])
    NemKonto.objects.filter(pk=old.pk).update(state="ended", ended_at=at)
    return NemKonto.objects.create(
        recipient=old.recipient,
        account_kind="danish",
        reg="5301",
        number="0007777777",
        state="active",
        channel="citizen",
        actor_label="borger",
        created_at=at,
        activated_at=at,
    )


def test_the_cycle_attaches_the_account_active_at_forwarding(world, client):
    batch = submit(world, client, [payment("P1")])
    pipeline.batch_process(str(batch.pk))
    new = _replace_nemkonto(timezone.now())

    result = pipeline.cycle_run(at=FRIDAY_CYCLE)

    assert result.reattached == 1
    paid = Payment.objects.get(reference="P1")
    assert (paid.status, paid.nemkonto_id, paid.reg, paid.number) == (
        "forwarded",
        new.pk,
        "5301",
        "0007777777",
    )


def test_a_change_stamped_before_the_attach_but_committed_after_it_is_still_found(world, client):
    # A registry transaction that stamped its change half an hour before the batch was attached
    # and committed only afterwards: the attach could not see it, the cycle must.
    batch = submit(world, client, [payment("P1")])
    pipeline.batch_process(str(batch.pk))
    batch.refresh_from_db()
    assert batch.processed_at is not None
    new = _replace_nemkonto(batch.processed_at - datetime.timedelta(minutes=30))

    result = pipeline.cycle_run(at=FRIDAY_CYCLE)

    assert result.reattached == 1
    assert Payment.objects.get(reference="P1").nemkonto_id == new.pk


def test_the_cycle_leaves_payments_whose_recipient_changed_nothing(world, client):
    batch = submit(world, client, [payment("P1")])
    pipeline.batch_process(str(batch.pk))
    attached = Payment.objects.get(reference="P1")

    result = pipeline.cycle_run(at=FRIDAY_CYCLE)

    assert result.reattached == 0
    paid = Payment.objects.get(reference="P1")
    assert (paid.status, paid.nemkonto_id, paid.processed_at) == (
        "forwarded",
        attached.nemkonto_id,
        attached.processed_at,
    )


def test_a_payment_received_after_the_cut_off_waits_for_the_next_cycle(world, client):
    batch = submit(world, client, [payment("P1")])
    pipeline.batch_process(str(batch.pk))

    thursday = pipeline.cycle_run(at=datetime.datetime(2026, 11, 26, 6, 0, tzinfo=COPENHAGEN))

    assert thursday.file_ids == []
    assert Payment.objects.get(reference="P1").status == "completed"


def test_the_database_refuses_an_illegal_status_change(world, client):
    batch = submit(world, client, [payment("P1")])
    pipeline.batch_process(str(batch.pk))
    pipeline.cycle_run(at=FRIDAY_CYCLE)

    with (
        pytest.raises(IntegrityError, match="illegal payment status transition"),
        transaction.atomic(),
    ):
        Payment.objects.filter(reference="P1").update(status="completed")
    assert Payment.objects.get(reference="P1").status == "forwarded"


def test_the_trigger_check_is_cheap_and_can_still_be_ignored_on_purpose(world, client):
    """The project's ``_pgtrigger_should_ignore`` (nemkonto.trigger_ignore) runs no
    subtransaction per row, and ``pgtrigger.ignore`` still switches a trigger off."""
    import pgtrigger

    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = '_pgtrigger_should_ignore'")
        (source,) = cursor.fetchone()
    assert "EXCEPTION" not in source.upper()
    batch = submit(world, client, [payment("P1")])
    pipeline.batch_process(str(batch.pk))
    pipeline.cycle_run(at=FRIDAY_CYCLE)

    with pgtrigger.ignore("payments.Payment:payment_legal_transitions"):
        Payment.objects.filter(reference="P1").update(status="completed")
    assert Payment.objects.get(reference="P1").status == "completed"


def test_the_operator_prints_the_information_sheets_of_a_bank_files_cheques(
    world, client, operator
):
    from io import BytesIO

    from django.urls import reverse
    from pypdf import PdfReader

    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(failure_choice="cheque")
    world.agreement.refresh_from_db()
    batch = submit(world, client, [payment("CHK", CPR_WITHOUT_ACCOUNT), payment("TRF")])
    pipeline.batch_process(str(batch.pk))
    (file_id,) = pipeline.cycle_run(at=FRIDAY_CYCLE).file_ids
    client.force_login(operator)

    listing = client.get(reverse("admin:payments_bankfile_changelist")).content.decode()
    url = reverse("admin:payments_bankfile_cheque_sheets", args=[file_id])
    assert f'<a href="{url}">PDF</a>' in listing

    answer = client.get(url)
    assert answer["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(answer.content)).pages)
    assert "Uffe Udenkonto" in text  # the recipient of the cheque, as the register has them
    assert "NemKonto" in text
    assert len(PdfReader(BytesIO(answer.content)).pages) == 1  # the transfer gets no sheet
