"""Stopping pending payments (DOMAIN.md section 8; API.md, Stop): by the payment system that sent
them and by caseworkers with NKS-Stop-Bet on the payment's unit. Only payments not yet forwarded
stop; every refusal says why; a refused request changes nothing; a stop costs the same number of
queries for 10 or 200 payments."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiClient, AuditEvent
from nemkonto.errors import ValidationFailed
from payments.models import Batch, Payment
from payments.services.stops import STOP_LIMIT, payments_stop, payments_stop_for_client
from payments.tests.payment_factories import (
    caseworker_with,
    make_batch,
    make_payment,
    make_payments,
    other_system_client,
    statuses,
    token_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_api(world, api):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token(api)}")
    return api


@pytest.fixture
def batch(world):
    return make_batch(world)


def _stop_url(batch):
    return reverse("payments-batch-stop", args=[str(batch.pk)])


def _state():
    return (
        list(Payment.objects.order_by("id").values_list("status", "stopped_at", "stopped_by_id")),
        AuditEvent.objects.count(),
    )


# --- Payment systems -------------------------------------------------------------------------


def test_a_payment_system_stops_its_pending_payments(client_api, world, batch):
    received = make_payment(batch, "received", reference="A-1")
    completed = make_payment(batch, "completed", reference="A-2")
    waiting = make_payment(batch, "waiting", reference="A-3")
    forwarded = make_payment(batch, "forwarded", reference="A-4")
    make_payment(batch, "completed", reference="A-5")

    response = client_api.post(
        _stop_url(batch), {"references": ["A-1", "A-2", "A-3", "A-4", "NOPE"]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "results": {
            "A-1": "stopped",
            "A-2": "stopped",
            "A-3": "stopped",
            "A-4": "already_forwarded",
            "NOPE": "not_found",
        }
    }
    for payment in (received, completed, waiting):
        payment.refresh_from_db()
        assert payment.status == "stopped"
        assert payment.stopped_at is not None
        assert payment.stopped_by_label == "KMD Ydelse for Testkøbing"
    forwarded.refresh_from_db()
    assert forwarded.status == "forwarded"
    assert statuses(batch)["A-5"] == "completed"
    event = AuditEvent.objects.get(action="batch.stop")
    assert event.target_id == str(batch.pk)
    assert event.data["stopped"] == 3


def test_stop_after_forwarding_is_refused(client_api, batch):
    make_payment(batch, "forwarded", reference="F-1")
    make_payment(batch, "bank_received", reference="F-2")
    # Failed payments paid by cheque leave in a bank file too.
    make_payment(batch, "failed", reference="F-3", failure_handling="cheque")
    Payment.objects.filter(reference="F-3").update(
        bank_file=Payment.objects.get(reference="F-1").bank_file
    )
    before = statuses(batch)

    response = client_api.post(
        _stop_url(batch), {"references": ["F-1", "F-2", "F-3"]}, format="json"
    )

    assert response.json()["results"] == {
        "F-1": "already_forwarded",
        "F-2": "already_forwarded",
        "F-3": "already_forwarded",
    }
    assert statuses(batch) == before


def test_final_payments_are_refused_as_final(client_api, batch):
    make_payment(batch, "rejected", reference="R-1")
    make_payment(batch, "stopped", reference="R-2")
    make_payment(batch, "failed", reference="R-3")
    response = client_api.post(
        _stop_url(batch), {"references": ["R-1", "R-2", "R-3"]}, format="json"
    )
    assert response.json()["results"] == dict.fromkeys(["R-1", "R-2", "R-3"], "already_final")


def test_a_reference_of_another_batch_is_not_found(client_api, world, batch):
    other = make_batch(world)
    make_payment(other, "completed", reference="ELSEWHERE")
    response = client_api.post(_stop_url(batch), {"references": ["ELSEWHERE"]}, format="json")
    assert response.json()["results"] == {"ELSEWHERE": "not_found"}
    assert statuses(other) == {"ELSEWHERE": "completed"}


def test_a_repeated_reference_stops_the_payment_kept(client_api, batch):
    make_payment(batch, "completed", reference="DUP")
    make_payment(
        batch,
        "rejected",
        reference="DUP",
        return_code=2,
        return_field="reference",
        return_reason="duplicate",
    )
    response = client_api.post(_stop_url(batch), {"references": ["DUP"]}, format="json")
    assert response.json()["results"] == {"DUP": "stopped"}


def test_stop_all_stops_every_pending_payment_and_closes_the_batch(client_api, batch):
    make_payments(batch, 3, "completed")
    make_payment(batch, "rejected", reference="ALL-R")

    response = client_api.post(_stop_url(batch), {"all": True}, format="json")

    results = response.json()["results"]
    assert sorted(results.values()) == ["already_final", "stopped", "stopped", "stopped"]
    assert results["ALL-R"] == "already_final"
    batch.refresh_from_db()
    # Nothing left pending and nothing at the bank: the batch is done.
    assert batch.status == Batch.Status.CLOSED


def test_a_batch_with_payments_left_stays_as_it_is(client_api, batch):
    make_payment(batch, "completed", reference="K-1")
    make_payment(batch, "completed", reference="K-2")
    client_api.post(_stop_url(batch), {"references": ["K-1"]}, format="json")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"references": []}, "references"),
        ({}, "references"),
        ({"references": ["A"], "all": True}, "all"),
        ({"references": [f"R{i}" for i in range(STOP_LIMIT + 1)]}, "references"),
    ],
)
def test_a_stop_without_references_or_with_too_many_is_422(client_api, batch, body, field):
    make_payment(batch, "completed", reference="A")
    before = _state()
    response = client_api.post(_stop_url(batch), body, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field
    assert _state() == before


def test_malformed_bodies_are_400(client_api, batch):
    make_payment(batch, "completed", reference="A")
    before = _state()
    for body in ({"references": "A"}, {"references": [{"a": 1}]}, {"refs": ["A"]}):
        response = client_api.post(_stop_url(batch), body, format="json")
        assert response.status_code == 400, body
    assert _state() == before


def test_another_payment_systems_client_cannot_stop(world, api, batch):
    make_payment(batch, "completed", reference="MINE")
    _client, client_id, secret = other_system_client(world)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(api, client_id, secret)}")
    before = _state()
    response = api.post(_stop_url(batch), {"all": True}, format="json")
    assert response.status_code == 404
    assert _state() == before


def test_a_stop_by_reference_costs_the_same_for_10_or_200(world):
    counts = []
    for size in (10, 200):
        batch = make_batch(world)
        payments = make_payments(batch, size // 2, "completed")
        make_payments(batch, size // 2, "forwarded")
        references = [p.reference for p in payments] + list(
            Payment.objects.filter(batch=batch, status="forwarded").values_list(
                "reference", flat=True
            )
        )
        client = ApiClient.objects.get(pk=world.api_client.pk)  # as the permission reads it
        with CaptureQueriesContext(connection) as queries:
            results = payments_stop_for_client(
                client=client, batch=batch, references=references, stop_all=False
            )
        assert list(results.values()).count("stopped") == size // 2
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_too_many_references_name_the_field():
    with pytest.raises(ValidationFailed) as raised:
        payments_stop_for_client(
            client=None,  # type: ignore[arg-type]  # refused before the client is read
            batch=None,  # type: ignore[arg-type]
            references=["R"] * (STOP_LIMIT + 1),
            stop_all=False,
        )
    assert raised.value.field == "references"
    assert raised.value.status == 422


# --- Caseworkers -----------------------------------------------------------------------------


PERSONAS = [
    "anonymous",
    "citizen",
    "no_profile",
    "search_only",
    "outsider",
    "on_parent",
    "on_unit",
    "on_sibling",
]


@pytest.fixture
def persona(world, citizen, outsider):
    def make(name):
        if name == "anonymous":
            return None
        if name == "citizen":
            return citizen
        if name == "outsider":
            return outsider  # NKS-Stop-Bet, but on a unit of another authority
        if name == "no_profile":
            return caseworker_with(world.authority, world.root)
        if name == "search_only":
            return caseworker_with(
                world.authority, world.root, "nks-soeg-bet", "nks-soeg-gennemf-bet"
            )
        unit = {"on_parent": world.root, "on_unit": world.unit, "on_sibling": world.sibling}[name]
        return caseworker_with(world.authority, unit, "nks-stop-bet")

    return make


@pytest.mark.parametrize("who", PERSONAS)
def test_caseworker_stop_permission_matrix(api, world, batch, persona, who):
    """Allowed on the payment's unit and above; denied cases change nothing."""
    payments = make_payments(batch, 2, "completed")
    ids = [payment.pk for payment in payments]
    user = persona(who)
    if user is not None:
        api.force_login(user)
    before = _state()

    response = api.post(reverse("payments-caseworker-stop"), {"payment_ids": ids}, format="json")

    if who in ("on_parent", "on_unit"):
        assert response.status_code == 200, response.content
        assert response.json() == {"results": {str(pk): "stopped" for pk in ids}}
        assert set(Payment.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
            "stopped"
        }
        return
    if who in ("outsider", "on_sibling"):
        # They may stop payments, but not these: as if they did not exist.
        assert response.status_code == 200, response.content
        assert response.json() == {"results": {str(pk): "not_found" for pk in ids}}
        assert _state()[0] == before[0]
        return
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert _state() == before


