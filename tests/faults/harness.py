"""What the fault tests share: the stack's environment, batches with the outcome each row calls
for, the payment system and the bank played from the test, and locks that stop the worker at a
chosen statement so it can be killed (or its database restarted) exactly there.

Everything talks to the real processes: HTTP to the web server, the broker to the worker, SQL
and files for the checks. Nothing runs in the test process but the bank (the simulated bank's
own code, which never touches the database) and the checks.
"""

import contextlib
import itertools
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from payments.models import BankFile, Batch, Payment
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    CPR_WITHOUT_ACCOUNT,
    World,
    payment,
)
from tests.conftest import Stack
from tests.faults.invariants import Expected, Outcome
from tests.test_pipeline_e2e import PaymentSystemClient

PAYMENT = Payment._meta.db_table
BATCH = Batch._meta.db_table
BANK_FILE = BankFile._meta.db_table

ACCEPTED: Outcome = ("bank_received", 8)
REJECTED_BY_BANK: Outcome = ("bank_error", 9)
# Recipients and what becomes of a payment to them (the world's agreement returns payments to
# recipients without an account to the authority: code 7, not sent).
_RECIPIENTS: list[tuple[str, Outcome | None, int]] = [
    (CPR_WITH_NEMKONTO, None, 40),
    (CPR_WITH_SPECIFIC, None, 30),
    (CPR_WITHOUT_ACCOUNT, ("failed", 7), 15),
    (CPR_NOT_IN_REGISTER, ("rejected", 1), 15),
]
_AMOUNTS = itertools.count(1)


def stack_env(tmp_path: Path, broker_url: str, **extra: str) -> dict[str, str]:
    """A stack on a broker of the test's own, with the bank folders in ``tmp_path``, answers
    collected every second and a sweeper that resumes work idle for 3 seconds. A Redis broker
    delivers a task again 3 seconds after the worker that took it died. The cache is the
    database's, not a REDIS_URL of the environment (CI points that at the machine's Redis)."""
    return {
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": "",
        "CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(
            {"visibility_timeout": 3, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
        ),
        "NEMKONTO_BANK_DIR": str(tmp_path / "banks"),
        "NEMKONTO_ANSWERS_EVERY_SECONDS": "1",
        "NEMKONTO_SWEEP_EVERY_SECONDS": "1",
        "NEMKONTO_SWEEP_AFTER_SECONDS": "3",
        **extra,
    }


def batch_rows(
    rng: random.Random, prefix: str, count: int
) -> tuple[list[dict[str, Any]], dict[str, Outcome]]:
    """``count`` payments to a seeded mix of recipients, with amounts no other payment of the test
    has (a repeated amount to the same recipient would be held by the duplicate guard), and
    about one in twenty marked for the bank to reject; and the outcome each one calls for."""
    rows = []
    outcomes: dict[str, Outcome] = {}
    recipients = [r for r, _, _ in _RECIPIENTS]
    weights = [w for _, _, w in _RECIPIENTS]
    fates = {r: fate for r, fate, _ in _RECIPIENTS}
    for i in range(count):
        reference = f"{prefix}-{i:04d}"
        recipient = rng.choices(recipients, weights)[0]
        ore = next(_AMOUNTS) * 1000 + rng.randint(0, 999)
        rejected = rng.random() < 0.05
        rows.append(
            payment(
                reference,
                recipient,
                amount=f"{ore // 100}.{ore % 100:02d}",
                text="REJECT" if rejected else f"Ydelse {i}",
            )
        )
        outcomes[reference] = fates[recipient] or (REJECTED_BY_BANK if rejected else ACCEPTED)
    return rows, outcomes


def database_conninfo() -> str:
    """A libpq connection string for the test database (TCP or a Unix socket folder)."""
    from django.db import connection

    params = connection.settings_dict
    parts = {
        "host": params["HOST"],
        "port": params["PORT"],
        "user": params["USER"],
        "password": params["PASSWORD"],
        "dbname": params["NAME"],
    }
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in parts.items() if v})


