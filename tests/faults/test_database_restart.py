"""PostgreSQL restarted during a cycle (issue 8). The stack runs against a PostgreSQL server of
the test's own (embedded, in a temporary folder; the machine's server is not touched), with the
connection pool of production. The server is stopped without a clean shutdown (every session
cut, the WAL replayed on start), and started again:

1. while the cut-off cycle is in its claiming statement: the worker's task fails, and is run
   again once the server is back;
2. then a payment system sends a batch: the web's pooled connections were all cut, and it is
   taken all the same;
3. while the bank's answer is applied.

Afterwards every invariant holds (``invariants.check_invariants``).
"""

import datetime
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pytest

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
from tests.faults.servers import PrivatePostgres, dump_database

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

_ROW_LOCK = f"SELECT 1 FROM {PAYMENT} WHERE id = %s FOR UPDATE"  # noqa: S608


@pytest.fixture
def private_postgres():
    """A private server holding a copy of the test database (the world built in it).

    Its folder is not under pytest's: run as root, the server runs as its own system user, which
    must traverse the folders above its data, and each pytest run (any other on the machine
    too) closes pytest's root folder to other users again."""
    folder = Path(tempfile.mkdtemp(prefix="nemkonto-faults-"))
    server = PrivatePostgres(folder)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_database_restart_in_the_middle_of_a_cycle(
    private_postgres, redis_broker, locks, tmp_path, fault_seed
):
    rng = random.Random(fault_seed)  # noqa: S311 - replayable, not secret
    world = build_world()
    dump_database(database_conninfo(), tmp_path / "world.sql")
    private_postgres.load(tmp_path / "world.sql")
    env = {
        **os.environ,
        **stack_env(tmp_path, redis_broker.url),
        "DATABASE_URL": private_postgres.url,
        "DATABASE_POOL": "true",
    }
    stack = Stack(env, tmp_path, beat=True)
    db = Database(private_postgres.conninfo)
    try:
        stack.start()
        flow = Flow(stack, world, db, tmp_path / "banks")
        answers = [flow.submit(*batch_rows(rng, f"PG{n}", 150)) for n in range(2)]
        for answer in answers:
            flow.wait_for_batch(answer["batch_id"], "completed")

        # 1. The cycle waits in its claiming statement when the server goes down.
        cut_off = datetime.datetime.fromisoformat(answers[0]["cut_off"])
        at = (cut_off - datetime.timedelta(seconds=10)).isoformat()
        payment = flow.a_payment(rng, answers[0]["batch_id"], "completed")
        locks.append(lock := Lock(db.conninfo, _ROW_LOCK, [payment]).take())
        queue_task(redis_broker.url, "payments.tasks.cycle_run", at)
        wait_until(lambda: blocked_by(db, lock), stack, "the cycle to wait")
        private_postgres.crash()
        lock.release()

        # 2. Back, the cycle is run again; a batch sent now is taken (the web's pooled
        # connections were all cut).
        private_postgres.start()
        flow.wait_for_files_delivered(at)
        later = flow.submit(*batch_rows(rng, "PG2", 40))
        flow.wait_for_batch(later["batch_id"], "completed")

        # 3. The answers are being applied when the server goes down again.
        payment = flow.a_payment(rng, answers[1]["batch_id"], "forwarded")
        locks.append(lock := Lock(db.conninfo, _ROW_LOCK, [payment]).take())
        flow.bank_answers()
        wait_until(lambda: blocked_by(db, lock), stack, "the answers to wait")
        private_postgres.crash()
        lock.release()
        time.sleep(1)
        private_postgres.start()

        # The later batch goes in a later cycle of the same cut-off.
        at = (cut_off - datetime.timedelta(seconds=5)).isoformat()
        queue_task(redis_broker.url, "payments.tasks.cycle_run", at)
        flow.wait_for_files_delivered(at)
        flow.answer_and_close()
        checked = check_invariants(db.conninfo, tmp_path / "banks", flow.expected)
        print(f"after two database restarts: {checked}")
    finally:
        db.close()
        stack.stop()
