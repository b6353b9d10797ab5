"""The permission matrix over every registry endpoint (ARCHITECTURE.md section 3): anonymous,
the citizen, another citizen, a caseworker without the profile, a caseworker of another authority
(with every profile there), and the permitted user. A refused request changes nothing."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, User
from registry.models import ActivationLetter, LookupLog, NemKonto, Notice, SpecificAccount
from registry.services import (
    nemkonto_change_by_caseworker,
    nemkonto_set,
    specific_account_create,
)
from registry.tests.conftest import CITIZEN_CPR, CODE, DANISH, DANISH_2, TELEPHONY_KEY

pytestmark = pytest.mark.django_db
PERSONAS = ("anonymous", "citizen", "another_citizen", "caseworker", "outsider", "permitted")


@dataclass
class World:
    letter: ActivationLetter


@pytest.fixture
def world(citizen_in_register, other_person, nk_caseworker, sa_caseworker, benefit, operator):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    specific_account_create(
        actor=sa_caseworker, id_type="CPR", id_number=CITIZEN_CPR, benefit_code="KP", account=DANISH
    )
    pending = nemkonto_change_by_caseworker(
        actor=nk_caseworker, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH_2
    )
    return World(letter=pending.letter)


def state() -> dict[str, Any]:
    """Everything a refused request must leave alone."""
    return {
        "nemkonto": list(NemKonto.objects.order_by("id").values_list("id", "state")),
        "specific": list(SpecificAccount.objects.order_by("id").values_list("id", "state")),
        "letters": list(ActivationLetter.objects.values_list("id", "status", "attempts")),
        "notices": Notice.objects.count(),
        "audit": AuditEvent.objects.count(),
        "lookups": LookupLog.objects.count(),
    }


def citizen_state() -> dict[str, Any]:
    """The citizen's own records (another citizen acting on their own must not touch these)."""
    return {
        "nemkonto": list(
            NemKonto.objects.filter(recipient__id_number=CITIZEN_CPR)
            .order_by("id")
            .values_list("id", "state")
        ),
        "specific": list(
            SpecificAccount.objects.filter(recipient__id_number=CITIZEN_CPR)
            .order_by("id")
            .values_list("id", "state")
        ),
    }


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable[[World], str]
    permitted: str  # the fixture of the permitted user
    ok: int
    body: dict[str, Any] | None = None
    # Other personas that may call it, on their own records or with an empty answer.
    also: dict[str, int] = field(default_factory=dict)
    # Denied answers other than 403.
    denied: dict[str, int] = field(default_factory=dict)
    # A refused look-up by someone who may look up at all is still logged.
    logs_refusals: frozenset[str] = frozenset()


def fixed(name: str, *args: str) -> Callable[[World], str]:
    return lambda world: reverse(name, args=args)


ME_SA = fixed("registry-me-specific-account", "kbh", "KP")
CW_SA = fixed("registry-caseworker-specific-account", "CPR", CITIZEN_CPR, "KP")
TODAY = "2026-01-01"

ENDPOINTS = [
    Endpoint(
        "me nemkonto get",
        "get",
        fixed("registry-me-nemkonto"),
        "citizen",
        200,
        also={"another_citizen": 200},
    ),
    Endpoint(
        "me nemkonto put",
        "put",
        fixed("registry-me-nemkonto"),
        "citizen",
        200,
        {"account": DANISH_2},
        also={"another_citizen": 200},
    ),
    Endpoint(
        "me nemkonto delete",
        "delete",
        fixed("registry-me-nemkonto"),
        "citizen",
        204,
        denied={"another_citizen": 409},
    ),
    Endpoint(
        "me activation",
        "post",
        fixed("registry-me-activation"),
        "citizen",
        200,
        {"code": CODE},
        denied={"another_citizen": 404},
    ),
    Endpoint(
        "me specific accounts",
        "get",
        fixed("registry-me-specific-accounts"),
        "citizen",
        200,
        also={"another_citizen": 200},
    ),
    Endpoint(
        "me specific account change",
        "patch",
        ME_SA,
        "citizen",
        200,
        {"account": DANISH_2},
        denied={"another_citizen": 404},
    ),
    Endpoint(
        "me specific account delete",
        "delete",
        ME_SA,
        "citizen",
        204,
        denied={"another_citizen": 404},
    ),
    Endpoint(
        "me lookups",
        "get",
        fixed("registry-me-lookups"),
        "citizen",
        200,
        also={"another_citizen": 200},
    ),
    Endpoint(
        "caseworker nemkonto",
        "post",
        fixed("registry-caseworker-nemkonto"),
        "nk_caseworker",
        202,
        {
            "recipient": {"type": "CPR", "id": CITIZEN_CPR},
            "account": {"reg": "3000", "number": "55"},
        },
        # Any authority's caseworker with the profile registers a NemKonto on request.
        also={"outsider": 202},
    ),
    Endpoint(
        "caseworker specific accounts list",
        "get",
        lambda w: reverse("registry-caseworker-specific-accounts") + f"?type=CPR&id={CITIZEN_CPR}",
        "sa_caseworker",
        200,
        also={"outsider": 200},
    ),
    Endpoint(
        "caseworker specific account create",
        "post",
        fixed("registry-caseworker-specific-accounts"),
        "sa_caseworker",
        201,
        {"recipient": {"type": "CPR", "id": "0202851234"}, "benefit": "KP", "account": DANISH},
        denied={"outsider": 404},
    ),
    Endpoint(
        "caseworker specific account get",
        "get",
        CW_SA,
        "sa_caseworker",
        200,
        denied={"outsider": 404},
        logs_refusals=frozenset({"outsider"}),
    ),
    Endpoint(
        "caseworker specific account change",
        "patch",
        CW_SA,
        "sa_caseworker",
        200,
        {"locked": True},
        denied={"outsider": 404},
    ),
    Endpoint(
        "caseworker specific account delete",
        "delete",
        CW_SA,
        "sa_caseworker",
        204,
        denied={"outsider": 404},
    ),
    Endpoint(
        "control list",
        "get",
        lambda w: reverse("registry-control-list", args=["kbh"]) + f"?from={TODAY}&to=2030-12-31",
        "controller",
        200,
        denied={"outsider": 404, "citizen": 404, "another_citizen": 404},
    ),
    Endpoint("letters", "get", fixed("registry-letters"), "operator", 200),
    Endpoint(
        "letters mark",
        "post",
        fixed("registry-letters-mark"),
        "operator",
        200,
        {"ids": [1, 2, 3], "status": "printed"},
    ),
    Endpoint(
        "letter pdf",
        "get",
        lambda w: reverse("registry-letter-pdf", args=[w.letter.pk]),
        "operator",
        200,
    ),
]


