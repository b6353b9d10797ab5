"""The worker killed with SIGKILL at random points of the pipeline (issue 8; issue 6, acceptance
2): twenty runs on one stack (web, worker and beat; a Redis broker of the test's own that
delivers the task of a dead worker again; the simulated bank).

Each run sends a batch with a seeded mix of payments and kills the worker at one point, the
points shuffled by the seed so each is hit two or three times:

- ``attach``: in the middle of validate-and-attach (its statement waits for a payment row the
  test holds; the test got the row between the intake and the worker by holding first the
  intake's lock and then the batch table);
- ``commit``: after validate-and-attach sent its COMMIT (the commit waits for a recipient row
  the test holds): the work is durable, the task never acknowledged;
- ``claim``: in the cut-off cycle's claiming statement (it waits for a payment row the test holds);
- ``write``: with the bank file written and validated, as it records it (it waits for the file
  table);
- ``pain002``: while the bank's status answer is applied;
- ``camt054``: after the status answer was applied, while the bookings are;
- ``moment``: one of the two workers, at a random moment after the batch was sent.

Two workers run, so one carries on while the killed one's replacement starts; each run waits
until every batch is closed. After each run, every invariant holds for every batch so far
(``invariants.check_invariants``). The seed is printed; NEMKONTO_FAULTS_SEED=<seed> replays the
same runs.
"""

import datetime
import random
import threading
import time

import pytest

from payments.tests.pipeline_world import CPR_WITH_NEMKONTO, CPR_WITH_SPECIFIC, build_world
from registry.models import Recipient
from tests.faults.harness import (
    BANK_FILE,
    BATCH,
    PAYMENT,
    Database,
    Flow,
    Lock,
    batch_rows,
    blocked_by,
    database_conninfo,
    kill,
    live_workers,
    queue_task,
    stack_env,
    wait_for_workers,
    wait_until,
    worker_waiting_for,
)
from tests.faults.invariants import check_invariants

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

RUNS = 20
POINTS = ("attach", "commit", "claim", "write", "pain002", "camt054", "moment")
_ROW_LOCK = f"SELECT 1 FROM {PAYMENT} WHERE id = %s FOR UPDATE"  # noqa: S608
# The attach stage records each payment's recipient; the foreign key is checked as it commits.
_RECIPIENT_LOCK = (
    f"SELECT 1 FROM {Recipient._meta.db_table} "  # noqa: S608
    "WHERE id_type = 'CPR' AND id_number = %s FOR UPDATE"
)


