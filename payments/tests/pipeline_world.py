"""A small world for pipeline tests: one authority with an active agreement, a bank agreement,
benefits, a payment system's API client, and register entries with and without accounts.

Everything is written directly through the ORM (the set-up services are tested on their own),
except the API client, which is created by its service so that its secret works at /o/token/.
"""

import datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from django.utils import timezone

from accounts.api_clients import api_client_create
from accounts.models import ApiClient, Authority, Bank, LosUnit
from accounts.tests.factories import AuthorityFactory, LosUnitFactory
from payments.models import (
    BankAgreement,
    Benefit,
    ConnectionAgreement,
    DisbursementAccount,
    PaymentSystem,
)
from registry.models import NemKonto, Recipient, SpecificAccount

# Synthetic recipients (valid dates, never real-looking test persons).
CPR_WITH_NEMKONTO = "0101901234"
CPR_WITH_SPECIFIC = "0202851234"
CPR_WITHOUT_ACCOUNT = "0303751234"
CPR_WITHOUT_ADDRESS = "0404651234"
CPR_NOT_IN_REGISTER = "0505551234"
CVR_WITH_NEMKONTO = "13585628"

NEMKONTO_ACCOUNT = ("3000", "0001234567")
SPECIFIC_ACCOUNT = ("5301", "0000987654")
ERROR_ACCOUNT = ("3000", "0009999999")


@dataclass
class World:
    authority: Authority
    root: LosUnit
    unit: LosUnit
    sibling: LosUnit
    bank: Bank
    bank_agreement: BankAgreement
    system: PaymentSystem
    agreement: ConnectionAgreement
    benefit: Benefit
    other_benefit: Benefit
    api_client: ApiClient
    client_id: str
    client_secret: str

    def envelope(self, **overrides: Any) -> dict[str, Any]:
        return {
            "authority": self.authority.code,
            "los_unit": self.unit.code,
            "bank_agreement": self.bank_agreement.number,
            **overrides,
        }

    def token(self, client: Client, scope: str = "payments") -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": scope,
        }
        response = client.post(
            "/o/token/", urlencode(form), content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200, response.content
        return str(response.json()["access_token"])


def payment(reference: str, recipient_id: str = CPR_WITH_NEMKONTO, **fields: Any) -> dict[str, Any]:
    """One payment in the API's JSON shape."""
    kind = fields.pop("recipient_type", "CPR" if len(recipient_id) == 10 else "CVR")
    return {
        "reference": reference,
        "recipient": {"type": kind, "id": recipient_id},
        "benefit": fields.pop("benefit", "BOERNECHECK"),
        "amount": fields.pop("amount", "1234.50"),
        "text": fields.pop("text", "Børnecheck"),
        "account": fields.pop("account", None),
        **fields,
    }


def _recipient(id_type: str, number: str, name: str, **fields: Any) -> Recipient:
    defaults = {"address": "Testvej 1", "postcode": "1000", "city": "København K"}
    cvr = number if id_type == "CVR" else ""
    return Recipient.objects.create(
        id_type=id_type, id_number=number, name=name, cvr=cvr, **{**defaults, **fields}
    )


def _nemkonto(recipient: Recipient, reg: str, number: str) -> NemKonto:
    now = timezone.now() - datetime.timedelta(days=30)
    return NemKonto.objects.create(
        recipient=recipient,
        account_kind="danish",
        reg=reg,
        number=number,
        state=NemKonto.State.ACTIVE,
        channel="bank",
        actor_label="bank 3000",
        created_at=now,
        activated_at=now,
    )


def build_world(*, failure_choice: str = "return", operator: Any = None) -> World:
    """The world; ``operator`` creates the API client (any operator user)."""
    authority = AuthorityFactory.create(code="kbh", name="Testkøbing Kommune", cvr="29189846")
    root = LosUnitFactory.create(authority=authority, code="ROOT", name="Kommunen")
    unit = LosUnitFactory.create(parent=root, code="YDELSE", name="Ydelseskontoret")
    sibling = LosUnitFactory.create(parent=root, code="SKAT", name="Opkrævningen")
    bank = Bank.objects.create(reg="3000", bic="DABADKKK", name="Danske Bank")
    bank_agreement = BankAgreement.objects.create(
        authority=authority, bank=bank, number="BA-1001", pays_from=datetime.date(2026, 1, 1)
    )
    DisbursementAccount.objects.create(agreement=bank_agreement, reg="3000", number="0004444444")
    system = PaymentSystem.objects.create(code="kmd-ydelse", name="KMD Ydelse", vendor="KMD")
    error_reg, error_number = ERROR_ACCOUNT if failure_choice == "error_account" else ("", "")
    agreement = ConnectionAgreement.objects.create(
        authority=authority,
        payment_system=system,
        status=ConnectionAgreement.Status.ACTIVE,
        activated_at=timezone.now() - datetime.timedelta(days=60),
        failure_choice=failure_choice,
        error_account_reg=error_reg,
        error_account_number=error_number,
    )
    benefit = Benefit.objects.create(authority=authority, code="BOERNECHECK", name="Børnecheck")
    other_benefit = Benefit.objects.create(authority=authority, code="KONTANT", name="Kontanthjælp")
    credentials = api_client_create(
        actor=operator,
        kind=ApiClient.Kind.PAYMENT_SYSTEM,
        name="KMD Ydelse for Testkøbing",
        authority=authority,
        payment_system=system,
    )
    _nemkonto(_recipient("CPR", CPR_WITH_NEMKONTO, "Nina Nemkonto"), *NEMKONTO_ACCOUNT)
    with_specific = _recipient("CPR", CPR_WITH_SPECIFIC, "Sofie Specifik")
    _nemkonto(with_specific, "3000", "0001111111")
    SpecificAccount.objects.create(
        recipient=with_specific,
        authority=authority,
        benefit=benefit,
        account_kind="danish",
        reg=SPECIFIC_ACCOUNT[0],
        number=SPECIFIC_ACCOUNT[1],
        state=SpecificAccount.State.ACTIVE,
        channel="caseworker",
        actor_label="sagsbehandler",
    )
    _recipient("CPR", CPR_WITHOUT_ACCOUNT, "Uffe Udenkonto")
    _recipient("CPR", CPR_WITHOUT_ADDRESS, "Ane Adresseløs", address="", postcode="", city="")
    _nemkonto(_recipient("CVR", CVR_WITH_NEMKONTO, "Firma ApS"), "3000", "0002222222")
    return World(
        authority=authority,
        root=root,
        unit=unit,
        sibling=sibling,
        bank=bank,
        bank_agreement=bank_agreement,
        system=system,
        agreement=agreement,
        benefit=benefit,
        other_benefit=other_benefit,
        api_client=ApiClient.objects.get(application__client_id=credentials.client_id),
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
    )
