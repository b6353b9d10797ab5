"""Callbacks to payment systems (API.md, Callbacks): registering the URL, what is enqueued, and
delivery to a real HTTP server on 127.0.0.1, signed, retried and never repeated for one status."""

import datetime
import hashlib
import hmac
import json
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.api_clients import api_client_create
from accounts.models import ApiClient, AuditEvent
from nemkonto.errors import PermissionDenied, ValidationFailed
from payments.callback_tasks import callbacks_dispatch
from payments.callbacks import (
    callback_backoff,
    callback_set,
    callbacks_deliver,
    callbacks_enqueue,
)
from payments.models import Batch, CallbackDelivery, ConnectionAgreement, Payment
from payments.tests.callback_receiver import Received, Receiver
from payments.tests.pipeline_world import World

pytestmark = pytest.mark.django_db

ENDPOINT = "/api/v1/callback"


def signed_by(secret: str, request: Received) -> bool:
    """What the receiver is told to do: HMAC-SHA256 over the raw body, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["x-nemkonto-signature"])


# --- Building batches ---------------------------------------------------------------------------


def make_batch(
    world: World,
    *,
    status: str = Batch.Status.COMPLETED,
    touched_at: datetime.datetime | None = None,
    client: ApiClient | None = None,
    payments: Sequence[tuple[str, int | None]] = (),
) -> Batch:
    now = timezone.now()
    batch = Batch.objects.create(
        authority=world.authority,
        payment_system=world.system,
        agreement=world.agreement,
        los_unit=world.unit,
        bank_agreement=world.bank_agreement,
        api_client=client or world.api_client,
        source_format="json",
        request_hash="x",
        expected_value_date=now.date(),
        cut_off=now,
        status=status,
        touched_at=touched_at or now,
    )
    Payment.objects.bulk_create(
        Payment(
            batch=batch,
            line=line,
            authority=world.authority,
            los_unit=world.unit,
            payment_system=world.system,
            bank_agreement=world.bank_agreement,
            reference=f"{str(batch.pk)[:8]}-{line}",
            amount_ore=10000,
            value_date=now.date(),
            received_at=now,
            status=payment_status,
            return_code=code,
        )
        for line, (payment_status, code) in enumerate(payments, start=1)
    )
    return batch


MIXED = [
    ("completed", 0),
    ("completed", 0),
    ("completed", 0),
    ("rejected", 1),
    ("rejected", 2),
    ("failed", 7),
    ("received", None),
]


@pytest.fixture
def registered(world: World, receiver: Receiver) -> str:
    """The world's client has the receiver as its callback URL; the secret it was given."""
    secret = callback_set(client=world.api_client, url=receiver.url)
    assert secret is not None
    return secret


# --- Delivery -----------------------------------------------------------------------------------


def test_a_status_change_is_posted_signed_with_the_counts(
    world: World, receiver: Receiver, registered: str
) -> None:
    batch = make_batch(world, payments=MIXED)

    assert callbacks_enqueue() == 1
    assert callbacks_deliver() == {"delivered": 1, "retrying": 0, "failed": 0}

    [request] = receiver.requests
    delivery = CallbackDelivery.objects.get()
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-nemkonto-delivery"] == str(delivery.pk)
    assert signed_by(registered, request)
    assert not signed_by("another secret", request)
    assert json.loads(request.body) == {
        "batch_id": str(batch.pk),
        "status": "completed",
        "counts": {"completed": 3, "rejected": 2, "failed": 1, "received": 1},
        "return_codes": {"0": 3, "1": 1, "2": 1, "7": 1},
        "test": False,
    }
    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert delivery.attempts == 1
    assert delivery.delivered_at is not None


def test_a_batch_without_payments_has_empty_counts(
    world: World, receiver: Receiver, registered: str
) -> None:
    batch = make_batch(world, status=Batch.Status.PROCESSING)
    callbacks_enqueue()
    callbacks_deliver()
    assert json.loads(receiver.requests[0].body) == {
        "batch_id": str(batch.pk),
        "status": "processing",
        "counts": {},
        "return_codes": {},
        "test": False,
    }