class KillRun:
    def __init__(self, flow: Flow, broker_url: str, seed: int, run: int, point: str) -> None:
        self.flow, self.broker_url, self.run, self.point = flow, broker_url, run, point
        self.rng = random.Random(f"{seed}-{run}")  # noqa: S311 - replayable, not secret
        self.db, self.stack = flow.db, flow.stack
        self.locks: list[Lock] = []

    def lock(self, sql: str, params: object = ()) -> Lock:
        lock = Lock(self.db.conninfo, sql, params)
        self.locks.append(lock)
        return lock

    def kill_when_blocked(self, lock: Lock) -> None:
        """SIGKILL the worker once it waits for the lock, release the lock, start a worker."""
        wait_until(
            lambda: worker_waiting_for(self.db, lock, self.stack) is not None,
            self.stack,
            f"a worker to stop at {self.point}",
        )
        worker = worker_waiting_for(self.db, lock, self.stack)
        assert worker is not None  # it waits until the lock is released
        kill(worker)
        lock.release()
        self.stack.start_worker()

    def kill_one(self, draw: float) -> None:
        """Kill one of the live workers (which one is drawn in advance, so the seed decides)."""
        workers = live_workers(self.stack)
        kill(workers[int(draw * len(workers))])
        self.stack.start_worker()

    def handed_on(self, first: Lock, second_sql: str, params: object = ()) -> Lock:
        """Once a worker waits for ``first``, queue for the lock of ``second_sql`` and release
        ``first``: the worker goes on until it needs the second lock, one step further."""
        wait_until(lambda: blocked_by(self.db, first), self.stack, f"a worker before {self.point}")
        second = self.lock(second_sql, params).take_when_free(self.db, self.stack)
        first.release()
        return second

    def submit_and_hold_a_payment(self, rows: list, outcomes: dict) -> dict:
        """Send the batch and lock one of its payments before a worker attaches it; kill the
        worker in its attach statement. The intake waits at its lock (the batch row written);
        the test queues for the batch table behind it, so the worker cannot take the batch until
        the test has locked a payment."""
        flow = self.flow
        # The lock by which the intake serialises a payment system's batches (staged_insert).
        intake = self.lock("SELECT pg_advisory_xact_lock(7301, %s)", [flow.system_id]).take()
        answers: list[dict] = []
        posting = threading.Thread(target=lambda: answers.append(flow.submit(rows, outcomes)))
        posting.start()
        wait_until(lambda: blocked_by(self.db, intake), self.stack, "the intake to wait")
        batches = self.lock(f"LOCK TABLE {BATCH} IN EXCLUSIVE MODE")
        batches.take_when_free(self.db, self.stack)
        intake.release()
        posting.join(timeout=120)
        assert answers, "the intake did not answer"
        payment = flow.a_payment(self.rng, answers[0]["batch_id"], "received")
        row = self.lock(_ROW_LOCK, [payment]).take()
        batches.release()
        self.kill_when_blocked(row)
        return answers[0]

    def go(self) -> str:
        try:
            return self._go()
        finally:
            for lock in self.locks:
                lock.release()

    def _go(self) -> str:
        rows, outcomes = batch_rows(self.rng, f"K{self.run:02d}", self.rng.randint(60, 160))
        flow, point = self.flow, self.point
        timer = None

        # 1. Intake, then validate and attach in a worker.
        if point == "attach":
            answer = self.submit_and_hold_a_payment(rows, outcomes)
        elif point == "commit":
            recipient = self.rng.choice([CPR_WITH_NEMKONTO, CPR_WITH_SPECIFIC])
            lock = self.lock(_RECIPIENT_LOCK, [recipient]).take()
            answer = flow.submit(rows, outcomes)
            self.kill_when_blocked(lock)
        else:
            answer = flow.submit(rows, outcomes)
        batch_id = answer["batch_id"]
        if point == "moment":
            delay = self.rng.uniform(0.0, 2.0)
            timer = threading.Timer(delay, self.kill_one, [self.rng.random()])
            timer.start()
            point = f"moment +{delay:.2f} s"
        flow.wait_for_batch(batch_id, "completed")

        # 2. The cycle (its own cut-off moment per run) claims, the files are written.
        cut_off = datetime.datetime.fromisoformat(answer["cut_off"])
        at = (cut_off - datetime.timedelta(seconds=RUNS - self.run)).isoformat()
        if point in ("claim", "write"):
            lock = self.lock(_ROW_LOCK, [flow.a_payment(self.rng, batch_id, "completed")]).take()
            queue_task(self.broker_url, "payments.tasks.cycle_run", at)
            if point == "write":
                lock = self.handed_on(lock, f"LOCK TABLE {BANK_FILE} IN SHARE ROW EXCLUSIVE MODE")
            self.kill_when_blocked(lock)
        else:
            queue_task(self.broker_url, "payments.tasks.cycle_run", at)
        flow.wait_for_files_delivered(at)

        # 3. The bank answers; the answers are applied.
        if point in ("pain002", "camt054"):
            row = [flow.a_payment(self.rng, batch_id, "forwarded")]
            lock = self.lock(_ROW_LOCK, row).take()
            flow.bank_answers()
            if point == "camt054":
                lock = self.handed_on(lock, _ROW_LOCK, row)
            self.kill_when_blocked(lock)
        flow.answer_and_close()
        if timer is not None:
            timer.join()
        return f"{point}, {len(rows)} payments"


def test_the_worker_killed_at_random_points_loses_and_doubles_nothing(
    stack_factory, redis_broker, tmp_path, fault_seed
):
    world = build_world()
    stack = stack_factory(stack_env(tmp_path, redis_broker.url), beat=True)
    # A second worker: it carries on while the killed one's replacement starts.
    stack.start_worker()
    wait_for_workers(stack)
    db = Database(database_conninfo())
    flow = Flow(stack, world, db, tmp_path / "banks")
    points = [POINTS[run % len(POINTS)] for run in range(RUNS)]
    random.Random(fault_seed).shuffle(points)  # noqa: S311 - replayable, not secret

    try:
        for run, point in enumerate(points):
            started = time.monotonic()
            done = KillRun(flow, redis_broker.url, fault_seed, run, point).go()
            checked = check_invariants(db.conninfo, tmp_path / "banks", flow.expected)
            took = time.monotonic() - started
            print(f"run {run:2d} of seed {fault_seed}: killed at {done}; {took:.1f} s; {checked}")
    finally:
        db.close()
