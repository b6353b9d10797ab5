"""Fixtures for the registry tests: the register, benefits, banks, API clients with tokens,
caseworkers with the NemKonto and specific-account profiles, and fast activation letters."""

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

from accounts.models import ApiClient, Authority, Bank, LosUnit, User
from accounts.tests.factories import AuthorityFactory, EmployeeFactory, UserFactory, grant
from payments.models import Benefit, ConnectionAgreement, PaymentSystem
from registry.models import Recipient

CODE = "12345678"
TELEPHONY_KEY = "telephony-test-key"
CITIZEN_CPR = "0101901234"
OTHER_CPR = "0202851234"
BUSINESS_CVR = "29500029"
PDF_STUB = b"%PDF-1.4\n% test stub\n%%EOF\n"


@pytest.fixture(autouse=True)
def registry_settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NEMKONTO_TELEPHONY_KEY = TELEPHONY_KEY
    settings.NEMKONTO_LOOKUP_HASH_KEY = "lookup-hash-test-key"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def eager_notices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Notices are sent by a Celery task after the commit: run it in-process, not via a broker."""
    from registry import tasks

    monkeypatch.setattr(tasks.notices_send, "delay", lambda ids: tasks.notices_send(ids))


@pytest.fixture(autouse=True)
def known_code(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every activation code is CODE (the real one only ever exists in the letter)."""
    monkeypatch.setattr("registry.services.activation.generate_code", lambda: CODE)
    return CODE


@pytest.fixture(autouse=True)
def fast_letters(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint takes ~0.6 s a letter: tests get a stub unless marked ``real_letters``."""
    if request.node.get_closest_marker("real_letters"):
        return
    monkeypatch.setattr("registry.services.activation.letter_pdf", lambda content: PDF_STUB)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_letters: render activation letters with WeasyPrint")


# Fixed, distinct CVR numbers (the shared factory can repeat one, see payments/tests/conftest).
@pytest.fixture
def authority(db: None) -> Authority:
    return AuthorityFactory.create(code="kbh", name="Testkøbing Kommune", cvr="29500002")


@pytest.fixture
def other_authority(db: None) -> Authority:
    return AuthorityFactory.create(
        code="andre", name="Anden Styrelse", kind=Authority.Kind.STATE, cvr="29500010"
    )


@pytest.fixture
def api() -> APIClient:
    return APIClient()


# --- The register ---------------------------------------------------------------------------


def make_recipient(id_type: str, number: str, name: str, **fields: Any) -> Recipient:
    defaults = {"address": "Testvej 1", "postcode": "1000", "city": "København K"}
    return Recipient.objects.create(
        id_type=id_type, id_number=number, name=name, **{**defaults, **fields}
    )


@pytest.fixture
def person(db: None) -> Recipient:
    """The register entry of the ``citizen`` persona."""
    return make_recipient("CPR", CITIZEN_CPR, "Borger Testesen")


@pytest.fixture
def other_person(db: None) -> Recipient:
    return make_recipient("CPR", OTHER_CPR, "Anden Borgersen")


@pytest.fixture
def company(db: None) -> Recipient:
    return make_recipient("CVR", BUSINESS_CVR, "Firma ApS", cvr=BUSINESS_CVR)


@pytest.fixture
def business(company: Recipient) -> User:
    """A business login (MitID Erhverv) for ``company``."""
    return UserFactory.create(
        username="firma", kind=User.Kind.BUSINESS, recipient_type="CVR", recipient_id=BUSINESS_CVR
    )


@pytest.fixture
def citizen_in_register(citizen: User, person: Recipient) -> User:
    return citizen


# --- Authorities, benefits, caseworkers --------------------------------------------------------


@pytest.fixture
def benefit(authority: Authority) -> Benefit:
    return Benefit.objects.create(authority=authority, code="KP", name="Kapitalpension")


@pytest.fixture
def other_benefit(other_authority: Authority) -> Benefit:
    return Benefit.objects.create(authority=other_authority, code="SU", name="Studiestøtte")


@pytest.fixture
def nk_caseworker(authority: Authority, units: Any) -> User:
    """A caseworker with NKS-Opdater-NemKonto on the child unit only."""
    user = EmployeeFactory.create(
        username="nemkonto-sb", authority=authority, email="sb@kbh.example"
    )
    grant(user, "nks-opdater-nemkonto", units.child)
    return user


@pytest.fixture
def sa_caseworker(authority: Authority, units: Any) -> User:
    """A caseworker with NKS-Opdater-SpecKonto on the grandchild unit only."""
    user = EmployeeFactory.create(username="speckonto-sb", authority=authority)
    grant(user, "nks-opdater-speckonto", units.grandchild)
    return user


@pytest.fixture
def controller(authority: Authority, units: Any) -> User:
    """The authority's local administrator on a branch (may export control lists)."""
    user = EmployeeFactory.create(username="kontrol", authority=authority)
    grant(user, "nks-lokal-admin", units.sibling)
    return user


# --- Banks and API clients with tokens -----------------------------------------------------------


@pytest.fixture
def bank(db: None) -> Bank:
    return Bank.objects.create(reg="3000", bic="DABADKKK", name="Danske Bank")


@pytest.fixture
def other_bank(db: None) -> Bank:
    return Bank.objects.create(reg="5301", bic="ALBADKKK", name="Arbejdernes Landsbank")


@dataclass
class Client:
    api_client: ApiClient
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_client(kind: str, scope: str, **binding: Any) -> Client:
    application = Application.objects.create(
        name=f"{kind} {secrets.token_hex(3)}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    api_client = ApiClient.objects.create(application=application, kind=kind, **binding)
    token = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        application=application,
        token=token,
        scope=scope,
        expires=timezone.now() + datetime.timedelta(hours=1),
    )
    return Client(api_client=api_client, token=token)


@pytest.fixture
def resolve_client(authority: Authority) -> Client:
    return make_client(ApiClient.Kind.AUTHORITY, "resolve", authority=authority)


@pytest.fixture
def other_resolve_client(other_authority: Authority) -> Client:
    return make_client(ApiClient.Kind.AUTHORITY, "resolve", authority=other_authority)


@pytest.fixture
def bank_client(bank: Bank) -> Client:
    return make_client(ApiClient.Kind.BANK, "bank", bank=bank)


@pytest.fixture
def payment_client(authority: Authority) -> Callable[[str], Client]:
    def make(status: str) -> Client:
        system = PaymentSystem.objects.create(code=f"ps-{status}", name="KMD", vendor="KMD")
        ConnectionAgreement.objects.create(
            authority=authority,
            payment_system=system,
            status=status,
            activated_at=timezone.now() if status == ConnectionAgreement.Status.ACTIVE else None,
        )
        return make_client(
            ApiClient.Kind.PAYMENT_SYSTEM, "payments", authority=authority, payment_system=system
        )

    return make


@pytest.fixture
def login(api: APIClient) -> Callable[[User | None], APIClient]:
    def do(user: User | None) -> APIClient:
        api.logout()
        if user is not None:
            api.force_login(user)
        return api

    return do


DANISH = {"reg": "3000", "number": "1234567"}
DANISH_2 = {"reg": "3001", "number": "7654321"}
OTHER_BANK_ACCOUNT = {"reg": "5301", "number": "4444"}
FOREIGN = {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}


def units_of(authority: Authority) -> list[LosUnit]:
    return list(LosUnit.objects.filter(authority=authority))
