"""camt.054.001.08: written files validate, round trip, bank-side variants (batch entries)."""

from __future__ import annotations

import io
from datetime import date

import pytest

from payments.iso20022.camt054 import (
    BookedEntry,
    Camt054Writer,
    FileTotals,
    read_camt054,
    write_camt054,
)
from payments.iso20022.common import CAMT054_NS
from payments.iso20022.errors import InvalidXml
from payments.iso20022.schemas import camt054_schema, validate_file
from payments.tests.iso20022.builders import DEBTOR_IBAN, NOW, VALUE_DATE

ENTRIES = [
    BookedEntry("E2E-1", 123_45),
    BookedEntry("E2E-2", 1),
    BookedEntry("E2E-<&>", 99_999_999_99, booking_date=date(2026, 12, 2)),
    BookedEntry("E2E-R", 50_00, credit_debit="CRDT"),
]


def _write(entries: list[BookedEntry]) -> tuple[bytes, FileTotals]:
    out = io.BytesIO()
    totals = write_camt054(
        out,
        message_id="C54-1",
        created_at=NOW,
        account_iban=DEBTOR_IBAN,
        booking_date=VALUE_DATE,
        entries=entries,
    )
    return out.getvalue(), totals


def test_round_trip_and_validation() -> None:
    data, totals = _write(ENTRIES)
    assert totals == FileTotals(4, sum(e.amount_ore for e in ENTRIES))
    validate_file(io.BytesIO(data), camt054_schema())
    with read_camt054(io.BytesIO(data)) as doc:
        assert (doc.message_id, doc.account_iban) == ("C54-1", DEBTOR_IBAN)
        assert doc.created_at == "2026-11-30T06:00:00+00:00"
        read = list(doc)
    expected = [
        BookedEntry(e.end_to_end_id, e.amount_ore, e.credit_debit, e.booking_date or VALUE_DATE)
        for e in ENTRIES
    ]
    assert read == expected


def test_empty_notification_is_valid() -> None:
    data, totals = _write([])
    assert totals == FileTotals(0, 0)
    validate_file(io.BytesIO(data), camt054_schema())
    assert list(read_camt054(io.BytesIO(data))) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (BookedEntry("E", 0), "positive"),
        (BookedEntry("E", 1, "DEBIT"), "DBIT or CRDT"),
        (BookedEntry("E" * 36, 1), "1-35"),
    ],
)
def test_writer_refuses_bad_entries(entry: BookedEntry, message: str) -> None:
    writer = Camt054Writer(
        io.BytesIO(),
        message_id="C",
        created_at=NOW,
        account_iban=DEBTOR_IBAN,
        booking_date=VALUE_DATE,
    )
    with pytest.raises(ValueError, match=message):
        writer.add(entry)


def _bank_file(entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{CAMT054_NS}"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>BANK-54</MsgId><CreDtTm>2026-12-01T08:00:00+01:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><IBAN>{DEBTOR_IBAN}</IBAN></Id></Acct>
{entries}
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
""".encode()


def _entry(amount: str, status: str, details: str, ref: str = "") -> str:
    return (
        f'<Ntry>{ref}<Amt Ccy="DKK">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        f"<Sts><Cd>{status}</Cd></Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn>"
        "</BkTxCd>"
        f"<NtryDtls>{details}</NtryDtls></Ntry>\n"
    )


def _details(e2e: str, amount: str | None = None) -> str:
    amt = f'<Amt Ccy="DKK">{amount}</Amt>' if amount is not None else ""
    return f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{amt}</TxDtls>"


def test_batch_entry_with_many_transactions() -> None:
    details = "".join(_details(f"B{i}", "1.50") for i in range(5000))
    data = _bank_file(_entry("7500.00", "BOOK", details))
    validate_file(io.BytesIO(data), camt054_schema())
    read = list(read_camt054(io.BytesIO(data)))
    assert len(read) == 5000
    assert read[0] == BookedEntry("B0", 150, "DBIT", date(2026, 12, 1))


def test_single_detail_without_amount_takes_the_entry_amount() -> None:
    data = _bank_file(_entry("12.34", "BOOK", _details("S1")))
    assert list(read_camt054(io.BytesIO(data))) == [
        BookedEntry("S1", 1234, "DBIT", date(2026, 12, 1))
    ]


def test_batch_without_amounts_per_transaction_is_refused() -> None:
    data = _bank_file(_entry("12.34", "BOOK", _details("S1") + _details("S2")))
    with pytest.raises(InvalidXml, match="batch entry without an amount"):
        list(read_camt054(io.BytesIO(data)))


def test_only_booked_entries_with_an_end_to_end_id_are_yielded() -> None:
    entries = (
        _entry("1.00", "PDNG", _details("PENDING", "1.00"))
        + _entry("2.00", "BOOK", "<TxDtls><Refs><AcctSvcrRef>X</AcctSvcrRef></Refs></TxDtls>")
        + _entry("3.00", "BOOK", _details("OK", "3.00"))
    )
    assert [e.end_to_end_id for e in read_camt054(io.BytesIO(_bank_file(entries)))] == ["OK"]


def test_fractions_of_an_ore_are_refused() -> None:
    data = _bank_file(_entry("1.005", "BOOK", _details("F", "1.005")))
    with pytest.raises(InvalidXml, match="more than two decimals") as caught:
        list(read_camt054(io.BytesIO(data)))
    assert caught.value.line == 5


def test_invalid_notification_is_refused_with_a_line() -> None:
    data, _ = _write(ENTRIES)
    bad = data.replace(b"<Cd>BOOK</Cd>", b"<Cd>BOOKED</Cd>", 1)
    with pytest.raises(InvalidXml, match="Cd") as caught:
        list(read_camt054(io.BytesIO(bad)))
    assert caught.value.line == bad[: bad.index(b"BOOKED")].count(b"\n") + 1 == 3
