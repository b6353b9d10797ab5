"""pain.001.001.09 writer: XSD-valid output, escaping, grouping, totals, speed."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest
from lxml import etree
from schwifty import IBAN

from payments.iso20022.common import PAIN001_NS
from payments.iso20022.errors import TotalsMismatch
from payments.iso20022.pain001_reader import iter_pain001
from payments.iso20022.pain001_writer import (
    FileTotals,
    Pain001Transaction,
    danish_iban,
    write_pain001,
)
from payments.iso20022.schemas import pain001_schema, validate_file
from payments.tests.iso20022.builders import (
    BANK_AGREEMENT,
    DEBTOR_BIC,
    DEBTOR_IBAN,
    VALUE_DATE,
    danish_transfers,
    header_for,
    mixed_transactions,
    pain001_bytes,
)

NS = {"p": PAIN001_NS}


@pytest.mark.parametrize(
    ("reg", "number"),
    [
        ("0040", "0440116243"),
        ("1234", "1234567"),
        ("9570", "12345678"),
        ("5301", "0000000001"),
        ("3409", "3409123456"),
        ("0001", "1"),
    ],
)
def test_danish_iban_agrees_with_schwifty(reg: str, number: str) -> None:
    expected = IBAN.generate("DK", bank_code=reg, account_code=number.zfill(10))
    assert danish_iban(reg, number) == str(expected.compact)
    assert IBAN(danish_iban(reg, number)).bank_code == reg


def test_danish_iban_known_value() -> None:
    assert danish_iban("0040", "0440116243") == "DK5000400440116243"


@pytest.mark.parametrize(
    ("reg", "number"),
    [("123", "1"), ("12345", "1"), ("12a4", "1"), ("1234", ""), ("1234", "1" * 11), ("1234", "١٢")],
)
def test_danish_iban_refuses_malformed_accounts(reg: str, number: str) -> None:
    with pytest.raises(ValueError, match="Danish account"):
        danish_iban(reg, number)


def test_mixed_file_is_valid_and_reads_back() -> None:
    transactions = mixed_transactions()
    data = pain001_bytes(transactions)
    validate_file(io.BytesIO(data), pain001_schema())
    with iter_pain001(io.BytesIO(data)) as doc:
        assert doc.message_id == "NK-20261201-0001"
        assert doc.number_of_transactions == 6
        assert doc.control_sum == Decimal(sum(tx.amount_ore for tx in transactions)) / 100
        assert doc.requested_execution_date == VALUE_DATE
        assert doc.bank_agreement == BANK_AGREEMENT
        assert doc.initiating_party_ids["CVR"] == "29189846"
        assert doc.initiating_party_name == "Testkøbing Kommune"
        assert doc.debtor_account_iban == DEBTOR_IBAN
        read = list(doc)
    assert [r.end_to_end_id for r in read] == [t.end_to_end_id for t in transactions]
    assert [r.amount for r in read] == [Decimal(t.amount_ore) / 100 for t in transactions]
    assert {r.currency for r in read} == {"DKK"}
    assert [r.method for r in read] == ["TRF"] * 4 + ["CHK"] * 2
    first, second, german, swedish, cheque, _ = read
    assert first.creditor_name == "Ærø & Søn <ApS>"
    assert first.remittance_text == "Refusion > 0 & <1>"
    assert first.iban == danish_iban("1234", "1234567")
    assert first.bic == ""
    assert second.iban == "DK" + second.iban[2:4] + "95700012345678"
    assert (german.iban, german.bic) == ("DE89370400440532013000", "COBADEFFXXX")
    assert (swedish.iban, swedish.bic, swedish.remittance_text) == (
        "SE4550000000058398257466",
        "",
        "",
    )
    assert (cheque.address, cheque.postcode, cheque.city, cheque.country) == (
        "Strandvejen 1, 2. tv",
        "2900",
        "Hellerup",
        "DK",
    )
    assert cheque.iban == cheque.other_account_id == ""
    assert {r.payment_information_id for r in read[:4]} == {"NK-20261201-0001-TRF1"}
    assert {r.payment_information_id for r in read[4:]} == {"NK-20261201-0001-CHK2"}


def test_header_layout() -> None:
    data = pain001_bytes(mixed_transactions())
    root = etree.fromstring(data)
    othr = root.findall("p:CstmrCdtTrfInitn/p:GrpHdr/p:InitgPty/p:Id/p:OrgId/p:Othr", NS)
    schemes = {
        o.findtext("p:SchmeNm/p:Prtry", namespaces=NS): o.findtext("p:Id", namespaces=NS)
        for o in othr
    }
    assert schemes == {"CVR": "29189846", "BANK_AGREEMENT": BANK_AGREEMENT}
    pmtinfs = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert [p.findtext("p:PmtMtd", namespaces=NS) for p in pmtinfs] == ["TRF", "CHK"]
    for pmtinf in pmtinfs:
        assert pmtinf.find("p:NbOfTxs", NS) is None
        assert pmtinf.find("p:CtrlSum", NS) is None
        assert pmtinf.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS) == "2026-12-01"
        assert pmtinf.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == DEBTOR_IBAN
        assert pmtinf.findtext("p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == DEBTOR_BIC
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "100453.95"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", namespaces=NS) == (
        "2026-11-30T06:00:00+00:00"
    )


def test_cheque_has_postal_address_and_no_account() -> None:
    root = etree.fromstring(pain001_bytes(mixed_transactions()))
    cheque = root.findall(".//p:CdtTrfTxInf", NS)[4]
    assert cheque.find("p:CdtrAcct", NS) is None
    address = cheque.find("p:Cdtr/p:PstlAdr", NS)
    assert address is not None
    assert [child.tag.split("}")[1] for child in address] == ["PstCd", "TwnNm", "Ctry", "AdrLine"]


def test_control_characters_and_long_names_still_give_a_valid_file() -> None:
    tx = Pain001Transaction(
        "E2E-CTRL",
        100,
        "TRF",
        "Name\x00with\x1bcontrol" + "x" * 200,
        "Tab\there",
        reg="1234",
        number="1",
    )
    data = pain001_bytes([tx])
    validate_file(io.BytesIO(data), pain001_schema())
    (read,) = iter_pain001(io.BytesIO(data))
    assert read.creditor_name.startswith("Name with control")
    assert len(read.creditor_name) == 140


def test_methods_may_alternate_each_run_gets_its_own_payment_information() -> None:
    trf = danish_transfers(2)
    cheque = mixed_transactions()[4]
    data = pain001_bytes([trf[0], cheque, trf[1]])
    validate_file(io.BytesIO(data), pain001_schema())
    ids = [tx.payment_information_id for tx in iter_pain001(io.BytesIO(data))]
    assert ids == ["NK-20261201-0001-TRF1", "NK-20261201-0001-CHK2", "NK-20261201-0001-TRF3"]


def test_totals_mismatch_count() -> None:
    transactions = danish_transfers(3)
    header = header_for(transactions, number_of_transactions=4)
    with pytest.raises(TotalsMismatch) as caught:
        write_pain001(io.BytesIO(), header, transactions)
    assert (caught.value.expected_count, caught.value.count) == (4, 3)


def test_totals_mismatch_sum() -> None:
    transactions = danish_transfers(3)
    header = header_for(transactions, control_sum_ore=1)
    with pytest.raises(TotalsMismatch, match="summing to 1 øre"):
        write_pain001(io.BytesIO(), header, transactions)


def test_empty_iterable_is_a_totals_mismatch() -> None:
    header = header_for(danish_transfers(1))
    with pytest.raises(TotalsMismatch):
        write_pain001(io.BytesIO(), header, [])


def test_returns_totals() -> None:
    transactions = danish_transfers(10)
    totals = write_pain001(io.BytesIO(), header_for(transactions), iter(transactions))
    assert totals == FileTotals(10, sum(tx.amount_ore for tx in transactions))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount_ore": 0}, "positive"),
        ({"amount_ore": -5}, "positive"),
        ({"method": "DD"}, "TRF or CHK"),
        ({"end_to_end_id": "x" * 36}, "1-35"),
        ({"end_to_end_id": ""}, "1-35"),
        ({"text": "x" * 36}, "longer than 35"),
        ({"reg": "", "number": ""}, "reg\\+number or iban"),
        ({"reg": "12", "number": "1"}, "Danish account"),
    ],
)
def test_inexpressible_transactions_are_refused(change: dict[str, object], message: str) -> None:
    tx = replace(danish_transfers(1)[0], **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        write_pain001(io.BytesIO(), header_for([tx], control_sum_ore=100), [tx])


def test_header_must_be_sane() -> None:
    transactions = danish_transfers(1)
    with pytest.raises(ValueError, match="timezone-aware"):
        write_pain001(
            io.BytesIO(), header_for(transactions, created_at=datetime(2026, 1, 1)), transactions
        )
    with pytest.raises(ValueError, match="message_id"):
        write_pain001(io.BytesIO(), header_for(transactions, message_id="M" * 36), transactions)
    with pytest.raises(ValueError, match="at least one"):
        write_pain001(io.BytesIO(), header_for([], number_of_transactions=0), [])


def test_large_file_is_valid() -> None:
    transactions = [*danish_transfers(20000), mixed_transactions()[4]]
    data = pain001_bytes(transactions)
    validate_file(io.BytesIO(data), pain001_schema())


def test_benchmark_writer_rate(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the writer's rate; asserts nothing about time (shared CI machines vary)."""
    transactions = danish_transfers(100_000)
    header = header_for(transactions)
    out = io.BytesIO()
    started = time.perf_counter()
    write_pain001(out, header, transactions)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\npain.001 writer: {len(transactions) / elapsed:,.0f} transactions/s")
