"""The duplicate-payment guard across batches: the set-based check of the pipeline's validate
stage (``payments.pipeline.batch_process``).

A received payment repeats an earlier one when the same authority sends the same recipient, the
same benefit and the same amount for the same **period** (our rule: the calendar month of its
requested value date, else of its value date) in another batch received within
``NEMKONTO_DUPLICATE_WINDOW_DAYS`` before it, and that earlier payment is paid or on its way
(received, held, completed, waiting, forwarded, received by the bank, or sent by cheque or to
the error account). It is then held (status ``held``, no return code) until the payment system
or a caseworker with the stop profile confirms it (it is attached and paid like any other) or
rejects it (it is stopped): ``payments.services.duplicates``. Within one batch, repeated rows are
not held: a batch is one decision of the payment system. A test payment only repeats a test
payment, a real one only a real one.

One statement per batch whatever its size: each payment is one probe of the recipient index.
"""

import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from payments.models import Payment, PaymentHold

PAYMENT = Payment._meta.db_table
HOLD = PaymentHold._meta.db_table

# What counts as "the earlier payment is paid or on its way".
_PAID_OR_ON_ITS_WAY = (
    "(q.status IN ('received', 'held', 'completed', 'waiting', 'forwarded', 'bank_received') "
    "OR (q.status = 'failed' AND q.failure_handling IN ('cheque', 'error_account')))"
)
# The period a payment pays for: the month of its requested (else expected) value date.
_PERIOD = "date_trunc('month', coalesce({p}.requested_value_date, {p}.value_date))"

# The earliest earlier payment that ``p`` repeats, NULL when none (a subquery over ``q``,
# correlated with ``p``). min(id), not ORDER BY ... LIMIT 1: no sort per payment (ids grow with
# the time of receipt).
EARLIER_SQL = f"""
    SELECT min(q.id) AS id FROM {PAYMENT} q
    WHERE q.recipient_number = p.recipient_number AND q.recipient_type = p.recipient_type
      AND q.authority_id = p.authority_id AND q.benefit_code = p.benefit_code
      AND q.amount_ore = p.amount_ore AND q.batch_id <> p.batch_id AND q.is_test = p.is_test
      AND q.received_at >= p.received_at - %(window)s
      AND (q.received_at, q.id) < (p.received_at, p.id)
      AND {_PERIOD.format(p="q")} = {_PERIOD.format(p="p")}
      AND {_PAID_OR_ON_ITS_WAY}
"""  # noqa: S608 - table name from model metadata

# One UPDATE of the batch's own rows, the earlier payment looked up again for the few it holds:
# no join of the payments table with itself, whose plan would rest on estimates that are always
# wrong here (a new batch's id is in no statistics; how many payments are ``received`` changes
# by the minute). Such a join once scanned every received payment for each payment of the batch
# (192 s for a batch of 10,000, docs/benchmarks.md).
_HOLD_SQL = f"""
WITH held AS (
    UPDATE {PAYMENT} p SET status = 'held'
    WHERE p.batch_id = %(batch)s AND p.status = 'received' AND p.recipient_number <> ''
      AND ({EARLIER_SQL}) IS NOT NULL
    RETURNING p.id, ({EARLIER_SQL}) AS duplicate_of, p.authority_id
)
INSERT INTO {HOLD} (payment_id, duplicate_of_id, authority_id, held_at, decision, decided_at,
                    decided_by_id, decided_by_label)
SELECT id, duplicate_of, authority_id, %(now)s, 'pending', NULL, NULL, '' FROM held
ON CONFLICT DO NOTHING
"""  # noqa: S608 - table names from model metadata


def duplicate_window() -> datetime.timedelta | None:
    """How far back the guard looks; None when it is off (``NEMKONTO_DUPLICATE_WINDOW_DAYS`` 0)."""
    days = int(settings.NEMKONTO_DUPLICATE_WINDOW_DAYS)
    return datetime.timedelta(days=days) if days > 0 else None


def repeats_hold(cursor: Any, *, batch_id: str, now: datetime.datetime | None = None) -> int:
    """Hold the received payments of the batch that repeat an earlier payment; returns how
    many. Run before the attach, which then leaves them alone (it takes ``received`` ones)."""
    window = duplicate_window()
    if window is None:
        return 0
    cursor.execute(_HOLD_SQL, {"batch": batch_id, "window": window, "now": now or timezone.now()})
    return max(cursor.rowcount, 0)
