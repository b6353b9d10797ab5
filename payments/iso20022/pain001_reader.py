"""Streaming reader of ISO 20022 pain.001.001.09, and its mapping to the API's payment shape.

Used by the simulated bank on our own files, and by intake on files that payment systems upload
(``POST /api/v1/batches`` with ``application/xml``): :func:`pain001_to_api_payments` turns each
transaction into the JSON shape of a payment in API.md, so every format is validated by the same
code path.

Interface for payment systems sending pain.001.001.09 (our conventions)
-----------------------------------------------------------------------

The document must be valid against the pain.001.001.09 XSD, in UTF-8, without a DOCTYPE.

Group header (the batch envelope; query parameters of the upload may supply the same fields):

* ``GrpHdr/MsgId``: the payment system's message id (unique per payment system).
* ``GrpHdr/NbOfTxs`` and ``GrpHdr/CtrlSum``: must match the transactions in the file.
* ``GrpHdr/InitgPty/Id/OrgId/Othr`` entries, each ``Id`` with ``SchmeNm/Prtry``:
  ``AUTHORITY`` = authority code, ``LOS`` = LOS unit code, ``BANK_AGREEMENT`` = bank agreement
  number (the same place our own files to the banks carry it), ``CVR`` = the authority's CVR.
* ``PmtInf/ReqdExctnDt/Dt`` (or ``DtTm``): the requested value date (``requested_value_date``).
* ``PmtInf/PmtMtd``: ``TRF``.

One ``CdtTrfTxInf`` per payment:

=========================================  =====================================================
pain.001 element                           payment field (API.md)
=========================================  =====================================================
``PmtId/EndToEndId``                       ``reference`` (the payer's unique reference)
``Amt/InstdAmt`` with ``Ccy="DKK"``        ``amount`` (decimal string, as written)
``Cdtr/Id/PrvtId/Othr/Id``                 ``recipient`` ``{"type": "CPR", "id": ...}`` when
  with ``SchmeNm/Prtry`` = ``CPR``         ``SchmeNm`` is ``Prtry`` CPR (``Cd`` NIDN is accepted
                                           as an alias)
``Cdtr/Id/OrgId/Othr/Id``                  ``recipient`` ``{"type": "CVR"|"P"|"SE", "id": ...}``
  with ``SchmeNm/Prtry`` = CVR, P or SE    after the scheme name
``Purp/Prtry`` (or ``Purp/Cd``)            ``benefit`` (the benefit code)
``RmtInf/Ustrd`` (the first one)           ``text``
``Cdtr/Nm``                                informational only
``CdtrAcct``                               ``account``, see below
=========================================  =====================================================

``account``:

* ``CdtrAcct`` absent: an **incomplete** payment (``account: null``): NemKonto attaches the
  recipient's account. The pain.001.001.09 XSD allows this (``CdtrAcct`` is optional in the
  schema; some bank guidelines make it mandatory, so the next rule exists too).
* ``CdtrAcct/Id/Othr/Id`` = ``NEMKONTO`` (any or no ``SchmeNm``): also an incomplete payment,
  for tools that always write a creditor account.
* ``CdtrAcct/Id/Othr/Id`` = a Danish account, ``SchmeNm/Cd`` ``BBAN`` recommended: 4-digit
  reg.nr. then the account number (1-10 digits), optionally separated by ``-`` or a space:
  ``{"reg": "1234", "number": "0001234567"}`` (number zero-padded to 10 digits).
* ``CdtrAcct/Id/IBAN`` (with the BIC in ``CdtrAgt/FinInstnId/BICFI``):
  ``{"iban": ..., "bic": ...}``, ``bic`` "" when absent (a Danish IBAN needs none).
* Any other ``CdtrAcct/Id/Othr/Id`` is passed on as ``{"other": id}``, which the common
  validation rejects as a formal error (return code 2).

An amount in another currency than DKK is passed on as ``"<CCY> <amount>"`` (for example
``"EUR 10.00"``) so that the common validation rejects it as a malformed amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Final, NamedTuple

from lxml import etree

from payments.iso20022.common import PAIN001_NS, parse_decimal, parse_iso_date
from payments.iso20022.errors import InvalidXml
from payments.iso20022.safe_parse import Source, first_text, iterparse
from payments.iso20022.schemas import pain001_schema

__all__ = [
    "NEMKONTO_ACCOUNT_ID",
    "Pain001Document",
    "Pain001TxInfo",
    "api_account",
    "iter_pain001",
    "pain001_to_api_payments",
]

NEMKONTO_ACCOUNT_ID: Final = "NEMKONTO"
PERSON_SCHEMES: Final = {"CPR": "CPR", "NIDN": "CPR"}
ORGANISATION_SCHEMES: Final = {"CVR": "CVR", "P": "P", "SE": "SE"}
_DANISH_ACCOUNT = re.compile(r"(\d{4})[- ]?(\d{1,10})")

_N = "{" + PAIN001_NS + "}"
_GRPHDR = _N + "GrpHdr"
_PMTINFID = _N + "PmtInfId"
_PMTMTD = _N + "PmtMtd"
_REQDEXCTNDT = _N + "ReqdExctnDt"
_DBTRACCT = _N + "DbtrAcct"
_TX = _N + "CdtTrfTxInf"
_ROOT = _N + "Document"
_TAGS = (_GRPHDR, _PMTINFID, _PMTMTD, _REQDEXCTNDT, _DBTRACCT, _TX)


def _p(*names: str) -> str:
    return "/".join(_N + name for name in names)


# Clark names of the elements a transaction is read from.
_PMTID, _ENDTOENDID, _AMT, _CDTRAGT, _FININSTNID, _BICFI = (
    _N + n for n in ("PmtId", "EndToEndId", "Amt", "CdtrAgt", "FinInstnId", "BICFI")
)
_CDTR, _NM, _PSTLADR, _ID, _PRVTID, _ORGID, _OTHR = (
    _N + n for n in ("Cdtr", "Nm", "PstlAdr", "Id", "PrvtId", "OrgId", "Othr")
)
_SCHMENM, _CDTRACCT, _IBAN, _PURP, _RMTINF, _USTRD = (
    _N + n for n in ("SchmeNm", "CdtrAcct", "IBAN", "Purp", "RmtInf", "Ustrd")
)
_PSTCD, _TWNNM, _CTRY, _ADRLINE = (_N + n for n in ("PstCd", "TwnNm", "Ctry", "AdrLine"))


class Pain001TxInfo(NamedTuple):
    """One ``CdtTrfTxInf`` as read, with the fields of its ``PmtInf``.

    A named tuple rather than a frozen dataclass: a million of them are built per large
    file, and a tuple is built four times faster.
    """

    end_to_end_id: str
    amount: Decimal
    currency: str
    method: str  # PmtInf/PmtMtd: TRF or CHK
    requested_execution_date: date | None
    payment_information_id: str
    creditor_name: str = ""
    recipient_type: str = ""  # CPR, CVR, P, SE, or "" when the file names none
    recipient_id: str = ""
    purpose: str = ""  # Purp/Prtry (or Purp/Cd): the benefit code
    remittance_text: str = ""  # the first RmtInf/Ustrd
    iban: str = ""
    bic: str = ""
    other_account_id: str = ""  # CdtrAcct/Id/Othr/Id
    other_account_scheme: str = ""  # its SchmeNm (Cd or Prtry)
    address: str = ""  # Cdtr/PstlAdr: AdrLine ...
    postcode: str = ""
    city: str = ""
    country: str = ""
    line: int = 0  # line where the CdtTrfTxInf element starts in the file

    @property
    def has_account(self) -> bool:
        """False for an incomplete payment (no CdtrAcct, or the NEMKONTO placeholder)."""
        return bool(self.iban) or (
            bool(self.other_account_id) and self.other_account_id.upper() != NEMKONTO_ACCOUNT_ID
        )


@dataclass(slots=True, eq=False)
class Pain001Document:
    """The header of a pain.001 file, read ahead, and its transactions as a one-pass iterator.

    Iterating checks at the end that ``NbOfTxs`` and ``CtrlSum`` match the transactions
    (:class:`~payments.iso20022.errors.InvalidXml` if not). Use as a context manager, or call
    :meth:`close`, to release the file when the transactions are not read to the end.
    """

    message_id: str
    created_at: str
    number_of_transactions: int
    control_sum: Decimal | None
    requested_execution_date: date | None
    initiating_party_name: str = ""
    initiating_party_ids: dict[str, str] = field(default_factory=dict)
    debtor_account_iban: str = ""
    transactions: Iterator[Pain001TxInfo] = field(default_factory=lambda: iter(()))

    @property
    def bank_agreement(self) -> str:
        return self.initiating_party_ids.get("BANK_AGREEMENT", "")

    @property
    def authority(self) -> str:
        return self.initiating_party_ids.get("AUTHORITY", "")

    @property
    def los_unit(self) -> str:
        return self.initiating_party_ids.get("LOS", "")

    def __iter__(self) -> Iterator[Pain001TxInfo]:
        return self.transactions

    def close(self) -> None:
        close = getattr(self.transactions, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Pain001Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _PmtInf:
    __slots__ = ("date", "id", "method")

    def __init__(self) -> None:
        self.id = ""
        self.method = ""
        self.date: date | None = None


def _scheme(othr: etree._Element) -> str:
    """The scheme name of a generic identification (``SchmeNm/Prtry`` or ``SchmeNm/Cd``)."""
    for child in othr:
        if child.tag == _SCHMENM:
            for code in child:
                return (code.text or "").strip().upper()
    return ""


def _othr(othr: etree._Element) -> tuple[str, str]:
    """(Id, scheme name) of a generic identification ``Othr``."""
    ident = scheme = ""
    for child in othr:
        tag = child.tag
        if tag == _ID:
            ident = (child.text or "").strip()
        elif tag == _SCHMENM:
            for code in child:
                scheme = (code.text or "").strip().upper()
    return ident, scheme


def _text(element: etree._Element) -> str:
    text = element.text
    return text.strip() if text else ""


class _TxBuilder:
    """The fields of one CdtTrfTxInf, gathered in one walk over its children.

    Walking the children directly is several times faster than one ``findtext(path)`` per
    field (lxml evaluates multi-step paths in Python).
    """

    __slots__ = (
        "address",
        "amount",
        "bic",
        "city",
        "country",
        "currency",
        "e2e",
        "iban",
        "name",
        "other_id",
        "other_scheme",
        "postcode",
        "purpose",
        "recipient_id",
        "recipient_type",
        "text",
    )

    def __init__(self) -> None:
        self.e2e = self.currency = self.name = self.recipient_type = self.recipient_id = ""
        self.purpose = self.text = self.iban = self.bic = self.other_id = self.other_scheme = ""
        self.address = self.postcode = self.city = self.country = ""
        self.amount: etree._Element | None = None

    def creditor(self, cdtr: etree._Element) -> None:
        for child in cdtr:
            tag = child.tag
            if tag == _NM:
                self.name = _text(child)
            elif tag == _PSTLADR:
                for part in child:
                    ptag = part.tag
                    if ptag == _ADRLINE:
                        if not self.address:
                            self.address = _text(part)
                    elif ptag == _PSTCD:
                        self.postcode = _text(part)
                    elif ptag == _TWNNM:
                        self.city = _text(part)
                    elif ptag == _CTRY:
                        self.country = _text(part)
            elif tag == _ID:
                for kind in child:  # PrvtId or OrgId
                    schemes = PERSON_SCHEMES if kind.tag == _PRVTID else ORGANISATION_SCHEMES
                    for othr in kind:
                        if othr.tag == _OTHR and not self.recipient_type:
                            ident, scheme = _othr(othr)
                            recipient_type = schemes.get(scheme)
                            if recipient_type:
                                self.recipient_type, self.recipient_id = recipient_type, ident

    def account(self, acct: etree._Element) -> None:
        for child in acct:
            if child.tag == _ID:
                for ident in child:
                    if ident.tag == _IBAN:
                        self.iban = _text(ident).replace(" ", "").upper()
                    elif ident.tag == _OTHR:
                        self.other_id, self.other_scheme = _othr(ident)


def _transaction(tx: etree._Element, pmtinf: _PmtInf) -> Pain001TxInfo:
    line = tx.sourceline or 0
    b = _TxBuilder()
    for child in tx:
        tag = child.tag
        if tag == _PMTID:
            for ident in child:
                if ident.tag == _ENDTOENDID:
                    b.e2e = _text(ident)
        elif tag == _AMT:
            for amount in child:  # InstdAmt (or EqvtAmt, refused below)
                b.amount = amount
        elif tag == _CDTR:
            b.creditor(child)
        elif tag == _CDTRACCT:
            b.account(child)
        elif tag == _CDTRAGT:
            for fin in child:
                if fin.tag == _FININSTNID:
                    for bic in fin:
                        if bic.tag == _BICFI:
                            b.bic = _text(bic).upper()
        elif tag == _PURP:
            for code in child:
                b.purpose = _text(code)
        elif tag == _RMTINF:
            for ustrd in child:
                if ustrd.tag == _USTRD:
                    b.text = _text(ustrd)
                    break
    if b.amount is None or b.amount.tag != _N + "InstdAmt":
        raise InvalidXml("CdtTrfTxInf without Amt/InstdAmt", line)
    return Pain001TxInfo(
        end_to_end_id=b.e2e,
        amount=parse_decimal(b.amount.text, "InstdAmt", line),
        currency=(b.amount.get("Ccy") or "").strip(),
        method=pmtinf.method,
        requested_execution_date=pmtinf.date,
        payment_information_id=pmtinf.id,
        creditor_name=b.name,
        recipient_type=b.recipient_type,
        recipient_id=b.recipient_id,
        purpose=b.purpose,
        remittance_text=b.text,
        iban=b.iban,
        bic=b.bic,
        other_account_id=b.other_id,
        other_account_scheme=b.other_scheme,
        address=b.address,
        postcode=b.postcode,
        city=b.city,
        country=b.country,
        line=line,
    )


def iter_pain001(source: Source | Path | BinaryIO, *, validate: bool = True) -> Pain001Document:
    """Open a pain.001.001.09 document and read its header; transactions stream on iteration.

    ``validate`` (default) checks the document against the XSD while streaming. Errors are
    :class:`~payments.iso20022.errors.InvalidXml` with a line number, raised here for the
    header and during iteration for the rest.
    """
    elements = iterparse(
        source, tags=_TAGS, schema=pain001_schema() if validate else None, expect_root=_ROOT
    )
    pmtinf = _PmtInf()
    header: dict[str, Any] = {}
    header_line = 0
    debtor_iban = ""
    first_date: date | None = None
    pending: list[Pain001TxInfo] = []
    # Read ahead: the group header, then the first PmtInf up to its requested execution date.
    for element in elements:
        tag = element.tag
        if tag == _GRPHDR:
            header_line = element.sourceline or 0
            header = _group_header(element)
        elif tag == _PMTINFID:
            pmtinf = _PmtInf()
            pmtinf.id = (element.text or "").strip()
        elif tag == _PMTMTD:
            pmtinf.method = (element.text or "").strip()
        elif tag == _DBTRACCT:
            debtor_iban = first_text(element, _p("Id", "IBAN"))
            break
        elif tag == _REQDEXCTNDT:
            pmtinf.date = first_date = _requested_date(element)
        elif tag == _TX:
            pending.append(_transaction(element, pmtinf))
            break
    if not header:
        elements.close()
        raise InvalidXml("pain.001 without a group header (GrpHdr)", 1)
    return Pain001Document(
        message_id=header["message_id"],
        created_at=header["created_at"],
        number_of_transactions=header["number_of_transactions"],
        control_sum=header["control_sum"],
        requested_execution_date=first_date,
        initiating_party_name=header["initiating_party_name"],
        initiating_party_ids=header["initiating_party_ids"],
        debtor_account_iban=debtor_iban,
        transactions=_transactions(elements, pmtinf, pending, header, header_line),
    )


def _group_header(element: etree._Element) -> dict[str, Any]:
    line = element.sourceline or 0
    count_text = first_text(element, _p("NbOfTxs"))
    if not count_text.isdigit():
        raise InvalidXml(f"GrpHdr/NbOfTxs is not a number: {count_text!r}", line)
    ctrl_sum = first_text(element, _p("CtrlSum"))
    ids: dict[str, str] = {}
    for othr in element.iterfind(_p("InitgPty", "Id", "OrgId", "Othr")):
        scheme = _scheme(othr)
        if scheme and scheme not in ids:
            ids[scheme] = _othr(othr)[0]
    return {
        "message_id": first_text(element, _p("MsgId")),
        "created_at": first_text(element, _p("CreDtTm")),
        "number_of_transactions": int(count_text),
        "control_sum": parse_decimal(ctrl_sum, "GrpHdr/CtrlSum", line) if ctrl_sum else None,
        "initiating_party_name": first_text(element, _p("InitgPty", "Nm")),
        "initiating_party_ids": ids,
    }


def _requested_date(element: etree._Element) -> date:
    text = first_text(element, _p("Dt")) or first_text(element, _p("DtTm"))
    return parse_iso_date(text, "ReqdExctnDt", element.sourceline or 0)


def _transactions(
    elements: Iterator[etree._Element],
    pmtinf: _PmtInf,
    pending: list[Pain001TxInfo],
    header: dict[str, Any],
    header_line: int,
) -> Iterator[Pain001TxInfo]:
    count = 0
    total = Decimal(0)
    try:
        for tx in pending:
            count += 1
            total += tx.amount
            yield tx
        pending.clear()
        for element in elements:
            tag = element.tag
            if tag == _TX:
                tx = _transaction(element, pmtinf)
                count += 1
                total += tx.amount
                yield tx
            elif tag == _PMTINFID:
                pmtinf = _PmtInf()
                pmtinf.id = (element.text or "").strip()
            elif tag == _PMTMTD:
                pmtinf.method = (element.text or "").strip()
            elif tag == _REQDEXCTNDT:
                pmtinf.date = _requested_date(element)
    finally:
        close = getattr(elements, "close", None)
        if close is not None:
            close()
    if count != header["number_of_transactions"]:
        raise InvalidXml(
            f"GrpHdr/NbOfTxs is {header['number_of_transactions']} but the file holds "
            f"{count} transactions",
            header_line,
        )
    control_sum = header["control_sum"]
    if control_sum is not None and control_sum != total:
        raise InvalidXml(
            f"GrpHdr/CtrlSum is {control_sum} but the transactions sum to {total}", header_line
        )


# --- mapping to the API's payment shape ----------------------------------------------------------


def api_account(tx: Pain001TxInfo) -> dict[str, str] | None:
    """The ``account`` of the API payment shape for a transaction (None: incomplete payment)."""
    if tx.iban:
        return {"iban": tx.iban, "bic": tx.bic}
    other = tx.other_account_id
    if not other or other.upper() == NEMKONTO_ACCOUNT_ID:
        return None
    match = _DANISH_ACCOUNT.fullmatch(other)
    if match is not None:
        return {"reg": match.group(1), "number": match.group(2).zfill(10)}
    return {"other": other}


def pain001_to_api_payments(doc: Pain001Document) -> Iterator[dict[str, Any]]:
    """Each transaction as a payment in the JSON shape of ``POST /api/v1/batches`` (API.md).

    ``{"reference", "recipient": {"type", "id"} | None, "benefit", "amount": "123.45", "text",
    "account": {"reg", "number"} | {"iban", "bic"} | None}``; see the module docstring.
    """
    for tx in doc:
        amount = format(tx.amount, "f")
        if tx.currency != "DKK":
            amount = f"{tx.currency or '???'} {amount}"
        yield {
            "reference": tx.end_to_end_id,
            "recipient": (
                {"type": tx.recipient_type, "id": tx.recipient_id} if tx.recipient_type else None
            ),
            "benefit": tx.purpose,
            "amount": amount,
            "text": tx.remittance_text,
            "account": api_account(tx),
        }
