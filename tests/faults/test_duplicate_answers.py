"""The same bank answer file delivered twice (issue 8):

1. at the same moment by both ways a bank has, the file drop and the banks' API: while the
   worker is in the middle of applying it (held at its statement), the bank uploads the same
   file; the upload waits for the worker, then answers that it was applied before;
2. again after it was applied, in the inbox and through the API;
3. once more with a new message id (a bank that sends its answer again under a new id): it is
   recorded, and changes no payment.

Nothing changes after the first application, and every invariant holds
(``invariants.check_invariants``).
"""

import json
import random
import shutil
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from accounts.api_clients import api_client_create
from accounts.models import ApiClient
from payments.models import BankMessage
from payments.tests.pipeline_world import build_world
from tests.conftest import Stack
from tests.faults.harness import (
    PAYMENT,
    Database,
    Flow,
    Lock,
    batch_rows,
    blocked_by,
    database_conninfo,
    queue_task,
    stack_env,
    wait_until,
)
from tests.faults.invariants import check_invariants

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

BANK_MESSAGE = BankMessage._meta.db_table
_ROW_LOCK = f"SELECT 1 FROM {PAYMENT} WHERE id = %s FOR UPDATE"  # noqa: S608
# Sessions waiting, directly or behind another, for the test's lock.
_WAITING = "SELECT pid FROM pg_stat_activity WHERE pid <> %s AND pg_blocking_pids(pid) <> '{}'"
_OUTCOME = (
    f"SELECT id, status, return_code, return_reason, answered_at, booked_at FROM {PAYMENT} "  # noqa: S608
    "ORDER BY id"
)


class BankApi:
    """The bank's side of the banks' API, over HTTP."""

    def __init__(self, stack: Stack, client_id: str, secret: str) -> None:
        self.base = stack.base_url
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "bank",
            }
        ).encode()
        with urllib.request.urlopen(f"{self.base}/o/token/", form) as answer:
            self.token = json.load(answer)["access_token"]

    def upload(self, path: Path) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.base}/api/v1/bank/files",
            data=path.read_bytes(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/xml"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.load(answer)


def test_the_same_bank_answer_twice_is_applied_once(
    stack_factory, redis_broker, locks, tmp_path, fault_seed
):
    rng = random.Random(fault_seed)  # noqa: S311 - replayable, not secret
    world = build_world()
    bank_client = api_client_create(
        actor=None, kind=ApiClient.Kind.BANK, name="Danske Bank", bank=world.bank
    )
    stack = stack_factory(stack_env(tmp_path, redis_broker.url), beat=True)
    db = Database(database_conninfo())
    banks = tmp_path / "banks"
    bank = banks / world.bank.reg
    try:
        flow = Flow(stack, world, db, banks)
        api = BankApi(stack, bank_client.client_id, bank_client.client_secret)
        answer = flow.submit(*batch_rows(rng, "TWICE", 150))
        flow.wait_for_batch(answer["batch_id"], "completed")
        at = answer["cut_off"]
        queue_task(redis_broker.url, "payments.tasks.cycle_run", at)
        flow.wait_for_files_delivered(at)

        # 1. The worker applies the status answer (held in the middle); the bank uploads it too.
        payment = flow.a_payment(rng, answer["batch_id"], "forwarded")
        locks.append(lock := Lock(db.conninfo, _ROW_LOCK, [payment]).take())
        assert flow.bank_answers() == 1
        status_answer = next(bank.glob("inbox/*.pain002.xml"))
        kept = tmp_path / status_answer.name
        shutil.copy(status_answer, kept)
        wait_until(lambda: blocked_by(db, lock), stack, "the worker to apply the answer")
        uploads: list[tuple[int, dict[str, Any]]] = []
        uploading = threading.Thread(target=lambda: uploads.append(api.upload(kept)))
        uploading.start()
        wait_until(lambda: len(db.rows(_WAITING, [lock.pid])) == 2, stack, "the upload to wait")
        lock.release()
        uploading.join(timeout=60)
        assert uploads[0][0] == 200, uploads
        assert uploads[0][1]["applied"] is False
        flow.answer_and_close()
        first = db.rows(_OUTCOME)
        messages = dict(db.rows(f"SELECT kind, message_id FROM {BANK_MESSAGE}"))  # noqa: S608
        applied = db.rows(f"SELECT accepted, rejected FROM {BANK_MESSAGE} WHERE kind = 'pain002'")  # noqa: S608
        answered = db.rows(
            f"SELECT count(*) FILTER (WHERE status = 'bank_received'), "  # noqa: S608
            f"count(*) FILTER (WHERE status = 'bank_error') FROM {PAYMENT}"
        )
        assert applied == answered, "the status answer was not applied exactly once"

        # 2. Both answers delivered again, in the inbox and through the API.
        for path in bank.glob("processed/*.xml"):
            shutil.copy(path, bank / "inbox" / f"again-{path.name}")
        wait_until(lambda: not list(bank.glob("inbox/*.xml")), stack, "the answers to be taken")
        status, again = api.upload(kept)
        assert (status, again["applied"]) == (200, False)

        # 3. The status answer again under a new message id: recorded, nothing changes.
        renamed = tmp_path / "renamed.pain002.xml"
        original_id = messages["pain002"].encode()
        renamed.write_bytes(kept.read_bytes().replace(original_id, b"P2-SENT-AGAIN", 1))
        status, resent = api.upload(renamed)
        sent = db.value(f"SELECT count(*) FROM {PAYMENT} WHERE bank_file_id IS NOT NULL")  # noqa: S608
        assert (status, resent["applied"], resent["accepted"], resent["rejected"]) == (
            201,
            True,
            0,
            0,
        )
        assert resent["unmatched"] == sent

        assert db.rows(_OUTCOME) == first
        assert db.value(f"SELECT count(*) FROM {BANK_MESSAGE}") == len(messages) + 1  # noqa: S608
        checked = check_invariants(db.conninfo, banks, flow.expected)
        print(f"after the same answers four times: {checked}")
    finally:
        db.close()
