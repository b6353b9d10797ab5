"""The authority set-up endpoints: behaviour, and the permission matrix over every one of them
(issue 4, acceptance 1). A refused request answers a problem document and changes nothing."""

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from payments.models import Benefit, ConnectionAgreement, ReadinessConfirmation
from payments.tests.helpers import PERSONAS, agreement_with, login

Status = ConnectionAgreement.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(authority, units, system):
    agreement = agreement_with(authority, system, Status.IN_TEST)
    benefit = Benefit.objects.create(authority=authority, code="B1", name="Boligstøtte")
    return agreement, benefit


def state() -> dict[str, Any]:
    """Everything a refused request must leave alone."""
    return {
        "benefits": list(Benefit.objects.order_by("id").values_list("code", "name", "is_active")),
        "agreements": list(
            ConnectionAgreement.objects.values_list(
                "status", "failure_choice", "error_account_number"
            )
        ),
        "confirmations": ReadinessConfirmation.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: str
    args: tuple[str, ...]
    profile: str
    allowed: frozenset[str]
    body: dict[str, Any] | None = None
    ok: int = 200


ANY_UNIT = frozenset({"on_parent", "on_child", "on_sibling", "operator"})
WHOLE_AUTHORITY = frozenset({"on_parent", "operator"})

ENDPOINTS = [
    Endpoint(
        "benefits list",
        "get",
        "payments-benefits",
        ("kbh",),
        "nks-soeg-bet",
        ANY_UNIT | {"caseworker"},
    ),
    Endpoint(
        "benefit create",
        "post",
        "payments-benefits",
        ("kbh",),
        "nks-ydelser",
        WHOLE_AUTHORITY,
        {"code": "B2", "name": "Børnecheck"},
        201,
    ),
    Endpoint(
        "benefit get",
        "get",
        "payments-benefit",
        ("kbh", "B1"),
        "nks-soeg-bet",
        ANY_UNIT | {"caseworker"},
    ),
    Endpoint(
        "benefit update",
        "patch",
        "payments-benefit",
        ("kbh", "B1"),
        "nks-ydelser",
        WHOLE_AUTHORITY,
        {"name": "Boligydelse", "is_active": False},
    ),
    Endpoint(
        "agreements list",
        "get",
        "payments-agreements",
        ("kbh",),
        "nks-lokal-admin",
        WHOLE_AUTHORITY,
    ),
    Endpoint(
        "agreement get",
        "get",
        "payments-agreement",
        ("kbh", "kmd-ydelse"),
        "nks-lokal-admin",
        WHOLE_AUTHORITY,
    ),
    Endpoint(
        "agreement history",
        "get",
        "payments-agreement-history",
        ("kbh", "kmd-ydelse"),
        "nks-lokal-admin",
        WHOLE_AUTHORITY,
    ),
    Endpoint(
        "failure choice change",
        "put",
        "payments-agreement-failure-choice",
        ("kbh", "kmd-ydelse"),
        "nks-lokal-admin",
        WHOLE_AUTHORITY,
        {"failure_choice": "error_account", "error_account": {"reg": "3001", "number": "4711"}},
    ),
    Endpoint(
        "readiness", "get", "payments-readiness", ("kbh",), "nks-lokal-admin", WHOLE_AUTHORITY
    ),
    Endpoint(
        "readiness confirm",
        "post",
        "payments-readiness-item",
        ("kbh", "1.4"),
        "nks-lokal-admin",
        frozenset({"on_parent"}),
        {"note": "Tjekket"},
    ),
    Endpoint(
        "readiness withdraw",
        "delete",
        "payments-readiness-item",
        ("kbh", "1.5"),
        "nks-lokal-admin",
        frozenset({"on_parent"}),
    ),
]


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_permission_matrix(api, persona, setup, local_admin, endpoint, who):
    from payments import services

    # Something for "withdraw" to withdraw (written before the snapshot).
    services.readiness_confirm(actor=local_admin, authority=setup[0].authority, item="1.5")
    user = persona(who, endpoint.profile)
    login(api, user)
    before = state()
    url = reverse(endpoint.url, args=endpoint.args)
    response = getattr(api, endpoint.method)(url, endpoint.body, format="json")
    if who in endpoint.allowed:
        assert response.status_code == endpoint.ok, response.content
        return
    expected = 404 if who in ("citizen", "outsider") else 403
    assert response.status_code == expected, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == expected
    assert state() == before


# --- Behaviour -----------------------------------------------------------------------------


def test_benefits_are_created_listed_and_changed(api, authority, benefits_clerk):
    login(api, benefits_clerk)
    url = reverse("payments-benefits", args=["kbh"])
    created = api.post(url, {"code": "KONT", "name": "Kontanthjælp"}, format="json")
    assert created.status_code == 201
    assert created.json()["code"] == "KONT"
    api.post(url, {"code": "BOLIG", "name": "Boligstøtte"}, format="json")
    listed = api.get(url).json()
    assert [b["code"] for b in listed["results"]] == ["BOLIG", "KONT"]
    changed = api.patch(
        reverse("payments-benefit", args=["kbh", "KONT"]), {"is_active": False}, format="json"
    )
    assert changed.json()["is_active"] is False


def test_duplicate_benefit_code_is_a_conflict(api, authority, benefits_clerk):
    login(api, benefits_clerk)
    url = reverse("payments-benefits", args=["kbh"])
    api.post(url, {"code": "KONT", "name": "Kontanthjælp"}, format="json")
    again = api.post(url, {"code": "KONT", "name": "Andet"}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "code"


def test_benefit_code_cannot_be_changed(api, authority, benefits_clerk):
    Benefit.objects.create(authority=authority, code="B1", name="Boligstøtte")
    login(api, benefits_clerk)
    response = api.patch(
        reverse("payments-benefit", args=["kbh", "B1"]), {"code": "B2"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "code",
        "code": "unknown_field",
        "message": "Unknown field.",
    }
    assert Benefit.objects.get().code == "B1"


def test_failure_choice_change_through_the_api_shows_in_the_history(
    api, authority, local_admin, system
):
    agreement_with(authority, system, Status.ACTIVE)
    login(api, local_admin)
    url = reverse("payments-agreement-failure-choice", args=["kbh", "kmd-ydelse"])
    changed = api.put(
        url,
        {"failure_choice": "error_account", "error_account": {"reg": "3001", "number": "4711"}},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["error_account"] == {"reg": "3001", "number": "0000004711"}
    history = api.get(reverse("payments-agreement-history", args=["kbh", "kmd-ydelse"])).json()
    assert [(h["failure_choice"], h["by"]) for h in history] == [
        ("return", ""),
        ("error_account", "lokaladmin"),
    ]


def test_error_account_choice_without_account_is_refused_with_the_field(
    api, authority, local_admin, system
):
    agreement_with(authority, system, Status.ACTIVE)
    login(api, local_admin)
    url = reverse("payments-agreement-failure-choice", args=["kbh", "kmd-ydelse"])
    response = api.put(url, {"failure_choice": "error_account"}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "error_account_reg"
    assert ConnectionAgreement.objects.get().failure_choice == "return"


def test_the_local_administrator_chooses_the_waiting_account(api, authority, local_admin, system):
    agreement_with(authority, system, Status.ACTIVE)
    login(api, local_admin)
    url = reverse("payments-agreement-failure-choice", args=["kbh", "kmd-ydelse"])
    refused = api.put(
        url, {"failure_choice": "waiting", "waiting_fallback": "error_account"}, format="json"
    )
    changed = api.put(
        url,
        {
            "failure_choice": "waiting",
            "waiting_fallback": "error_account",
            "error_account": {"reg": "3001", "number": "4711"},
        },
        format="json",
    )

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "error_account_reg"
    assert changed.status_code == 200, changed.content
    assert (changed.json()["failure_choice"], changed.json()["waiting_fallback"]) == (
        "waiting",
        "error_account",
    )
    assert ConnectionAgreement.objects.get().error_account_number == "0000004711"


def test_readiness_endpoint_answers_items_with_reasons(api, authority, local_admin):
    login(api, local_admin)
    answer = api.get(reverse("payments-readiness", args=["kbh"])).json()
    assert (answer["authority"], answer["total"]) == ("kbh", 11)
    first = answer["items"][0]
    assert set(first) == {"item", "title", "met", "how", "why"}
    assert first["met"] is False
    confirmed = api.post(
        reverse("payments-readiness-item", args=["kbh", "1.9"]),
        {"note": "Se intranet"},
        format="json",
    ).json()
    item = next(i for i in confirmed["items"] if i["item"] == "1.9")
    assert item["met"] is True
    assert item["why"].endswith("Se intranet")


def test_computed_readiness_item_cannot_be_confirmed_through_the_api(api, authority, local_admin):
    login(api, local_admin)
    response = api.post(reverse("payments-readiness-item", args=["kbh", "1.1"]), {}, format="json")
    assert response.status_code == 422
    assert not ReadinessConfirmation.objects.exists()


def test_unknown_authority_is_not_found_even_for_operators(api, operator):
    login(api, operator)
    assert api.get(reverse("payments-readiness", args=["nope"])).status_code == 404


def test_schema_lists_the_endpoints(api, operator):
    login(api, operator)
    response = api.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/connection",
        "/api/v1/authorities/{code}/benefits",
        "/api/v1/authorities/{code}/readiness",
        "/api/v1/authorities/{code}/agreements/{system}/failure-choice",
    ):
        assert path in paths
