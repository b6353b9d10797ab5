"""Hostile batches at ``POST /api/v1/batches`` (API.md, Submit a batch), as JSON, gzip, CSV and
pain.001.

Two documented behaviours, and the corpus checks each:

- an envelope or body error (entity expansion, DOCTYPE, too large, bad gzip, invalid UTF-8,
  nesting, wrong media type, control characters or a NUL in the envelope, an absurd value date)
  is a 4xx problem document and stores nothing: no batch, no payment, no audit row;
- a malformed row in an otherwise good batch (negative or fractional-øre amount, other currency,
  control characters, a reference used twice, ...) does not fail the batch: the row is stored
  rejected with return code 2 naming its field, and it is never forwarded to a bank.
"""

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from payments import pipeline
from payments.models import BankFile, Batch, Payment
from payments.tests.iso20022.builders import IncomingPayment, build_incoming_pain001
from payments.tests.pipeline_world import CPR_WITH_NEMKONTO, payment
from tests.hostile.conftest import Hostile, problem_fields

BATCHES = "/api/v1/batches"
ENVELOPE_QUERY = "authority=kbh&los_unit=YDELSE&bank_agreement=BA-1001"
CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def post(
    hostile: Hostile, body: bytes | str, content_type: str, query: str = "", **headers: str
) -> Any:
    return hostile.http.post(
        f"{BATCHES}?{query}" if query else BATCHES,
        body,
        content_type=content_type,
        headers={**hostile.bearer("payments"), **headers},
    )


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


def good_batch(hostile: Hostile, **envelope: Any) -> dict[str, Any]:
    return hostile.world.envelope(payments=[payment("OK-1")], **envelope)


def deep(opening: str, closing: str, depth: int) -> str:
    return opening * depth + closing * depth


# (name, body, content type, query, extra headers, status, field named or None)
ENVELOPE_CASES: list[tuple[str, Any, str, str, dict[str, str], int, str | None]] = [
    (
        "billion laughs",
        corpus("billion_laughs.xml"),
        "application/xml",
        ENVELOPE_QUERY,
        {},
        400,
        None,
    ),
    (
        "external entity",
        corpus("external_entity.xml"),
        "application/xml",
        ENVELOPE_QUERY,
        {},
        400,
        None,
    ),
    ("external DTD", corpus("external_dtd.xml"), "application/xml", ENVELOPE_QUERY, {}, 400, None),
    (
        "parameter entity",
        corpus("parameter_entity.xml"),
        "application/xml",
        ENVELOPE_QUERY,
        {},
        400,
        None,
    ),
    ("XInclude", corpus("xinclude.xml"), "application/xml", ENVELOPE_QUERY, {}, 400, None),
    ("UTF-16 XML", corpus("utf16.xml"), "text/xml", ENVELOPE_QUERY, {}, 400, None),
    ("no root element", b"<<<", "application/xml", ENVELOPE_QUERY, {}, 400, None),
    (
        "a lone declaration",
        b"<?xml version='1.0'?>",
        "application/xml",
        ENVELOPE_QUERY,
        {},
        400,
        None,
    ),
    ("CSV not UTF-8", corpus("invalid_utf8.csv"), "text/csv", ENVELOPE_QUERY, {}, 400, None),
    ("CSV wrong header", corpus("wrong_header.csv"), "text/csv", ENVELOPE_QUERY, {}, 400, None),
    ("CSV unclosed quote", corpus("unclosed_quote.csv"), "text/csv", ENVELOPE_QUERY, {}, 400, None),
    (
        "JSON not UTF-8",
        b'{"authority": "k\xff\xfebh", "payments": []}',
        "application/json",
        "",
        {},
        400,
        None,
    ),
    ("JSON NaN", b'{"authority": NaN, "payments": []}', "application/json", "", {}, 400, None),
    ("JSON array", b"[1, 2]", "application/json", "", {}, 400, None),
    (
        "JSON nested arrays",
        '{"payments": ' + deep("[", "]", 100_000) + "}",
        "application/json",
        "",
        {},
        400,
        None,
    ),
    (
        "JSON nested objects",
        '{"authority": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + ', "payments": []}',
        "application/json",
        "",
        {},
        400,
        None,
    ),
    (
        "gzip garbage",
        b"\x1f\x8b\x08\x00garbage",
        "application/json",
        "",
        {"Content-Encoding": "gzip"},
        400,
        None,
    ),
    (
        "gzip truncated",
        gzip.compress(b'{"payments": []}')[:-12],
        "application/json",
        "",
        {"Content-Encoding": "gzip"},
        400,
        None,
    ),
    ("brotli", b"{}", "application/json", "", {"Content-Encoding": "br"}, 415, None),
    ("plain text", b"R1;0101901234;10.00", "text/plain", "", {}, 415, None),
    ("PDF", b"%PDF-1.4", "application/pdf", "", {}, 415, None),
    ("form", b"authority=kbh", "application/x-www-form-urlencoded", "", {}, 415, None),
    ("multipart", b"--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x", "", {}, 415, None),
    (
        "NUL in the query",
        corpus("hostile_rows.csv"),
        "text/csv",
        "authority=k%00bh&los_unit=YDELSE&bank_agreement=BA-1001",
        {},
        400,
        "authority",
    ),
]


