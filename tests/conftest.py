"""Cross-app fixtures: real server processes (web, worker) for end-to-end tests."""

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

BASE_DIR = Path(__file__).resolve().parent.parent


def server_required(name: str, env_var: str) -> str:
    """The URL of an external server named by env_var; skip without it, or fail where CI needs it.

    .ci/run sets NEMKONTO_REQUIRE_SERVERS=1, so a test that needs a server cannot pass as skipped.
    """
    url = os.environ.get(env_var, "")
    if url:
        return url
    message = f"needs {name}: set {env_var}"
    if os.environ.get("NEMKONTO_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def database_url() -> str:
    """A DATABASE_URL for the database the tests use (the test database), for child processes."""
    params = connection.settings_dict
    host = str(params["HOST"] or "")
    user = params["USER"]
    if params.get("PASSWORD"):
        user += f":{urllib.parse.quote(params['PASSWORD'])}"
    if host.startswith("/"):
        # A Unix socket folder (the embedded server): django-environ reads it from the path.
        return f"postgres://{user}@/{urllib.parse.quote(host, safe='')}/{params['NAME']}"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{user}@{host}{port}/{params['NAME']}"


def database_conninfo() -> str:
    """The test database as a libpq connection string, for the tests' own psycopg connections
    (libpq does not read the socket folder from a URL's path as django-environ does)."""
    params = connection.settings_dict
    return make_conninfo(
        dbname=params["NAME"],
        user=params["USER"],
        password=params.get("PASSWORD") or None,
        host=params["HOST"] or None,
        port=params.get("PORT") or None,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server process exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class Stack:
    """A web server and a Celery worker, each in its own process, sharing the test database."""

    def __init__(self, env: dict[str, str], tmp_path: Path, *, beat: bool = False) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.with_beat = beat
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.beat: subprocess.Popen[bytes] | None = None

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("ab")
        env = {**self.env, **(env or {})}
        return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=log)

    def start(self) -> None:
        # The database cache (used when REDIS_URL is empty) needs its table, as in `make run`.
        subprocess.run(
            [sys.executable, "manage.py", "createcachetable"],
            cwd=BASE_DIR,
            env=self.env,
            check=True,
        )
        self.web = self._spawn(
            "web",
            [
                *(sys.executable, "-m", "gunicorn", "nemkonto.wsgi"),
                *("--bind", f"127.0.0.1:{self.port}", "--workers", "1"),
            ],
        )
        self.start_worker()
        if self.with_beat:
            self.beat = self._spawn(
                "beat",
                [
                    *(sys.executable, "-m", "celery", "-A", "nemkonto", "beat"),
                    *("--schedule", str(self.tmp_path / "beat-schedule"), "--loglevel", "INFO"),
                ],
            )
        wait_for_http(f"{self.base_url}/healthz", self.web)

    def start_worker(self) -> None:
        """Start (or, after it was killed, restart) the worker. Each call starts one more, named
        ``workerN``: its Celery hostname and its database sessions' application_name."""
        name = f"worker{len(self.workers) + 1}"
        self.worker = self._spawn(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "nemkonto", "worker"),
                *("--pool", "solo", "--loglevel", "INFO", "--without-mingle", "--without-gossip"),
                *("--hostname", f"{name}@%h"),
            ],
            env={"PGAPPNAME": name},
        )
        self.workers.append(self.worker)

    def stop(self) -> None:
        for process in dict.fromkeys((self.web, self.worker, *self.workers, self.beat)):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted(self.tmp_path.glob("*.log"))
        )


@pytest.fixture
def stack_factory(transactional_db: None, tmp_path: Path) -> Iterator[object]:
    """Start web + worker processes with extra environment; they are stopped after the test."""
    with ExitStack() as cleanup:

        def start(extra_env: dict[str, str], *, beat: bool = False) -> Stack:
            env = {**os.environ, "DATABASE_URL": database_url(), "DATABASE_POOL": "false"}
            env.update(extra_env)
            stack = Stack(env, tmp_path, beat=beat)
            cleanup.callback(stack.stop)
            stack.start()
            return stack

        yield start
