"""Fixtures and helpers of the caseworker page tests (portal/tests/test_caseworker_*.py), which
import them with ``from portal.tests.caseworker_fixtures import *``.

Demo-like people: the municipality of the root conftest with caseworkers holding the standard
role profiles on its LOS units (like the demo's nemby-sagsbehandler and nemby-betaling), a
citizen and a business in the register, two benefits, and a Django test client logged in as
any of them. Activation letters are a stub PDF unless a test asks for ``real_letters``.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Authority, User
from accounts.tests.factories import EmployeeFactory, grant
from payments.models import Benefit
from registry.models import LookupLog, Recipient

CITIZEN_CPR = "0101901234"  # the root conftest's ``citizen`` login
BUSINESS_CVR = "29500029"
PDF_STUB = b"%PDF-1.4\n% test stub\n%%EOF\n"
PURPOSE = "Sag 2026-0042: borgeren ønsker ny NemKonto"

__all__ = [
    "BUSINESS_CVR",
    "CITIZEN_CPR",
    "PDF_STUB",
    "PURPOSE",
    "benefit",
    "business",
    "caseworker_settings",
    "code_in",
    "eager_notices",
    "error_fields",
    "fast_letters",
    "full_caseworker",
    "log_rows",
    "logged_in",
    "look_up",
    "nemkonto_caseworker",
    "other_benefit",
    "payments_caseworker",
    "person",
    "real_letters",
    "specific_caseworker",
    "url",
]


def url(name: str, *args: Any, language: str = "da") -> str:
    """The address of a caseworker page (``name`` without the namespace) in ``language``."""
    with translation.override(language):
        return reverse(f"portal:caseworker:{name}", args=args)


def error_fields(response: Any) -> set[str]:
    """The fields (``__all__`` for the form as a whole) the page's form shows errors on."""
    return set(response.context["form"].errors)


def log_rows() -> int:
    return LookupLog.objects.count()


@pytest.fixture(autouse=True)
def caseworker_settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NEMKONTO_LOOKUP_HASH_KEY = "lookup-hash-test-key"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def eager_notices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Notices are sent by a Celery task after the commit: run it in-process, not via a broker."""
    from registry import tasks

    monkeypatch.setattr(tasks.notices_send, "delay", lambda ids: tasks.notices_send(ids))


@pytest.fixture
def real_letters() -> None:
    """Asked for by a test that needs the real letters (WeasyPrint) instead of the stub."""


@pytest.fixture(autouse=True)
def fast_letters(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint takes ~0.6 s a letter: a stub PDF unless the test asks for ``real_letters``."""
    if "real_letters" in request.fixturenames:
        return
    monkeypatch.setattr("registry.services.activation.letter_pdf", lambda content: PDF_STUB)


# --- The register and the authority's benefits ----------------------------------------------


def _recipient(id_type: str, number: str, name: str) -> Recipient:
    return Recipient.objects.create(
        id_type=id_type,
        id_number=number,
        name=name,
        address="Testvej 1",
        postcode="1000",
        city="København K",
        cvr=number if id_type == "CVR" else "",
    )


@pytest.fixture
def person(db: None) -> Recipient:
    """The citizen of the root conftest's ``citizen`` login, in the register."""
    return _recipient("CPR", CITIZEN_CPR, "Borger Testesen")


@pytest.fixture
def business(db: None) -> Recipient:
    return _recipient("CVR", BUSINESS_CVR, "Firma ApS")


@pytest.fixture
def benefit(authority: Authority) -> Benefit:
    return Benefit.objects.create(authority=authority, code="KP", name="Kapitalpension")


@pytest.fixture
def other_benefit(authority: Authority) -> Benefit:
    return Benefit.objects.create(authority=authority, code="BS", name="Boligstøtte")


# --- Caseworkers ----------------------------------------------------------------------------


@pytest.fixture
def nemkonto_caseworker(authority: Authority, units: Any) -> User:
    """NKS-Opdater-NemKonto on Borgerservice only."""
    user = EmployeeFactory.create(username="nk-sagsbehandler", authority=authority)
    grant(user, "nks-opdater-nemkonto", units.child)
    return user


@pytest.fixture
def specific_caseworker(authority: Authority, units: Any) -> User:
    """NKS-Opdater-SpecKonto on Ydelseskontoret only."""
    user = EmployeeFactory.create(username="sk-sagsbehandler", authority=authority)
    grant(user, "nks-opdater-speckonto", units.grandchild)
    return user


@pytest.fixture
def full_caseworker(authority: Authority, units: Any) -> User:
    """Both registry profiles on Borgerservice, like the demo's nemby-sagsbehandler."""
    user = EmployeeFactory.create(
        username="sagsbehandler-begge", authority=authority, first_name="Søren"
    )
    grant(user, "nks-opdater-nemkonto", units.child)
    grant(user, "nks-opdater-speckonto", units.child)
    return user


@pytest.fixture
def payments_caseworker(authority: Authority, units: Any) -> User:
    """Only payment search and stop, like the demo's nemby-betaling."""
    user = EmployeeFactory.create(username="betaling", authority=authority)
    grant(user, "nks-soeg-bet", units.root)
    grant(user, "nks-stop-bet", units.child)
    return user


@pytest.fixture
def logged_in(client: Client) -> Callable[[User], Client]:
    """The test client, logged in as the given user."""

    def login(user: User) -> Client:
        client.force_login(user)
        return client

    return login


def look_up(
    client: Client, recipient: Recipient, purpose: str = PURPOSE, number: str | None = None
) -> Any:
    """Look ``recipient`` up on the look-up page (as a caseworker would type it)."""
    return client.post(
        url("lookup"),
        {
            "id_type": recipient.id_type,
            "id_number": number or recipient.id_number,
            "purpose": purpose,
        },
    )


def code_in(text: str) -> str:
    """The activation code printed in a letter (two groups of four digits)."""
    found = re.search(r"\b(\d{4}) (\d{4})\b", text)
    assert found, "no activation code in the letter"
    return found.group(1) + found.group(2)
