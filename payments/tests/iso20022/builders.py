"""Test helpers: our outgoing pain.001 transactions, and incoming pain.001 files as payment
systems send them (with recipient ids, benefit codes and incomplete payments, which sepaxml
cannot express).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from lxml import etree

from payments.iso20022.common import PAIN001_NS
from payments.iso20022.pain001_writer import (
    Pain001Header,
    Pain001Transaction,
    Party,
    write_pain001,
)

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
VALUE_DATE = date(2026, 12, 1)
AUTHORITY = Party(name="Testkøbing Kommune", cvr="29189846")
DEBTOR_IBAN = "DK5000400440116243"
DEBTOR_BIC = "DABADKKK"
BANK_AGREEMENT = "PIA-000123"


def header_for(
    transactions: list[Pain001Transaction],
    *,
    message_id: str = "NK-20261201-0001",
    **overrides: object,
) -> Pain001Header:
    values: dict[str, object] = {
        "message_id": message_id,
        "created_at": NOW,
        "initiating_party": AUTHORITY,
        "debtor_account_iban": DEBTOR_IBAN,
        "debtor_agent_bic": DEBTOR_BIC,
        "bank_agreement_number": BANK_AGREEMENT,
        "value_date": VALUE_DATE,
        "number_of_transactions": len(transactions),
        "control_sum_ore": sum(tx.amount_ore for tx in transactions),
    }
    values.update(overrides)
    return Pain001Header(**values)  # type: ignore[arg-type]


def danish_transfers(
    count: int, *, start: int = 0, text: str = "Boligstøtte"
) -> list[Pain001Transaction]:
    return [
        Pain001Transaction(
            end_to_end_id=f"E2E-{i:08d}",
            amount_ore=100 + (i * 7919) % 1_000_000,
            method="TRF",
            creditor_name=f"Modtager {i}",
            text=text,
            reg=f"{1000 + i % 8999:04d}",
            number=f"{i:010d}",
        )
        for i in range(start, start + count)
    ]


def mixed_transactions() -> list[Pain001Transaction]:
    """Danish and foreign transfers, then cheques; with characters that need escaping."""
    return [
        Pain001Transaction(
            "E2E-DK-1",
            123_45,
            "TRF",
            "Ærø & Søn <ApS>",
            "Refusion > 0 & <1>",
            reg="1234",
            number="1234567",
        ),
        Pain001Transaction(
            "E2E-DK-2", 1, "TRF", "Åse Øster", "Børnechecken", reg="9570", number="0012345678"
        ),
        Pain001Transaction(
            "E2E-DE-1",
            99_999_99,
            "TRF",
            "Jürgen Müller",
            "Pension",
            iban="DE89370400440532013000",
            bic="COBADEFFXXX",
        ),
        Pain001Transaction("E2E-SE-1", 5_00, "TRF", "Sven Ek", "", iban="SE4550000000058398257466"),
        Pain001Transaction(
            "E2E-CHK-1",
            250_00,
            "CHK",
            "Jens Hansen",
            "Udbetaling",
            address="Strandvejen 1, 2. tv",
            postcode="2900",
            city="Hellerup",
        ),
        Pain001Transaction(
            "E2E-CHK-2",
            75_50,
            "CHK",
            "Ida & Bo",
            "REJECT:AC04",
            address="Æblevej 3",
            postcode="5000",
            city="Odense C",
        ),
    ]


def pain001_bytes(
    transactions: list[Pain001Transaction], *, message_id: str = "NK-20261201-0001"
) -> bytes:
    out = io.BytesIO()
    write_pain001(out, header_for(transactions, message_id=message_id), transactions)
    return out.getvalue()


# --- incoming files from payment systems ------------------------------------------------------


@dataclass(frozen=True)
class IncomingPayment:
    """One payment as a payment system would put it in a pain.001 (see pain001_reader)."""

    reference: str
    amount: str  # as written in InstdAmt, e.g. "123.45"
    recipient_type: str = "CPR"  # CPR, CVR, P, SE, or "" for none
    recipient_id: str = "0101901234"
    benefit: str = "BOLIGSTOTTE"
    text: str = "Boligstøtte december"
    account: dict[str, str] | None = None  # {"reg","number"} | {"iban","bic"} | None
    nemkonto_placeholder: bool = False  # an incomplete payment written with CdtrAcct NEMKONTO
    currency: str = "DKK"
    creditor_name: str = ""
    person_scheme_code: str = ""  # e.g. "NIDN": SchmeNm/Cd instead of SchmeNm/Prtry "CPR"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{PAIN001_NS}}}{name}")
    if text is not None:
        element.text = text
    return element


def _othr(parent: etree._Element, ident: str, *, prtry: str = "", cd: str = "") -> None:
    othr = _sub(parent, "Othr")
    _sub(othr, "Id", ident)
    scheme = _sub(othr, "SchmeNm")
    if cd:
        _sub(scheme, "Cd", cd)
    else:
        _sub(scheme, "Prtry", prtry)


def build_incoming_pain001(
    payments: Iterable[IncomingPayment],
    *,
    message_id: str = "PS-MSG-0001",
    authority: str = "kbh",
    los_unit: str = "kbh-social",
    bank_agreement: str = BANK_AGREEMENT,
    requested_value_date: date = VALUE_DATE,
    number_of_transactions: int | None = None,
    control_sum: str | None = None,
    pretty: bool = True,
) -> bytes:
    """A pain.001.001.09 document as our interface description asks payment systems to send."""
    payments = list(payments)
    root = etree.Element(f"{{{PAIN001_NS}}}Document", nsmap={None: PAIN001_NS})
    initn = _sub(root, "CstmrCdtTrfInitn")
    grp = _sub(initn, "GrpHdr")
    _sub(grp, "MsgId", message_id)
    _sub(grp, "CreDtTm", NOW.isoformat())
    count = len(payments) if number_of_transactions is None else number_of_transactions
    _sub(grp, "NbOfTxs", str(count))
    total = sum((Decimal(p.amount) for p in payments), Decimal(0))
    _sub(grp, "CtrlSum", control_sum if control_sum is not None else str(total))
    initg = _sub(grp, "InitgPty")
    _sub(initg, "Nm", "Ydelsessystemet")
    org = _sub(_sub(initg, "Id"), "OrgId")
    _othr(org, authority, prtry="AUTHORITY")
    if los_unit:
        _othr(org, los_unit, prtry="LOS")
    if bank_agreement:
        _othr(org, bank_agreement, prtry="BANK_AGREEMENT")
    pmtinf = _sub(initn, "PmtInf")
    _sub(pmtinf, "PmtInfId", f"{message_id}-1")
    _sub(pmtinf, "PmtMtd", "TRF")
    _sub(_sub(pmtinf, "ReqdExctnDt"), "Dt", requested_value_date.isoformat())
    _sub(_sub(pmtinf, "Dbtr"), "Nm", "Testkøbing Kommune")
    _sub(_sub(_sub(pmtinf, "DbtrAcct"), "Id"), "IBAN", DEBTOR_IBAN)
    _sub(_sub(_sub(pmtinf, "DbtrAgt"), "FinInstnId"), "BICFI", DEBTOR_BIC)
    for payment in payments:
        tx = _sub(pmtinf, "CdtTrfTxInf")
        _sub(_sub(tx, "PmtId"), "EndToEndId", payment.reference)
        _sub(_sub(tx, "Amt"), "InstdAmt", payment.amount).set("Ccy", payment.currency)
        account = payment.account or {}
        if account.get("bic"):
            _sub(_sub(_sub(tx, "CdtrAgt"), "FinInstnId"), "BICFI", account["bic"])
        cdtr = _sub(tx, "Cdtr")
        if payment.creditor_name:
            _sub(cdtr, "Nm", payment.creditor_name)
        if payment.recipient_type:
            ident = _sub(cdtr, "Id")
            if payment.recipient_type == "CPR":
                prvt = _sub(ident, "PrvtId")
                if payment.person_scheme_code:
                    _othr(prvt, payment.recipient_id, cd=payment.person_scheme_code)
                else:
                    _othr(prvt, payment.recipient_id, prtry="CPR")
            else:
                _othr(_sub(ident, "OrgId"), payment.recipient_id, prtry=payment.recipient_type)
        if "iban" in account:
            _sub(_sub(_sub(tx, "CdtrAcct"), "Id"), "IBAN", account["iban"])
        elif "reg" in account:
            acct_id = _sub(_sub(tx, "CdtrAcct"), "Id")
            othr = _sub(acct_id, "Othr")
            _sub(othr, "Id", account["reg"] + account["number"])
            _sub(_sub(othr, "SchmeNm"), "Cd", "BBAN")
        elif payment.nemkonto_placeholder:
            othr = _sub(_sub(_sub(tx, "CdtrAcct"), "Id"), "Othr")
            _sub(othr, "Id", "NEMKONTO")
        if payment.benefit:
            _sub(_sub(tx, "Purp"), "Prtry", payment.benefit)
        if payment.text:
            _sub(_sub(tx, "RmtInf"), "Ustrd", payment.text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)
