"""Payment systems follow their batches (API.md: Batch status, Payments of a batch, Return answers
as XML): only their own, with counts, return codes, texts, masked accounts and each payment's
history; lists cost the same number of queries whatever the size of the batch."""

import datetime
import io
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from payments.models import Payment
from payments.payment_selectors import batch_summary
from payments.return_codes import RETURN_CODES
from payments.tests.payment_factories import (
    bank_file_for,
    make_batch,
    make_payment,
    make_payments,
    nemkonto_of,
    other_system_client,
    statuses,
    token_for,
)
from payments.tests.pipeline_world import NEMKONTO_ACCOUNT

pytestmark = pytest.mark.django_db

API_FIELDS = {
    "reference",
    "recipient",
    "benefit",
    "amount",
    "status",
    "return_code",
    "return_text",
    "account_kind",
    "account",
    "value_date",
    "failure_handling",
    "history",
    "test",
}


@pytest.fixture
def client_api(world, api):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token(api)}")
    return api


@pytest.fixture
def batch(world):
    return make_batch(world, received_count=6)


def _parse(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - our own answer


def _url(name, *args):
    return reverse(name, args=[str(arg) for arg in args])


# --- Batch status ------------------------------------------------------------------------------


def test_batch_status_counts_payments_per_status_and_return_code(client_api, batch):
    file = bank_file_for(batch, message_id="NK20261130050000-1")
    make_payments(batch, 2, "forwarded", bank_file=file)
    make_payment(batch, "rejected")
    make_payment(
        batch, "rejected", return_code=2, return_field="amount", return_reason="not_positive"
    )
    make_payment(batch, "completed")
    make_payment(batch, "stopped")

    response = client_api.get(_url("payments-batch", batch.pk))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["batch_id"] == str(batch.pk)
    assert body["status"] == "completed"
    assert body["received"] == 6
    assert body["expected_value_date"] == "2026-12-01"
    # As in the callbacks: only what occurs.
    assert body["counts"] == {"rejected": 2, "completed": 1, "stopped": 1, "forwarded": 2}
    assert body["return_codes"] == {"0": 3, "1": 1, "2": 1}
    assert body["files"] == [
        {
            "message_id": "NK20261130050000-1",
            "value_date": "2026-12-01",
            "status": "written",
            "transactions": 2,
        }
    ]
    assert body["links"]["payments"].endswith(f"/api/v1/batches/{batch.pk}/payments")
    assert body["links"]["return_answers"].endswith("/return-answers.xml")


def test_batch_summary_is_one_aggregate_whatever_the_size(world):
    sizes = []
    for count in (10, 200):
        batch = make_batch(world)
        file = bank_file_for(batch)
        make_payments(batch, count // 2, "forwarded", bank_file=file)
        make_payments(batch, count // 2, "completed")
        with CaptureQueriesContext(connection) as queries:
            summary = batch_summary(batch=batch)
        assert summary["counts"]["forwarded"] == count // 2
        sizes.append(len(queries))
    # One aggregate over the payments, one read of the files they are in.
    assert sizes == [2, 2]


# --- Only one's own batches ----------------------------------------------------------------------


CLIENT_ENDPOINTS = [
    ("get", "payments-batch", ()),
    ("get", "payments-batch-payments", ()),
    ("get", "payments-batch-payment-history", ("REF",)),
    ("get", "payments-batch-return-answers", ()),
    ("post", "payments-batch-stop", ()),
]


@pytest.mark.parametrize(("method", "name", "extra"), CLIENT_ENDPOINTS)
def test_another_payment_systems_client_gets_404(world, api, batch, method, name, extra):
    payment = make_payment(batch, "completed", reference="REF")
    _client, client_id, secret = other_system_client(world)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(api, client_id, secret)}")
    before = statuses(batch)

    response = getattr(api, method)(
        _url(name, batch.pk, *extra), {"references": [payment.reference]}, format="json"
    )

    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert statuses(batch) == before


@pytest.mark.parametrize(("method", "name", "extra"), CLIENT_ENDPOINTS)
def test_without_a_token_the_answer_is_401(api, batch, operator, method, name, extra):
    make_payment(batch, "completed", reference="REF")
    api.force_login(operator)  # a session is not a payment system's token
    before = statuses(batch)

    response = getattr(api, method)(
        _url(name, batch.pk, *extra), {"references": ["REF"]}, format="json"
    )

    assert response.status_code == 401
    assert statuses(batch) == before


def test_a_batch_id_that_is_not_a_uuid_is_404(client_api):
    response = client_api.get(_url("payments-batch", "not-a-uuid"))
    assert response.status_code == 404
    assert response.json()["status"] == 404


# --- Payments of a batch ---------------------------------------------------------------------


def test_payments_are_listed_as_the_contract_says(client_api, batch):
    forwarded = make_payment(batch, "forwarded", reference="BC-1")
    make_payment(
        batch,
        "rejected",
        reference="BC-2",
        return_code=2,
        recipient_type="",
        recipient_number="",
        recipient_raw="3113901234",
        return_field="recipient.id",
        return_reason="cpr_invalid_date",
    )
    make_payment(batch, "waiting", reference="BC-3", amount_ore=5)

    response = client_api.get(_url("payments-batch-payments", batch.pk))

    assert response.status_code == 200, response.content
    items = response.json()["results"]
    assert [item["reference"] for item in items] == ["BC-1", "BC-2", "BC-3"]
    assert all(set(item) == API_FIELDS for item in items)
    first, rejected, waiting = items
    assert first == {
        "reference": "BC-1",
        "recipient": {"type": "CPR", "id": forwarded.recipient_number},
        "benefit": "BOERNECHECK",
        "amount": "1234.50",
        "status": "forwarded",
        "return_code": 0,
        "return_text": "Accepted: forwarded to the bank.",
        "account_kind": "nemkonto",
        "account": "****" + NEMKONTO_ACCOUNT[1][-4:],
        "value_date": "2026-12-01",
        "failure_handling": None,
        "test": False,
        "history": "http://testserver" + _url("payments-batch-payment-history", batch.pk, "BC-1"),
    }
    assert NEMKONTO_ACCOUNT[1] not in response.content.decode()
    assert rejected["recipient"] == {"type": None, "id": "3113901234"}
    assert rejected["return_text"] == (
        "Formal error in recipient.id: the first six digits are not a date (cpr_invalid_date)."
    )
    assert rejected["account_kind"] == "none"
    assert rejected["account"] is None
    assert rejected["history"] is not None
    assert waiting["amount"] == "0.05"
    assert waiting["failure_handling"] == "waiting"
    assert waiting["return_code"] == 7


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "forwarded"}, ["F1", "F2"]),
        ({"return_code": "1"}, ["R1"]),
        ({"reference": "F2"}, ["F2"]),
        ({"status": "forwarded", "reference": "R1"}, []),
        ({"status": ""}, ["F1", "F2", "R1", "C1"]),
    ],
)
def test_payments_can_be_filtered(client_api, batch, query, expected):
    make_payment(batch, "forwarded", reference="F1")
    make_payment(batch, "forwarded", reference="F2")
    make_payment(batch, "rejected", reference="R1")
    make_payment(batch, "completed", reference="C1")

    response = client_api.get(_url("payments-batch-payments", batch.pk), query)

    assert response.status_code == 200
    assert [item["reference"] for item in response.json()["results"]] == expected


