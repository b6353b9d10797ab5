"""Thin Celery wrappers around the registry's services (ARCHITECTURE.md section 2).

Periodic (``CELERY_BEAT_SCHEDULE`` in settings): ``specific_accounts_expire`` and
``activation_codes_expire`` daily just after midnight, ``notices_send_unsent`` every few minutes
to pick up notices whose first sending failed.
"""

from celery import shared_task

from registry.bulk_tasks import bank_bulk_process  # noqa: F401 - autodiscovery imports tasks only
from registry.services.activation import activation_codes_expire as _activation_codes_expire
from registry.services.notices import notices_deliver
from registry.services.specific import specific_accounts_expire as _specific_accounts_expire


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notices_send(notice_ids: list[int]) -> int:
    """Send these notices (queued after the commit of the change that wrote them)."""
    return notices_deliver(notice_ids=notice_ids)


@shared_task
def notices_send_unsent() -> int:
    """Send any notice still waiting (a failed or lost first attempt)."""
    return notices_deliver()


@shared_task
def specific_accounts_expire() -> int:
    """Remove the specific accounts whose end date has passed (history is kept)."""
    return _specific_accounts_expire()


@shared_task
def activation_codes_expire() -> int:
    """Cancel the caseworkers' changes whose activation code has expired."""
    return _activation_codes_expire()
