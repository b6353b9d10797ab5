"""Production settings refuse insecure configurations; docker-compose stays in step with them."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nemkonto import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
GOOD_ENV = {
    "DJANGO_SETTINGS_MODULE": "nemkonto.settings.production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "NEMKONTO_LOOKUP_HASH_KEY": secrets.token_urlsafe(40),
    "DATABASE_URL": "postgres://nemkonto:secret@db.internal:5432/nemkonto",
    "CELERY_BROKER_URL": "amqp://nemkonto:secret@rabbitmq:5672//",
    "REDIS_URL": "redis://redis:6379/0",
}
CLEARED = (
    # Set for the whole session by tests/browser (Playwright's event loop); Django's deploy
    # check rightly refuses it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_DEBUG",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SESSION_COOKIE_SECURE",
    "DJANGO_SECURE_HSTS_SECONDS",
)


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if key not in CLEARED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_production_settings_reports_nothing() -> None:
    result = _manage(GOOD_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "x" * 60}, "DJANGO_SECRET_KEY is too weak"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG is on"),
        ({"NEMKONTO_LOOKUP_HASH_KEY": "short"}, "NEMKONTO_LOOKUP_HASH_KEY must be set"),
        ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
        ({"CELERY_BROKER_URL": ""}, "CELERY_BROKER_URL is not set"),
        ({"DJANGO_SESSION_COOKIE_SECURE": "false"}, "cookies must be secure"),
        ({"DJANGO_SECURE_SSL_REDIRECT": "false"}, "DJANGO_SECURE_SSL_REDIRECT is off"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "3600"}, "at least one year"),
    ],
)
def test_production_settings_refuse_to_start(change: dict[str, str], message: str) -> None:
    result = _manage({**GOOD_ENV, **change}, "check")
    assert result.returncode != 0
    assert "Production settings refuse to start" in result.stderr
    assert message in result.stderr


def test_production_settings_refuse_demo_data() -> None:
    result = _manage(GOOD_ENV, "demo_data")
    assert result.returncode != 0
    assert "Demo data is refused" in result.stderr


def _compose() -> dict[str, Any]:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_compose_has_the_full_stack_with_health_checks() -> None:
    services = _compose()["services"]
    for name in ("postgres", "redis", "rabbitmq", "web", "worker", "beat"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert "gunicorn" in (BASE_DIR / "Dockerfile").read_text()
    assert services["worker"]["command"][:4] == ["celery", "-A", "nemkonto", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "nemkonto", "beat"]


def _interpolate(value: str) -> str:
    """Compose's ${VAR:-default} and ${VAR:?error}: our secrets for required ones, else defaults."""
    pattern = r"\$\{(\w+)(?::([-?])([^}]*))?\}"
    return re.sub(pattern, lambda m: GOOD_ENV.get(m[1], "") if m[2] == "?" else (m[3] or ""), value)


def test_compose_environment_starts_production_settings() -> None:
    """The app services' environment, with a secret filled in, passes the production checks."""
    compose_env = _compose()["services"]["web"]["environment"]
    env = {key: _interpolate(str(value)) for key, value in compose_env.items()}
    assert set(GOOD_ENV) <= set(env)
    assert env["DATABASE_URL"].startswith("postgres://nemkonto:nemkonto@postgres:5432/")
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_compose_database_server_has_the_embedded_servers_settings() -> None:
    """The server of docker compose is configured as make run's (the pipeline needs both)."""
    command = _compose()["services"]["postgres"]["command"]
    assert command[0] == "postgres"
    given = dict(option.split("=", 1) for option in command[2::2])
    assert command[1::2] == ["-c"] * len(given)
    assert given == embedded_db.SERVER_SETTINGS
