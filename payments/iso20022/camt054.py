"""ISO 20022 camt.054.001.08 (debit/credit notification): streaming writer and reader.

The bank's notification of what it booked on the authority's disbursement account. We write
one notification (``Ntfctn``, ``Acct/Id/IBAN``) with one entry (``Ntry``) per transaction:
``Amt Ccy="DKK"``, ``CdtDbtInd`` (``DBIT`` for our payments), ``Sts/Cd`` = ``BOOK``,
``BookgDt``/``ValDt``, bank transaction code PMNT/ICDT/DMCT (PMNT/RCDT/DMCT for a credit) and
``NtryDtls/TxDtls`` with ``Refs/EndToEndId`` and the amount. Entry totals
(``TxsSummry``) come before the entries in the schema and are optional, so they are left out
and the writer streams.

The reader accepts both one entry per transaction and batch entries (one ``Ntry`` with many
``TxDtls``), handles every ``TxDtls`` as soon as it is parsed (constant memory even for a batch
entry of a million transactions) and yields only booked entries (``Sts`` BOOK); entries
without an end-to-end id cannot be matched and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO, Final, NamedTuple

from lxml import etree

from payments.iso20022.common import (
    CAMT054_NS,
    WRITE_BATCH,
    XML_DECLARATION,
    FileTotals,
    decimal_to_ore,
    escape,
    format_ore,
    parse_decimal,
    parse_iso_date,
    require_aware,
)
from payments.iso20022.errors import InvalidXml
from payments.iso20022.safe_parse import Source, first_text, iterparse
from payments.iso20022.schemas import camt054_schema

__all__ = [
    "BookedEntry",
    "Camt054Document",
    "Camt054Writer",
    "FileTotals",
    "read_camt054",
    "write_camt054",
]

DEBIT: Final = "DBIT"
CREDIT: Final = "CRDT"
BOOKED: Final = "BOOK"
_FAMILY: Final = {DEBIT: "ICDT", CREDIT: "RCDT"}


class BookedEntry(NamedTuple):
    """A booked movement on the account for one original transaction.

    A named tuple: a bank file can hold a million of them, and tuples are cheap to build.
    """

    end_to_end_id: str
    amount_ore: int
    credit_debit: str = DEBIT
    booking_date: date | None = None  # None: the file's booking date (when writing)


# --- writer --------------------------------------------------------------------------------------


class Camt054Writer:
    """Incremental camt.054 writer: ``add()`` entries, then ``close()``."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        message_id: str,
        created_at: datetime,
        account_iban: str,
        booking_date: date,
    ) -> None:
        if not 0 < len(message_id) <= 35:
            raise ValueError("message_id must be 1-35 characters")
        created = require_aware(created_at, "created_at")
        self._out = out
        self._booking_date = booking_date.isoformat()
        self._parts: list[str] = []
        self._count = 0
        self._sum_ore = 0
        self._closed = False
        msg_id = escape(message_id)
        out.write(
            (
                XML_DECLARATION + f'<Document xmlns="{CAMT054_NS}"><BkToCstmrDbtCdtNtfctn>'
                f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>"
                f"<Ntfctn><Id>{msg_id}</Id><CreDtTm>{created}</CreDtTm>"
                f"<Acct><Id><IBAN>{escape(account_iban)}</IBAN></Id></Acct>\n"
            ).encode("utf-8")
        )

    def add(self, entry: BookedEntry) -> None:
        amount = entry.amount_ore
        if type(amount) is not int or amount <= 0:
            raise ValueError(f"{entry.end_to_end_id}: amount_ore must be a positive int")
        family = _FAMILY.get(entry.credit_debit)
        if family is None:
            raise ValueError(f"credit_debit must be DBIT or CRDT, not {entry.credit_debit!r}")
        if not 0 < len(entry.end_to_end_id) <= 35:
            raise ValueError(f"end_to_end_id must be 1-35 characters: {entry.end_to_end_id!r}")
        self._count += 1
        self._sum_ore += amount
        booked = entry.booking_date.isoformat() if entry.booking_date else self._booking_date
        amt = format_ore(amount)
        cdi = entry.credit_debit
        self._parts.append(
            f'<Ntry><NtryRef>{self._count}</NtryRef><Amt Ccy="DKK">{amt}</Amt>'
            f"<CdtDbtInd>{cdi}</CdtDbtInd><Sts><Cd>{BOOKED}</Cd></Sts>"
            f"<BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>DMCT</SubFmlyCd>"
            "</Fmly></Domn></BkTxCd><NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>{escape(entry.end_to_end_id)}</EndToEndId></Refs>"
            f'<Amt Ccy="DKK">{amt}</Amt><CdtDbtInd>{cdi}</CdtDbtInd>'
            "</TxDtls></NtryDtls></Ntry>\n"
        )
        if len(self._parts) >= WRITE_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()

    def close(self) -> FileTotals:
        """Finish the document; the output stays open."""
        if self._closed:
            raise ValueError("writer already closed")
        self._closed = True
        self._parts.append("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n")
        self._flush()
        return FileTotals(count=self._count, sum_ore=self._sum_ore)


