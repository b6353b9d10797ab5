"""Acceptance for `make run`: the launcher brings up the whole system, prints the URLs and demo
logins, is idempotent, and Ctrl-C stops everything it started, the embedded database included."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nemkonto import embedded_db
from tests.conftest import BASE_DIR, free_port


class Launcher:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = int(env["NEMKONTO_PORT"])
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nemkonto.stack"],
            cwd=BASE_DIR,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_running(self, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "NemKonto is running" in self.output():
                return self.output()
            if self.process.poll() is not None:
                pytest.fail(f"launcher exited with {self.process.returncode}\n{self.output()}")
            time.sleep(0.5)
        pytest.fail(f"launcher not running after {timeout} s\n{self.output()}")

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()


def _children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _admin_login(port: int, username: str, password: str) -> int:
    """Log in on the admin with the printed credentials; the status of the admin index after it."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    opener.open(f"{base}/admin/login/").read()
    csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": csrf, "next": "/admin/"}
    ).encode()
    request = urllib.request.Request(f"{base}/admin/login/", data=body, headers={"Referer": base})
    with opener.open(request) as answer:
        assert answer.url.endswith("/admin/"), "login did not reach the admin index"
        page = answer.read().decode()
    assert "logout" in page
    return answer.status


@pytest.fixture
def launcher_env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "NEMKONTO_PORT": str(free_port()),
        "NEMKONTO_OIDC_ISSUER": f"http://127.0.0.1:{free_port()}",
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "CELERY_BROKER_FOLDER": str(tmp_path / "broker"),
        "WEB_CONCURRENCY": "1",
    }
    env.pop("DATABASE_URL", None)
    return env


def _operator_count(pgdata: Path) -> int:
    import psycopg

    with psycopg.connect(host=str(pgdata), user="postgres", dbname="nemkonto") as conn:
        row = conn.execute("SELECT count(*) FROM accounts_user WHERE username = 'operator'")
        return int(row.fetchone()[0])  # type: ignore[index]


def _server_settings(pgdata: Path) -> dict[str, str]:
    """The running server's values of the settings embedded_db configures, as SHOW gives them."""
    import psycopg

    with psycopg.connect(host=str(pgdata), user="postgres", dbname="nemkonto") as conn:
        return {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in embedded_db.SERVER_SETTINGS
        }


def test_embedded_launcher_runs_everything_and_stops_it_all(launcher_env, tmp_path) -> None:
    pgdata = tmp_path / "pgdata"
    launcher_env["NEMKONTO_PGDATA"] = str(pgdata)
    for run in (1, 2):
        launcher = Launcher(launcher_env, tmp_path / f"run{run}.log")
        try:
            output = launcher.wait_until_running()
            assert embedded_db.is_running(pgdata)
            status, body = launcher.get("/healthz")
            assert status == 200
            assert '"database": {"ok": true' in body
            login = re.search(r"^\s+(operator)\s+(\S+)\s+operator\b", output, re.MULTILINE)
            assert login, output
            assert _admin_login(launcher.port, login[1], login[2]) == 200
            # Loading the demo data again (second run) duplicates nothing.
            assert _operator_count(pgdata) == 1
            # The first start restarted the new server once so that shared_buffers took effect.
            assert _server_settings(pgdata) == embedded_db.SERVER_SETTINGS
            children = _children_of(launcher.process.pid)
            assert len(children) == 5  # web, worker, beat, simulated bank, OpenID provider
            assert re.search(
                r"^\s+nemby-sagsbehandler\s+MitID Erhverv\s+caseworker", output, re.MULTILINE
            )
            assert re.search(r"^\s+demo-karen\s+MitID\s+citizen", output, re.MULTILINE)
            assert f"Log in:        http://127.0.0.1:{launcher.port}/log-ind/" in output
            provider = launcher_env["NEMKONTO_OIDC_ISSUER"]
            with urllib.request.urlopen(f"{provider}/.well-known/openid-configuration") as answer:
                assert answer.status == 200
        finally:
            returncode = launcher.interrupt()
        assert returncode == 0, launcher.output()
        assert "Stopping the embedded PostgreSQL" in launcher.output()
        assert not embedded_db.is_running(pgdata)
        for pid in children:
            assert not Path(f"/proc/{pid}").exists(), f"child {pid} still running"
