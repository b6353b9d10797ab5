"""The missing-account work list (issue 9): which recipients the authority is going to pay have no
usable account, as JSON (paged) and CSV, for a posted list of IDs, and as webhook events."""

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.api_clients import api_client_create
from accounts.models import ApiClient
from payments import pipeline
from payments.callbacks import callback_set
from payments.missing_accounts import missing_accounts_scan
from payments.models import CallbackDelivery, ConnectionAgreement, MissingAccountSubscription
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITHOUT_ACCOUNT,
    CPR_WITHOUT_ADDRESS,
    World,
    _nemkonto,
    payment,
)
from payments.tests.test_pipeline_stages import submit
from registry.models import LookupLog, NemKonto, Recipient

pytestmark = pytest.mark.django_db
URL = "/api/v1/missing-accounts"


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)
    monkeypatch.setattr("payments.tasks.missing_accounts_scan.delay", lambda: None)


@pytest.fixture
def pending(world: World, client: Client) -> World:
    """Waiting payments to two recipients without an account, and others that are fine."""
    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(failure_choice="waiting")
    batch = submit(
        world,
        client,
        [
            payment("W1", CPR_WITHOUT_ACCOUNT, amount="100.00"),
            payment("W2", CPR_WITHOUT_ACCOUNT, amount="23.45"),
            payment("W3", CPR_WITHOUT_ADDRESS, amount="5.00", benefit="KONTANT"),
            payment("OK", CPR_WITH_NEMKONTO),
            payment("GIVEN", CPR_WITHOUT_ACCOUNT, account={"reg": "5301", "number": "77"}),
            payment("UNKNOWN", CPR_NOT_IN_REGISTER),
        ],
    )
    pipeline.batch_process(str(batch.pk))
    return world


def bearer(world: World, client: Client, scope: str = "payments") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token(client, scope)}"}


def test_the_list_names_the_recipients_without_a_usable_account(pending, client):
    response = client.get(URL, headers=bearer(pending, client))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None
    assert [
        (item["recipient"]["id"], item["payments"], item["amount"]) for item in body["results"]
    ] == [
        (CPR_WITHOUT_ACCOUNT, 2, "123.45"),
        (CPR_WITHOUT_ADDRESS, 1, "5.00"),
    ]
    first = body["results"][0]
    assert first["waiting"] is True
    assert first["benefits"] == ["BOERNECHECK"]
    assert first["cut_off"].endswith("06:00:00+01:00")
    # Each CPR number told is a logged look-up.
    logged = LookupLog.objects.filter(purpose="missing-account work list")
    assert logged.count() == 2
    assert set(logged.values_list("result", flat=True)) == {"no"}


def test_an_account_deleted_after_attach_puts_a_completed_payment_on_the_list(world, client):
    batch = submit(world, client, [payment("OK", CPR_WITH_NEMKONTO)])
    pipeline.batch_process(str(batch.pk))
    assert client.get(URL, headers=bearer(world, client)).json()["results"] == []

    NemKonto.objects.filter(recipient__id_number=CPR_WITH_NEMKONTO).update(
        state="ended", ended_at=timezone.now(), end_reason="deleted"
    )

    [item] = client.get(URL, headers=bearer(world, client)).json()["results"]
    assert item["recipient"]["id"] == CPR_WITH_NEMKONTO
    assert item["waiting"] is False


def test_pages_follow_the_cursor(pending, client, monkeypatch):
    monkeypatch.setattr("payments.missing_accounts_api.PAGE_SIZE", 1)
    first = client.get(URL, headers=bearer(pending, client)).json()
    second = client.get(first["next"], headers=bearer(pending, client)).json()

    assert [item["recipient"]["id"] for item in first["results"]] == [CPR_WITHOUT_ACCOUNT]
    assert [item["recipient"]["id"] for item in second["results"]] == [CPR_WITHOUT_ADDRESS]
    assert second["next"] is None
    bad = client.get(f"{URL}?cursor=nonsense", headers=bearer(pending, client))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


