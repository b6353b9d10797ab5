"""Test mode's one write of its own: what the payment system has fetched of a test batch's answers
(the test script's "received", ``payments.test_script``)."""

import datetime

from django.db import connection
from django.utils import timezone

from payments.models import Batch, Payment

BATCH = Batch._meta.db_table
PAYMENT = Payment._meta.db_table

# The codes the batch's payments have now, added to those fetched before, in one statement.
_FETCHED_SQL = f"""
UPDATE {BATCH} b SET
    answers_fetched_at = %(now)s,
    return_codes_fetched = (
        SELECT coalesce(jsonb_agg(c.code ORDER BY c.code), '[]'::jsonb)
        FROM (
            SELECT (e.value)::int AS code FROM jsonb_array_elements(b.return_codes_fetched) e
            UNION
            SELECT DISTINCT p.return_code FROM {PAYMENT} p
            WHERE p.batch_id = b.id AND p.return_code IS NOT NULL
        ) c
    )
WHERE b.id = %(batch)s AND b.is_test
"""  # noqa: S608 - table names from model metadata


def answers_fetched_record(*, batch: Batch, now: datetime.datetime | None = None) -> None:
    """The payment system has just fetched the answers of ``batch`` (its status, its payments or
    its return answers): for a test batch, note when, and the return codes it saw. A real batch
    is left alone (nothing is written on its reads)."""
    if not batch.is_test:
        return
    with connection.cursor() as cursor:
        cursor.execute(_FETCHED_SQL, {"batch": batch.pk, "now": now or timezone.now()})
