"""Issue 6, acceptance 1 and 2: a batch through real processes (gunicorn, a Celery worker and
beat, the simulated bank), and the same after the worker is killed in the middle of a stage.

The payment system talks HTTP to the web server; the worker validates and attaches; the cycle
runs as the operator command; the simulated bank answers in its own process; beat collects the
answers and the worker applies them. Nothing is called in-process except the checks.
"""

import datetime
import gzip
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.api_clients import api_client_create
from accounts.models import ApiClient, DataChange
from payments.models import BankFile, Batch, ConnectionAgreement, Payment, PaymentSystem
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    CPR_WITHOUT_ACCOUNT,
    CPR_WITHOUT_ADDRESS,
    ERROR_ACCOUNT,
    World,
    build_world,
    payment,
)
from tests.conftest import BASE_DIR, Stack

pytestmark = pytest.mark.django_db(transaction=True)
FINAL = {"rejected", "stopped", "failed", "bank_received", "bank_error"}


def pipeline_env(tmp_path: Path) -> dict[str, str]:
    return {
        # An isolated broker: nothing queued by other tests reaches this worker.
        "CELERY_BROKER_URL": "",
        "CELERY_BROKER_FOLDER": str(tmp_path / "broker"),
        "NEMKONTO_BANK_DIR": str(tmp_path / "banks"),
        "NEMKONTO_ANSWERS_EVERY_SECONDS": "1",
        "NEMKONTO_SWEEP_EVERY_SECONDS": "2",
        "NEMKONTO_SWEEP_AFTER_SECONDS": "3",
    }


class PaymentSystemClient:
    """A payment system's side of the API, over HTTP."""

    def __init__(self, stack: Stack, client_id: str, secret: str) -> None:
        self.base = stack.base_url
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "payments",
            }
        ).encode()
        with urllib.request.urlopen(f"{self.base}/o/token/", form) as answer:
            self.token = json.load(answer)["access_token"]

    def call(self, method: str, path: str, body: Any = None, gzipped: bool = False) -> Any:
        data = None
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
            if gzipped:
                data = gzip.compress(data)
                headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.load(answer)


def wait_for(
    condition: Callable[[], bool], stack: Stack, what: str, timeout: float = 90, every: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}\n{stack.logs()}")