class Database:
    """Plain SQL on the stack's database; reconnects after the server went away."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
            return self._conn.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            self.close()
            raise

    def value(self, sql: str, params: Any = ()) -> Any:
        return self.rows(sql, params)[0][0]

    def holds(self, sql: str, params: Any = ()) -> bool:
        """Whether the query answers true; false while the server cannot be reached."""
        try:
            return bool(self.value(sql, params))
        except psycopg.OperationalError:
            return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def wait_until(
    condition: Callable[[], bool], stack: Stack, what: str, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}\n{stack.logs()}")


def queue_task(broker_url: str, name: str, *args: object) -> None:
    """Send a task to the stack's worker through its broker, as beat or the web would.

    The connection is opened on ``broker_url`` explicitly: Celery prefers a CELERY_BROKER_URL in
    the environment (as CI exports, for the machine's broker) over the app's own broker setting.
    """
    from celery import Celery

    app = Celery("faults", set_as_current=False)
    try:
        with app.connection_for_write(broker_url) as connection:
            app.send_task(name, args=list(args), serializer="json", connection=connection)
    finally:
        app.close()


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def live_workers(stack: Stack) -> list[subprocess.Popen[bytes]]:
    return [worker for worker in stack.workers if worker.poll() is None]


def wait_for_workers(stack: Stack) -> None:
    """Until every worker started so far has connected to the broker and is ready."""

    def ready() -> bool:
        log = (stack.tmp_path / "worker.log").read_text(errors="replace")
        return len(set(re.findall(r"(worker\d+)@\S+ ready", log))) >= len(stack.workers)

    wait_until(ready, stack, "the workers to be ready")


class Lock:
    """A lock held by a transaction of the test's own connection: the worker's statement that
    needs it waits, in the middle of its stage, until the lock is released."""

    def __init__(self, conninfo: str, sql: str, params: Any = ()) -> None:
        self.conn = psycopg.connect(conninfo)
        self.pid = self.conn.info.backend_pid
        self.sql, self.params = sql, params
        self._taking: threading.Thread | None = None

    def take(self) -> "Lock":
        self.conn.execute(self.sql, self.params)
        return self

    def take_when_free(self, db: Database, stack: Stack) -> "Lock":
        """Queue for the lock behind its current holder (returns once queued, not granted)."""
        self._taking = threading.Thread(target=self.take, daemon=True)
        self._taking.start()
        wait_until(
            lambda: db.holds(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", [self.pid]
            ),
            stack,
            "the test's lock to queue",
            30,
        )
        return self

    def release(self) -> None:
        if self.conn.closed:
            return
        if self._taking is not None:
            if self._taking.is_alive():
                self.conn.cancel()
            self._taking.join(timeout=60)
        with contextlib.suppress(psycopg.OperationalError):  # the server went away with it
            self.conn.rollback()
        self.conn.close()


def waiting_for(db: Database, lock: Lock) -> list[str]:
    """The application names of the sessions that wait for the lock (stopped at their
    statement); a worker's is its name (``Stack.start_worker``)."""
    try:
        rows = db.rows(
            "SELECT application_name FROM pg_stat_activity WHERE pid <> %s "
            "AND %s = ANY(pg_blocking_pids(pid))",
            [lock.pid, lock.pid],
        )
    except psycopg.OperationalError:
        return []
    return [row[0] for row in rows]


def blocked_by(db: Database, lock: Lock) -> bool:
    return bool(waiting_for(db, lock))


def worker_waiting_for(db: Database, lock: Lock, stack: Stack) -> subprocess.Popen[bytes] | None:
    """The worker process whose database session waits for the lock, if one does."""
    names = set(waiting_for(db, lock))
    for number, worker in enumerate(stack.workers, 1):
        if f"worker{number}" in names and worker.poll() is None:
            return worker
    return None


class Flow:
    """A payment system's batches through the stack, and the bank's side of the file drop."""

    def __init__(self, stack: Stack, world: World, db: Database, bank_root: Path) -> None:
        self.stack, self.db, self.bank_root = stack, db, bank_root
        self.client = PaymentSystemClient(stack, world.client_id, world.client_secret)
        self.envelope = world.envelope
        self.system_id = world.system.pk
        self.expected: Expected = {}

    def submit(self, rows: list[dict[str, Any]], outcomes: dict[str, Outcome]) -> dict[str, Any]:
        answer = self.client.call("POST", "/api/v1/batches", self.envelope(payments=rows))
        self.expected[answer["batch_id"]] = outcomes
        return answer

    def batch_status(self, batch_id: str) -> str:
        return str(self.db.value(f"SELECT status FROM {BATCH} WHERE id = %s", [batch_id]))  # noqa: S608

    def wait_for_batch(self, batch_id: str, status: str, timeout: float = 120) -> None:
        wait_until(
            lambda: self.db.holds(
                f"SELECT status = %s FROM {BATCH} WHERE id = %s",  # noqa: S608
                [status, batch_id],
            ),
            self.stack,
            f"batch {batch_id} to be {status}",
            timeout,
        )

    def a_payment(self, rng: random.Random, batch_id: str, status: str) -> int:
        """A random payment of the batch in ``status``."""
        ids = [
            row[0]
            for row in self.db.rows(
                f"SELECT id FROM {PAYMENT} WHERE batch_id = %s AND status = %s "  # noqa: S608
                "AND text NOT LIKE 'REJECT%%' ORDER BY id",
                [batch_id, status],
            )
        ]
        return rng.choice(ids)

    def bank_answers(self) -> int:
        """The simulated bank answers every file waiting in its outboxes (its own code, which
        touches no database); returns how many files it answered."""
        from payments.management.commands.simulate_bank import answer_waiting_files

        return len(answer_waiting_files(self.bank_root, reject_rate=0.0, seed="faults"))

    def wait_for_files_delivered(self, at: str, timeout: float = 120) -> None:
        """Every file of the cycle at ``at`` written and in its bank's outbox."""
        wait_until(
            lambda: self.db.holds(
                f"SELECT count(*) > 0 AND bool_and(status <> 'claimed') FROM {BANK_FILE} "  # noqa: S608
                "WHERE cycle_at = %s",
                [at],
            ),
            self.stack,
            f"the files of the cycle at {at} to be written",
            timeout,
        )

    def answer_and_close(self, timeout: float = 120) -> None:
        """The bank answers until every batch is closed (the answers are applied by the worker,
        collected by beat)."""

        def closed() -> bool:
            self.bank_answers()
            batches = list(self.expected)
            return self.db.holds(
                f"SELECT NOT EXISTS (SELECT 1 FROM {BATCH} WHERE id = ANY(%s::uuid[]) "  # noqa: S608
                "AND status <> 'closed') AND NOT EXISTS (SELECT 1 FROM "
                f"{PAYMENT} WHERE batch_id = ANY(%s::uuid[]) AND status = 'bank_received' "
                "AND booked_at IS NULL)",
                [batches, batches],
            )

        wait_until(closed, self.stack, "every batch closed and its bookings recorded", timeout)
