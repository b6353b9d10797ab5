"""``make run``: the whole system on one machine, started and stopped together.

Prepares the database (the embedded PostgreSQL unless DATABASE_URL is set), migrates, loads the demo
data, then runs the web server (gunicorn), a Celery worker, Celery beat, the simulated bank and the
local OpenID provider (the portal's MitID / MitID Erhverv log-in, with the demo identities) as child
processes and prints where to go. Ctrl-C (or SIGTERM) stops the children and then the
embedded database, if this launcher started it. If any child dies, everything is stopped and the
exit code says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

from nemkonto import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = os.environ.get("NEMKONTO_HOST", "127.0.0.1")
PORT = int(os.environ.get("NEMKONTO_PORT", "8000"))
# The portal's OpenID provider; the default (as in settings) is the local one this launcher runs.
OIDC_ISSUER = os.environ.get("NEMKONTO_OIDC_ISSUER", "http://127.0.0.1:9400").rstrip("/")
PYTHON = sys.executable


def _manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(  # noqa: S603 - fixed command lines
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def _children() -> dict[str, list[str]]:
    celery = [PYTHON, "-m", "celery", "-A", "nemkonto"]
    return {
        "web": [
            PYTHON, "-m", "gunicorn", "nemkonto.wsgi", "--bind", f"{HOST}:{PORT}",
            "--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--threads", "4",
            "--access-logfile", "-",
        ],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [
            *celery, "beat", "--loglevel", "INFO",
            "--schedule", str(embedded_db.BASE_DIR / "var" / "celerybeat-schedule"),
        ],
        # The demo's counterpart: answers every bank file the cycle writes (its own process).
        "bank": [PYTHON, "manage.py", "simulate_bank", "--every", "5"],
        # The log-in: MitID and MitID Erhverv played by a local OpenID provider.
        "oidc": [PYTHON, "manage.py", "oidc_provider"],
    }  # fmt: skip


def _wait_until_healthy(
    url: str = f"http://{HOST}:{PORT}/healthz", what: str = "the web server", timeout: float = 60.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our own URLs
                return json.load(answer)
        except urllib.error.HTTPError as exc:  # 503 while a component is not ready yet
            last_error = RuntimeError(exc.read().decode(errors="replace"))
            time.sleep(0.5)
        except OSError as exc:
            last_error = exc
            time.sleep(0.5)
    raise RuntimeError(f"{what} did not become healthy in {timeout:.0f} s: {last_error}")


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in time; killing it", flush=True)
            process.kill()
            process.wait()


def main() -> int:
    embedded = not os.environ.get("DATABASE_URL")
    started_db = embedded and not embedded_db.is_running()
    if embedded:
        embedded_db.ensure_started()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        _manage("migrate", "--no-input", "-v", "0")
        _manage("createcachetable")
        demo = _manage("demo_data", capture=True)
        for name, command in _children().items():
            # Own session: a Ctrl-C reaches only this launcher, which stops the children in order.
            processes[name] = subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)  # noqa: S603
        health = _wait_until_healthy()
        _wait_until_healthy(
            f"{OIDC_ISSUER}/.well-known/openid-configuration", "the OpenID provider"
        )
        print(demo, flush=True)
        database = "embedded PostgreSQL" if embedded else "DATABASE_URL"
        print(
            f"\nNemKonto is running ({database}; health: {health['status']})\n"
            f"  Portal:        http://{HOST}:{PORT}/\n"
            f"  Log in:        http://{HOST}:{PORT}/log-ind/ (MitID or MitID Erhverv; pick one of\n"
            f"                 the portal identities above at the OpenID provider {OIDC_ISSUER})\n"
            f"  Admin:         http://{HOST}:{PORT}/admin/\n"
            f"  Health:        http://{HOST}:{PORT}/healthz\n"
            "The simulated bank answers the bank files in var/banks; run a cut-off cycle now with\n"
            "  .venv/bin/python manage.py run_cycle\n"
            "Press Ctrl-C to stop everything.",
            flush=True,
        )
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping", flush=True)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print(
            "Stopping web server, worker, beat, the simulated bank and the OpenID provider ...",
            flush=True,
        )
        _stop(processes)
        if started_db:
            print("Stopping the embedded PostgreSQL ...", flush=True)
            embedded_db.stop()


if __name__ == "__main__":
    sys.exit(main())
