"""Batches and payments written straight through the ORM, in any state, for the tests of the
read side (status, lists, history, search) and of stopping. The pipeline's own stages are tested
on their own; here a payment is simply created with the columns it would have at that stage.
"""

import datetime
import itertools
from typing import Any
from urllib.parse import urlencode

from django.db.models import Max
from django.test import Client
from django.utils import timezone

from accounts.api_clients import api_client_create
from accounts.models import ApiClient, Authority, LosUnit, User
from accounts.tests.factories import EmployeeFactory, grant
from payments.models import (
    BankFile,
    Batch,
    ConnectionAgreement,
    Payment,
    PaymentStatus,
    PaymentSystem,
)
from payments.tests.pipeline_world import CPR_WITH_NEMKONTO, NEMKONTO_ACCOUNT, World
from registry.models import NemKonto

VALUE_DATE = datetime.date(2026, 12, 1)
_references = itertools.count(1)
_files = itertools.count(1)


def make_batch(world: World, **fields: Any) -> Batch:
    """A batch of the world's payment system for its authority (unit YDELSE by default)."""
    now = timezone.now()
    values: dict[str, Any] = {
        "authority": world.authority,
        "payment_system": world.system,
        "agreement": world.agreement,
        "los_unit": world.unit,
        "bank_agreement": world.bank_agreement,
        "api_client": world.api_client,
        "source_format": "json",
        "request_hash": "0" * 64,
        "status": Batch.Status.COMPLETED,
        "expected_value_date": VALUE_DATE,
        "cut_off": now + datetime.timedelta(hours=1),
        # In the past, so that every stage a payment is given has happened already.
        "received_at": now - datetime.timedelta(minutes=30),
        **fields,
    }
    return Batch.objects.create(**values)


def nemkonto_of(cpr: str = CPR_WITH_NEMKONTO) -> NemKonto:
    return NemKonto.objects.get(recipient__id_number=cpr, state=NemKonto.State.ACTIVE)


def _after(batch: Batch, minutes: int) -> datetime.datetime:
    """A moment of the payment's way, ``minutes`` after its batch was received."""
    return batch.received_at + datetime.timedelta(minutes=minutes)


def _attached_to_nemkonto(batch: Batch, status: str) -> dict[str, Any]:
    version = nemkonto_of()
    return {
        "status": status,
        "return_code": 0,
        "account_source": "nemkonto",
        "account_kind": "danish",
        "reg": NEMKONTO_ACCOUNT[0],
        "number": NEMKONTO_ACCOUNT[1],
        "nemkonto": version,
        "recipient": version.recipient,
        "processed_at": _after(batch, 1),
    }


def _no_account(batch: Batch, status: str, handling: str) -> dict[str, Any]:
    return {
        "status": status,
        "return_code": 7,
        "account_source": "none",
        "failure_handling": handling,
        "processed_at": _after(batch, 1),
    }


# The columns a payment has at each stage (a NemKonto attached where it has an account): received
# with its batch, processed a minute later, stopped after 5, forwarded after 10, answered after 20.
STAGES: dict[str, Any] = {
    "received": lambda batch: {"status": PaymentStatus.RECEIVED},
    "completed": lambda batch: _attached_to_nemkonto(batch, PaymentStatus.COMPLETED),
    "forwarded": lambda batch: _attached_to_nemkonto(batch, PaymentStatus.FORWARDED),
    "waiting": lambda batch: _no_account(batch, PaymentStatus.WAITING, "waiting"),
    "failed": lambda batch: _no_account(batch, PaymentStatus.FAILED, "returned"),
    "rejected": lambda batch: {
        "status": PaymentStatus.REJECTED,
        "return_code": 1,
        "processed_at": _after(batch, 1),
    },
    "stopped": lambda batch: {
        "status": PaymentStatus.STOPPED,
        "stopped_at": _after(batch, 5),
        "stopped_by_label": "KMD Ydelse for Testkøbing",
    },
    "bank_received": lambda batch: {
        **_attached_to_nemkonto(batch, PaymentStatus.BANK_RECEIVED),
        "return_code": 8,
        "answered_at": _after(batch, 20),
    },
    "bank_error": lambda batch: {
        **_attached_to_nemkonto(batch, PaymentStatus.BANK_ERROR),
        "return_code": 9,
        "return_reason": "AC04",
        "answered_at": _after(batch, 20),
    },
}

