"""The registry's demo data (issue 5, acceptance 7): every channel, a pending activation with its
letter, a locked and a time-limited specific account, businesses with NemKonti; idempotent."""

import json
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings

from accounts.models import User
from nemkonto.demo import OPERATOR_USERNAME, demo_data_load
from registry.demo import BUSINESSES, PEOPLE, demo_registry_load
from registry.identifiers import parse_cpr, parse_cvr, parse_p_number
from registry.models import NemKonto, Recipient
from registry.services import activation_activate
from registry.services.activation import VIA_PHONE

pytestmark = pytest.mark.django_db
COUNTED = ("registry", "accounts", "oauth2_provider")


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for label in COUNTED
        for model in apps.get_app_config(label).get_models()
        # The record of data changes logs every write statement, idempotent ones included.
        if not model._meta.proxy and model._meta.label != "accounts.DataChange"
    }


@pytest.fixture
def demo(settings: Any) -> dict[str, Any]:
    """The whole demo (organisations, payments set-up, then the registry's part), and the
    registry's part loaded again: the second load must change nothing."""
    settings.NEMKONTO_DEMO_DATA_ALLOWED = True
    registry = demo_data_load()["registry"]  # its logins went into the list of all logins
    json.dumps(registry)  # JSON-able, for manage.py demo_data --json
    counts = _counts()
    again = demo_registry_load(
        operator=User.objects.get(username=OPERATOR_USERNAME),
        caseworker=User.objects.get(username="nemby-sagsbehandler"),
        locked_benefit="PENS",
        limited_benefit="BOLIG",
    )
    logins = again.pop("logins")
    assert again == registry
    assert _counts() == counts
    first = {**registry, "logins": logins}
    return first


def _story(demo: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in demo["recipients"] if r["story"] == key)


def test_demo_recipients_have_nemkonti_from_every_channel(demo):
    assert _story(demo, "citizen")["nemkonto"]["channel"] == "citizen"
    assert _story(demo, "bank")["nemkonto"]["channel"] == "bank"
    activated = _story(demo, "activated")["nemkonto"]
    assert (activated["channel"], activated["state"]) == ("caseworker", "active")
    assert activated["account"] == {"reg": "5301", "number": "0530112233"}
    for key in ("business", "business_unit", "business_2"):
        assert _story(demo, key)["nemkonto"]["channel"] == "bank", key
    logins = {login["username"]: login["role"] for login in demo["logins"]}
    assert logins == {"demo-karen": "citizen", "demo-mette": "citizen", "demo-byg": "business"}


def test_demo_has_a_pending_activation_whose_printed_code_works(demo):
    pending = _story(demo, "pending")
    assert pending["nemkonto"]["channel"] == "bank"  # still in force until activation
    assert pending["waiting"]["state"] == "pending"
    activation = pending["activation"]
    assert activation["letter_status"] == "unprinted"  # in the operators' print list
    version = activation_activate(
        id_type="CPR", id_number=pending["id"], code=activation["code"], via=VIA_PHONE
    )
    assert version.pk == pending["waiting"]["version"]
    assert version.state == "active"


def test_demo_has_a_locked_and_a_time_limited_specific_account(demo):
    (locked,) = _story(demo, "locked")["specific_accounts"]
    (limited,) = _story(demo, "limited")["specific_accounts"]
    assert (locked["benefit"], locked["locked"], locked["end_date"]) == ("PENS", True, None)
    assert (limited["benefit"], limited["locked"]) == ("BOLIG", False)
    assert limited["end_date"] is not None


def test_demo_bank_reported_nine_in_ten_synthetic_persons_in_bulk(demo):
    report = demo["bulk_report"]
    assert (report["status"], report["received"], report["changed"]) == ("done", 360, 360)
    assert NemKonto.objects.filter(channel="bank", state="active").count() >= 360
    assert demo["bank_client"]["scopes"] == ["bank"]


def test_demo_numbers_are_synthetic():
    """Valid IDs that cannot be real: CPR not born 1 January and failing modulus 11, CVR from
    50000000, P-numbers from 9000000000 (registry.synthetic_register's rules)."""
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    for person in PEOPLE:
        parse_cpr(person.number)
        assert person.number[:4] != "0101"
        assert sum(int(d) * w for d, w in zip(person.number, weights, strict=True)) % 11
    for business in BUSINESSES:
        if business.id_type == "CVR":
            assert int(parse_cvr(business.number).number) >= 50_000_000
        else:
            assert int(parse_p_number(business.number).number) >= 9_000_000_000
    assert settings.LANGUAGE_CODE  # the module imports cleanly with the project settings
    assert not Recipient.objects.exists()
