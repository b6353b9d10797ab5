"""Thin Celery wrapper around the callbacks (payments.callbacks): enqueue, then deliver.

Run periodically by beat and after stage changes (``transaction.on_commit``); runs may overlap
(deliveries are claimed with ``SKIP LOCKED`` and leased), so triggering it often is harmless.
"""

from celery import shared_task

from payments import callbacks


@shared_task
def callbacks_dispatch() -> dict[str, int]:
    """Enqueue the notices of batch status changes, then send the due ones."""
    enqueued = callbacks.callbacks_enqueue()
    return {"enqueued": enqueued, **callbacks.callbacks_deliver()}
