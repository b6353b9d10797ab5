"""Operational tasks: worker heartbeat, worker ping and session clean-up."""

import os
import socket

from celery import shared_task
from django.core import management
from django.core.cache import cache
from django.utils import timezone

from nemkonto.health import HEARTBEAT_KEY
from nemkonto.worker_ping import ping_record_handled


def _worker_identity() -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "at": timezone.now().isoformat()}


@shared_task
def worker_heartbeat() -> None:
    """Record that a worker is alive; /healthz shows the last one."""
    cache.set(HEARTBEAT_KEY, _worker_identity(), timeout=None)


@shared_task
def worker_ping(ping_id: str) -> None:
    """Answer an operator's ping from the web: records which worker process handled it."""
    ping_record_handled(ping_id=ping_id, worker=_worker_identity())


@shared_task
def clear_expired_sessions() -> None:
    """Delete expired login sessions from the database."""
    management.call_command("clearsessions")
