"""Health checks for /healthz: each check answers (ok, detail) and never raises."""

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection

from nemkonto.celery import app as celery_app

HEARTBEAT_KEY = "nemkonto:worker-heartbeat"


def _timed(check: Callable[[], str]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # noqa: BLE001 - any failure makes the component unhealthy
        detail = f"{type(exc).__name__}: {exc}"
        ok = False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version')")
        (version,) = cursor.fetchone()
    return f"PostgreSQL {version}"


def _broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
        conn.default_channel  # noqa: B018 - opening a channel proves the broker answers
        return str(conn.as_uri())  # the password, if any, is masked


def _cache() -> str:
    # The cache holds throttles and worker pings, shared by web and worker processes.
    cache.get(HEARTBEAT_KEY)
    return type(cache).__name__


def run_checks() -> dict[str, dict[str, Any]]:
    """The database, the broker and the shared cache; all must be ok for a healthy service."""
    return {"database": _timed(_database), "broker": _timed(_broker), "cache": _timed(_cache)}


def last_worker_heartbeat() -> dict[str, Any] | None:
    """What the most recent worker heartbeat task recorded (host, pid, time), if it can be read."""
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:  # noqa: BLE001 - the cache check reports the failure
        return None
    return beat if isinstance(beat, dict) else None
