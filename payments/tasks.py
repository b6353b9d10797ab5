"""Thin Celery wrappers around the pipeline's stages (ARCHITECTURE.md sections 2 and 4).

Each task takes ids and calls one stage; every stage is idempotent, so a task delivered twice
(late acknowledgement after a lost worker) or resumed by the sweeper does no harm. Periodic
(``CELERY_BEAT_SCHEDULE`` in settings): the forwarding cycle at 06:00 on bank days, collecting the
banks' answers, and the sweeper.
"""

import datetime

from celery import shared_task
from django.utils import timezone

from payments import callback_tasks, pipeline
from payments.calendar import scheduled_cycle_moment


def _notify() -> None:
    """Tell the payment systems about the batches whose status just changed."""
    callback_tasks.callbacks_dispatch.delay()


@shared_task
def batch_process(batch_id: str) -> bool:
    """Validate and attach a received batch."""
    processed = pipeline.batch_process(batch_id)
    if processed:
        _notify()
    return processed


@shared_task
def cycle_run(at: str | None = None) -> list[int]:
    """Run the forwarding cycle as if at ``at`` (ISO 8601; default now) and queue its files."""
    moment = datetime.datetime.fromisoformat(at) if at else timezone.now()
    result = pipeline.cycle_run(at=moment)
    for file_id in result.file_ids:
        bank_file_write.delay(file_id)
    if result.file_ids:
        _notify()
    return result.file_ids


@shared_task
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
