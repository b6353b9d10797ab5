"""The payments part of the demo data: idempotent, and the checklist tells what is met."""

import datetime
from urllib.parse import urlencode

import pytest

from accounts.models import AuditEvent
from accounts.tests.factories import grant
from payments.demo import DemoPaymentSetup, demo_payments_load
from payments.models import ConnectionAgreement
from payments.readiness import MANUAL_ITEMS, readiness_for
from payments.tests.helpers import employee

pytestmark = pytest.mark.django_db

SETUP = DemoPaymentSetup(
    bank_reg="3000",
    bank_agreement_number="DEMO-10001",
    disbursement_accounts=(("3000", "4711"),),
    pays_from=datetime.date(2026, 12, 1),
    benefits=(("KONT", "Kontanthjælp"), ("BOLIG", "Boligstøtte")),
    active_systems=("kmd-ydelse",),
    systems_in_test=("opus-debitor",),
    confirmed_items=tuple(sorted(i.value for i in MANUAL_ITEMS)),
    api_clients={"kmd-ydelse": ("demo-kbh-kmd", "demo-secret-kbh-kmd-0123456789")},
)


def test_demo_payments_load_is_idempotent_and_describes_the_set_up(
    client, authority, units, local_admin
):
    first = demo_payments_load(authority=authority, local_admin=local_admin, setup=SETUP)
    audited = AuditEvent.objects.count()
    again = demo_payments_load(authority=authority, local_admin=local_admin, setup=SETUP)
    assert first == again
    assert AuditEvent.objects.count() == audited
    assert first["bank_agreements"] == [{"number": "DEMO-10001", "bank_reg": "3000"}]
    assert first["benefits"] == ["BOLIG", "KONT"]
    assert first["payment_systems"] == ["kmd-ydelse"]  # opus-debitor is only in test
    statuses = dict(ConnectionAgreement.objects.values_list("payment_system__code", "status"))
    assert statuses == {"kmd-ydelse": "active", "opus-debitor": "in_test"}

    clerk = employee(authority=authority)
    for profile in ("nks-opdater-nemkonto", "nks-opdater-speckonto", "nks-soeg-bet"):
        grant(clerk, profile, units.root)
    assert all(item.met for item in readiness_for(authority))

    credentials = first["api_clients"][0]
    token = client.post(
        "/o/token/",
        urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
                "scope": "payments",
            }
        ),
        content_type="application/x-www-form-urlencoded",
    ).json()["access_token"]
    answer = client.get("/api/v1/connection", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["authority"]["code"] == "kbh"
