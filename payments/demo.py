"""Demo data for the payments set-up: payment systems, agreements, benefits, bank agreements,
readiness statements and payment-system API clients with printed secrets.

Meant to be called from ``nemkonto.demo.demo_data_load`` for each demo authority; idempotent
(loading twice changes nothing). Writes go through the services as the system (``actor=None``),
so they are audited like any other change.
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from accounts.models import ApiClient, Authority, Bank, User
from accounts.oauth import SCOPE_BY_KIND
from payments import services
from payments.models import (
    BankAgreement,
    Benefit,
    ConnectionAgreement,
    PaymentSystem,
    ReadinessConfirmation,
)

Status = ConnectionAgreement.Status

DEMO_SYSTEMS: dict[str, tuple[str, str]] = {
    "kmd-ydelse": ("KMD Ydelse", "KMD"),
    "opus-debitor": ("Opus Debitor", "Netcompany"),
    "sap-stat": ("SAP Statens Løn", "Moderniseringsstyrelsen"),
}
DEMO_BANKS: dict[str, tuple[str, str]] = {
    "3000": ("DABADKKK", "Danske Bank"),
    "0400": ("LOSADKKK", "Spar Nord Bank"),
}


@dataclass(frozen=True)
class DemoPaymentSetup:
    """What one demo authority has in place."""

    bank_reg: str
    bank_agreement_number: str
    disbursement_accounts: tuple[tuple[str, str], ...]
    pays_from: datetime.date
    benefits: tuple[tuple[str, str], ...]
    active_systems: tuple[str, ...]
    systems_in_test: tuple[str, ...] = ()
    failure_choice: str = ConnectionAgreement.FailureChoice.RETURN
    confirmed_items: tuple[str, ...] = ()
    # Fixed, printed credentials per active system: {system code: (client_id, client_secret)}.
    api_clients: dict[str, tuple[str, str]] = field(default_factory=dict)


def _system(code: str) -> PaymentSystem:
    name, vendor = DEMO_SYSTEMS[code]
    system, _ = PaymentSystem.objects.get_or_create(
        code=code, defaults={"name": name, "vendor": vendor}
    )
    return system


def _bank(reg: str) -> Bank:
    bic, name = DEMO_BANKS[reg]
    bank, _ = Bank.objects.get_or_create(reg=reg, defaults={"bic": bic, "name": name})
    return bank


def _agreement(authority: Authority, code: str, target: str, choice: str) -> None:
    system = _system(code)
    agreement = ConnectionAgreement.objects.filter(
        authority=authority, payment_system=system
    ).first()
    if agreement is None:
        agreement = services.agreement_request(
            actor=None, authority=authority, payment_system=system, failure_choice=choice
        )
    if agreement.status == Status.REQUESTED:
        agreement = services.agreement_advance(actor=None, agreement=agreement)
    if agreement.status == Status.IN_TEST and target == Status.ACTIVE:
        # Demo data: the system's test script (payments.test_script) counts as passed. The
        # service refuses to go live until its scenarios have been run for real.
        now = timezone.now()
        ConnectionAgreement.objects.filter(pk=agreement.pk).update(
            status=Status.ACTIVE, activated_at=now, status_changed_at=now
        )


def _api_client(authority: Authority, code: str, client_id: str, secret: str) -> dict[str, Any]:
    """A payment system's client with a fixed, printed secret (demo only; stored hashed)."""
    application_model = get_application_model()
    if not application_model.objects.filter(client_id=client_id).exists():
        application = application_model.objects.create(
            name=f"{code} · {authority.code} (demo)",
            client_id=client_id,
            client_secret=secret,
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
            skip_authorization=True,
        )
        ApiClient.objects.create(
            application=application,
            kind=ApiClient.Kind.PAYMENT_SYSTEM,
            authority=authority,
            payment_system=_system(code),
        )
    return {
        "payment_system": code,
        "client_id": client_id,
        "client_secret": secret,
        "scopes": [SCOPE_BY_KIND[ApiClient.Kind.PAYMENT_SYSTEM]],
    }


@transaction.atomic
def demo_payments_load(
    *, authority: Authority, local_admin: User | None, setup: DemoPaymentSetup
) -> dict[str, Any]:
    """Put the authority's payments set-up in place (if missing) and describe it for demo_data's
    JSON (API.md): bank agreements, benefits, payment systems with active agreements, clients."""
    for code, name in setup.benefits:
        if not Benefit.objects.filter(authority=authority, code=code).exists():
            services.benefit_create(actor=None, authority=authority, code=code, name=name)
    for code in setup.active_systems:
        _agreement(authority, code, Status.ACTIVE, setup.failure_choice)
    for code in setup.systems_in_test:
        _agreement(authority, code, Status.IN_TEST, setup.failure_choice)
    if not BankAgreement.objects.filter(number=setup.bank_agreement_number).exists():
        services.bank_agreement_create(
            actor=None,
            authority=authority,
            bank=_bank(setup.bank_reg),
            number=setup.bank_agreement_number,
            pays_from=setup.pays_from,
            disbursement_accounts=setup.disbursement_accounts,
        )
    if local_admin is not None:
        for item in setup.confirmed_items:
            if not ReadinessConfirmation.objects.filter(authority=authority, item=item).exists():
                services.readiness_confirm(
                    actor=local_admin, authority=authority, item=item, note="Demo"
                )
    clients = [
        _api_client(authority, code, client_id, secret)
        for code, (client_id, secret) in sorted(setup.api_clients.items())
    ]
    active = ConnectionAgreement.objects.filter(authority=authority, status=Status.ACTIVE)
    return {
        "bank_agreements": [
            {"number": a.number, "bank_reg": a.bank.reg}
            for a in BankAgreement.objects.filter(authority=authority).select_related("bank")
        ],
        "benefits": list(
            Benefit.objects.filter(authority=authority, is_active=True)
            .order_by("code")
            .values_list("code", flat=True)
        ),
        "payment_systems": sorted(active.values_list("payment_system__code", flat=True)),
        "api_clients": clients,
    }
