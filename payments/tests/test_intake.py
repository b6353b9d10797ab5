"""Intake of batches (API.md, Submit a batch): formats, envelope checks, row errors,
idempotency, and that a refused batch stores nothing."""

import gzip
import json
from typing import Any

import pytest
from django.test import Client

from payments.models import Batch, Payment
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CVR_WITH_NEMKONTO,
    World,
    payment,
)

pytestmark = pytest.mark.django_db(transaction=False)
BATCHES = "/api/v1/batches"


def post_json(client: Client, token: str, body: Any, **headers: str):
    return client.post(
        BATCHES,
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def nothing_stored() -> bool:
    return not Batch.objects.exists() and not Payment.objects.exists()


@pytest.fixture
def token(world: World, client: Client) -> str:
    return world.token(client)


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Processing is queued after the commit; these tests look at intake alone."""
    queued: list[str] = []
    monkeypatch.setattr("payments.tasks.batch_process.delay", queued.append)
    return queued


def test_a_json_batch_is_received_with_its_value_date(
    world, client, token, no_worker, django_capture_on_commit_callbacks
):
    body = world.envelope(payments=[payment("R1"), payment("R2", CVR_WITH_NEMKONTO)])

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, token, body)

    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["status"] == "received"
    assert answer["received"] == 2
    batch = Batch.objects.get(pk=answer["batch_id"])
    assert answer["expected_value_date"] == batch.expected_value_date.isoformat()
    assert answer["cut_off"].endswith(("+01:00", "+02:00"))
    assert answer["links"]["self"] == f"{BATCHES}/{batch.pk}"
    assert response["Location"] == answer["links"]["self"]
    rows = list(Payment.objects.filter(batch=batch).order_by("line"))
    assert [(p.reference, p.status, p.amount_ore) for p in rows] == [
        ("R1", "received", 123450),
        ("R2", "received", 123450),
    ]
    assert rows[1].recipient_type == "CVR"
    assert rows[0].benefit_id == world.benefit.pk
    assert no_worker == [str(batch.pk)]


def test_row_errors_are_rejected_with_code_2_and_do_not_fail_the_batch(world, client, token):
    body = world.envelope(
        payments=[
            payment("OK"),
            payment("BAD-DATE", "3213901234"),
            payment("NEG", amount="-5.00"),
            payment("FRACTION", amount="1.005"),
            payment("NUMBER", amount=12.5),
            payment("EUR", currency="EUR"),
            payment("LONGTEXT", text="x" * 36),
            payment("OK"),
            payment("BAD-ACCOUNT", account={"reg": "3000", "number": "12345678901"}),
            payment("X" * 36),
        ]
    )

    response = post_json(client, token, body)

    assert response.status_code == 202, response.content
    rows = {
        (p.line, p.reference): (p.status, p.return_code, p.return_field, p.return_reason)
        for p in Payment.objects.all()
    }
    assert rows[(0, "OK")] == ("received", None, "", "")
    assert rows[(1, "BAD-DATE")] == ("rejected", 2, "recipient.id", "cpr_invalid_date")
    assert rows[(2, "NEG")] == ("rejected", 2, "amount", "not_positive")
    assert rows[(3, "FRACTION")] == ("rejected", 2, "amount", "fraction_of_ore")
    # A JSON number is read exactly (never as a binary float), so 12.5 is 12.50 kr.
    assert rows[(4, "NUMBER")] == ("received", None, "", "")
    assert rows[(5, "EUR")] == ("rejected", 2, "currency", "not_dkk")
    assert rows[(6, "LONGTEXT")] == ("rejected", 2, "text", "too_long")
    assert rows[(7, "OK")] == ("rejected", 2, "reference", "duplicate")
    assert rows[(8, "BAD-ACCOUNT")][:3] == ("rejected", 2, "account.number")
    assert rows[(9, "X" * 35)] == ("rejected", 2, "reference", "too_long")


def test_a_reference_used_in_an_earlier_batch_is_a_row_error(world, client, token):
    assert post_json(client, token, world.envelope(payments=[payment("R1")])).status_code == 202

    second = post_json(client, token, world.envelope(payments=[payment("R1"), payment("R2")]))

    assert second.status_code == 202
    batch = Batch.objects.get(pk=second.json()["batch_id"])
    assert {p.reference: (p.status, p.return_reason) for p in batch.payments.all()} == {
        "R1": ("rejected", "already_used"),
        "R2": ("received", ""),
    }


def test_gzip_and_csv_bodies_are_accepted(world, client, token):
    body = json.dumps(world.envelope(payments=[payment("G1")])).encode()
    gz = client.post(
        BATCHES,
        gzip.compress(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    assert gz.status_code == 202, gz.content

    csv_body = (
        "reference,recipient_type,recipient_id,benefit,amount,text,reg,number,iban,bic\r\n"
        f"C1,CPR,{CPR_WITH_NEMKONTO[:6]}-{CPR_WITH_NEMKONTO[6:]},BOERNECHECK,10.00,Tekst,,,,\r\n"
        f'C2,CPR,{CPR_NOT_IN_REGISTER},BOERNECHECK,20,"Med, komma",3000,1234567,,\r\n'
    )
    query = "authority=kbh&los_unit=YDELSE&bank_agreement=BA-1001"
    csv = client.post(
        f"{BATCHES}?{query}",
        csv_body,
        content_type="text/csv",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert csv.status_code == 202, csv.content
    rows = {p.reference: p for p in Payment.objects.filter(batch_id=csv.json()["batch_id"])}
    assert rows["C1"].recipient_number == CPR_WITH_NEMKONTO
    assert rows["C1"].amount_ore == 1000
    assert rows["C2"].text == "Med, komma"
    assert (rows["C2"].account_source, rows["C2"].reg, rows["C2"].number) == (
        "given",
        "3000",
        "0001234567",
    )


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"authority": "andre"}, "authority", "not_your_authority"),
        ({"los_unit": "NOPE"}, "los_unit", "unknown_los_unit"),
        ({"bank_agreement": "BA-9999"}, "bank_agreement", "unknown_bank_agreement"),
        ({"los_unit": ""}, "los_unit", "required"),
        ({"requested_value_date": "01-12-2026"}, "requested_value_date", "invalid_date"),
    ],
)
def test_envelope_errors_are_422_naming_the_field_and_store_nothing(
    world, client, token, change, field, code
):
    response = post_json(client, token, {**world.envelope(**change), "payments": [payment("R")]})

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]
    assert nothing_stored()


def test_an_unknown_benefit_is_refused_naming_the_row(world, client, token):
    body = world.envelope(payments=[payment("R1"), payment("R2", benefit="UKENDT")])

    response = post_json(client, token, body)

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "payments[1].benefit",
            "code": "unknown_benefit",
            "message": "Testkøbing Kommune has no benefit UKENDT.",
        }
    ]
    assert nothing_stored()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"authority": "kbh", "payments": [', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"reference;amount\n", "text/csv", 400),
        (b"\xff\xfe not utf-8", "text/csv", 400),
        (b"hello", "application/pdf", 415),
    ],
)
def test_malformed_bodies_are_refused_and_store_nothing(
    world, client, token, body, content_type, status
):
    response = client.post(
        f"{BATCHES}?authority=kbh&los_unit=YDELSE&bank_agreement=BA-1001",
        body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert nothing_stored()


def test_a_body_over_the_limit_is_413_even_when_compressed(world, client, token, settings):
    settings.NEMKONTO_BATCH_MAX_BYTES = 10_000
    big = json.dumps(world.envelope(payments=[payment(f"R{i}") for i in range(200)])).encode()
    plain = client.post(
        BATCHES, big, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    bomb = client.post(
        BATCHES,
        gzip.compress(big),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    assert (plain.status_code, bomb.status_code) == (413, 413)
    assert nothing_stored()


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(world, client, token):
    body = world.envelope(payments=[payment("R1")])
    first = post_json(client, token, body, **{"Idempotency-Key": "k-1"})
    again = post_json(client, token, body, **{"Idempotency-Key": "k-1"})
    other = post_json(
        client, token, world.envelope(payments=[payment("R2")]), **{"Idempotency-Key": "k-1"}
    )

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Batch.objects.count() == 1
    assert Payment.objects.count() == 1


def test_envelope_after_the_payments_is_read_too(world, client, token):
    envelope = json.dumps(world.envelope())[1:-1]
    body = f'{{"payments": [{json.dumps(payment("LATE"))}], {envelope}}}'
    response = client.post(
        BATCHES, body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 202, response.content
    assert Payment.objects.get().reference == "LATE"


def test_a_pain001_batch_is_received_like_json(world, client, token):
    from payments.tests.iso20022.builders import IncomingPayment, build_incoming_pain001

    body = build_incoming_pain001(
        [
            IncomingPayment("X1", "100.00", recipient_id=CPR_WITH_NEMKONTO, benefit="BOERNECHECK"),
            IncomingPayment(
                "X2",
                "25.50",
                recipient_id=CPR_WITH_NEMKONTO,
                benefit="BOERNECHECK",
                account={"reg": "3000", "number": "0001234567"},
            ),
            IncomingPayment(
                "X3", "5.00", recipient_id=CPR_WITH_NEMKONTO, benefit="BOERNECHECK", currency="EUR"
            ),
        ]
    )
    response = client.post(
        f"{BATCHES}?authority=kbh&los_unit=YDELSE&bank_agreement=BA-1001",
        body,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 202, response.content
    rows = {p.reference: p for p in Payment.objects.all()}
    assert (rows["X1"].status, rows["X1"].amount_ore, rows["X1"].account_source) == (
        "received",
        10000,
        "",
    )
    assert (rows["X2"].account_source, rows["X2"].number) == ("given", "0001234567")
    assert (rows["X3"].status, rows["X3"].return_field) == ("rejected", "amount")


def test_an_xml_bomb_is_refused_and_stores_nothing(world, client, token):
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">&lol2;</Document>'
    )
    response = client.post(
        f"{BATCHES}?authority=kbh&los_unit=YDELSE&bank_agreement=BA-1001",
        bomb,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [] or response.json()["detail"]
    assert "DOCTYPE" in response.json()["detail"]
    assert nothing_stored()


def test_an_inactive_agreement_is_403_and_stores_nothing(world, client, token):
    from payments.models import ConnectionAgreement

    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(status="suspended")

    response = post_json(client, token, world.envelope(payments=[payment("R1")]))

    assert response.status_code == 403
    assert response.json()["errors"] == []
    assert "suspended" in response.json()["detail"]
    assert nothing_stored()
