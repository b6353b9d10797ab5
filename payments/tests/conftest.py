"""Fixtures for the payments set-up tests: payment systems, agreements, banks, personas."""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Authority, Bank, LosUnit, User
from accounts.tests.factories import grant
from payments.models import PaymentSystem
from payments.tests.callback_receiver import receiver_fixture  # noqa: F401 - the receiver
from payments.tests.helpers import employee
from payments.tests.pipeline_world import World, build_world


@pytest.fixture(autouse=True)
def api_client_oauth(settings: Any) -> None:
    """The OAuth2 settings the project must name (see accounts.oauth): each client its kind's
    scope, and tokens only for active API clients."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "SCOPES_BACKEND_CLASS": "accounts.oauth.ApiClientScopes",
        "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.ApiClientValidator",
    }


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def system(db: None) -> PaymentSystem:
    return PaymentSystem.objects.create(code="kmd-ydelse", name="KMD Ydelse", vendor="KMD")


@pytest.fixture
def other_system(db: None) -> PaymentSystem:
    return PaymentSystem.objects.create(code="sap-stat", name="SAP Statens Løn", vendor="SAP")


@pytest.fixture
def bank(db: None) -> Bank:
    return Bank.objects.create(reg="3000", bic="DABADKKK", name="Danske Bank")


@pytest.fixture
def other_bank(db: None) -> Bank:
    return Bank.objects.create(reg="0400", bic="LOSADKKK", name="Spar Nord")


@pytest.fixture
def benefits_clerk(authority: Authority, units: Any) -> User:
    """A caseworker with the benefits profile on the root unit (so on every unit below)."""
    user = employee(username="ydelser", authority=authority)
    grant(user, "nks-ydelser", units.root)
    return user


# --- The permission matrix (ARCHITECTURE.md section 3; issue 4, acceptance 1) ---------------


@pytest.fixture
def persona(request: pytest.FixtureRequest, authority: Authority, units: Any) -> Callable[..., Any]:
    """``persona(name, profile)``: the user for a row of the matrix (None for anonymous).

    ``on_parent`` holds ``profile`` on the root unit (covering the child and everything below),
    ``on_child`` on the child unit only, ``on_sibling`` on the child's sibling only.
    """

    def make(name: str, profile: str) -> User | None:
        if name == "anonymous":
            return None
        if name in ("citizen", "caseworker", "outsider", "operator"):
            return request.getfixturevalue(name)
        unit: LosUnit = {
            "on_parent": units.root,
            "on_child": units.child,
            "on_sibling": units.sibling,
        }[name]
        user = employee(username=f"{name}-{profile}", authority=authority)
        grant(user, profile, unit)
        return user

    return make


@pytest.fixture
def world(db: None) -> World:
    """The pipeline world (payments.tests.pipeline_world): an authority ready to send payments."""
    return build_world()


@pytest.fixture
def tasks_not_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    """Intake and processing run in the test itself: nothing is sent to a Celery worker."""
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)
    monkeypatch.setattr("payments.callback_tasks.callbacks_dispatch.delay", lambda: None)


@pytest.fixture
def before_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock an hour after the batches were received, before Friday's cut-off: payments
    decided or dry-run now would otherwise go to the next cycle (in December, after the last
    cut-off of November: another period, so no repeat)."""
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: _received() + datetime.timedelta(hours=1)
    )


def _received() -> datetime.datetime:
    from payments.tests.test_pipeline_stages import RECEIVED

    return RECEIVED
