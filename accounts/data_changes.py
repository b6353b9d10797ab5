"""Who changed the data: a statement-level trigger on every tracked table writes one
``DataChange`` row per statement, with the context of the request or task behind it.

The context is a session setting (``nemkonto.context``, JSON) that the web process sets before
a write statement of a request (``DataChangeContextMiddleware``, so that it names the user the
API or portal authenticated) and the worker sets for each task (``task_context``). A writer with
no context (a management command, psql) is recorded with its database role.

Tables are tracked by their app's migrations with ``track_table`` / ``untrack_table``.
"""

import json
import logging
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

SETTING = "nemkonto.context"
WRITES = ("INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "COPY")

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION nemkonto_data_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    context jsonb := nullif(current_setting('{SETTING}', true), '')::jsonb;
BEGIN
    INSERT INTO accounts_datachange (at, table_name, operation, transaction_id, actor_label,
                                     channel, source, source_id, statement)
    VALUES (clock_timestamp(), TG_TABLE_NAME, TG_OP, txid_current(),
            coalesce(context ->> 'actor', session_user::text),
            coalesce(context ->> 'channel', 'database'),
            coalesce(context ->> 'source', ''), coalesce(context ->> 'id', ''),
            left(current_query(), 2000));
    RETURN NULL;
END
$$;
"""  # noqa: S608 - a constant setting name


def track_table(table: str) -> str:
    return (
        f"CREATE TRIGGER data_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION nemkonto_data_change()"
    )


def untrack_table(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS data_change ON {table}"


def _set(context: dict[str, str] | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, false)", [SETTING, json.dumps(context) if context else ""]
        )


def request_context(request: HttpRequest) -> dict[str, str]:
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    path = request.path
    channel = (
        "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "portal"
    )
    return {
        "actor": user.get_username() if authenticated and user is not None else "anonymous",
        "channel": channel,
        "source": f"{request.method} {path}"[:200],
        "id": request.headers.get("X-Request-ID", "")[:64],
    }


class BeforeWrites:
    """A connection execute wrapper that sets the context before a write statement whenever it
    is not yet set on the physical connection in use (a pooled connection may change between
    statements of one request or task), then clears it again at ``close``."""

    def __init__(self, context: Callable[[], dict[str, str]]) -> None:
        self.context = context
        self.sent: tuple[int, dict[str, str]] | None = None
        self.busy = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not self.busy and sql.lstrip()[:6].upper().startswith(WRITES):
            wanted = (id(connection.connection), self.context())
            if wanted != self.sent:
                self.busy = True
                try:
                    _set(wanted[1])
                finally:
                    self.busy = False
                self.sent = (id(connection.connection), wanted[1])
        return execute(sql, params, many, context)

    def close(self) -> None:
        if self.sent is not None and connection.connection is not None:
            _set(None)
        self.sent = None


class DataChangeContextMiddleware:
    """Before each write statement of a request, the context names the user known by then."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        writer = BeforeWrites(lambda: request_context(request))
        with connection.execute_wrapper(writer):
            response = self.get_response(request)
        writer.close()
        return response


def task_context(task_name: str, task_id: str) -> dict[str, str]:
    return {"actor": "worker", "channel": "task", "source": task_name[:200], "id": task_id[:64]}


# The task running in this worker process (prefork: one at a time) and its wrapper.
_running: dict[str, ExitStack] = {}


def task_started(task_id: str, task: Any, **_kwargs: Any) -> None:
    context = task_context(task.name, task_id)
    writer = BeforeWrites(lambda: context)
    stack = ExitStack()
    stack.enter_context(connection.execute_wrapper(writer))
    stack.callback(_close_quietly, writer)
    _running[task_id] = stack


def task_finished(task_id: str, **_kwargs: Any) -> None:
    stack = _running.pop(task_id, None)
    if stack is not None:
        stack.close()


def _close_quietly(writer: BeforeWrites) -> None:
    # The record of who wrote must never fail the work: a task whose connection went down
    # finds out in its own statements (and is retried), not here.
    try:
        writer.close()
    except DatabaseError as error:
        logger.warning("data change context not cleared: %s", error)


def connect_task_signals() -> None:
    """Each Celery task's writes are recorded as the task's (connected once, in apps.ready)."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, dispatch_uid="data_change_task_started")
    task_postrun.connect(task_finished, dispatch_uid="data_change_task_finished")