def test_failures_are_retried_with_backoff_until_a_2xx(
    world: World, receiver: Receiver, registered: str
) -> None:
    make_batch(world, payments=MIXED)
    callbacks_enqueue()
    receiver.answers = [500, 500, 200]

    before = timezone.now()
    assert callbacks_deliver() == {"delivered": 0, "retrying": 1, "failed": 0}
    delivery = CallbackDelivery.objects.get()
    assert delivery.state == CallbackDelivery.State.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error == "HTTP 500"
    wait = delivery.next_attempt_at - before
    assert datetime.timedelta(seconds=7) < wait < datetime.timedelta(seconds=13)

    # Not due yet: nothing is sent.
    assert callbacks_deliver() == {"delivered": 0, "retrying": 0, "failed": 0}
    assert len(receiver.requests) == 1

    first_retry_at = delivery.next_attempt_at
    assert callbacks_deliver(now=first_retry_at) == {"delivered": 0, "retrying": 1, "failed": 0}
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    # Exponential: about 20 s after the second failure.
    wait = delivery.next_attempt_at - first_retry_at
    assert datetime.timedelta(seconds=15) < wait < datetime.timedelta(seconds=25)

    assert callbacks_deliver(now=delivery.next_attempt_at) == {
        "delivered": 1,
        "retrying": 0,
        "failed": 0,
    }
    delivery.refresh_from_db()
    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert delivery.attempts == 3
    assert delivery.last_error == ""
    assert len(receiver.requests) == 3
    # Every try is the same notice: same body, same delivery id, valid signature.
    assert len({request.body for request in receiver.requests}) == 1
    assert {request.headers["x-nemkonto-delivery"] for request in receiver.requests} == {
        str(delivery.pk)
    }
    assert all(signed_by(registered, request) for request in receiver.requests)


def test_gives_up_after_the_maximum_attempts(
    world: World, receiver: Receiver, registered: str, settings: Any
) -> None:
    settings.NEMKONTO_CALLBACK_MAX_ATTEMPTS = 2
    make_batch(world)
    callbacks_enqueue()
    receiver.answers = [503, 503, 503]
    later = timezone.now() + datetime.timedelta(hours=2)

    assert callbacks_deliver()["retrying"] == 1
    assert callbacks_deliver(now=later)["failed"] == 1
    assert callbacks_deliver(now=later + datetime.timedelta(hours=2))["failed"] == 0

    delivery = CallbackDelivery.objects.get()
    assert delivery.state == CallbackDelivery.State.FAILED
    assert delivery.attempts == 2
    assert len(receiver.requests) == 2


def test_redirects_are_not_followed(world: World, receiver: Receiver, registered: str) -> None:
    make_batch(world)
    callbacks_enqueue()
    receiver.answers = [302]

    assert callbacks_deliver()["retrying"] == 1
    assert [request.path for request in receiver.requests] == ["/hook"]
    assert CallbackDelivery.objects.get().last_error == "HTTP 302"


def test_an_unreachable_receiver_is_retried(world: World, registered: str) -> None:
    # A port nothing listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ApiClient.objects.filter(pk=world.api_client.pk).update(
        callback_url=f"http://127.0.0.1:{port}/hook"
    )
    make_batch(world)
    callbacks_enqueue()

    assert callbacks_deliver()["retrying"] == 1
    assert "refused" in CallbackDelivery.objects.get().last_error.lower()


def test_the_same_status_is_not_delivered_twice(
    world: World, receiver: Receiver, registered: str
) -> None:
    batch = make_batch(world, payments=MIXED)

    assert callbacks_enqueue() == 1
    assert callbacks_enqueue() == 0
    callbacks_deliver()
    assert callbacks_enqueue() == 0
    assert callbacks_deliver() == {"delivered": 0, "retrying": 0, "failed": 0}
    assert len(receiver.requests) == 1

    # The next stage is a new notice.
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.FORWARDED)
    assert callbacks_enqueue() == 1
    callbacks_deliver()
    assert [json.loads(request.body)["status"] for request in receiver.requests] == [
        "completed",
        "forwarded",
    ]


def test_a_batchs_notices_go_out_in_order(
    world: World, receiver: Receiver, registered: str
) -> None:
    batch = make_batch(world)
    callbacks_enqueue()
    receiver.answers = [500]
    callbacks_deliver()
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.FORWARDED)
    callbacks_enqueue()

    later = timezone.now() + datetime.timedelta(minutes=5)
    assert callbacks_deliver(now=later)["delivered"] == 1
    assert callbacks_deliver(now=later)["delivered"] == 1
    assert [json.loads(request.body)["status"] for request in receiver.requests] == [
        "completed",
        "completed",
        "forwarded",
    ]


def test_only_recent_stage_changes_of_clients_with_a_callback_are_enqueued(
    world: World, registered: str
) -> None:
    other = api_client_create(
        actor=None,
        kind=ApiClient.Kind.PAYMENT_SYSTEM,
        name="Without callback",
        authority=world.authority,
        payment_system=world.system,
    ).api_client
    make_batch(world, client=other)
    make_batch(world, touched_at=timezone.now() - datetime.timedelta(days=2))
    make_batch(world, status=Batch.Status.RECEIVED)
    wanted = make_batch(world, status=Batch.Status.CLOSED)

    assert callbacks_enqueue() == 1
    assert CallbackDelivery.objects.get().batch_id == wanted.pk


