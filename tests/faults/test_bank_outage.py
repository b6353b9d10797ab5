"""The bank adapter failing and recovering (issue 8). The stack uses the file-drop adapter behind
a switch (``unreachable_bank.UnreachableBank``) that makes it raise while the bank is "down":

1. the bank cannot be reached when the cycle's file is to be delivered: the file stays claimed,
   nothing reaches the bank, and the sweeper tries again;
2. the file reaches the bank but the acknowledgement is lost: the sweeper delivers it again
   (same message id), and the bank refuses the copies; the answers cannot be fetched meanwhile;
3. the delivery goes through and is recorded; the answers still cannot be fetched: nothing
   changes until they can;
4. an answer is applied but the adapter cannot mark it applied: it is offered again and again,
   and applied once.

Afterwards every invariant holds (``invariants.check_invariants``): one booking per payment.
"""

import datetime
import random
from pathlib import Path

import pytest

from payments.models import BankMessage
from payments.tests.pipeline_world import build_world
from tests.faults.harness import (
    BANK_FILE,
    PAYMENT,
    Database,
    Flow,
    batch_rows,
    database_conninfo,
    queue_task,
    stack_env,
    wait_until,
)
from tests.faults.invariants import check_invariants

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

BANK_MESSAGE = BankMessage._meta.db_table


def refused(switch: Path, operation: str) -> int:
    """How often the adapter refused ``operation`` while the bank was down."""
    log = Path(f"{switch}.refused")
    return log.read_text().split().count(operation) if log.exists() else 0


def test_the_bank_unreachable_and_back_loses_and_doubles_nothing(
    stack_factory, redis_broker, tmp_path, fault_seed
):
    rng = random.Random(fault_seed)  # noqa: S311 - replayable, not secret
    world = build_world()
    down = tmp_path / "bank-down"
    env = stack_env(
        tmp_path,
        redis_broker.url,
        NEMKONTO_BANK_ADAPTER="tests.faults.unreachable_bank.UnreachableBank",
        NEMKONTO_FAULTS_BANK_DOWN=str(down),
    )
    stack = stack_factory(env, beat=True)
    db = Database(database_conninfo())
    banks = tmp_path / "banks"
    try:
        flow = Flow(stack, world, db, banks)
        answer = flow.submit(*batch_rows(rng, "BANK", 150))
        flow.wait_for_batch(answer["batch_id"], "completed")

        # 1. Down while the file is delivered: it stays claimed and the sweeper tries again.
        down.write_text("")
        cut_off = datetime.datetime.fromisoformat(answer["cut_off"])
        at = (cut_off - datetime.timedelta(seconds=10)).isoformat()
        queue_task(redis_broker.url, "payments.tasks.cycle_run", at)
        wait_until(lambda: refused(down, "deliver") >= 3, stack, "three delivery attempts")
        assert db.value(f"SELECT array_agg(DISTINCT status) FROM {BANK_FILE}") == ["claimed"]  # noqa: S608
        assert not list(banks.glob("*/outbox/*.xml"))
        assert flow.bank_answers() == 0

        # 2. The bank takes the file, the acknowledgement is lost: delivered again, refused.
        down.write_text("acknowledge answers")
        wait_until(lambda: refused(down, "acknowledge") >= 1, stack, "a delivery")
        assert flow.bank_answers() == 1
        again = refused(down, "acknowledge") + 2
        wait_until(lambda: refused(down, "acknowledge") >= again, stack, "two more deliveries")
        assert flow.bank_answers() == 1
        assert len(list(banks.glob("*/duplicates/*"))) == 1
        assert db.value(f"SELECT array_agg(DISTINCT status) FROM {BANK_FILE}") == ["claimed"]  # noqa: S608

        # 3. Delivered and recorded; the answers still cannot be fetched.
        down.write_text("answers")
        flow.wait_for_files_delivered(at)
        fetches = refused(down, "answers") + 3
        wait_until(lambda: refused(down, "answers") >= fetches, stack, "three more fetches")
        assert (
            db.value(
                f"SELECT count(*) FROM {PAYMENT} WHERE status LIKE 'bank_%%'"  # noqa: S608
            )
            == 0
        )

        # 4. The status answer is applied, but cannot be marked applied: offered again, applied
        # once (and the bookings wait behind it).
        down.write_text("applied")
        wait_until(lambda: refused(down, "applied") >= 3, stack, "three attempts to mark it")
        assert db.rows(f"SELECT kind, accepted + rejected > 0 FROM {BANK_MESSAGE}") == [  # noqa: S608
            ("pain002", True)
        ]
        assert (
            db.value(
                f"SELECT count(*) FROM {PAYMENT} WHERE status = 'forwarded'"  # noqa: S608
            )
            == 0
        )
        down.unlink()
        flow.answer_and_close()
        assert db.value(f"SELECT count(*) FROM {BANK_MESSAGE}") == 2  # noqa: S608
        checked = check_invariants(db.conninfo, banks, flow.expected)
        print(f"after the bank outages: {checked}")
    finally:
        db.close()
