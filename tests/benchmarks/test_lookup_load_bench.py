"""Issue 8, "Load": the recipient look-up API under a load generator, through the real web server.

Aims: 2,000 look-ups/s with p99 < 5 ms for a look-up that writes no look-up log row, 1,000/s with
p99 < 10 ms for one that writes its row; no 5xx at concurrency 64.

The two kinds of look-up are the same endpoint, ``GET /api/v1/recipients/{type}/{id}/account``
(API.md, Look-ups): a look-up of a person (CPR) writes one row in the look-up log in the
look-up's transaction; a look-up of a business (CVR, P, SE) is not a personal-data look-up and
writes none (registry/services/resolve.py). Both take a token from the client's look-up
allowance (one UPSERT of the client's bucket row).

Setup (not timed): the test world (``payments/tests/pipeline_world.py``), a register of
1,000,000 persons (``pipeline_load.fill_register``: 99 % with a NemKonto, 0.1 % also a specific
account for the benefit) and 100,000 business units (``synthetic_register.business_rows``: CVR
numbers with their P- and SE-numbers, 95 % with a NemKonto), an authority's API client with
scope ``resolve`` whose token is fetched from ``/o/token/`` like any client's.

The server: gunicorn serving ``nemkonto.wsgi`` with the production settings
(``nemkonto.settings.production``: DEBUG off, the connection pool with its health check, the
access log as the Dockerfile writes it) against the benchmark's database, on this machine, with
the workers of ``NEMKONTO_BENCH_GUNICORN`` (default: 3 workers x 4 threads, as the Dockerfile;
several configurations separated by ";" are measured one after the other). The look-up
allowance is raised for the run the way an operator raises it: the settings
``NEMKONTO_LOOKUP_ALLOWANCE`` and ``NEMKONTO_LOOKUP_REFILL_PER_MINUTE`` in the server's
environment (one bucket size for every caller; there is no per-client setting).

The load: wrk (Debian's package, installed with apt-get if missing) with ``lookup_load.lua``,
each request for the next ID of a shuffled sample of the register. Per kind of look-up, three
runs of ``NEMKONTO_BENCH_SECONDS`` (default 20) after a warm-up:

- ``one at a time``: one connection, the next request when the answer is in: the time one
  look-up takes on an otherwise idle server;
- ``saturated``: 64 connections as fast as they are answered (a closed loop): the most the
  server does, and whether any 5xx comes at concurrency 64. Its latency is queueing, by Little's
  law 64 / throughput;
- ``at target``: the 64 connections paced to the target rate (2,000/s or 1,000/s): the latency
  a client sees at that rate. The target is met when the rate was reached (98 %) with the p99
  under its limit.

Prints requests/s, p50, p99, max, non-2xx and 5xx counts, concurrency and duration per run, the
verdict against the target, the CPU time the server's workers and PostgreSQL spent per look-up
and how busy the machine was (other processes included). Asserts what must hold whatever the
speed: every answer a 200 (nothing refused, nothing failed), the person look-ups' log rows (one
per answered look-up), no row for a business look-up, never a time.

The look-ups of one run go to the IDs in turn (each wrk thread from its own place in the file),
so a run's IDs are looked up once or a few times, as a day's look-ups of many authorities would.
wrk measures each request from its send: at a rate the server cannot keep, the paced run's
requests queue at the client and the latency shown is that of the requests sent.

DATABASE_URL=... pytest tests/benchmarks/test_lookup_load_bench.py --run-benchmarks -s
NEMKONTO_BENCH_PERSONS=100000 loads a smaller register to try it out.
"""

import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from payments.tests.pipeline_world import build_world
from registry.models import LookupAllowance, LookupLog, NemKonto, Recipient
from registry.synthetic_register import business_rows
from tests.benchmarks.pipeline_load import cpr, fill_register
from tests.benchmarks.test_pipeline_bench import _cpu_seconds, _processes, busy_cpu_seconds
from tests.conftest import BASE_DIR, database_url, free_port, wait_for_http

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db(transaction=True)]