@pytest.mark.parametrize(
    ("body", "content_type", "query", "headers", "status", "field"),
    [case[1:] for case in ENVELOPE_CASES],
    ids=[case[0] for case in ENVELOPE_CASES],
)
def test_a_hostile_body_is_refused_and_nothing_is_stored(
    hostile, stored, body, content_type, query, headers, status, field
):
    before = stored()

    response = post(hostile, body, content_type, query, **headers)

    assert response.status_code == status, response.content[:500]
    assert problem_fields(response) == ([field] if field else [])
    assert response.json()["detail"]
    assert not before.changes()


ENVELOPE_FIELD_CASES = [
    ("NUL in the LOS unit", {"los_unit": "YD\x00ELSE"}, "los_unit", "control_characters"),
    ("a bell in the authority", {"authority": "kbh\x07"}, "authority", "control_characters"),
    ("SQL in the LOS unit", {"los_unit": "YDELSE' OR '1'='1"}, "los_unit", "unknown_los_unit"),
    (
        "SQL in the bank agreement",
        {"bank_agreement": "x'; DROP TABLE payments_payment;--"},
        "bank_agreement",
        "unknown_bank_agreement",
    ),
    (
        "the year 9999",
        {"requested_value_date": "9999-12-31"},
        "requested_value_date",
        "too_far_ahead",
    ),
    (
        "a five-digit year",
        {"requested_value_date": "99999-01-01"},
        "requested_value_date",
        "invalid_date",
    ),
    ("month 13", {"requested_value_date": "2026-13-45"}, "requested_value_date", "invalid_date"),
    (
        "a compact date",
        {"requested_value_date": "20261201"},
        "requested_value_date",
        "invalid_date",
    ),
    (
        "a number as date",
        {"requested_value_date": 20261201},
        "requested_value_date",
        "invalid_date",
    ),
    ("a list as authority", {"authority": ["kbh"]}, "authority", "not_a_string"),
    ("an object as dry run", {"dry_run": {"yes": True}}, "dry_run", "invalid"),
]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [case[1:] for case in ENVELOPE_FIELD_CASES],
    ids=[case[0] for case in ENVELOPE_FIELD_CASES],
)
def test_a_hostile_envelope_is_422_naming_the_field_and_stores_nothing(
    hostile, stored, change, field, code
):
    before = stored()

    response = post(hostile, as_json(good_batch(hostile, **change)), "application/json")

    assert response.status_code == 422, response.content[:500]
    errors = [(e["field"], e["code"]) for e in response.json()["errors"]]
    assert errors == [(field, code)]
    assert not before.changes()


