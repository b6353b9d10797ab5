"""Demo data for ``make run`` and ``manage.py demo_data``: idempotent, so loading twice changes
nothing. Each domain app contributes its part (``accounts.demo``, ``payments.demo``); this module
says what the demo world contains.

The operator's demo login uses a fixed password that is printed (the admin); everyone else logs in
through the local OpenID provider (``portal.demo_identities``). Loading refuses to run unless the
settings allow demo data (never in production).
"""

import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.demo import DemoAuthority, DemoEmployee, DemoUnit, demo_organisation_load
from accounts.models import Authority, Bank, LosUnit, User
from accounts.onboarding import ConnectionRequest
from accounts.onboarding_services import ConnectionRequestData, connection_request_submit
from payments.calendar import add_bank_days
from payments.demo import DemoPaymentSetup, demo_payments_load
from payments.demo_batch import demo_batch_submit
from payments.readiness import MANUAL_ITEMS
from registry.demo import demo_registry_load

OPERATOR_USERNAME = "operator"
OPERATOR_PASSWORD = "drift-demo-2026"  # noqa: S105 - a printed demo login, refused in production

MUNICIPALITY = DemoAuthority(
    code="nemby",
    name="Nemby Kommune",
    kind=Authority.Kind.MUNICIPALITY,
    cvr="29189846",
    tree=DemoUnit(
        "NEMBY",
        "Nemby Kommune",
        (
            DemoUnit(
                "BORGER",
                "Borgerservice",
                (DemoUnit("YDELSE", "Ydelseskontoret"), DemoUnit("PENSION", "Pensionskontoret")),
            ),
            DemoUnit("JOB", "Jobcenter", (DemoUnit("KONTANT", "Kontanthjælp"),)),
            DemoUnit("OEKONOMI", "Økonomi", (DemoUnit("OPKR", "Opkrævningen"),)),
        ),
    ),
    employees=(
        DemoEmployee(
            "nemby-admin",
            "Lone",
            "Lokaladmin",
            "local administrator",
            (("nks-lokal-admin", "NEMBY"),),
        ),
        DemoEmployee(
            "nemby-sagsbehandler",
            "Søren",
            "Sagsbehandler",
            "caseworker",
            (("nks-opdater-nemkonto", "BORGER"), ("nks-opdater-speckonto", "BORGER")),
        ),
        DemoEmployee(
            "nemby-betaling",
            "Bente",
            "Betaling",
            "caseworker",
            (("nks-soeg-bet", "NEMBY"), ("nks-soeg-gennemf-bet", "NEMBY"), ("nks-stop-bet", "JOB")),
        ),
        DemoEmployee("nemby-ydelser", "Yrsa", "Ydelser", "caseworker", (("nks-ydelser", "NEMBY"),)),
    ),
)

STATE_AGENCY = DemoAuthority(
    code="ustyr",
    name="Udbetalingsstyrelsen",
    kind=Authority.Kind.STATE,
    cvr="12345674",
    tree=DemoUnit(
        "USTYR",
        "Udbetalingsstyrelsen",
        (
            DemoUnit("BK1", "Bogføringskreds 1, pension", (DemoUnit("BK1-FP", "Folkepension"),)),
            DemoUnit("BK2", "Bogføringskreds 2, familieydelser"),
        ),
    ),
    employees=(
        DemoEmployee(
            "ustyr-admin",
            "Anders",
            "Administrator",
            "local administrator",
            (("nks-lokal-admin", "USTYR"),),
        ),
        DemoEmployee(
            "ustyr-sagsbehandler",
            "Sara",
            "Styrelse",
            "caseworker",
            (("nks-opdater-nemkonto", "USTYR"), ("nks-soeg-bet", "BK1"), ("nks-ydelser", "USTYR")),
        ),
    ),
)

PAYMENT_SETUPS = {
    "nemby": DemoPaymentSetup(
        bank_reg="3000",
        bank_agreement_number="NEMBY-3000-01",
        disbursement_accounts=(("3000", "4001234567"),),
        pays_from=datetime.date(2026, 12, 1),
        benefits=(
            ("KONT", "Kontanthjælp"),
            ("BOLIG", "Boligstøtte"),
            ("PENS", "Personligt tillæg"),
        ),
        active_systems=("kmd-ydelse",),
        systems_in_test=("opus-debitor",),
        confirmed_items=tuple(sorted(item.value for item in MANUAL_ITEMS)),
        api_clients={"kmd-ydelse": ("demo-nemby-kmd", "demo-secret-nemby-kmd-2026")},
    ),
    "ustyr": DemoPaymentSetup(
        bank_reg="0400",
        bank_agreement_number="USTYR-0400-01",
        disbursement_accounts=(("0400", "4000123456"), ("0400", "4000123457")),
        pays_from=datetime.date(2026, 12, 1),
        benefits=(("FP", "Folkepension"), ("BBY", "Børne- og ungeydelse")),
        active_systems=("sap-stat", "kmd-ydelse"),
        failure_choice="cheque",
        api_clients={"sap-stat": ("demo-ustyr-sap", "demo-secret-ustyr-sap-2026")},
    ),
}