PERSONS = int(os.environ.get("NEMKONTO_BENCH_PERSONS", "1000000"))
BUSINESSES = 100_000
SAMPLE = 50_000  # IDs per kind the load cycles through
SECONDS = int(os.environ.get("NEMKONTO_BENCH_SECONDS", "20"))
WARM_UP_SECONDS = 5
CONNECTIONS = 64
WRK_THREADS = 2
GUNICORN = os.environ.get("NEMKONTO_BENCH_GUNICORN", "--workers 3 --threads 4")
ALLOWANCE = 1_000_000_000
SCRIPT = Path(__file__).with_name("lookup_load.lua")
# (mode, rate: 0 as fast as answered, None the kind's target; connections)
MODES: list[tuple[str, int | None, int]] = [
    ("one at a time", 0, 1),
    ("saturated", 0, CONNECTIONS),
    ("at target", None, CONNECTIONS),
]
PATH = "/api/v1/recipients/{kind}/%s/account?benefit={benefit}&purpose=load%%20test"


@dataclass(frozen=True)
class Kind:
    name: str
    id_type: str  # in the path; the IDs file holds numbers of this and kinds sharing the path
    rate: int  # the target, requests per second
    p99_ms: float  # the target p99
    logged: bool


KINDS = [
    Kind("business (no log row)", "business", 2_000, 5.0, logged=False),
    Kind("person (log row)", "CPR", 1_000, 10.0, logged=True),
]


@dataclass(frozen=True)
class Run:
    kind: Kind
    mode: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    server_errors: int
    socket_errors: int
    statuses: dict[str, int]
    connections: int
    server_cpu_ms: float
    postgres_cpu_ms: float
    machine_busy: float  # share of all CPUs busy, any process
    others_busy: float  # of that, neither the server nor PostgreSQL (wrk, other work)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def verdict(self) -> str:
        if self.mode != "at target":
            return ""
        short = self.per_second < 0.98 * self.kind.rate
        over = self.p99_ms - self.kind.p99_ms
        if not short and over < 0:
            return "target met"
        missed = []
        if short:
            missed.append(f"rate {self.per_second:,.0f}/s of {self.kind.rate:,}/s")
        if over >= 0:
            missed.append(f"p99 {over:.1f} ms over {self.kind.p99_ms:.0f} ms")
        return "target MISSED: " + ", ".join(missed)


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's package when missing (root, as on this machine)."""
    found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
        found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    assert found is not None, "wrk could not be installed (apt-get install wrk)"
    return found


def fill_businesses(count: int) -> list[str]:
    """``count`` business units (CVR, P, SE) with a NemKonto for 95 %; returns "TYPE/number"."""
    rows = list(business_rows(count, random.Random(2026)))  # noqa: S311 - synthetic data
    recipients = Recipient._meta.db_table
    nemkonto = NemKonto._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {recipients} (id_type, id_number, cvr, name, address, postcode, city,
                                      status, updated_at)
            SELECT * , now()
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                        %s::text[], %s::text[], %s::text[])
            RETURNING id
            """,  # noqa: S608 - table name from model metadata
            [[row[i] for row in rows] for i in range(8)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"""
            INSERT INTO {nemkonto} (recipient_id, state, channel, actor_label, account_kind, reg,
                                    number, iban, bic, created_at, activated_at, end_reason,
                                    ended_by_label, ended_channel, hold_reasons)
            SELECT id, 'active', 'bank', 'bank 3000', 'danish', '3000',
                   lpad(id::text, 10, '0'), '', '', now(), now(), '', '', '', '[]'::jsonb
            FROM unnest(%s::bigint[]) AS id
            WHERE id %% 20 <> 7
            """,  # noqa: S608 - table name from model metadata
            [ids],
        )
        cursor.execute(f"ANALYZE {recipients}, {nemkonto}")
    return [f"{row[0]}/{row[1]}" for row in rows]


def _token(base_url: str, client_id: str, secret: str) -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "resolve",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/o/token/", form, headers={"X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request) as answer:
        return str(json.load(answer)["access_token"])


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    access_log: Path


def production_env() -> dict[str, str]:
    """The environment of the production settings on the benchmark's database, with the
    look-up allowance raised for the run."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nemkonto.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "NEMKONTO_LOOKUP_HASH_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": database_url(),
        # Nothing on the look-up path sends a task; production refuses to start without a broker.
        "CELERY_BROKER_URL": "memory://",
        "NEMKONTO_LOOKUP_ALLOWANCE": str(ALLOWANCE),
        "NEMKONTO_LOOKUP_REFILL_PER_MINUTE": str(ALLOWANCE),
    }