def write_camt054(
    out: BinaryIO,
    *,
    message_id: str,
    created_at: datetime,
    account_iban: str,
    booking_date: date,
    entries: Iterable[BookedEntry],
) -> FileTotals:
    """Stream a camt.054.001.08 notification with one booked entry per item of ``entries``."""
    writer = Camt054Writer(
        out,
        message_id=message_id,
        created_at=created_at,
        account_iban=account_iban,
        booking_date=booking_date,
    )
    for entry in entries:
        writer.add(entry)
    return writer.close()


# --- reader --------------------------------------------------------------------------------------

_N = "{" + CAMT054_NS + "}"
_ROOT = _N + "Document"
_GRPHDR = _N + "GrpHdr"
_ACCT = _N + "Acct"
_NTRY = _N + "Ntry"
_TXDTLS = _N + "TxDtls"
_AMT = _N + "Amt"
_CDI = _N + "CdtDbtInd"
_STS = _N + "Sts"
_BOOKGDT = _N + "BookgDt"
_NTRYDTLS = _N + "NtryDtls"
_REFS = _N + "Refs"
_ENDTOENDID = _N + "EndToEndId"


@dataclass(slots=True, eq=False)
class Camt054Document:
    """A camt.054 header (read ahead) and its booked entries as a one-pass iterator."""

    message_id: str
    created_at: str
    account_iban: str  # of the first notification
    entries: Iterator[BookedEntry] = field(default_factory=lambda: iter(()))

    def __iter__(self) -> Iterator[BookedEntry]:
        return self.entries

    def close(self) -> None:
        close = getattr(self.entries, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Camt054Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_camt054(source: Source, *, validate: bool = True) -> Camt054Document:
    """Open a camt.054.001.08 document, read its header, stream the booked entries."""
    elements = iterparse(
        source,
        tags=(_GRPHDR, _ACCT, _TXDTLS, _NTRY),
        schema=camt054_schema() if validate else None,
        expect_root=_ROOT,
    )
    message_id = created_at = ""
    for element in elements:
        if element.tag == _GRPHDR:
            message_id = first_text(element, _N + "MsgId")
            created_at = first_text(element, _N + "CreDtTm")
        elif element.tag == _ACCT:
            iban = first_text(element, f"{_N}Id/{_N}IBAN")
            return Camt054Document(
                message_id=message_id,
                created_at=created_at,
                account_iban=iban or first_text(element, f"{_N}Id/{_N}Othr/{_N}Id"),
                entries=_entries(elements),
            )
    raise InvalidXml("camt.054 without a notification (Ntfctn/Acct)", 1)


class _Entry:
    """The fields of a Ntry that its transactions share (all parsed before NtryDtls)."""

    __slots__ = ("amount", "booked", "credit_debit", "line", "status")

    def __init__(self, ntry: etree._Element) -> None:
        self.line = ntry.sourceline or 0
        self.amount: etree._Element | None = None
        self.credit_debit = self.status = ""
        self.booked: date | None = None
        for child in ntry:
            tag = child.tag
            if tag == _AMT:
                self.amount = child
            elif tag == _CDI:
                self.credit_debit = (child.text or "").strip()
            elif tag == _STS:
                for code in child:  # Cd or Prtry
                    self.status = (code.text or "").strip()
            elif tag == _BOOKGDT:
                for when in child:  # Dt or DtTm
                    self.booked = parse_iso_date(when.text, "BookgDt", self.line)
            elif tag == _NTRYDTLS:
                break

    def amount_ore(self) -> int:
        return _amount_ore(self.amount, self.line)


def _amount_ore(amount: etree._Element | None, line: int) -> int:
    if amount is None:
        raise InvalidXml("entry without an amount", line)
    return decimal_to_ore(parse_decimal(amount.text, "Amt", line), "Amt", line)


def _entries(elements: Iterator[etree._Element]) -> Iterator[BookedEntry]:
    entry: _Entry | None = None  # the Ntry of the TxDtls being read
    details = 0  # TxDtls seen in that Ntry
    pending: BookedEntry | None = None  # a TxDtls without an amount of its own
    try:
        for element in elements:
            if element.tag == _TXDTLS:
                line = element.sourceline or 0
                if entry is None:
                    parent = element.getparent()
                    ntry = parent.getparent() if parent is not None else None
                    if ntry is None:
                        continue
                    entry = _Entry(ntry)
                details += 1
                if pending is not None:
                    raise InvalidXml("batch entry without an amount per transaction", line)
                e2e = credit_debit = ""
                amount: etree._Element | None = None
                for child in element:
                    tag = child.tag
                    if tag == _REFS:
                        for ref in child:
                            if ref.tag == _ENDTOENDID:
                                e2e = (ref.text or "").strip()
                    elif tag == _AMT:
                        amount = child
                    elif tag == _CDI:
                        credit_debit = (child.text or "").strip()
                if not e2e or entry.status != BOOKED:
                    continue
                booked = BookedEntry(e2e, 0, credit_debit or entry.credit_debit, entry.booked)
                if amount is None:
                    if details > 1:
                        raise InvalidXml("batch entry without an amount per transaction", line)
                    pending = booked  # the entry's amount applies if it stays the only one
                    continue
                yield booked._replace(amount_ore=_amount_ore(amount, line))
            elif element.tag == _NTRY:
                if pending is not None:
                    yield pending._replace(amount_ore=_Entry(element).amount_ore())
                entry, details, pending = None, 0, None
    finally:
        close = getattr(elements, "close", None)
        if close is not None:
            close()
