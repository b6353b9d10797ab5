"""Acceptance: a Celery task queued from a web request runs in a separate worker process."""

import http.cookiejar
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import Stack, server_required

pytestmark = pytest.mark.django_db(transaction=True)


def _operator_opener(base_url: str) -> tuple[urllib.request.OpenerDirector, str]:
    """An HTTP client logged in as an operator (session in the shared database), with CSRF."""
    operator = get_user_model().objects.create_user(
        "ops", password="x", kind="operator", is_staff=True
    )
    client = Client()
    client.force_login(operator)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("Cookie", f"sessionid={client.cookies['sessionid'].value}")]
    opener.open(f"{base_url}/admin/login/").close()  # sets the csrftoken cookie
    csrf = next(str(cookie.value) for cookie in jar if cookie.name == "csrftoken")
    opener.addheaders = [
        ("Cookie", f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}"),
        ("X-CSRFToken", csrf),
    ]
    return opener, csrf


def _ping_through_web_and_worker(stack: Stack) -> dict[str, Any]:
    opener, _ = _operator_opener(stack.base_url)
    request = urllib.request.Request(f"{stack.base_url}/healthz/worker", method="POST", data=b"")
    with opener.open(request) as answer:
        assert answer.status == 202
        queued = json.load(answer)
    assert queued["status"] == "queued"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with opener.open(f"{stack.base_url}{queued['links']['self']}") as answer:
            record = json.load(answer)
        if record["status"] == "handled":
            return record
        time.sleep(0.3)
    pytest.fail(f"the worker never handled the ping\n{stack.logs()}")


def test_embedded_mode_task_runs_in_worker_process(stack_factory, tmp_path: Path) -> None:
    stack = stack_factory(
        {"CELERY_BROKER_URL": "", "REDIS_URL": "", "CELERY_BROKER_FOLDER": str(tmp_path / "broker")}
    )
    record = _ping_through_web_and_worker(stack)
    assert record["worker"]["pid"] == stack.worker.pid
    assert record["worker"]["pid"] != stack.web.pid


@pytest.mark.needs_server
def test_full_stack_mode_task_runs_in_worker_process(stack_factory) -> None:
    broker = server_required("a Celery broker (RabbitMQ or Redis)", "CELERY_BROKER_URL")
    redis = server_required("Redis", "REDIS_URL")
    stack = stack_factory({"CELERY_BROKER_URL": broker, "REDIS_URL": redis})
    record = _ping_through_web_and_worker(stack)
    assert record["worker"]["pid"] == stack.worker.pid
    assert record["worker"]["pid"] != stack.web.pid


def test_worker_ping_is_for_operators_only(client, citizen) -> None:
    assert client.post("/healthz/worker").status_code == 401
    client.force_login(citizen)
    response = client.post("/healthz/worker")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
