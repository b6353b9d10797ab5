"""Issue 9, acceptance 3: a dry run of 100,000 rows answers in under 5 s and writes nothing.

Measured through the real web server (gunicorn, one worker, as ``Stack`` starts it) against a
register of 1,000,000 persons (``pipeline_load.fill_register``: NemKonti, specific accounts) and
a payments table that already holds one processed batch of 100,000 payments, with the duplicate
guard on: the dry run's rows are payments 100,000 to 199,999 of the pipeline benchmark's load
(formal errors, unknown IDs, complete payments, recipients without an account, specific
accounts, NemKonti), sent gzipped as one JSON body. The round trip is timed RUNS times, and the
same request in-process is split into its parts. Prints; asserts the outcome of every row and
that the row counts of every payments and registry table are unchanged, never a time.

DATABASE_URL=... pytest tests/benchmarks/test_dry_run_bench.py --run-benchmarks -s
"""

import gzip
import hashlib
import io
import json
import os
import statistics
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments import pipeline
from payments.intake import SpooledBody, read_batch
from payments.intake_rows import stage_row
from payments.models import Batch, Payment
from payments.services.batches import batch_submit
from payments.tests.pipeline_world import build_world
from tests.benchmarks.pipeline_load import batch_body, expected_outcomes, fill_register
from tests.conftest import Stack

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db(transaction=True)]

ROWS = 100_000
RUNS = 5
TARGET_S = 5.0
# What a dry run answers for each outcome of the load (payments.tests: pipeline_load.outcome).
ANSWERS = {
    "rejected_2": ("rejected", 2, "none"),
    "rejected_1": ("rejected", 1, "none"),
    "given": ("completed", 0, "given"),
    "none": ("failed", 7, "none"),
    "specific": ("completed", 0, "specific"),
    "nemkonto": ("completed", 0, "nemkonto"),
}


def row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for label in ("payments", "registry"):
            for model in apps.get_app_config(label).get_models():
                table = model._meta.db_table
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - model metadata
                counts[table] = cursor.fetchone()[0]
    return counts


def _spooled(raw: bytes) -> SpooledBody:
    return SpooledBody(io.BytesIO(raw), hashlib.sha256(raw).hexdigest(), len(raw))


def _token(stack: Stack, client_id: str, secret: str) -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "payments",
        }
    ).encode()
    with urllib.request.urlopen(f"{stack.base_url}/o/token/", form) as answer:
        return str(json.load(answer)["access_token"])


def _post(stack: Stack, token: str, body: bytes) -> tuple[float, int, bytes]:
    request = urllib.request.Request(
        f"{stack.base_url}/api/v1/batches",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept-Encoding": "identity",
        },
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as answer:
        content = answer.read()
        status = answer.status
    return time.perf_counter() - started, status, content


def _peak_mib(stack: Stack) -> int:
    """The highest resident memory (VmHWM) of the web server's worker process, in MiB."""
    assert stack.web is not None
    children = Path(f"/proc/{stack.web.pid}/task/{stack.web.pid}/children").read_text().split()
    peak = 0
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) // 1024)
    return peak


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _check(answer: dict[str, Any], first: int) -> None:
    expected = Counter(ANSWERS[kind] for kind in expected_outcomes(first, ROWS).elements())
    found = Counter(
        (row["status"], row["return_code"], row["account_kind"]) for row in answer["payments"]
    )
    assert answer["received"] == ROWS
    assert found == expected, (found, expected)


def test_a_dry_run_of_100000_rows(stack_factory, tmp_path: Path, settings: Any) -> None:
    settings.NEMKONTO_DUPLICATE_WINDOW_DAYS = 35
    world = build_world()
    started = time.perf_counter()
    register = fill_register(authority_id=world.authority.pk, benefit_id=world.benefit.pk)
    envelope = {
        "authority": world.authority.code,
        "los_unit": world.unit.code,
        "bank_agreement": world.bank_agreement.number,
    }
    # A batch for real first, so the payments table and its indexes are not empty.
    stored = batch_submit(
        client=world.api_client,
        agreement=world.agreement,
        body=_spooled(gzip.decompress(batch_body(envelope, 0, ROWS))),
        source_format="json",
        params={},
    ).answer
    pipeline.batch_process(stored["batch_id"])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Payment._meta.db_table}")
    body = batch_body({**envelope, "dry_run": True}, ROWS, ROWS)
    setup = time.perf_counter() - started
    before = row_counts()
    load_before = _load()

    # In-process: reading and checking the rows alone; the service (that, COPY, the one query,
    # the rows' answers); the JSON of the answer.
    raw = gzip.decompress(body)
    t0 = time.perf_counter()
    _envelope, items = read_batch(_spooled(raw), "json", {})
    checked = sum(1 for line, item in enumerate(items) if stage_row(line, item).line >= 0)
    reading = time.perf_counter() - t0
    services, renders = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            result = batch_submit(
                client=world.api_client,
                agreement=world.agreement,
                body=_spooled(raw),
                source_format="json",
                params={},
            )
        t1 = time.perf_counter()
        assert result.dry_run is not None
        streamed = b"".join(result.dry_run.chunks(result.answer))
        services.append(t1 - t0)
        renders.append(time.perf_counter() - t1)
    answer_size = len(streamed)
    _check(json.loads(streamed), ROWS)

    # Through the web server, as a payment system sends it.
    stack = stack_factory(
        {
            "CELERY_BROKER_URL": "",
            "CELERY_BROKER_FOLDER": str(tmp_path / "b"),
            "NEMKONTO_DUPLICATE_WINDOW_DAYS": "35",
        }
    )
    token = _token(stack, world.client_id, world.client_secret)
    runs = []
    for _ in range(RUNS):
        seconds, status, content = _post(stack, token, body)
        assert status == 200
        runs.append(seconds)
    peak = _peak_mib(stack)
    _check(json.loads(content), ROWS)
    assert row_counts() == before
    assert Batch.objects.count() == 1

    best, median = min(runs), statistics.median(runs)
    print(
        f"\ndry run of {ROWS:,} rows (register of {register.persons:,} persons, "
        f"{register.nemkonti:,} NemKonti, {register.specific:,} specific accounts; "
        f"{Payment.objects.count():,} payments stored; duplicate guard on)"
    )
    print(
        f"  setup (not timed): {setup:.1f} s; request body {len(body) / 1e6:.1f} MB gzipped; "
        f"load average before {load_before}, after {_load()} ({os.cpu_count()} CPUs)"
    )
    print(
        f"  HTTP round trip through gunicorn: best {best:.2f} s, median {median:.2f} s "
        f"(runs: {', '.join(f'{r:.2f}' for r in runs)}); target < {TARGET_S:.0f} s: "
        f"{'met' if median < TARGET_S else 'MISSED'}; answer {len(content) / 1e6:.1f} MB; "
        f"peak memory of the web worker {peak} MiB"
    )
    print(
        f"  in-process: service {min(services):.2f} s (reading and checking the {checked:,} "
        f"rows alone {reading:.2f} s), streaming the answer {min(renders):.2f} s "
        f"({answer_size / 1e6:.1f} MB)"
    )
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    print(
        f"  SQL: {len(queries.captured_queries)} statements, "
        f"{sum(float(q['time']) for q in queries.captured_queries):.2f} s; slowest: "
        + "; ".join(f"{float(q['time']):.2f} s {' '.join(q['sql'].split())[:40]}" for q in slowest)
    )
    print(f"  row counts unchanged in the {len(before)} payments and registry tables")
