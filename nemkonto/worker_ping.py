"""Worker ping: an operator checks from the web that a Celery worker process picks up tasks.

The ping's state lives in the shared cache (database or Redis), which both the web process and
the worker can reach. Pings expire after an hour.
"""

import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

PING_TTL_SECONDS = 3600


def _key(ping_id: str) -> str:
    return f"nemkonto:worker-ping:{ping_id}"


def ping_queue() -> dict[str, Any]:
    """Create a ping and queue the task that answers it once the request's transaction commits."""
    from nemkonto.tasks import worker_ping

    ping_id = str(uuid.uuid4())
    record = {"id": ping_id, "status": "queued", "queued_at": timezone.now().isoformat()}
    cache.set(_key(ping_id), record, timeout=PING_TTL_SECONDS)
    transaction.on_commit(lambda: worker_ping.delay(ping_id))
    return record


def ping_record_handled(*, ping_id: str, worker: dict[str, object]) -> None:
    """Mark a ping as handled by the given worker (host, pid, time)."""
    record = cache.get(_key(ping_id))
    if record is None:
        return
    record.update(status="handled", worker=worker, handled_at=worker["at"])
    cache.set(_key(ping_id), record, timeout=PING_TTL_SECONDS)


def ping_get(ping_id: str) -> dict[str, Any] | None:
    """The ping's record, or None when it is unknown or expired."""
    record = cache.get(_key(ping_id))
    return record if isinstance(record, dict) else None