def test_enqueue_is_one_statement_whatever_the_number_of_batches(
    world: World, registered: str
) -> None:
    make_batch(world, payments=MIXED)
    with CaptureQueriesContext(connection) as one:
        assert callbacks_enqueue() == 1

    for _ in range(6):
        make_batch(world, payments=MIXED)
    with CaptureQueriesContext(connection) as many:
        assert callbacks_enqueue() == 6

    assert len(one) == len(many) == 1
    counts = {
        delivery.payload["counts"]["completed"] for delivery in CallbackDelivery.objects.all()
    }
    assert counts == {3}


def test_the_task_enqueues_and_delivers(world: World, receiver: Receiver, registered: str) -> None:
    make_batch(world)
    assert callbacks_dispatch() == {"enqueued": 1, "delivered": 1, "retrying": 0, "failed": 0}
    assert len(receiver.requests) == 1


def test_backoff_doubles_from_ten_seconds_up_to_an_hour_with_jitter() -> None:
    def middle() -> float:
        return 0.5

    assert [callback_backoff(n, rand=middle).total_seconds() for n in (1, 2, 3, 4)] == [
        10,
        20,
        40,
        80,
    ]
    assert callback_backoff(9, rand=middle).total_seconds() == 2560
    assert callback_backoff(10, rand=middle).total_seconds() == 3600
    assert callback_backoff(50, rand=lambda: 1.0).total_seconds() == 3600
    assert callback_backoff(1, rand=lambda: 0.0).total_seconds() == 8
    assert callback_backoff(1, rand=lambda: 1.0).total_seconds() == 12


def test_removing_the_callback_gives_up_pending_notices(
    world: World, receiver: Receiver, registered: str
) -> None:
    make_batch(world)
    callbacks_enqueue()

    assert callback_set(client=world.api_client, url=None) is None

    assert callbacks_deliver() == {"delivered": 0, "retrying": 0, "failed": 0}
    assert receiver.requests == []
    assert CallbackDelivery.objects.get().state == CallbackDelivery.State.FAILED
    world.api_client.refresh_from_db()
    assert (world.api_client.callback_url, world.api_client.callback_secret) == ("", "")


def test_a_deactivated_client_gets_no_more_callbacks(
    world: World, receiver: Receiver, registered: str
) -> None:
    make_batch(world)
    callbacks_enqueue()
    ApiClient.objects.filter(pk=world.api_client.pk).update(is_active=False)

    assert callbacks_deliver() == {"delivered": 0, "retrying": 0, "failed": 1}
    assert receiver.requests == []


def test_production_refuses_at_delivery_a_host_that_resolves_to_a_local_address(
    world: World, receiver: Receiver, registered: str, settings: Any
) -> None:
    settings.NEMKONTO_CALLBACK_ALLOW_HTTP = False
    ApiClient.objects.filter(pk=world.api_client.pk).update(
        callback_url=receiver.url.replace("http://127.0.0.1", "https://localhost")
    )
    make_batch(world)
    callbacks_enqueue()

    assert callbacks_deliver()["retrying"] == 1
    assert receiver.requests == []
    assert "local or private" in CallbackDelivery.objects.get().last_error


# --- Registering the URL ------------------------------------------------------------------------


