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
        if not model._meta.proxy
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


def test_demo_caseworker_can_log_in_on_the_portal(client) -> None:
    demo = _demo_json()
    login = next(x for x in demo["logins"] if x["username"] == "nemby-sagsbehandler")
    response = client.post(
        "/log-ind/", {"username": login["username"], "password": login["password"]}
    )
    assert response.status_code == 302
    assert client.get("/api/v1/admin/units").status_code == 403  # not a local administrator


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