def manage(stack: Stack, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run(stack: Stack, *args: str) -> str:
    process = manage(stack, *args)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return out.decode()


def other_system(world: World, code: str, choice: str, error_account: tuple[str, str] = ("", "")):
    system = PaymentSystem.objects.create(code=code, name=code.title())
    ConnectionAgreement.objects.create(
        authority=world.authority,
        payment_system=system,
        status=ConnectionAgreement.Status.ACTIVE,
        activated_at=timezone.now() - datetime.timedelta(days=1),
        failure_choice=choice,
        error_account_reg=error_account[0],
        error_account_number=error_account[1],
    )
    return api_client_create(
        actor=None,
        kind=ApiClient.Kind.PAYMENT_SYSTEM,
        name=code,
        authority=world.authority,
        payment_system=system,
    )


def file_end_to_end_ids(path: str) -> list[str]:
    from payments.iso20022.pain001_reader import iter_pain001

    return [tx.end_to_end_id for tx in iter_pain001(Path(path)).transactions]


def assert_every_payment_final_and_in_one_file(batch_ids: list[str]) -> None:
    payments = Payment.objects.filter(batch_id__in=batch_ids)
    statuses = Counter(payments.values_list("status", flat=True))
    assert set(statuses) <= FINAL, statuses
    in_files: Counter[str] = Counter()
    for file in BankFile.objects.all():
        ids = file_end_to_end_ids(file.path)
        in_files.update(ids)
        claimed = Payment.objects.filter(bank_file=file)
        assert len(ids) == claimed.count() == file.transaction_count
        assert sum(p.amount_ore or 0 for p in claimed) == file.control_sum_ore
    assert max(in_files.values(), default=1) == 1, "a payment is in two bank files"
    sent = payments.filter(bank_file__isnull=False).count()
    assert sum(in_files.values()) == sent


def test_a_batch_ends_with_the_right_return_code_for_every_row(stack_factory, tmp_path):
    from payments.iso20022.schemas import pain001_schema, validate_file

    world = build_world()
    cheque = other_system(world, "cheque-system", "cheque")
    error = other_system(world, "error-system", "error_account", ERROR_ACCOUNT)
    stack = stack_factory(pipeline_env(tmp_path), beat=True)
    main = PaymentSystemClient(stack, world.client_id, world.client_secret)
    given = {"reg": "5301", "number": "0000123456"}
    rows = [
        payment("COMPLETE", CPR_WITHOUT_ACCOUNT, account=given),
        payment("NEMKONTO", CPR_WITH_NEMKONTO),
        payment("SPECIFIC", CPR_WITH_SPECIFIC),
        payment("UNKNOWN", CPR_NOT_IN_REGISTER),
        payment("MALFORMED", "3213901234"),
        payment("RETURNED", CPR_WITHOUT_ACCOUNT),
        payment("STOPPED", CPR_WITH_NEMKONTO),
        payment("BANK-REJECTS", CPR_WITH_NEMKONTO, text="REJECT please"),
    ]
    answers = [
        main.call("POST", "/api/v1/batches", world.envelope(payments=rows), gzipped=True),
        PaymentSystemClient(stack, cheque.client_id, cheque.client_secret).call(
            "POST",
            "/api/v1/batches",
            world.envelope(
                payments=[
                    payment("CHEQUE", CPR_WITHOUT_ACCOUNT),
                    payment("CHEQUE-NO-ADDRESS", CPR_WITHOUT_ADDRESS),
                ]
            ),
        ),
        PaymentSystemClient(stack, error.client_id, error.client_secret).call(
            "POST",
            "/api/v1/batches",
            world.envelope(payments=[payment("ERROR-ACCOUNT", CPR_WITHOUT_ACCOUNT)]),
        ),
    ]
    batch_ids = [answer["batch_id"] for answer in answers]
    wait_for(
        lambda: not Batch.objects.filter(pk__in=batch_ids, status="received").exists(),
        stack,
        "the worker to process the batches",
    )
    stop = main.call(
        "POST", f"/api/v1/batches/{batch_ids[0]}/stop", {"references": ["STOPPED", "UNKNOWN"]}
    )
    assert stop["results"] == {"STOPPED": "stopped", "UNKNOWN": "already_final"}

    cycle = json.loads(run(stack, "run_cycle", "--at", answers[0]["cut_off"], "--json"))
    assert cycle["value_date"] == answers[0]["expected_value_date"]
    for file in cycle["files"]:
        validate_file(Path(file["path"]), pain001_schema())
    bank = json.loads(run(stack, "simulate_bank", "--once", "--json").splitlines()[0])
    assert bank["rejected"] == 1
    wait_for(
        lambda: Batch.objects.filter(pk__in=batch_ids, status="closed").count() == 3,
        stack,
        "the answers to be applied",
    )

    outcome = {
        p.reference: (p.status, p.return_code, p.account_source, p.failure_handling)
        for p in Payment.objects.filter(batch_id__in=batch_ids)
    }
    assert outcome == {
        "COMPLETE": ("bank_received", 8, "given", ""),
        "NEMKONTO": ("bank_received", 8, "nemkonto", ""),
        "SPECIFIC": ("bank_received", 8, "specific", ""),
        "UNKNOWN": ("rejected", 1, "", ""),
        "MALFORMED": ("rejected", 2, "", ""),
        "RETURNED": ("failed", 7, "none", "returned"),
        "STOPPED": ("stopped", 0, "nemkonto", ""),
        "BANK-REJECTS": ("bank_error", 9, "nemkonto", ""),
        "CHEQUE": ("failed", 7, "none", "cheque"),
        "CHEQUE-NO-ADDRESS": ("rejected", 7, "none", ""),
        "ERROR-ACCOUNT": ("failed", 7, "none", "error_account"),
    }
    listed = main.call("GET", f"/api/v1/batches/{batch_ids[0]}/payments?return_code=9")
    assert [p["reference"] for p in listed["results"]] == ["BANK-REJECTS"]
    assert listed["results"][0]["return_text"]
    status = main.call("GET", f"/api/v1/batches/{batch_ids[0]}")
    assert status["status"] == "closed"
    assert status["return_codes"] == {"0": 1, "1": 1, "2": 1, "7": 1, "8": 3, "9": 1}
    # The cheque and the error-account transfer left in the bank file too.
    sent = {p.reference for p in Payment.objects.filter(bank_file__isnull=False)}
    assert sent == {"COMPLETE", "NEMKONTO", "SPECIFIC", "BANK-REJECTS", "CHEQUE", "ERROR-ACCOUNT"}
    assert_every_payment_final_and_in_one_file(batch_ids)
    # Who wrote the payments: the API request of the payment system, then the worker's tasks.
    writers = set(
        DataChange.objects.filter(table_name="payments_payment").values_list("channel", "source")
    )
    assert ("api", "POST /api/v1/batches") in writers
    assert ("task", "payments.tasks.batch_process") in writers


def _active_query(fragment: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s "
            "AND pid <> pg_backend_pid()",
            [f"%{fragment}%"],
        )
        return bool(cursor.fetchone()[0])


def _kill_when(stack: Stack, fragment: str) -> None:
    """SIGKILL the worker while it runs the statement containing ``fragment``, then restart."""
    assert stack.worker is not None
    wait_for(lambda: _active_query(fragment), stack, f"the worker to run {fragment!r}", 120, 0.01)
    os.kill(stack.worker.pid, signal.SIGKILL)
    stack.worker.wait(timeout=30)
    stack.start_worker()


def test_killing_the_worker_in_the_middle_of_each_stage_loses_and_doubles_nothing(
    stack_factory, tmp_path
):
    world = build_world()
    stack = stack_factory(pipeline_env(tmp_path), beat=True)
    main = PaymentSystemClient(stack, world.client_id, world.client_secret)
    recipients = [CPR_WITH_NEMKONTO, CPR_WITH_SPECIFIC, CPR_WITHOUT_ACCOUNT, CPR_NOT_IN_REGISTER]
    rows = [
        payment(f"P{i:06d}", recipients[i % 4], text="REJECT" if i % 97 == 0 else "Ydelse")
        for i in range(60_000)
    ]
    answer = main.call("POST", "/api/v1/batches", world.envelope(payments=rows), gzipped=True)
    batch_id = answer["batch_id"]

    # 1. Validate and attach: killed in its UPDATE; the sweeper resumes the batch.
    _kill_when(stack, "WITH target AS")
    wait_for(
        lambda: Batch.objects.filter(pk=batch_id, status="completed").exists(),
        stack,
        "the sweeper to resume processing",
        180,
    )

    # 2. Writing the bank file: the cycle claims, the file is written by the worker through the
    # sweeper after the cycle's own process is killed while it writes.
    cycle = manage(stack, "run_cycle", "--at", answer["cut_off"])
    banks = tmp_path / "banks"
    wait_for(lambda: any(banks.glob("*/files/.*.part")), stack, "the file to be written", 120, 0.01)
    cycle.send_signal(signal.SIGKILL)
    cycle.wait(timeout=30)
    wait_for(
        lambda: (
            BankFile.objects.exists() and not BankFile.objects.filter(status="claimed").exists()
        ),
        stack,
        "the sweeper to write the claimed file",
        180,
    )

    # 3. Applying the bank's answer: killed while it updates the payments.
    run(stack, "simulate_bank", "--once", "--reject-rate", "0.01")
    _kill_when(stack, "bank_answer_stage")
    wait_for(
        lambda: Batch.objects.filter(pk=batch_id, status="closed").exists(),
        stack,
        "the answers to be applied after the restart",
        180,
    )
    assert_every_payment_final_and_in_one_file([batch_id])
    statuses = Counter(Payment.objects.values_list("status", flat=True))
    assert statuses["rejected"] == 15_000
    assert statuses["failed"] == 15_000
    assert statuses["bank_received"] + statuses["bank_error"] == 30_000