class DemoDataNotAllowed(Exception):
    """Raised when the settings do not allow demo data."""


def _operator() -> User:
    operator, created = User.objects.get_or_create(
        username=OPERATOR_USERNAME,
        defaults={
            "first_name": "Drift",
            "last_name": "Operatør",
            "email": "drift@nemkonto.example",
            "kind": User.Kind.OPERATOR,
            "is_staff": True,
            "is_superuser": True,
        },
    )
    if created:
        operator.set_password(OPERATOR_PASSWORD)
        operator.save(update_fields=["password"])
    return operator


def _connection_request(local_admin: User) -> dict[str, Any]:
    """The state agency's request to connect a new payment system, submitted and waiting for an
    operator's decision in the admin (made once: reloading finds it)."""
    authority = local_admin.authority
    assert authority is not None
    request = ConnectionRequest.objects.filter(authority=authority).first()
    if request is None:
        setup = PAYMENT_SETUPS[authority.code]
        data = ConnectionRequestData(
            new_system=True,
            payment_system=None,
            system_name="Navision Stat",
            system_vendor="Demo Leverandør A/S",
            units=[LosUnit.objects.get(authority=authority, parent=None)],
            bank=Bank.objects.get(reg=setup.bank_reg),
            bank_agreement_number=setup.bank_agreement_number,
            disbursement_reg="",
            disbursement_number="",
            failure_choice="return",
            waiting_fallback="return",
            error_account_reg="",
            error_account_number="",
            go_live_on=add_bank_days(timezone.localdate(), 20),
            contact_name=local_admin.get_full_name(),
            contact_email="nemkonto@ustyr.example.dk",
            contact_phone="33 12 34 56",
            technical_name="Demo Leverandør A/S, support",
            technical_email="support@leverandoer.example.dk",
            technical_phone="70 12 34 56",
        )
        request = connection_request_submit(actor=local_admin, authority=authority, data=data)
    return {"id": request.pk, "system": request.system_label, "status": request.status}


def demo_data_load() -> dict[str, Any]:
    """Create the demo data if missing and describe it; raises DemoDataNotAllowed in production."""
    if not settings.NEMKONTO_DEMO_DATA_ALLOWED:
        raise DemoDataNotAllowed("Demo data is refused by these settings (production).")
    with transaction.atomic():
        operator = _operator()
        logins: list[dict[str, Any]] = [
            {"username": operator.username, "password": OPERATOR_PASSWORD, "role": "operator"}
        ]
        authorities = []
        for spec in (MUNICIPALITY, STATE_AGENCY):
            organisation = demo_organisation_load(actor=operator, spec=spec)
            admin = next(u for u in organisation["staff"].values() if u.username.endswith("-admin"))
            payments = demo_payments_load(
                authority=organisation["authority"],
                local_admin=admin,
                setup=PAYMENT_SETUPS[spec.code],
            )
            logins += organisation["logins"]
            authorities.append(
                {
                    "code": spec.code,
                    "name": spec.name,
                    "kind": spec.kind,
                    "los_units": organisation["los_units"],
                    **payments,
                }
            )
        registry = demo_registry_load(
            operator=operator,
            caseworker=User.objects.get(username="nemby-sagsbehandler"),
            locked_benefit="PENS",
            limited_benefit="BOLIG",
        )
        logins += registry.pop("logins")
        connection_request = _connection_request(User.objects.get(username="ustyr-admin"))
        batch = demo_batch_submit(
            client_id=PAYMENT_SETUPS["nemby"].api_clients["kmd-ydelse"][0],
            bank_agreement_number=PAYMENT_SETUPS["nemby"].bank_agreement_number,
            los_unit="KONTANT",
        )
    return {
        "logins": logins,
        "authorities": authorities,
        "registry": registry,
        "connection_request": connection_request,
        "batch": batch,
    }
