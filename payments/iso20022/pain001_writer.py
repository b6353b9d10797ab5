"""Streaming writer of ISO 20022 pain.001.001.09 files for an authority's bank.

One file is one message: a group header with the totals (known in advance: the pipeline counts
and sums in SQL first), then one payment information block (``PmtInf``) per run of
transactions with the same method: ``TRF`` (credit transfer) or ``CHK`` (cheque sent to the
creditor's postal address). The optional ``PmtInf``-level ``NbOfTxs``/``CtrlSum`` are left
out, so nothing but the group header totals must be known before writing.

Where things go:

* ``GrpHdr/InitgPty``: the authority: ``Nm``, and two ``Id/OrgId/Othr`` entries: the CVR
  number (``SchmeNm/Prtry`` = ``CVR``) and the bank agreement number
  (*pengeinstitutaftalenummer*, ``SchmeNm/Prtry`` = ``BANK_AGREEMENT``). Both are generic
  organisation identifications with a proprietary scheme name, the standard place for
  identifiers the ISO code lists do not name.
* ``PmtInf``: ``PmtInfId`` = ``<MsgId[:28]>-<method><n>``, ``ReqdExctnDt/Dt`` = value date,
  ``Dbtr`` = the authority (name and CVR), ``DbtrAcct/Id/IBAN`` = disbursement account,
  ``DbtrAgt/FinInstnId/BICFI`` = the authority's bank.
* ``CdtTrfTxInf``: ``PmtId/EndToEndId``, ``Amt/InstdAmt Ccy="DKK"``, for a foreign account
  ``CdtrAgt/FinInstnId/BICFI``, ``Cdtr/Nm`` (and for a cheque ``Cdtr/PstlAdr`` with ``PstCd``,
  ``TwnNm``, ``Ctry`` = DK, ``AdrLine``), ``CdtrAcct/Id/IBAN`` (a Danish reg.nr. + account
  number is written as its Danish IBAN) and ``RmtInf/Ustrd`` = the text for the recipient.

The writer renders precompiled string templates with XML escaping and writes UTF-8 in batches:
it never builds a tree, and its memory does not grow with the number of transactions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO, Final

from payments.iso20022.common import (
    PAIN001_NS,
    WRITE_BATCH,
    XML_DECLARATION,
    FileTotals,
    escape,
    format_ore,
    require_aware,
)
from payments.iso20022.errors import TotalsMismatch

__all__ = [
    "FileTotals",
    "Pain001Header",
    "Pain001Transaction",
    "Party",
    "TotalsMismatch",
    "danish_iban",
    "write_pain001",
]

METHODS: Final = ("TRF", "CHK")
BANK_AGREEMENT_SCHEME: Final = "BANK_AGREEMENT"
CVR_SCHEME: Final = "CVR"


@dataclass(frozen=True, slots=True)
class Party:
    """The authority: initiating party and debtor."""

    name: str
    cvr: str


@dataclass(frozen=True, slots=True)
class Pain001Header:
    message_id: str  # <= 35 characters
    created_at: datetime  # timezone-aware
    initiating_party: Party
    debtor_account_iban: str  # the authority's disbursement account
    debtor_agent_bic: str  # the authority's bank
    bank_agreement_number: str  # written as InitgPty/Id/OrgId/Othr, SchmeNm/Prtry BANK_AGREEMENT
    value_date: date  # PmtInf/ReqdExctnDt/Dt
    number_of_transactions: int
    control_sum_ore: int


@dataclass(frozen=True, slots=True)
class Pain001Transaction:
    end_to_end_id: str  # <= 35 characters
    amount_ore: int  # > 0
    method: str  # "TRF" or "CHK"
    creditor_name: str
    text: str  # RmtInf/Ustrd, <= 35 characters
    reg: str = ""  # Danish account: reg.nr. (4 digits) ...
    number: str = ""  # ... and account number (1-10 digits), written as a Danish IBAN
    iban: str = ""  # foreign account: IBAN ...
    bic: str = ""  # ... and BIC
    address: str = ""  # cheques: Cdtr/PstlAdr, Ctry DK
    postcode: str = ""
    city: str = ""


def danish_iban(reg: str, number: str) -> str:
    """The Danish IBAN of reg.nr. + account number: DK + check digits + 4 + 10 digits (ISO 13616).

    The account number is zero-padded to 10 digits. Check digits by ISO 7064 mod 97-10 over the
    BBAN followed by "DK00" with letters as numbers (D = 13, K = 20), done on one integer.
    """
    bban = reg + number.zfill(10)
    if not number or len(reg) != 4 or len(bban) != 14 or not (bban.isascii() and bban.isdigit()):
        raise ValueError(
            f"not a Danish account (4-digit reg.nr. + 1-10 digits): {reg!r} {number!r}"
        )
    return f"DK{98 - (int(bban) * 1000000 + 132000) % 97:02d}{bban}"


# --- templates ---------------------------------------------------------------------------------

_HEADER: Final = (
    XML_DECLARATION + f'<Document xmlns="{PAIN001_NS}"><CstmrCdtTrfInitn>'
    "<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm>"
    "<NbOfTxs>{count}</NbOfTxs><CtrlSum>{ctrl_sum}</CtrlSum>"
    "<InitgPty><Nm>{name}</Nm><Id><OrgId>"
    "<Othr><Id>{cvr}</Id><SchmeNm><Prtry>" + CVR_SCHEME + "</Prtry></SchmeNm></Othr>"
    "<Othr><Id>{agreement}</Id><SchmeNm><Prtry>" + BANK_AGREEMENT_SCHEME + "</Prtry></SchmeNm>"
    "</Othr></OrgId></Id></InitgPty></GrpHdr>\n"
)
_PMTINF_OPEN: Final = (
    "<PmtInf><PmtInfId>{pmt_inf_id}</PmtInfId><PmtMtd>{method}</PmtMtd>"
    "<ReqdExctnDt><Dt>{value_date}</Dt></ReqdExctnDt>"
    "<Dbtr><Nm>{name}</Nm><Id><OrgId><Othr><Id>{cvr}</Id><SchmeNm><Prtry>"
    + CVR_SCHEME
    + "</Prtry></SchmeNm></Othr></OrgId></Id></Dbtr>"
    "<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>"
    "<DbtrAgt><FinInstnId><BICFI>{bic}</BICFI></FinInstnId></DbtrAgt>\n"
)
_PMTINF_CLOSE: Final = "</PmtInf>\n"
_FOOTER: Final = "</CstmrCdtTrfInitn></Document>\n"
_TX_CLOSE: Final = "</CdtTrfTxInf>\n"


def _text(value: str, limit: int) -> str:
    return escape(value[:limit])


def _needs_escape(text: str) -> bool:
    return not text.isprintable() or "&" in text or "<" in text or ">" in text


def _render(tx: Pain001Transaction, method: str) -> str:
    """One CdtTrfTxInf element (the general path; the loop inlines the common case)."""
    e2e = tx.end_to_end_id
    parts = [
        f"<CdtTrfTxInf><PmtId><EndToEndId>{escape(e2e)}</EndToEndId></PmtId>"
        f'<Amt><InstdAmt Ccy="DKK">{format_ore(tx.amount_ore)}</InstdAmt></Amt>'
    ]
    if method == "TRF":
        if tx.reg or tx.number:
            iban = danish_iban(tx.reg, tx.number)
        elif tx.iban:
            iban = _text(tx.iban, 34)
            if tx.bic:
                bic = _text(tx.bic, 11)
                parts.append(f"<CdtrAgt><FinInstnId><BICFI>{bic}</BICFI></FinInstnId></CdtrAgt>")
        else:
            raise ValueError(f"{e2e}: a transfer needs reg+number or iban")
        if tx.creditor_name:
            parts.append(f"<Cdtr><Nm>{_text(tx.creditor_name, 140)}</Nm></Cdtr>")
        parts.append(f"<CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct>")
    else:
        parts.append("<Cdtr>")
        if tx.creditor_name:
            parts.append(f"<Nm>{_text(tx.creditor_name, 140)}</Nm>")
        parts.append("<PstlAdr>")
        if tx.postcode:
            parts.append(f"<PstCd>{_text(tx.postcode, 16)}</PstCd>")
        if tx.city:
            parts.append(f"<TwnNm>{_text(tx.city, 35)}</TwnNm>")
        parts.append("<Ctry>DK</Ctry>")
        if tx.address:
            parts.append(f"<AdrLine>{_text(tx.address, 70)}</AdrLine>")
        parts.append("</PstlAdr></Cdtr>")
    if tx.text:
        parts.append(f"<RmtInf><Ustrd>{escape(tx.text)}</Ustrd></RmtInf>")
    parts.append(_TX_CLOSE)
    return "".join(parts)


def write_pain001(
    out: BinaryIO, header: Pain001Header, transactions: Iterable[Pain001Transaction]
) -> FileTotals:
    """Write a pain.001.001.09 document to ``out`` (binary) and return what was written.

    Raises ``ValueError`` for a transaction that cannot be expressed (amount <= 0, unknown
    method, over-long id or text, no account for a transfer) and
    :class:`~payments.iso20022.errors.TotalsMismatch` at the end if the count or sum written
    differ from the header. Either way the output is incomplete: write to a temporary file.
    """
    if not 0 < len(header.message_id) <= 35:
        raise ValueError("message_id must be 1-35 characters")
    if header.number_of_transactions < 1:
        raise ValueError("a pain.001 file holds at least one transaction")
    created = require_aware(header.created_at, "created_at")
    party = header.initiating_party
    name = _text(party.name, 140)
    cvr = _text(party.cvr, 35)
    out.write(
        _HEADER.format(
            msg_id=escape(header.message_id),
            created=created,
            count=header.number_of_transactions,
            ctrl_sum=format_ore(header.control_sum_ore),
            name=name,
            cvr=cvr,
            agreement=_text(header.bank_agreement_number, 35),
        ).encode("utf-8")
    )
    pmtinf_values = {
        "value_date": header.value_date.isoformat(),
        "name": name,
        "cvr": cvr,
        "iban": _text(header.debtor_account_iban, 34),
        "bic": _text(header.debtor_agent_bic, 11),
    }
    id_prefix = escape(header.message_id[:28])

    parts: list[str] = []
    append = parts.append
    count = 0
    sum_ore = 0
    method = ""
    groups = 0

    for tx in transactions:
        amount = tx.amount_ore
        e2e = tx.end_to_end_id
        text = tx.text
        if type(amount) is not int or amount <= 0:
            raise ValueError(f"{e2e}: amount_ore must be a positive int")
        if not 0 < len(e2e) <= 35:
            raise ValueError(f"end_to_end_id must be 1-35 characters: {e2e!r}")
        if len(text) > 35:
            raise ValueError(f"{e2e}: text is longer than 35 characters")
        if tx.method != method:
            if tx.method not in METHODS:
                raise ValueError(f"{e2e}: method must be TRF or CHK, not {tx.method!r}")
            if method:
                append(_PMTINF_CLOSE)
            method = tx.method
            groups += 1
            append(
                _PMTINF_OPEN.format(
                    pmt_inf_id=f"{id_prefix}-{method}{groups}", method=method, **pmtinf_values
                )
            )
        count += 1
        sum_ore += amount
        name = tx.creditor_name
        reg = tx.reg
        if (
            method == "TRF"
            and reg
            and name
            and text
            and len(name) <= 140
            and not (_needs_escape(e2e) or _needs_escape(name) or _needs_escape(text))
        ):
            # The common case, inlined: a transfer to a Danish account, nothing to escape.
            bban = reg + tx.number.zfill(10)
            if (
                not tx.number
                or len(reg) != 4
                or len(bban) != 14
                or not (bban.isascii() and bban.isdigit())
            ):
                raise ValueError(f"{e2e}: not a Danish account: {reg!r} {tx.number!r}")
            check = 98 - (int(bban) * 1000000 + 132000) % 97
            kroner, ore = divmod(amount, 100)
            append(
                f"<CdtTrfTxInf><PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>"
                f'<Amt><InstdAmt Ccy="DKK">{kroner}.{ore:02d}</InstdAmt></Amt>'
                f"<Cdtr><Nm>{name}</Nm></Cdtr>"
                f"<CdtrAcct><Id><IBAN>DK{check:02d}{bban}</IBAN></Id></CdtrAcct>"
                f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></CdtTrfTxInf>\n"
            )
        else:
            append(_render(tx, method))
        if len(parts) >= WRITE_BATCH:
            out.write("".join(parts).encode("utf-8"))
            parts.clear()

    if method:
        append(_PMTINF_CLOSE)
    append(_FOOTER)
    out.write("".join(parts).encode("utf-8"))
    if count != header.number_of_transactions or sum_ore != header.control_sum_ore:
        raise TotalsMismatch(
            expected_count=header.number_of_transactions,
            expected_sum_ore=header.control_sum_ore,
            count=count,
            sum_ore=sum_ore,
        )
    return FileTotals(count=count, sum_ore=sum_ore)
