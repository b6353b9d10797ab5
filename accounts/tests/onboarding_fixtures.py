"""Fixtures and helpers of the onboarding tests (accounts/tests/test_onboarding.py and
portal/tests/test_onboarding.py), imported with ``from accounts.tests.onboarding_fixtures
import *``: the authority's bank, a payment system active for another authority, a go-live date
that is a bank day, and the fields of a valid connection request."""

import datetime
import io
from typing import Any

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import Authority, Bank, Coordinator, LosUnit, User
from accounts.onboarding_services import ConnectionRequestData
from accounts.tests.factories import EmployeeFactory
from payments.calendar import add_bank_days
from payments.models import ConnectionAgreement, PaymentSystem

__all__ = [
    "bank",
    "connected_system",
    "coordinator",
    "go_live",
    "pdf_text",
    "request_data",
    "request_fields",
]


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF, read back with pypdf (which also proves it is a valid PDF)."""
    assert pdf.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def bank(db: None) -> Bank:
    return Bank.objects.create(reg="3000", bic="DABADKKK", name="Danske Bank")


@pytest.fixture
def connected_system(other_authority: Authority) -> PaymentSystem:
    """KMD Ydelse, active for another authority (so it is only activated for a new one)."""
    system = PaymentSystem.objects.create(code="kmd-ydelse", name="KMD Ydelse", vendor="KMD")
    ConnectionAgreement.objects.create(
        authority=other_authority,
        payment_system=system,
        status=ConnectionAgreement.Status.ACTIVE,
        activated_at=timezone.now(),
    )
    return system


@pytest.fixture
def coordinator(authority: Authority, units: Any) -> User:
    """The authority's NemKonto coordinator, with no role profile at all."""
    user = EmployeeFactory.create(
        username="koordinator", authority=authority, first_name="Kirsten", last_name="Koordinator"
    )
    Coordinator.objects.create(authority=authority, user=user)
    return user


def go_live() -> datetime.date:
    """A bank day about a month ahead."""
    return add_bank_days(timezone.localdate(), 20)


def request_fields(units: list[LosUnit], bank: Bank, **overrides: Any) -> dict[str, Any]:
    """The fields of a valid request for a new system, as the portal's form posts them."""
    fields: dict[str, Any] = {
        "connection": "new",
        "system_name": "Opus Debitor",
        "system_vendor": "KMD",
        "units": [unit.pk for unit in units],
        "bank": bank.pk,
        "bank_agreement_number": "BA-2026-77",
        "disbursement_reg": "3000",
        "disbursement_number": "4444444",
        "failure_choice": "cheque",
        "waiting_fallback": "return",
        "error_account_reg": "",
        "error_account_number": "",
        "go_live_on": go_live().isoformat(),
        "contact_name": "Kirsten Koordinator",
        "contact_email": "kirsten@kbh.example",
        "contact_phone": "33 66 33 66",
        "technical_name": "Tom Tekniker",
        "technical_email": "tom@kmd.example",
        "technical_phone": "44 60 10 00",
    }
    fields.update(overrides)
    return fields


def request_data(units: list[LosUnit], bank: Bank, **overrides: Any) -> ConnectionRequestData:
    """The same request for the services."""
    fields = request_fields(units, bank)
    fields.update(overrides)
    fields.pop("connection")
    new = overrides.get("new_system", True)
    return ConnectionRequestData(
        **{
            **fields,
            "new_system": new,
            "payment_system": overrides.get("payment_system"),
            "system_name": fields["system_name"] if new else "",
            "system_vendor": fields["system_vendor"] if new else "",
            "units": overrides.get("units", units),
            "bank": bank,
            "go_live_on": overrides.get("go_live_on", go_live()),
        }
    )
