"""The callbacks that a batch's status does not carry (``CallbackDelivery.Event``), written
set-wise in the transaction of the change they report, and sent like every callback
(``payments.callbacks.callbacks_deliver``: signed, retried with back-off).

- ``payments_updated``: payments of a batch changed while the batch's status did not (released
  from the waiting account, fallen back after waiting too long, held duplicates decided). One
  delivery per batch::

      {"event": "payments_updated", "reason": "waiting_released", "batch_id": "...",
       "status": "completed", "payments": [{"reference": "...", "status": "completed",
       "return_code": 0, "failure_handling": null, "value_date": "2026-12-02"}]}

- ``missing_accounts``: written by ``payments.missing_accounts``.
"""

from typing import Any

from django.utils import timezone

from accounts.models import ApiClient
from payments.models import Batch, CallbackDelivery, Payment

PAYMENT = Payment._meta.db_table
BATCH = Batch._meta.db_table
CLIENT = ApiClient._meta.db_table
DELIVERY = CallbackDelivery._meta.db_table

WAITING_RELEASED = "waiting_released"
WAITING_EXPIRED = "waiting_expired"
DUPLICATE_CONFIRMED = "duplicate_confirmed"
DUPLICATE_REJECTED = "duplicate_rejected"

_PAYMENTS_UPDATED_SQL = f"""
INSERT INTO {DELIVERY} (api_client_id, batch_id, event, status, payload, state, attempts,
                        next_attempt_at, last_error, created_at)
SELECT b.api_client_id, b.id, 'payments_updated', '',
       jsonb_build_object(
           'event', 'payments_updated',
           'reason', %(reason)s,
           'batch_id', b.id::text,
           'status', b.status,
           'payments', jsonb_agg(jsonb_build_object(
               'reference', p.reference,
               'status', p.status,
               'return_code', p.return_code,
               'failure_handling', nullif(p.failure_handling, ''),
               'value_date', p.value_date
           ) ORDER BY p.line)
       ),
       'pending', 0, %(now)s, '', %(now)s
FROM {PAYMENT} p
JOIN {BATCH} b ON b.id = p.batch_id
JOIN {CLIENT} c ON c.id = b.api_client_id
WHERE p.id = ANY(%(ids)s) AND c.is_active AND c.callback_url <> ''
GROUP BY b.id
"""  # noqa: S608 - table names from model metadata


def payments_updated_enqueue(cursor: Any, *, payment_ids: list[int], reason: str) -> int:
    """Write one ``payments_updated`` delivery per batch of these payments whose client has a
    callback URL; returns how many. One statement."""
    if not payment_ids:
        return 0
    cursor.execute(
        _PAYMENTS_UPDATED_SQL, {"ids": payment_ids, "reason": reason, "now": timezone.now()}
    )
    return max(cursor.rowcount, 0)
