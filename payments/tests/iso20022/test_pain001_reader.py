"""pain.001 reader on files from payment systems, and the mapping to the API payment shape."""

from __future__ import annotations

import io
import time
from decimal import Decimal
from pathlib import Path

import pytest

from payments.iso20022.errors import InvalidXml
from payments.iso20022.pain001_reader import (
    Pain001TxInfo,
    api_account,
    iter_pain001,
    pain001_to_api_payments,
)
from payments.tests.iso20022.builders import (
    BANK_AGREEMENT,
    VALUE_DATE,
    IncomingPayment,
    build_incoming_pain001,
    danish_transfers,
    pain001_bytes,
)


def _payments(data: bytes, **kwargs: bool) -> list[dict[str, object]]:
    return list(pain001_to_api_payments(iter_pain001(io.BytesIO(data), **kwargs)))


def test_envelope_fields() -> None:
    data = build_incoming_pain001([IncomingPayment("R1", "10.00")], message_id="PS-42")
    with iter_pain001(io.BytesIO(data)) as doc:
        assert doc.message_id == "PS-42"
        assert doc.authority == "kbh"
        assert doc.los_unit == "kbh-social"
        assert doc.bank_agreement == BANK_AGREEMENT
        assert doc.requested_execution_date == VALUE_DATE
        assert doc.number_of_transactions == 1
        assert doc.control_sum == Decimal("10.00")
        assert doc.created_at.startswith("2026-11-30T06:00:00")


def test_incomplete_payment_without_creditor_account() -> None:
    (payment,) = _payments(build_incoming_pain001([IncomingPayment("R1", "1234.50")]))
    assert payment == {
        "reference": "R1",
        "recipient": {"type": "CPR", "id": "0101901234"},
        "benefit": "BOLIGSTOTTE",
        "amount": "1234.50",
        "text": "Boligstøtte december",
        "account": None,
    }


def test_incomplete_payment_with_the_nemkonto_placeholder() -> None:
    data = build_incoming_pain001([IncomingPayment("R1", "1.00", nemkonto_placeholder=True)])
    (tx,) = iter_pain001(io.BytesIO(data))
    assert tx.other_account_id == "NEMKONTO"
    assert not tx.has_account
    assert api_account(tx) is None


