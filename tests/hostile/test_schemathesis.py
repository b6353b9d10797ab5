"""schemathesis over the whole OpenAPI schema (``/api/v1/schema/``): every operation, with valid
and invalid input generated from the schema, called in-process as the kind of caller it is for
(a payment system's, an authority's or a bank's OAuth2 client, the telephony provider, a
citizen's, a caseworker's, a local administrator's or an operator's session with its CSRF
token) and anonymously. No answer may be a server error, and every answer must be one the
schema documents (status code, media type and, for JSON, the body's shape).

The run is bounded: ``EXAMPLES`` generated cases per operation and caller (derandomized, so CI
sees the same cases every time), about a minute on two cores.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from nemkonto.wsgi import application
from tests.hostile.conftest import Hostile

EXAMPLES = 6
ANONYMOUS_EXAMPLES = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(
    json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
)
schema.app = application  # called in-process through WSGI


@pytest.fixture
def shared_connection() -> Iterator[None]:
    """A WSGI call in the test's thread uses the test's database connection and transaction;
    Django's request signals would close it (the test client disconnects them the same way, and
    connects them again after each of its requests: ask for this fixture last)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def generous_allowances(settings: Any) -> None:
    """Look-ups are rate limited (429 is documented); a large allowance lets the run reach the
    look-up code itself."""
    settings.NEMKONTO_LOOKUP_ALLOWANCE = 1_000_000


# The caller each part of the API is for, by path prefix (the first match wins).
CALLERS = [
    ("/api/v1/recipients/", "resolve"),
    ("/api/v1/resolve", "resolve"),
    ("/api/v1/nemkonto/", "bank"),
    ("/api/v1/bank/", "bank"),
    ("/api/v1/activation", "telephony"),
    ("/api/v1/me/", "citizen"),
    ("/api/v1/caseworker/", "caseworker"),
    ("/api/v1/payments", "caseworker"),
    ("/api/v1/authorities/", "local_admin"),
    ("/api/v1/admin/", "local_admin"),
    ("/api/v1/letters", "operator"),
    ("/api/v1/", "payments"),
]


def _session(user: Any) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    token = _get_new_csrf_string()
    return {
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": token},
        "headers": {"X-CSRFToken": token},
    }


def caller(case: Any, hostile: Hostile) -> dict[str, Any]:
    """The headers and cookies of the caller the operation is for."""
    kind = next(kind for prefix, kind in CALLERS if case.path.startswith(prefix))
    if kind in hostile.tokens:
        return {"headers": hostile.bearer(kind)}
    if kind == "telephony":
        return {"headers": {"X-Telephony-Key": "telephony-test-key"}}
    return _session(hostile.users[kind])


def _merged(case: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """The caller's headers on top of the generated ones (a generated Authorization header
    would otherwise replace the token)."""
    return {
        "headers": {**(case.headers or {}), **extra.get("headers", {})},
        "cookies": extra.get("cookies", {}),
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_its_caller_with_a_server_error(case, hostile, shared_connection):
    response = case.call(**_merged(case, caller(case, hostile)))

    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@settings(
    max_examples=ANONYMOUS_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_an_anonymous_caller_with_a_server_error(case, db, shared_connection):
    response = case.call()

    case.validate_response(response, checks=CHECKS)