def test_an_idempotency_key_with_control_characters_is_refused(hostile, stored):
    before = stored()

    response = post(
        hostile,
        as_json(good_batch(hostile)),
        "application/json",
        **{"Idempotency-Key": "key\twith\ttabs"},
    )

    assert response.status_code == 422
    assert problem_fields(response) == ["Idempotency-Key"]
    assert not before.changes()


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip bomb"])
def test_a_body_over_the_limit_is_413_even_as_a_small_gzip(hostile, stored, settings, gzipped):
    settings.NEMKONTO_BATCH_MAX_BYTES = 64 * 1024
    padding = " " * (settings.NEMKONTO_BATCH_MAX_BYTES * 16)  # 1 MiB of white space
    body = as_json(good_batch(hostile))[:-1] + padding.encode() + b"}"
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    sent = gzip.compress(body, compresslevel=9) if gzipped else body
    if gzipped:
        assert len(sent) < settings.NEMKONTO_BATCH_MAX_BYTES / 20
    before = stored()

    response = post(hostile, sent, "application/json", **headers)

    assert response.status_code == 413, response.content[:300]
    assert problem_fields(response) == []
    assert not before.changes()


# --- Row errors: stored rejected with return code 2, never forwarded ---------------------------

JSON_ROWS: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("NUL\x00REF", {}, "reference", "control_characters"),
    ("NUL-ID", {"recipient": {"type": "CPR", "id": "010190\x001234"}}, "recipient.id", None),
    ("BELL-TEXT", {"text": "ding\x07dong"}, "text", "control_characters"),
    ("NUL-TEXT", {"text": "a\x00b"}, "text", "control_characters"),
    ("NUL-BENEFIT", {"benefit": "BOERNE\x00CHECK"}, "benefit", "control_characters"),
    ("SQL-ID", {"recipient": {"type": "CPR", "id": "0101901234' OR 1=1--"}}, "recipient.id", None),
    (
        "TYPE-DROP",
        {"recipient": {"type": "CPR; DROP TABLE", "id": "0101901234"}},
        "recipient.type",
        "id_type_unknown",
    ),
    ("NEGATIVE", {"amount": "-100.00"}, "amount", "not_positive"),
    ("ZERO", {"amount": "0.00"}, "amount", "not_positive"),
    ("FRACTION-ORE", {"amount": "10.005"}, "amount", "fraction_of_ore"),
    ("FLOAT-ORE", {"amount": 0.001}, "amount", "fraction_of_ore"),
    ("HUGE", {"amount": "1e400"}, "amount", "not_a_decimal_string"),
    ("NAN", {"amount": "NaN"}, "amount", "not_a_decimal_string"),
    ("INFINITY", {"amount": "Infinity"}, "amount", "not_a_decimal_string"),
    ("BILLION", {"amount": "1000000000.00"}, "amount", "too_large"),
    ("OBJECT-AMOUNT", {"amount": {"value": "10.00"}}, "amount", "not_a_decimal_string"),
    ("EUR", {"currency": "EUR"}, "currency", "not_dkk"),
    ("LIST-CURRENCY", {"currency": ["DKK"]}, "currency", "not_dkk"),
    ("OK-1", {}, "reference", "duplicate"),
    ("LONG-TEXT", {"text": "x" * 36}, "text", "too_long"),
    ("BAD-ACCOUNT", {"account": {"reg": "3000", "number": "1' OR '1"}}, "account.number", None),
]


def _processed_and_forwarded(batch_id: str) -> list[BankFile]:
    """Process the batch and run the cycle of its cut-off; the bank files written."""
    assert pipeline.batch_process(batch_id) is True
    batch = Batch.objects.get(pk=batch_id)
    result = pipeline.cycle_run(at=batch.cut_off)
    for file_id in result.file_ids:
        pipeline.bank_file_write(file_id)
    return list(BankFile.objects.filter(pk__in=result.file_ids))


def _assert_rejected_and_never_forwarded(
    batch_id: str, expected: dict[str, tuple[str, str | None]]
) -> None:
    """Each expected row is rejected with code 2 naming its field; after processing and the
    cycle, the bank file carries the batch's first (good) row and none of the rejected ones."""
    files = _processed_and_forwarded(batch_id)
    payments = {p.reference: p for p in Payment.objects.filter(batch_id=batch_id, line__gt=0)}
    for reference, (field, code) in expected.items():
        row = payments[reference]
        assert (row.status, row.return_code, row.return_field) == ("rejected", 2, field), reference
        if code is not None:
            assert row.return_reason == code, reference
        assert row.bank_file_id is None, reference
    good = Payment.objects.get(batch_id=batch_id, line=0)
    assert good.status == "forwarded"
    assert [file.transaction_count for file in files] == [1]
    written = Path(files[0].path).read_text()
    assert f"<EndToEndId>{pipeline.end_to_end_id(good.pk)}</EndToEndId>" in written
    for row in payments.values():
        assert f"<EndToEndId>{pipeline.end_to_end_id(row.pk)}</EndToEndId>" not in written


