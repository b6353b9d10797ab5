"""The demo data: idempotent, and its JSON describes what a payment system needs (API.md)."""

import json
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command

pytestmark = pytest.mark.django_db

COUNTED = ("accounts", "payments", "oauth2_provider")


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for label in COUNTED
        for model in apps.get_app_config(label).get_models()
        # The record of data changes logs every write statement, idempotent ones included.
        if not model._meta.proxy and model._meta.label != "accounts.DataChange"
    }


def _demo_json() -> dict[str, Any]:
    out = StringIO()
    call_command("demo_data", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_loading_twice_duplicates_nothing() -> None:
    first = _demo_json()
    counts = _counts()
    assert _demo_json() == first
    assert _counts() == counts
    assert counts["accounts.User"] == 10
    assert counts["accounts.Authority"] == 2


def test_demo_json_lists_authorities_with_what_a_payment_system_needs() -> None:
    demo = _demo_json()
    by_code = {a["code"]: a for a in demo["authorities"]}
    nemby, state = by_code["nemby"], by_code["ustyr"]
    assert nemby["kind"] == "municipality"
    assert state["kind"] == "state"
    # A three-level LOS tree for the municipality.
    assert {"NEMBY", "BORGER", "YDELSE"} <= set(nemby["los_units"])
    assert nemby["bank_agreements"] == [{"number": "NEMBY-3000-01", "bank_reg": "3000"}]
    # Only active agreements are listed: opus-debitor is still in test.
    assert nemby["payment_systems"] == ["kmd-ydelse"]
    assert state["payment_systems"] == ["kmd-ydelse", "sap-stat"]
    roles = {login["username"]: login["role"] for login in demo["logins"]}
    assert roles["nemby-admin"] == roles["ustyr-admin"] == "local administrator"
    assert roles["operator"] == "operator"


def test_a_connection_request_waits_for_the_operator() -> None:
    from accounts.models import ConnectionRequest

    described = _demo_json()["connection_request"]

    request = ConnectionRequest.objects.get()
    assert described == {
        "id": request.pk,
        "system": "Navision Stat (Demo Leverandør A/S)",
        "status": "submitted",
    }
    assert request.authority.code == "ustyr"
    assert request.requested_by.username == "ustyr-admin"


def test_only_the_operator_has_a_password_everyone_else_logs_in_with_mitid() -> None:
    from accounts.models import User
    from portal.demo_identities import demo_identities

    demo = _demo_json()
    with_password = [x["username"] for x in demo["logins"] if "password" in x]
    assert with_password == ["operator"]
    login = next(x for x in demo["logins"] if x["username"] == "nemby-sagsbehandler")
    assert login["login_with"] == "MitID Erhverv"
    assert not User.objects.get(username="nemby-sagsbehandler").has_usable_password()
    # Every portal login of the demo is an identity at the local OpenID provider.
    identities = {identity.sub for identity in demo_identities()}
    assert {x["username"] for x in demo["logins"]} - identities == {"operator"}


def test_the_demo_batch_is_received_once_and_processes_to_every_outcome() -> None:
    from payments import pipeline
    from payments.models import Batch, Payment

    demo = _demo_json()
    batch_id = demo["batch"]["batch_id"]
    assert _demo_json()["batch"]["batch_id"] == batch_id
    assert Batch.objects.count() == 1
    assert demo["batch"]["received"] == Payment.objects.filter(batch_id=batch_id).count() > 40

    pipeline.batch_process(batch_id)

    codes = set(Payment.objects.filter(batch_id=batch_id).values_list("return_code", flat=True))
    assert {0, 1, 2, 7} <= codes
    sources = set(Payment.objects.values_list("account_source", flat=True))
    assert {"nemkonto", "specific"} <= sources