_AT_BANK = ("forwarded", "bank_received", "bank_error")


def bank_file_for(batch: Batch, **fields: Any) -> BankFile:
    """A pain.001 file of the batch's bank agreement (written, waiting for the bank)."""
    number = next(_files)
    values: dict[str, Any] = {
        "bank_id": batch.bank_agreement.bank_id,
        "bank_agreement": batch.bank_agreement,
        "authority": batch.authority,
        "value_date": batch.expected_value_date,
        "cycle_at": timezone.now() + datetime.timedelta(minutes=number),
        "message_id": f"NK-TEST-{number}",
        "status": BankFile.Status.WRITTEN,
        **fields,
    }
    return BankFile.objects.create(**values)


def _payment(batch: Batch, line: int, stage: str, **fields: Any) -> Payment:
    values: dict[str, Any] = {
        "batch": batch,
        "line": line,
        "authority_id": batch.authority_id,
        "los_unit_id": batch.los_unit_id,
        "payment_system_id": batch.payment_system_id,
        "bank_agreement_id": batch.bank_agreement_id,
        "reference": f"REF-{next(_references):06d}",
        "recipient_type": "CPR",
        "recipient_number": CPR_WITH_NEMKONTO,
        "benefit_code": "BOERNECHECK",
        "amount_ore": 123450,
        "text": "Børnecheck",
        "value_date": batch.expected_value_date,
        "received_at": batch.received_at,
        **STAGES[stage](batch),
    }
    values.update(fields)
    return Payment(**values)


def make_payments(
    batch: Batch, count: int, stage: str = "completed", **fields: Any
) -> list[Payment]:
    """``count`` payments of the batch at ``stage``, after its last line, in one INSERT.

    Payments at the bank get a bank file unless ``bank_file`` is given.
    """
    if stage in _AT_BANK:
        if "bank_file" not in fields:
            fields = {"bank_file": bank_file_for(batch), **fields}
        fields = {"forwarded_at": _after(batch, 10), **fields}
    last = Payment.objects.filter(batch=batch).aggregate(last=Max("line"))["last"] or 0
    rows = [_payment(batch, last + 1 + i, stage, **fields) for i in range(count)]
    return Payment.objects.bulk_create(rows)


def make_payment(batch: Batch, stage: str = "completed", **fields: Any) -> Payment:
    return make_payments(batch, 1, stage, **fields)[0]


def statuses(batch: Batch) -> dict[str, str]:
    """Reference -> status of the batch's payments (what a refused request must not change)."""
    return dict(Payment.objects.filter(batch=batch).values_list("reference", "status"))


# --- Callers ---------------------------------------------------------------------------------


def other_system_client(world: World, code: str = "sap-stat") -> tuple[ApiClient, str, str]:
    """A second payment system connected to the same authority, with its own API client."""
    system = PaymentSystem.objects.create(code=code, name=f"System {code}", vendor="Andet")
    ConnectionAgreement.objects.create(
        authority=world.authority,
        payment_system=system,
        status=ConnectionAgreement.Status.ACTIVE,
        activated_at=timezone.now() - datetime.timedelta(days=10),
    )
    credentials = api_client_create(
        actor=None,
        kind=ApiClient.Kind.PAYMENT_SYSTEM,
        name=f"{code} for Testkøbing",
        authority=world.authority,
        payment_system=system,
    )
    client = ApiClient.objects.get(application__client_id=credentials.client_id)
    return client, credentials.client_id, credentials.client_secret


def token_for(http: Client, client_id: str, client_secret: str, scope: str = "payments") -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": scope,
    }
    response = http.post(
        "/o/token/", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def caseworker_with(
    authority: Authority, unit: LosUnit, *profiles: str, username: str | None = None
) -> User:
    """An employee of ``authority`` holding ``profiles`` on ``unit`` (and so on the units below)."""
    user: User = EmployeeFactory.create(
        username=username or f"cw-{unit.code.lower()}-{'-'.join(profiles) or 'none'}",
        authority=authority,
    )
    for profile in profiles:
        grant(user, profile, unit)
    return user
