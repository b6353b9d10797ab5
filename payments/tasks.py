"""Thin Celery wrappers around the pipeline's stages (ARCHITECTURE.md sections 2 and 4).

Each task takes ids and calls one stage; every stage is idempotent, so a task delivered twice
(late acknowledgement after a lost worker) or resumed by the sweeper does no harm. Periodic
(``CELERY_BEAT_SCHEDULE`` in settings): the forwarding cycle at 06:00 on bank days, collecting the
banks' answers, the sweeper, the waiting account's fallback (05:30), the missing-account scan
(hourly) and the reconciliation sweep (18:00). ``accounts_changed`` is the registry's hook.
"""

import datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from payments import callback_tasks, pipeline, reconciliation
from payments.calendar import scheduled_cycle_moment
from payments.missing_accounts import missing_accounts_scan as _missing_accounts_scan


def _notify() -> None:
    """Tell the payment systems about the batches whose status just changed."""
    callback_tasks.callbacks_dispatch.delay()


@shared_task
def batch_process(batch_id: str) -> bool:
    """Validate and attach a received batch."""
    processed = pipeline.batch_process(batch_id)
    if processed:
        _missing_accounts_scan(batch_id=batch_id)
        _notify()
    return processed


# The cycle runs once a day and nothing else would run it again: while the database is away
# (restart, fail-over) it is retried, with back-off (at most 2 minutes apart, for about an hour).
# Every other stage is resumed by the sweeper or by the next periodic run.
_DATABASE_AWAY = (OperationalError, InterfaceError)


@shared_task(autoretry_for=_DATABASE_AWAY, retry_backoff=2, retry_backoff_max=120, max_retries=40)
def cycle_run(at: str | None = None) -> list[int]:
    """Run the forwarding cycle as if at ``at`` (ISO 8601; default now) and queue its files."""
    moment = datetime.datetime.fromisoformat(at) if at else timezone.now()
    result = pipeline.cycle_run(at=moment)
    for file_id in result.file_ids:
        bank_file_write.delay(file_id)
    if result.file_ids:
        _notify()
    return result.file_ids


@shared_task(autoretry_for=_DATABASE_AWAY, retry_backoff=2, retry_backoff_max=120, max_retries=40)
def cycle_run_scheduled() -> list[int]:
    """The 06:00 cycle: runs as this morning's cut-off on bank days, and does nothing on others."""
    moment = scheduled_cycle_moment(timezone.now())
    if moment is None:
        return []
    return cycle_run(moment.isoformat())


@shared_task
def bank_file_write(file_id: int) -> bool:
    """Write one claimed bank file into its bank's outbox."""
    return pipeline.bank_file_write(file_id)


@shared_task
def bank_answers_collect() -> int:
    """Apply the answer files waiting in the banks' inboxes."""
    applied = len(pipeline.bank_answers_collect())
    if applied:
        _notify()
    return applied


@shared_task
def pipeline_sweep() -> dict[str, int]:
    """Resume batches and bank files whose worker died in the middle of a stage."""
    stuck = pipeline.stuck_work()
    for batch_id in stuck.batch_ids:
        batch_process.delay(batch_id)
    for file_id in stuck.file_ids:
        bank_file_write.delay(file_id)
    return {"batches": len(stuck.batch_ids), "files": len(stuck.file_ids)}


@shared_task
def accounts_changed(recipient_ids: list[int] | None = None) -> int:
    """The registry's hook after accounts were registered, changed or deleted (``None``: many,
    by a bank's bulk report): release the waiting payments that find an account now, and tell
    the missing-account subscribers about these recipients. Returns how many were released."""
    released = pipeline.waiting_release()
    scope = set(released.recipient_ids)
    if recipient_ids is not None:
        scope |= set(recipient_ids)
    if scope:
        _missing_accounts_scan(recipient_ids=sorted(scope))
    if released.payment_ids or scope:
        _notify()
    return len(released.payment_ids)


@shared_task
def waiting_expire() -> int:
    """Apply the fallback to payments that waited longer than NEMKONTO_WAITING_DAYS."""
    moved = pipeline.waiting_expire()
    if moved.payment_ids:
        _missing_accounts_scan(recipient_ids=moved.recipient_ids)
        _notify()
    return len(moved.payment_ids)


@shared_task
def missing_accounts_scan() -> int:
    """Tell the missing-account subscribers what changed on their lists (the hourly catch-all)."""
    written = _missing_accounts_scan()
    if written:
        _notify()
    return written


@shared_task
def reconciliation_sweep() -> int:
    """List the accepted payments the banks have still not booked as missing."""
    return reconciliation.reconciliation_sweep()
