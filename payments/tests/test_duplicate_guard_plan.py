"""The duplicate guard's plan on statistics that lag behind the payments table.

In the pipeline benchmark the guard's statement, planned on statistics taken while the table
held a few payments, took 192 s for a batch of 10,000: it joined the payments table with itself
and scanned every received payment for each payment of the batch (docs/benchmarks.md). The test
builds such statistics and reads the plan (EXPLAIN: nothing runs).
"""

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from payments import pipeline
from payments.duplicates import _HOLD_SQL
from payments.models import Batch, Payment
from payments.tests.pipeline_world import CPR_WITH_NEMKONTO, World, payment
from payments.tests.test_pipeline_stages import submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_not_queued")]
PAYMENT = Payment._meta.db_table


def grown(batch: Batch, size: int) -> None:
    """``size`` more payments in the batch: copies of its first one, each to another recipient."""
    columns = [str(f.column) for f in Payment._meta.concrete_fields if f.column != "id"]
    varied = {
        "line": "1000 + g",
        "reference": "'G' || g",
        "recipient_number": "lpad(g::text, 10, '0')",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PAYMENT} ({', '.join(columns)}) "  # noqa: S608 - model metadata
            f"SELECT {', '.join(varied.get(c, c) for c in columns)} FROM {PAYMENT}, "
            "generate_series(1, %s) g WHERE batch_id = %s AND reference = %s",
            [size, batch.pk, batch.payments.values_list("reference", flat=True).first()],
        )
        assert cursor.rowcount == size


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@pytest.fixture
def plan(world: World, client: Any) -> list[dict[str, Any]]:
    """The guard's plan for a batch of 20,001 received payments, on statistics taken when the
    table held two processed payments (of one recipient, so that it looks like few)."""
    done = submit(world, client, [payment(f"A{i}", CPR_WITH_NEMKONTO) for i in range(2)])
    assert pipeline.batch_process(str(done.pk))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {PAYMENT}")
    batch = submit(world, client, [payment("B1", CPR_WITH_NEMKONTO, amount="7.00")])
    grown(batch, 20_000)
    params: dict[str, Any] = {
        "batch": batch.pk,
        "window": datetime.timedelta(days=35),
        "now": None,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {_HOLD_SQL}", params)
        return list(nodes(cursor.fetchone()[0][0]["Plan"]))


def test_the_guard_reads_the_batch_and_nothing_joined_to_it(plan):
    """The payments it holds are the batch's own rows, read once, not a join of the payments
    table with itself."""
    updated = [n for n in plan if n.get("Relation Name") == PAYMENT and n.get("Alias") == "p"]
    reads = [n for n in updated if n["Node Type"] != "ModifyTable"]

    assert len(reads) == 1
    assert reads[0].get("Index Name") in {"payment_batch_status", "payment_line_per_batch"}
    assert not any(n["Node Type"] in {"Nested Loop", "Hash Join", "Merge Join"} for n in plan)