def create_client(env: dict[str, str], authority: str) -> tuple[str, str]:
    """An authority's look-up client, made by the operator command (its secret hashed by the
    production settings' password hasher, as /o/token/ checks it)."""
    done = subprocess.run(
        [
            *(sys.executable, "manage.py", "create_api_client", "--kind", "authority"),
            *("--authority", authority, "--name", "Look-up load", "--json"),
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    credentials = json.loads(done.stdout)
    return str(credentials["client_id"]), str(credentials["client_secret"])


@contextmanager
def gunicorn(options: str, env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """gunicorn with ``env`` on the benchmark's database, stopped afterwards."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    access_log = tmp_path / f"access-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "nemkonto.wsgi"),
                *("--bind", f"127.0.0.1:{port}", *options.split()),
                *("--access-logfile", str(access_log)),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        yield Server(f"http://127.0.0.1:{port}", process, log, access_log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def wrk(
    binary: str,
    server: Server,
    ids: Path,
    path: str,
    token: str,
    seconds: int,
    rate: int,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    threads = min(WRK_THREADS, connections)
    env = {
        **os.environ,
        "NEMKONTO_WRK_IDS": str(ids),
        "NEMKONTO_WRK_PATH": path,
        "NEMKONTO_WRK_TOKEN": token,
        "NEMKONTO_WRK_RATE": str(rate),
        "NEMKONTO_WRK_THREADS": str(threads),
    }
    done = subprocess.run(
        [
            *(binary, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"),
            *("--timeout", "10s", "-s", str(SCRIPT), server.base_url),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(
        (line for line in done.stdout.splitlines() if line.startswith("NEMKONTO-WRK ")), None
    )
    assert line is not None, done.stdout + done.stderr
    return dict(json.loads(line.removeprefix("NEMKONTO-WRK ")))


def measured(
    kind: Kind,
    mode: str,
    figures: dict[str, Any],
    connections: int,
    spent: dict[str, float],
    busy: float,
    wall: float,
) -> Run:
    """A run from wrk's figures, the CPU seconds the server and PostgreSQL spent meanwhile and
    the machine's busy seconds (``wall``: from the start of the load until the server was idle
    again)."""
    seconds = figures["duration_us"] / 1e6
    requests = max(1, int(figures["requests"]))
    capacity = (os.cpu_count() or 1) * wall
    statuses = {str(code): int(count) for code, count in figures["statuses"].items()}
    return Run(
        kind=kind,
        mode=mode,
        requests=int(figures["requests"]),
        seconds=seconds,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        non_2xx=sum(count for code, count in statuses.items() if not code.startswith("2")),
        server_errors=sum(count for code, count in statuses.items() if code.startswith("5")),
        socket_errors=sum(
            int(figures[key])
            for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        statuses=statuses,
        connections=connections,
        server_cpu_ms=spent["server"] * 1000 / requests,
        postgres_cpu_ms=spent["postgres"] * 1000 / requests,
        machine_busy=busy / capacity,
        others_busy=max(0.0, busy - spent["server"] - spent["postgres"]) / capacity,
    )


def _ids_file(tmp_path: Path, name: str, ids: list[str]) -> Path:
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(ids) + "\n")
    return path


def _log_rows() -> int:
    return LookupLog.objects.count()


def drain(server: Server, quiet: float = 0.5, timeout: float = 120) -> None:
    """Wait until the server has answered every request wrk left in flight: its access log has
    not grown for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = server.access_log.stat().st_size if server.access_log.exists() else 0
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)
    raise AssertionError(f"the server was still answering {timeout} s after the load stopped")


def cpu_by_process(server: Server) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the server's workers and of the PostgreSQL sessions on the
    benchmark's database (the server's pool and this test's own)."""
    database = str(connection.settings_dict["NAME"])
    found: dict[str, dict[int, float]] = {"server": {}, "postgres": {}}
    for pid, parent, command in _processes():
        group = (
            "server"
            if parent == server.process.pid
            else "postgres"
            if command.startswith("postgres:") and f" {database} " in command
            else None
        )
        seconds = _cpu_seconds(pid) if group else None
        if group and seconds is not None:
            found[group][pid] = seconds
    return found


def cpu_spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> Any:
    return {
        group: sum(seconds - before[group].get(pid, 0.0) for pid, seconds in pids.items())
        for group, pids in after.items()
    }


def _line(run: Run, options: str) -> str:
    return (
        f"  {run.kind.name:<22} {run.mode:<12} {options:<24} c={run.connections:<2} "
        f"{run.seconds:4.0f} s  {run.per_second:7,.0f} req/s  p50 {run.p50_ms:7.2f}  "
        f"p99 {run.p99_ms:7.2f}  max {run.max_ms:7.1f} ms  non-2xx {run.non_2xx}  "
        f"5xx {run.server_errors}  socket errors {run.socket_errors}  {run.verdict()}\n"
        f"  {'':<22} CPU per look-up: server {run.server_cpu_ms:.1f} ms, PostgreSQL "
        f"{run.postgres_cpu_ms:.1f} ms; machine {run.machine_busy:.0%} busy (of "
        f"{os.cpu_count()} CPUs), of which others {run.others_busy:.0%}"
    )


def test_recipient_lookups_under_load(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    binary = ensure_wrk()
    started = time.perf_counter()
    world = build_world()
    register = fill_register(
        authority_id=world.authority.pk, benefit_id=world.benefit.pk, persons=PERSONS
    )
    businesses = fill_businesses(BUSINESSES)
    env = production_env()
    client_id, secret = create_client(env, world.authority.code)
    setup_seconds = time.perf_counter() - started
    rng = random.Random(8)  # noqa: S311 - a fixed sample
    files = {
        "CPR": _ids_file(
            tmp_path, "persons", [cpr(i) for i in rng.sample(range(PERSONS), min(SAMPLE, PERSONS))]
        ),
        "business": _ids_file(tmp_path, "businesses", rng.sample(businesses, SAMPLE)),
    }
    paths = {
        "CPR": PATH.format(kind="CPR", benefit=world.benefit.code),
        # The businesses' file holds "CVR/number", "P/number", "SE/number".
        "business": PATH.replace("{kind}/", "").format(benefit=world.benefit.code),
    }

    def show(text: str) -> None:
        with capsys.disabled():
            print(text, flush=True)

    show(
        "\n"
        f"recipient look-up load: {register.persons:,} persons ({register.nemkonti:,} "
        f"NemKonti, {register.specific:,} specific accounts), {len(businesses):,} business "
        f"units; set up in {setup_seconds:.0f} s\n"
        "  gunicorn nemkonto.wsgi, production settings (DEBUG off, connection pool with its "
        "health check, access log), on this machine\n"
        f"  allowance raised for the run: NEMKONTO_LOOKUP_ALLOWANCE={ALLOWANCE} and "
        f"NEMKONTO_LOOKUP_REFILL_PER_MINUTE={ALLOWANCE} in the server's environment\n"
        f"  wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{SECONDS}s with lookup_load.lua, IDs from a "
        f"sample of {SAMPLE:,} per kind, after a {WARM_UP_SECONDS} s warm-up; 'saturated': as "
        "fast as answered, 'at target': paced to the target rate\n"
        f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before"
    )
    for options in [o.strip() for o in GUNICORN.split(";") if o.strip()]:
        with gunicorn(options, env, tmp_path) as server:
            token = _token(server.base_url, client_id, secret)
            for kind in KINDS:
                ids, path = files[kind.id_type], paths[kind.id_type]
                wrk(binary, server, ids, path, token, WARM_UP_SECONDS, 0)
                for mode, rate, connections in MODES:
                    drain(server)
                    rows_before = _log_rows()
                    cpu_before, busy_before = cpu_by_process(server), busy_cpu_seconds()
                    wall = time.monotonic()
                    pace = kind.rate if rate is None else rate
                    figures = wrk(binary, server, ids, path, token, SECONDS, pace, connections)
                    drain(server)
                    spent = cpu_spent(cpu_before, cpu_by_process(server))
                    busy = busy_cpu_seconds() - busy_before
                    wall = time.monotonic() - wall
                    rows = _log_rows() - rows_before
                    run = measured(kind, mode, figures, connections, spent, busy, wall)
                    show(_line(run, options))
                    # Every answer a 200; the rows as the kind of look-up promises (requests
                    # still in flight when wrk stopped were answered too, and logged).
                    assert run.non_2xx == 0, (run, server.log)
                    assert run.socket_errors == 0, (run, server.log)
                    if kind.logged:
                        assert run.requests <= rows <= run.requests + connections, (run, rows)
                    else:
                        assert rows == 0, rows
    refused = LookupAllowance.objects.filter(key__startswith="client:").values_list(
        "refused", flat=True
    )
    assert sum(refused) == 0
    show(f"  load average {os.getloadavg()[0]:.2f} after; no look-up refused by the allowance")