def test_a_caseworker_stop_records_who_and_writes_one_audit_record(api, world, batch):
    user = caseworker_with(world.authority, world.root, "nks-stop-bet", username="stopper")
    pending = make_payment(batch, "waiting")
    forwarded = make_payment(batch, "forwarded")
    api.force_login(user)

    response = api.post(
        reverse("payments-caseworker-stop"),
        {"payment_ids": [pending.pk, forwarded.pk, 999_999]},
        format="json",
    )

    assert response.json()["results"] == {
        str(pending.pk): "stopped",
        str(forwarded.pk): "already_forwarded",
        "999999": "not_found",
    }
    pending.refresh_from_db()
    assert pending.stopped_by == user
    assert pending.stopped_by_label == "stopper"
    event = AuditEvent.objects.get(action="payment.stop")
    assert event.actor == user
    assert event.authority == world.authority
    assert event.data["payment_ids"] == [pending.pk, forwarded.pk, 999_999]
    assert event.data["stopped"] == [pending.pk]
    assert event.data["refused"] == {
        str(forwarded.pk): "already_forwarded",
        "999999": "not_found",
    }


def test_a_caseworker_stop_costs_the_same_for_10_or_200(world):
    user = caseworker_with(world.authority, world.root, "nks-stop-bet")
    counts = []
    for size in (10, 200):
        batch = make_batch(world)
        ids = [p.pk for p in make_payments(batch, size // 2, "completed")]
        ids += [p.pk for p in make_payments(batch, size // 2, "forwarded")]
        with CaptureQueriesContext(connection) as queries:
            results = payments_stop(actor=user, payment_ids=ids)
        assert list(results.values()).count("stopped") == size // 2
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_too_many_payment_ids_is_422_naming_the_field(api, world):
    user = caseworker_with(world.authority, world.root, "nks-stop-bet")
    api.force_login(user)
    response = api.post(
        reverse("payments-caseworker-stop"),
        {"payment_ids": list(range(1, STOP_LIMIT + 2))},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "payment_ids"