def test_complete_payments_danish_account_and_iban() -> None:
    payments = [
        IncomingPayment("R1", "1.00", account={"reg": "1234", "number": "0001234567"}),
        IncomingPayment(
            "R2", "2.00", account={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}
        ),
        IncomingPayment("R3", "3.00", account={"iban": "DK5000400440116243"}),
    ]
    result = _payments(build_incoming_pain001(payments))
    assert [p["account"] for p in result] == [
        {"reg": "1234", "number": "0001234567"},
        {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        {"iban": "DK5000400440116243", "bic": ""},
    ]


@pytest.mark.parametrize(
    ("other", "account"),
    [
        ("1234-567", {"reg": "1234", "number": "0000000567"}),
        ("1234 0001234567", {"reg": "1234", "number": "0001234567"}),
        ("12340001234567", {"reg": "1234", "number": "0001234567"}),
        ("nemkonto", None),
        ("ABC-123", {"other": "ABC-123"}),
        ("", None),
    ],
)
def test_api_account_for_other_account_ids(other: str, account: dict[str, str] | None) -> None:
    tx = Pain001TxInfo("R", Decimal(1), "DKK", "TRF", None, "P", other_account_id=other)
    assert api_account(tx) == account


@pytest.mark.parametrize("kind", ["CVR", "P", "SE"])
def test_business_recipients(kind: str) -> None:
    data = build_incoming_pain001(
        [IncomingPayment("R1", "1.00", recipient_type=kind, recipient_id="12345678")]
    )
    (payment,) = _payments(data)
    assert payment["recipient"] == {"type": kind, "id": "12345678"}


def test_person_scheme_code_nidn_is_an_alias_for_cpr() -> None:
    data = build_incoming_pain001([IncomingPayment("R1", "1.00", person_scheme_code="NIDN")])
    (payment,) = _payments(data)
    assert payment["recipient"] == {"type": "CPR", "id": "0101901234"}


def test_no_recipient_and_no_benefit_or_text() -> None:
    data = build_incoming_pain001(
        [
            IncomingPayment(
                "R1",
                "1.00",
                recipient_type="",
                benefit="",
                text="",
                account={"reg": "1234", "number": "1"},
            )
        ]
    )
    (payment,) = _payments(data)
    assert payment["recipient"] is None
    assert (payment["benefit"], payment["text"]) == ("", "")


def test_foreign_currency_becomes_a_malformed_amount() -> None:
    (payment,) = _payments(build_incoming_pain001([IncomingPayment("R1", "10.5", currency="EUR")]))
    assert payment["amount"] == "EUR 10.5"


def test_amount_is_passed_on_as_written() -> None:
    amounts = ["0.01", "7", "12.3", "999999.99"]
    data = build_incoming_pain001([IncomingPayment(f"R{i}", a) for i, a in enumerate(amounts)])
    assert [p["amount"] for p in _payments(data)] == amounts


def test_transaction_lines_point_into_the_file() -> None:
    data = build_incoming_pain001([IncomingPayment(f"R{i}", "1.00") for i in range(3)])
    lines = data.splitlines()
    for tx in iter_pain001(io.BytesIO(data)):
        assert b"<CdtTrfTxInf>" in lines[tx.line - 1]


def test_number_of_transactions_mismatch() -> None:
    data = build_incoming_pain001([IncomingPayment("R1", "1.00")], number_of_transactions=2)
    with pytest.raises(InvalidXml, match="NbOfTxs is 2 but the file holds 1") as caught:
        _payments(data)
    assert caught.value.line > 0


def test_control_sum_mismatch() -> None:
    data = build_incoming_pain001([IncomingPayment("R1", "1.00")], control_sum="1.01")
    with pytest.raises(InvalidXml, match=r"CtrlSum is 1\.01"):
        _payments(data)


def test_xsd_violation_has_a_line() -> None:
    data = build_incoming_pain001(
        [IncomingPayment("R1", "1.00"), IncomingPayment("R" * 36, "2.00")]
    )
    line = next(i for i, text in enumerate(data.splitlines(), 1) if b"R" * 36 in text)
    with pytest.raises(InvalidXml, match="EndToEndId") as caught:
        _payments(data)
    assert caught.value.line == line


def test_without_validation_the_same_file_is_read() -> None:
    data = build_incoming_pain001(
        [IncomingPayment("R1", "1.00"), IncomingPayment("R" * 36, "2.00")]
    )
    assert [p["reference"] for p in _payments(data, validate=False)] == ["R1", "R" * 36]


def test_malformed_upload_has_a_line() -> None:
    data = build_incoming_pain001([IncomingPayment("R1", "1.00")])
    broken = data.replace(b"</Cdtr>", b"</Cdt>", 1)
    line = broken[: broken.index(b"</Cdt>")].count(b"\n") + 1
    with pytest.raises(InvalidXml) as caught:
        _payments(broken)
    assert caught.value.line == line


def test_wrong_message_type_is_refused() -> None:
    data = (
        b'<?xml version="1.0"?>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><x/></Document>'
    )
    with pytest.raises(InvalidXml):
        iter_pain001(io.BytesIO(data))
    with pytest.raises(InvalidXml, match="expected root element"):
        iter_pain001(io.BytesIO(data), validate=False)


def test_reading_from_a_path_and_closing_early(tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_bytes(pain001_bytes(danish_transfers(5000)))
    with iter_pain001(path) as doc:
        first = next(iter(doc))
        assert first.end_to_end_id == "E2E-00000000"
    # Closed without reading on: no totals check, no error.


def test_benchmark_reader_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the reader's rate with and without XSD validation; asserts nothing about time."""
    path = tmp_path / "big.xml"
    path.write_bytes(pain001_bytes(danish_transfers(50_000)))
    rates = []
    for validate in (True, False):
        started = time.perf_counter()
        count = sum(1 for _ in iter_pain001(path, validate=validate))
        rates.append(count / (time.perf_counter() - started))
    with capsys.disabled():
        print(f"\npain.001 reader: {rates[0]:,.0f}/s validating, {rates[1]:,.0f}/s not validating")