def test_malformed_json_rows_are_rejected_with_code_2_and_never_forwarded(hostile):
    rows = [payment("OK-1")]
    for reference, fields, _field, _code in JSON_ROWS:
        item = payment(reference)
        item.update(fields)
        rows.append(item)
    response = post(hostile, as_json(hostile.world.envelope(payments=rows)), "application/json")
    assert response.status_code == 202, response.content[:500]
    assert response.json()["received"] == len(rows)

    stored_as = {  # a control character in a rejected reference is kept as U+FFFD
        reference.replace("\x00", "\ufffd"): (field, code)
        for reference, _fields, field, code in JSON_ROWS
    }
    # The second OK-1 is the duplicate; it shares its reference with the good first row.
    duplicate = stored_as.pop("OK-1")
    _assert_rejected_and_never_forwarded(response.json()["batch_id"], stored_as)
    second = Payment.objects.get(reference="OK-1", line__gt=0)
    assert (second.status, second.return_field, second.return_reason) == (
        "rejected",
        *duplicate,
    )


def test_malformed_csv_rows_are_rejected_with_code_2_and_never_forwarded(hostile):
    body = corpus("hostile_rows.csv")

    response = post(hostile, body, "text/csv", ENVELOPE_QUERY)

    assert response.status_code == 202, response.content[:500]
    assert response.json()["received"] == 10
    _assert_rejected_and_never_forwarded(
        response.json()["batch_id"],
        {
            "CSV-NUL\ufffdREF": ("reference", "control_characters"),
            "CSV-NULID": ("recipient.id", None),
            "CSV-BELL": ("text", "control_characters"),
            "CSV-SQL": ("recipient.id", None),
            "CSV-NEG": ("amount", "not_positive"),
            "CSV-ORE": ("amount", "fraction_of_ore"),
            "CSV-ZERO": ("amount", "not_positive"),
            "CSV-EXP": ("amount", "not_a_decimal_string"),
        },
    )
    duplicate = Payment.objects.get(reference="CSV-OK", line=9)
    assert (duplicate.status, duplicate.return_reason) == ("rejected", "duplicate")


def test_pain001_rows_in_another_currency_or_with_sql_are_rejected_and_never_forwarded(hostile):
    body = build_incoming_pain001(
        [
            IncomingPayment(
                "XML-OK", "100.00", recipient_id=CPR_WITH_NEMKONTO, benefit="BOERNECHECK"
            ),
            IncomingPayment(
                "XML-EUR",
                "5.00",
                recipient_id=CPR_WITH_NEMKONTO,
                benefit="BOERNECHECK",
                currency="EUR",
            ),
            IncomingPayment(
                "XML-SQL", "5.00", recipient_id="0101901234' OR 1=1", benefit="BOERNECHECK"
            ),
        ]
    )

    response = post(hostile, body, "application/xml", ENVELOPE_QUERY)

    assert response.status_code == 202, response.content[:500]
    _assert_rejected_and_never_forwarded(
        response.json()["batch_id"],
        {"XML-EUR": ("amount", None), "XML-SQL": ("recipient.id", None)},
    )


def test_a_reference_used_in_an_earlier_batch_is_rejected_in_the_later_one(hostile):
    first = post(hostile, as_json(good_batch(hostile)), "application/json")
    assert first.status_code == 202

    again = post(hostile, as_json(good_batch(hostile)), "application/json")

    assert again.status_code == 202
    row = Payment.objects.get(batch_id=again.json()["batch_id"])
    assert (row.status, row.return_code, row.return_reason) == ("rejected", 2, "already_used")