def test_the_list_as_csv(pending, client):
    response = client.get(f"{URL}?format=csv", headers=bearer(pending, client))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == (
        "recipient_type,recipient_id,payments,amount,first_value_date,cut_off,benefits,waiting"
    )
    assert lines[1].startswith(f"CPR,{CPR_WITHOUT_ACCOUNT},2,123.45,")
    assert lines[2].endswith(",KONTANT,yes")
    assert len(lines) == 3


def test_an_authority_client_asks_about_a_list_of_ids(pending, client):
    auth = token(client, "resolve", authority=pending.authority)
    body = {
        "recipients": [
            {"type": "CPR", "id": CPR_WITH_NEMKONTO},
            {"type": "CPR", "id": CPR_WITHOUT_ACCOUNT},
            {"type": "CPR", "id": CPR_NOT_IN_REGISTER},
        ]
    }

    answer = client.post(URL, body, content_type="application/json", headers=auth)
    csv = client.post(f"{URL}?format=csv", body, content_type="application/json", headers=auth)
    malformed = client.post(
        URL,
        {"recipients": [{"type": "CPR", "id": "3213901234"}]},
        content_type="application/json",
        headers=auth,
    )

    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "checked": 3,
        "results": [
            {"type": "CPR", "id": CPR_WITHOUT_ACCOUNT, "result": "no"},
            {"type": "CPR", "id": CPR_NOT_IN_REGISTER, "result": "unknown_id"},
        ],
    }
    assert b"".join(csv.streaming_content).decode().splitlines()[1:] == [
        f"CPR,{CPR_WITHOUT_ACCOUNT},no",
        f"CPR,{CPR_NOT_IN_REGISTER},unknown_id",
    ]
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "recipients[0].id"


def token(client: Client, scope: str, **binding: Any) -> dict[str, str]:
    kind = {"bank": ApiClient.Kind.BANK, "resolve": ApiClient.Kind.AUTHORITY}[scope]
    credentials = api_client_create(actor=None, kind=kind, name=f"{scope} client", **binding)
    answer = client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "scope": scope,
        },
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_bank_client_is_refused(pending, client):
    response = client.get(URL, headers=token(client, "bank", bank=pending.bank))
    assert response.status_code == 403
    assert not LookupLog.objects.exists()


def test_another_authoritys_client_sees_nothing_of_it(pending, client):
    from accounts.tests.factories import AuthorityFactory

    other = AuthorityFactory.create(code="andre", name="Anden Styrelse")
    response = client.get(URL, headers=token(client, "resolve", authority=other))
    assert response.status_code == 200
    assert response.json()["results"] == []


def _events() -> list[dict[str, Any]]:
    return [
        delivery.payload
        for delivery in CallbackDelivery.objects.filter(event="missing_accounts").order_by("id")
    ]


def test_subscribers_are_told_when_recipients_appear_and_when_they_are_resolved(
    pending, client, receiver
):
    auth = bearer(pending, client)
    refused = client.put(f"{URL}/subscription", headers=auth)
    assert refused.status_code == 409
    assert not MissingAccountSubscription.objects.exists()
    callback_set(client=pending.api_client, url=receiver.url)

    subscribed = client.put(f"{URL}/subscription", headers=auth)

    assert subscribed.json()["subscribed"] is True
    missing_accounts_scan()
    [first] = _events()
    assert first["event"] == "missing_accounts"
    assert [item["recipient"]["id"] for item in first["missing"]] == [
        CPR_WITHOUT_ACCOUNT,
        CPR_WITHOUT_ADDRESS,
    ]
    assert first["resolved"] == []
    # Nothing new: no event.
    missing_accounts_scan()
    assert len(_events()) == 1
    # One of them registers an account: told as resolved (scanned for that recipient).
    recipient = Recipient.objects.get(id_number=CPR_WITHOUT_ACCOUNT)
    _nemkonto(recipient, "3000", "0005556667")
    missing_accounts_scan(recipient_ids=[recipient.pk])
    second = _events()[1]
    assert second["missing"] == []
    assert second["resolved"] == [{"recipient": {"type": "CPR", "id": CPR_WITHOUT_ACCOUNT}}]
    assert json.loads(json.dumps(second))  # serialisable as sent

    removed = client.delete(f"{URL}/subscription", headers=auth)
    assert removed.json()["subscribed"] is False
