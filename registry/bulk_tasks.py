"""The Celery task that applies a bank's bulk NemKonto report (a thin wrapper, by job id).

Celery's autodiscovery imports only ``<app>.tasks`` modules, so the worker learns this task from
the import in ``registry/tasks.py``; the web process imports it through ``registry.bank_bulk``
when it queues a job.
"""

from celery import Task, shared_task
from django.db import OperationalError

from registry.bank_bulk import bank_bulk_apply, bank_bulk_fail

MAX_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_RETRIES)
def bank_bulk_process(self: "Task[[int], str | None]", job_id: int) -> str | None:
    """Apply one bulk report: one transaction, whatever its size (up to 100,000 changes).

    A lock wait or deadlock (OperationalError) is retried with back-off; anything else, or the
    last retry, marks the job failed (nothing of it was applied) and re-raises for the log.
    """
    try:
        job = bank_bulk_apply(job_id=job_id)
    except OperationalError as error:
        if self.request.retries < MAX_RETRIES:
            raise self.retry(exc=error, countdown=30 * 2**self.request.retries) from error
        bank_bulk_fail(job_id=job_id, reason=str(error))
        raise
    except Exception as error:
        bank_bulk_fail(job_id=job_id, reason=f"{type(error).__name__}: {error}")
        raise
    return job.status if job is not None else None
