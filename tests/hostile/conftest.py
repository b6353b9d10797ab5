"""The hostile-input world: the pipeline world (payments.tests.pipeline_world) plus a client of
every kind (payment system, authority look-up, bank), a caseworker, a local administrator, a
citizen and an operator; and ``stored`` to prove that a refused request wrote nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from accounts.api_clients import api_client_create
from accounts.models import ApiClient, User
from accounts.tests.factories import CitizenFactory, EmployeeFactory, grant
from payments.tests.pipeline_world import CPR_WITH_NEMKONTO, World, build_world

# The tables a hostile request could write to. Append-only logs are among them: a refused
# request must not even leave a look-up log row.
WATCHED_MODELS = (
    "payments.Batch",
    "payments.Payment",
    "payments.BankFile",
    "payments.BankMessage",
    "registry.NemKonto",
    "registry.SpecificAccount",
    "registry.ActivationLetter",
    "registry.LookupLog",
    "registry.BankBulkJob",
    "registry.BankBulkRow",
    "registry.Notice",
    "accounts.AuditEvent",
    "accounts.User",
    "accounts.Grant",
)


@pytest.fixture(autouse=True)
def hostile_settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NEMKONTO_BANK_DIR = tmp_path / "banks"
    settings.NEMKONTO_TELEPHONY_KEY = "telephony-test-key"
    settings.NEMKONTO_LOOKUP_HASH_KEY = "lookup-hash-test-key"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A batch that is received is queued after the commit; the corpus looks at intake alone."""
    queued: list[str] = []
    monkeypatch.setattr("payments.tasks.batch_process.delay", queued.append)
    return queued


def table_counts() -> dict[str, int]:
    """Rows per watched table, counted in one statement."""
    tables = [apps.get_model(name)._meta.db_table for name in WATCHED_MODELS]
    selects = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM {table}"  # noqa: S608 - names from model metadata
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(selects)
        return dict(cursor.fetchall())


@dataclass
class Stored:
    """The row counts before a request; ``unchanged()`` is empty when nothing was written."""

    before: dict[str, int] = field(default_factory=table_counts)

    def changes(self) -> dict[str, tuple[int, int]]:
        after = table_counts()
        return {t: (self.before[t], after[t]) for t in after if after[t] != self.before[t]}


@pytest.fixture
def stored() -> Callable[[], Stored]:
    """``snapshot = stored()`` before a request; ``assert not snapshot.changes()`` after."""
    return Stored


@dataclass
class Hostile:
    """The world and a logged-in or bearer client for each kind of caller."""

    world: World
    http: Client
    tokens: dict[str, str]
    users: dict[str, User]

    def bearer(self, kind: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[kind]}"}

    def as_user(self, kind: str) -> Client:
        client = Client()
        client.force_login(self.users[kind])
        return client


def _token(http: Client, client_id: str, secret: str, scope: str) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": scope,
    }
    response = http.post(
        "/o/token/", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def _users(world: World) -> dict[str, User]:
    caseworker = EmployeeFactory.create(username="sagsbehandler", authority=world.authority)
    for profile in (
        "nks-opdater-nemkonto",
        "nks-opdater-speckonto",
        "nks-soeg-bet",
        "nks-soeg-gennemf-bet",
        "nks-stop-bet",
    ):
        grant(caseworker, profile, world.root)
    local_admin = EmployeeFactory.create(username="lokaladmin", authority=world.authority)
    for profile in ("nks-lokal-admin", "nks-ydelser"):
        grant(local_admin, profile, world.root)
    citizen = CitizenFactory.create(username="borger", recipient_id=CPR_WITH_NEMKONTO)
    operator = User.objects.create_user(
        "drift", password="test-password-123", kind=User.Kind.OPERATOR, is_staff=True
    )
    return {
        "caseworker": caseworker,
        "local_admin": local_admin,
        "citizen": citizen,
        "operator": operator,
    }


@pytest.fixture
def hostile(db: None) -> Hostile:
    world = build_world()
    http = Client()
    authority = api_client_create(
        actor=None,
        kind=ApiClient.Kind.AUTHORITY,
        name="Testkøbing look-ups",
        authority=world.authority,
    )
    bank = api_client_create(
        actor=None, kind=ApiClient.Kind.BANK, name="Danske Bank", bank=world.bank
    )
    tokens = {
        "payments": world.token(http),
        "resolve": _token(http, authority.client_id, authority.client_secret, "resolve"),
        "bank": _token(http, bank.client_id, bank.client_secret, "bank"),
    }
    return Hostile(world=world, http=http, tokens=tokens, users=_users(world))


def problem_fields(response: Any) -> list[str]:
    """The fields named by a problem document (and that it is one)."""
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    return [error["field"] for error in response.json()["errors"]]