def token_for(client: Client, client_id: str, secret: str, scope: str) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": scope,
    }
    response = client.post(
        "/o/token/", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_read_and_remove_through_the_api(world: World, client: Client) -> None:
    auth = bearer(world.token(client))
    url = "https://ydelse.example.dk/nemkonto/callback"

    assert client.get(ENDPOINT, headers=auth).json() == {"url": None}

    response = client.put(ENDPOINT, {"url": url}, content_type="application/json", headers=auth)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["url"] == url
    assert len(answer["secret"]) >= 43
    world.api_client.refresh_from_db()
    assert world.api_client.callback_secret == answer["secret"]
    event = AuditEvent.objects.get(action="api_client.callback_set")
    assert event.data["url"] == url
    assert answer["secret"] not in json.dumps(event.data)

    # The secret is shown once; a new registration gives a new one.
    assert client.get(ENDPOINT, headers=auth).json() == {"url": url}
    again = client.put(ENDPOINT, {"url": url}, content_type="application/json", headers=auth).json()
    assert again["secret"] != answer["secret"]

    assert client.delete(ENDPOINT, headers=auth).status_code == 204
    assert client.get(ENDPOINT, headers=auth).json() == {"url": None}
    assert AuditEvent.objects.filter(action="api_client.callback_remove").count() == 1


def test_a_malformed_body_is_400(world: World, client: Client) -> None:
    auth = bearer(world.token(client))
    response = client.put(
        ENDPOINT,
        {"url": "https://a.example.dk/", "extra": 1},
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert (
        client.put(ENDPOINT, {}, content_type="application/json", headers=auth).status_code == 400
    )


def test_http_is_refused_in_production(world: World, client: Client, settings: Any) -> None:
    settings.NEMKONTO_CALLBACK_ALLOW_HTTP = False
    auth = bearer(world.token(client))

    response = client.put(
        ENDPOINT,
        {"url": "http://ydelse.example.dk/hook"},
        content_type="application/json",
        headers=auth,
    )

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0] == {
        "field": "url",
        "code": "https_required",
        "message": response.json()["errors"][0]["message"],
    }
    world.api_client.refresh_from_db()
    assert (world.api_client.callback_url, world.api_client.callback_secret) == ("", "")
    assert not AuditEvent.objects.filter(action__startswith="api_client.callback").exists()


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://ydelse.example.dk/hook", "https_required"),
        ("ftp://ydelse.example.dk/hook", "https_required"),
        ("https://user:secret@ydelse.example.dk/hook", "credentials_not_allowed"),
        ("https://ydelse.example.dk/" + "a" * 480, "too_long"),
        ("https://127.0.0.1/hook", "private_host"),
        ("https://10.1.2.3/hook", "private_host"),
        ("https://192.168.0.10:8443/hook", "private_host"),
        ("https://169.254.169.254/latest/meta-data", "private_host"),
        ("https://[::1]/hook", "private_host"),
        ("https://localhost/hook", "private_host"),
        ("https://not a url/", "invalid_url"),
        ("   ", "required"),
    ],
)
def test_production_url_rules(world: World, settings: Any, url: str, code: str) -> None:
    settings.NEMKONTO_CALLBACK_ALLOW_HTTP = False
    with pytest.raises(ValidationFailed) as refused:
        callback_set(client=world.api_client, url=url)
    assert (refused.value.field, refused.value.code) == ("url", code)
    world.api_client.refresh_from_db()
    assert world.api_client.callback_url == ""


def test_production_accepts_a_public_https_url(world: World, settings: Any) -> None:
    settings.NEMKONTO_CALLBACK_ALLOW_HTTP = False
    assert callback_set(client=world.api_client, url="https://93.184.215.14:8443/hook")
    assert callback_set(client=world.api_client, url=" https://ydelse.example.dk/cb?x=1 ")
    world.api_client.refresh_from_db()
    assert world.api_client.callback_url == "https://ydelse.example.dk/cb?x=1"


def test_the_service_is_for_payment_system_clients_only(world: World) -> None:
    authority_client = api_client_create(
        actor=None, kind=ApiClient.Kind.AUTHORITY, name="Opslag", authority=world.authority
    ).api_client
    with pytest.raises(PermissionDenied):
        callback_set(client=authority_client, url="https://ydelse.example.dk/hook")


# --- The permission matrix ----------------------------------------------------------------------

CALLS = [
    ("get", None),
    ("put", {"url": "https://ydelse.example.dk/hook"}),
    ("delete", None),
]


def call(client: Client, method: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    if body is None:
        return getattr(client, method)(ENDPOINT, headers=headers)
    return getattr(client, method)(ENDPOINT, body, content_type="application/json", headers=headers)


def unchanged(world: World) -> bool:
    world.api_client.refresh_from_db()
    return (
        world.api_client.callback_url == ""
        and not AuditEvent.objects.filter(action__startswith="api_client.callback").exists()
    )


@pytest.mark.parametrize(("method", "body"), CALLS)
def test_without_a_token_401(world: World, client: Client, method: str, body: Any) -> None:
    assert call(client, method, body).status_code == 401
    assert call(client, method, body, bearer("not-a-token")).status_code == 401
    assert unchanged(world)


@pytest.mark.parametrize(("method", "body"), CALLS)
def test_another_kind_of_client_403(world: World, client: Client, method: str, body: Any) -> None:
    credentials = api_client_create(
        actor=None, kind=ApiClient.Kind.AUTHORITY, name="Opslag", authority=world.authority
    )
    token = token_for(client, credentials.client_id, credentials.client_secret, "resolve")

    response = call(client, method, body, bearer(token))

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert unchanged(world)


@pytest.mark.parametrize(("method", "body"), CALLS)
def test_agreement_not_active_403(world: World, client: Client, method: str, body: Any) -> None:
    token = world.token(client)
    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(
        status=ConnectionAgreement.Status.SUSPENDED
    )

    response = call(client, method, body, bearer(token))

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert unchanged(world)


@pytest.mark.parametrize(("method", "body"), CALLS)
def test_the_payment_system_client_is_allowed(
    world: World, client: Client, method: str, body: Any
) -> None:
    response = call(client, method, body, bearer(world.token(client)))
    assert response.status_code == {"get": 200, "put": 200, "delete": 204}[method]