def user_for(request: pytest.FixtureRequest, who: str, endpoint: Endpoint) -> User | None:
    if who == "anonymous":
        return None
    return request.getfixturevalue(endpoint.permitted if who == "permitted" else who)


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_session_endpoints(request, api, login, world, endpoint, who):
    request.getfixturevalue("another_citizen")
    login(user_for(request, who, endpoint))
    before, before_citizen = state(), citizen_state()
    response = getattr(api, endpoint.method)(endpoint.url(world), endpoint.body, format="json")

    if who in ("permitted", endpoint.permitted):
        assert response.status_code == endpoint.ok, response.content
        return
    if who in endpoint.also:
        assert response.status_code == endpoint.also[who], response.content
        if who == "another_citizen":
            assert citizen_state() == before_citizen  # only their own records, if any
            assert CITIZEN_CPR not in response.content.decode()
            assert "****4567" not in response.content.decode()
        return
    expected = endpoint.denied.get(who, 403)
    assert response.status_code == expected, response.content
    assert response["Content-Type"] == "application/problem+json"
    after = state()
    if who in endpoint.logs_refusals:
        assert after.pop("lookups") == before.pop("lookups") + 1
    assert after == before


# --- Machine endpoints: OAuth2 clients and the telephony provider ---------------------------------

CLIENTS = ("no_token", "session_citizen", "bank", "resolve", "other_authority", "payments")


@dataclass(frozen=True)
class ClientEndpoint:
    name: str
    method: str
    url: str
    body: dict[str, Any] | None
    allowed: dict[str, int]


CLIENT_ENDPOINTS = [
    ClientEndpoint(
        "lookup",
        "get",
        f"/api/v1/recipients/CPR/{CITIZEN_CPR}/account?purpose=test",
        None,
        {"resolve": 200, "other_authority": 200, "payments": 200},
    ),
    ClientEndpoint(
        "bulk resolve",
        "post",
        "/api/v1/resolve",
        {"recipients": [{"type": "CPR", "id": CITIZEN_CPR}]},
        {"resolve": 200, "other_authority": 200, "payments": 200},
    ),
    ClientEndpoint(
        "bank report",
        "put",
        f"/api/v1/nemkonto/CPR/{CITIZEN_CPR}",
        {"account": {"reg": "3000", "number": "77"}},
        {"bank": 200},
    ),
    ClientEndpoint(
        "phone activation",
        "post",
        "/api/v1/activation",
        {"recipient": {"type": "CPR", "id": CITIZEN_CPR}, "code": CODE},
        {"telephony": 200},
    ),
]


@pytest.mark.parametrize("who", [*CLIENTS, "telephony"])
@pytest.mark.parametrize("endpoint", CLIENT_ENDPOINTS, ids=lambda e: e.name)
def test_client_endpoints(
    request,
    api,
    world,
    bank_client,
    resolve_client,
    other_resolve_client,
    payment_client,
    endpoint,
    who,
):
    from payments.models import ConnectionAgreement

    headers: dict[str, str] = {}
    clients = {
        "bank": bank_client,
        "resolve": resolve_client,
        "other_authority": other_resolve_client,
    }
    if who in clients:
        headers = clients[who].headers
    elif who == "payments":
        headers = payment_client(ConnectionAgreement.Status.ACTIVE).headers
    elif who == "telephony":
        headers = {"X-Telephony-Key": TELEPHONY_KEY}
    elif who == "session_citizen":
        api.force_login(request.getfixturevalue("citizen"))
    before = state()
    response = getattr(api, endpoint.method)(
        endpoint.url, endpoint.body, format="json", headers=headers
    )
    if who in endpoint.allowed:
        assert response.status_code == endpoint.allowed[who], response.content
        return
    # No bearer token: 401 (the telephony endpoint knows no tokens: 403).
    no_token = who in ("no_token", "session_citizen", "telephony")
    expected = 401 if no_token and endpoint.name != "phone activation" else 403
    assert response.status_code == expected, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert state() == before
