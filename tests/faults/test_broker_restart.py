"""The broker restarted (issue 8). The stack's broker is a redis-server of the test's own,
configured as a broker that must keep its messages is (append-only file, fsync on every write);
it is killed with SIGKILL and started again:

1. while a worker runs the cut-off cycle (held at its claiming statement): the cycle commits but
   cannot queue the writing of its files;
2. while it is down, a payment system sends a batch: it is stored and answered as usual, though
   its processing cannot be queued.

Once the broker is back the worker, beat and web reconnect by themselves; the sweeper resumes
what could not be queued; the cycle's own task, never acknowledged, is delivered again and finds
nothing left to do. Afterwards every invariant holds (``invariants.check_invariants``).
"""

import datetime
import random
import time

import pytest

from payments.tests.pipeline_world import build_world
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
    wait_for_workers,
    wait_until,
)
from tests.faults.invariants import check_invariants

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

_ROW_LOCK = f"SELECT 1 FROM {PAYMENT} WHERE id = %s FOR UPDATE"  # noqa: S608


def test_a_broker_restart_in_the_middle_of_a_cycle_loses_nothing(
    stack_factory, redis_broker, locks, tmp_path, fault_seed
):
    rng = random.Random(fault_seed)  # noqa: S311 - replayable, not secret
    world = build_world()
    stack = stack_factory(stack_env(tmp_path, redis_broker.url), beat=True)
    wait_for_workers(stack)
    db = Database(database_conninfo())
    try:
        flow = Flow(stack, world, db, tmp_path / "banks")
        first = flow.submit(*batch_rows(rng, "MQ0", 150))
        flow.wait_for_batch(first["batch_id"], "completed")

        # 1. The broker crashes while the cycle runs.
        cut_off = datetime.datetime.fromisoformat(first["cut_off"])
        at = (cut_off - datetime.timedelta(seconds=10)).isoformat()
        payment = flow.a_payment(rng, first["batch_id"], "completed")
        locks.append(lock := Lock(db.conninfo, _ROW_LOCK, [payment]).take())
        queue_task(redis_broker.url, "payments.tasks.cycle_run", at)
        wait_until(lambda: blocked_by(db, lock), stack, "the cycle to wait")
        redis_broker.kill()

        # 2. A batch sent while the broker is down is stored and answered.
        second = flow.submit(*batch_rows(rng, "MQ1", 150))
        assert second["status"] == "received"
        lock.release()
        time.sleep(2)
        redis_broker.start()

        flow.wait_for_files_delivered(at)
        flow.wait_for_batch(second["batch_id"], "completed")
        later = (cut_off - datetime.timedelta(seconds=5)).isoformat()
        queue_task(redis_broker.url, "payments.tasks.cycle_run", later)
        flow.wait_for_files_delivered(later)
        flow.answer_and_close()
        checked = check_invariants(db.conninfo, tmp_path / "banks", flow.expected)
        print(f"after a broker restart: {checked}")
    finally:
        db.close()