def test_a_row_rejected_without_a_reference_is_listed_without_a_history(client_api, batch):
    make_payment(
        batch,
        "rejected",
        reference="",
        return_code=2,
        return_field="reference",
        return_reason="required",
    )
    (item,) = client_api.get(_url("payments-batch-payments", batch.pk)).json()["results"]
    assert item["history"] is None
    assert item["return_text"] == "Formal error in reference: the value is missing (required)."


def test_bad_filter_values_answer_422_naming_each(client_api, batch):
    response = client_api.get(
        _url("payments-batch-payments", batch.pk), {"status": "paid", "return_code": "5"}
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"status", "return_code"}


def test_payments_are_paged_with_next(client_api, batch):
    make_payments(batch, 5, "completed")
    seen = []
    url = _url("payments-batch-payments", batch.pk) + "?page_size=2"
    while url:
        page = client_api.get(url).json()
        seen += [item["reference"] for item in page["results"]]
        url = page["next"]
    lines = Payment.objects.filter(batch=batch).order_by("line")
    assert seen == [payment.reference for payment in lines]


def test_the_list_costs_the_same_queries_for_10_or_200_payments(world, client_api):
    counts = []
    for size in (10, 200):
        batch = make_batch(world)
        make_payments(batch, size // 2, "forwarded")
        make_payments(batch, size // 2, "rejected")
        url = _url("payments-batch-payments", batch.pk)
        with CaptureQueriesContext(connection) as queries:
            response = client_api.get(url)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- History ---------------------------------------------------------------------------------


def test_history_tells_the_payments_way_without_the_account(client_api, batch):
    payment = make_payment(batch, "bank_received", reference="H-1")
    Payment.objects.filter(pk=payment.pk).update(booked_at="2026-12-01")
    version = nemkonto_of()

    response = client_api.get(_url("payments-batch-payment-history", batch.pk, "H-1"))

    assert response.status_code == 200, response.content
    events = response.json()
    assert [event["event"] for event in events] == [
        "received",
        "validated",
        "attached",
        "forwarded",
        "bank_received",
        "booked",
    ]
    received, _validated, attached, forwarded, _answer, booked = events
    assert received["details"] == {"batch_id": str(batch.pk), "format": "json", "line": 1}
    assert attached["details"]["nemkonto_version"] == version.pk
    active_from = datetime.datetime.fromisoformat(attached["details"]["active_from"])
    assert active_from == version.activated_at
    assert "the NemKonto active at that moment" in attached["text"]
    assert "account" not in attached["details"]
    assert payment.bank_file is not None
    assert forwarded["details"]["message_id"] == payment.bank_file.message_id
    assert booked["at"] == "2026-12-01"
    assert NEMKONTO_ACCOUNT[1][-4:] not in response.content.decode()


def test_history_of_a_reference_repeated_in_the_batch_is_the_payment_kept(client_api, batch):
    make_payment(batch, "completed", reference="DUP")
    make_payment(
        batch,
        "rejected",
        reference="DUP",
        return_code=2,
        return_field="reference",
        return_reason="duplicate",
    )
    events = client_api.get(_url("payments-batch-payment-history", batch.pk, "DUP")).json()
    assert [event["event"] for event in events] == ["received", "validated", "attached"]


def test_history_of_a_stopped_and_a_rejected_payment(client_api, batch):
    make_payment(batch, "stopped", reference="S-1")
    make_payment(
        batch,
        "rejected",
        reference="R/1",
        return_code=2,
        return_field="amount",
        return_reason="fraction_of_ore",
    )
    stopped = client_api.get(_url("payments-batch-payment-history", batch.pk, "S-1")).json()
    assert [event["event"] for event in stopped] == ["received", "stopped"]
    assert stopped[1]["details"] == {"by": "KMD Ydelse for Testkøbing"}
    rejected = client_api.get(_url("payments-batch-payment-history", batch.pk, "R/1")).json()
    assert rejected[1]["event"] == "rejected"
    assert rejected[1]["details"]["reason"] == "fraction_of_ore"
    assert "Formal error in amount" in rejected[1]["text"]
    missing = client_api.get(_url("payments-batch-payment-history", batch.pk, "NOPE"))
    assert missing.status_code == 404


# --- Return answers as XML -------------------------------------------------------------------


def test_return_answers_are_one_element_per_payment(client_api, batch):
    make_payment(batch, "forwarded", reference="X-1")
    make_payment(batch, "bank_error", reference="X-<2>")
    make_payment(batch, "received", reference="X-3")

    response = client_api.get(
        _url("payments-batch-return-answers", batch.pk), HTTP_ACCEPT="application/xml"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = _parse(b"".join(response.streaming_content))
    assert root.tag == "ReturnAnswers"
    assert root.get("batchId") == str(batch.pk)
    answers = [
        {child.tag: child.text or "" for child in element} for element in root.iter("Payment")
    ]
    assert answers == [
        {
            "Reference": "X-1",
            "ReturnCode": "0",
            "ReturnText": "Accepted: forwarded to the bank.",
            "Status": "forwarded",
        },
        {
            "Reference": "X-<2>",
            "ReturnCode": "9",
            "ReturnText": "Error in the bank: the account is closed (AC04).",
            "Status": "bank_error",
        },
        {
            "Reference": "X-3",
            "ReturnCode": "",
            "ReturnText": "Received, not yet validated.",
            "Status": "received",
        },
    ]


def test_return_answers_keep_the_requested_language_while_streaming(client_api, batch, monkeypatch):
    # The XML is written after the view returned (and the request's language was reset).
    from payments import return_codes

    monkeypatch.setattr(
        return_codes, "gettext", lambda text: f"[{translation.get_language()}] {text}"
    )
    make_payment(batch, "rejected", reference="L-1")
    response = client_api.get(
        _url("payments-batch-return-answers", batch.pk), HTTP_ACCEPT_LANGUAGE="en"
    )
    text = _parse(b"".join(response.streaming_content)).find("Payment/ReturnText")
    assert text is not None
    assert text.text is not None
    assert text.text.startswith("[en] Rejected")


def test_an_unknown_answer_format_is_422(client_api, batch):
    response = client_api.get(_url("payments-batch-return-answers", batch.pk), {"format": "csv"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "format"


def test_return_answers_as_pain002(client_api, batch):
    pytest.importorskip("payments.iso20022.pain002")
    from payments.iso20022.schemas import pain002_schema, validate_file

    make_payment(batch, "forwarded", reference="P-1")
    make_payment(batch, "rejected", reference="P-2")
    make_payment(batch, "received", reference="P-3")
    make_payment(
        batch,
        "rejected",
        reference="",
        return_code=2,
        return_field="reference",
        return_reason="required",
    )

    response = client_api.get(
        _url("payments-batch-return-answers", batch.pk), {"format": "pain002"}
    )

    assert response.status_code == 200, response.content
    document = b"".join(response.streaming_content)
    assert b"pain.002" in document
    validate_file(io.BytesIO(document), pain002_schema())
    root = _parse(document)
    ends = [element.text for element in root.iter() if element.tag.endswith("OrgnlEndToEndId")]
    assert ends == ["P-1", "P-2", "NOTPROVIDED"]  # P-3 has no answer yet
    assert b"RJCT" in document
    assert b"BE05" in document


def test_large_batches_stream_in_chunks(world, client_api):
    batch = make_batch(world)
    make_payments(batch, 1200, "completed")
    response = client_api.get(_url("payments-batch-return-answers", batch.pk))
    chunks = list(response.streaming_content)
    assert len(chunks) > 2
    assert len(_parse(b"".join(chunks)).findall("Payment")) == 1200


# --- The schema ------------------------------------------------------------------------------


def test_the_schema_documents_the_endpoints_and_every_return_code(operator):
    api = APIClient()
    api.force_login(operator)
    schema = api.get(reverse("api-schema"), {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/batches/{batch_id}",
        "/api/v1/batches/{batch_id}/payments",
        "/api/v1/batches/{batch_id}/payments/{reference}/history",
        "/api/v1/batches/{batch_id}/return-answers.xml",
        "/api/v1/batches/{batch_id}/stop",
        "/api/v1/payments",
        "/api/v1/payments/{payment_id}",
        "/api/v1/payments/stop",
    ):
        assert path in paths, path
    description = paths["/api/v1/batches/{batch_id}/payments"]["get"]["description"]
    # The API answers in English unless asked for Danish.
    with translation.override("en"):
        for code, entry in RETURN_CODES.items():
            assert f"| {code} |" in description
            assert str(entry.meaning) in description
            assert str(entry.action) in description
    assert "| 9 |" in paths["/api/v1/payments"]["get"]["description"]


@pytest.mark.parametrize(
    ("columns", "answer"),
    [
        (("forwarded", 0, "", "", ""), ("ACCP", "")),
        (("bank_received", 8, "", "", ""), ("ACCP", "")),
        (("rejected", 1, "", "", ""), ("RJCT", "BE05")),
        (("rejected", 2, "amount", "not_positive", ""), ("RJCT", "FF01")),
        (("rejected", 2, "reference", "already_used", ""), ("RJCT", "AM05")),
        (("failed", 7, "", "", "returned"), ("RJCT", "MS03")),
        (("failed", 7, "", "", "cheque"), ("ACCP", "")),
        (("waiting", 7, "", "", "waiting"), ("ACCP", "")),
        (("rejected", 7, "address", "no_address", ""), ("RJCT", "BE04")),
        (("bank_error", 9, "", "AC04", ""), ("RJCT", "AC04")),
        (("bank_error", 9, "", "KONTO LUKKET", ""), ("RJCT", "NARR")),
        (("stopped", None, "", "", ""), ("RJCT", "DS02")),
        (("received", None, "", "", ""), None),
    ],
)
def test_answers_in_iso_terms(columns, answer):
    from payments.batch_api import iso_status

    assert iso_status(("REF", *columns)) == answer
