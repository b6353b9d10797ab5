"""ISO 20022 pain.002.001.10 (payment status report): streaming writer and reader.

The bank's answer to a pain.001: a status per transaction, ``ACCP`` (accepted) or ``RJCT``
(rejected, with an ISO external status reason code such as AC01 incorrect account number,
AC04 closed account, AC06 blocked account, AM05 duplication, BE05 unrecognised initiating
party, MS03 reason not specified).

Layout written: ``GrpHdr`` (``MsgId``, ``CreDtTm``), ``OrgnlGrpInfAndSts`` (``OrgnlMsgId``,
``OrgnlMsgNmId`` = pain.001.001.09, ``GrpSts``), then one ``OrgnlPmtInfAndSts`` per run of
statuses with the same original ``PmtInfId`` (the original message id when a status names
none), each with one ``TxInfAndSts`` (``OrgnlEndToEndId``, ``TxSts``, and for a rejection
``StsRsnInf/Rsn/Cd``) per transaction.

The group status comes before the transactions, but the writer streams. It is computed
anyway: ``ACCP`` when every transaction is accepted, ``RJCT`` when every one is rejected,
``PART`` for a mix. The writer leaves a 4-character placeholder and patches it at the end
when the output is seekable (a file); on a non-seekable output it stays ``PART`` unless the
caller passes ``group_status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Final, NamedTuple

from lxml import etree

from payments.iso20022.common import (
    PAIN001_NAME,
    PAIN002_NS,
    WRITE_BATCH,
    XML_DECLARATION,
    escape,
    require_aware,
)
from payments.iso20022.errors import InvalidXml
from payments.iso20022.safe_parse import Source, first_text, iterparse
from payments.iso20022.schemas import pain002_schema

__all__ = [
    "Pain002Document",
    "Pain002Writer",
    "StatusTotals",
    "TxStatus",
    "read_pain002",
    "write_pain002",
]

ACCEPTED: Final = "ACCP"
REJECTED: Final = "RJCT"
PARTIAL: Final = "PART"
GROUP_STATUSES: Final = (ACCEPTED, REJECTED, PARTIAL)


class TxStatus(NamedTuple):
    """The status of one original transaction (a named tuple: cheap to build by the million).

    ``status`` is ``ACCP`` or ``RJCT`` when we write; the reader passes any ISO code on
    (ACTC, ACSP, ACSC, PDNG, ...). ``reason`` is the external status reason code (or the
    proprietary reason) of a rejection. ``payment_information_id`` is the original
    ``PmtInfId``; read from a bank file it is always filled in. A status read from a
    payment-information level answer without transaction details has ``end_to_end_id`` "".
    """

    end_to_end_id: str
    status: str
    reason: str | None = None
    payment_information_id: str = ""


@dataclass(frozen=True, slots=True)
class StatusTotals:
    accepted: int
    rejected: int
    group_status: str


# --- writer --------------------------------------------------------------------------------------


class Pain002Writer:
    """Incremental pain.002 writer: ``add()`` statuses, then ``close()``.

    The simulated bank drives it and a camt.054 writer from one pass over a pain.001.
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        message_id: str,
        created_at: datetime,
        original_message_id: str,
        original_message_name: str = PAIN001_NAME,
        group_status: str | None = None,
    ) -> None:
        if not 0 < len(message_id) <= 35:
            raise ValueError("message_id must be 1-35 characters")
        if not 0 < len(original_message_id) <= 35:
            raise ValueError("original_message_id must be 1-35 characters")
        if group_status is not None and group_status not in GROUP_STATUSES:
            raise ValueError(f"group_status must be one of {GROUP_STATUSES}")
        self._out = out
        self._original_message_id = original_message_id
        self._fixed_group_status = group_status
        self._parts: list[str] = []
        self._pmtinf: str | None = None
        self._accepted = 0
        self._rejected = 0
        self._closed = False
        head = (
            XML_DECLARATION + f'<Document xmlns="{PAIN002_NS}"><CstmrPmtStsRpt>'
            f"<GrpHdr><MsgId>{escape(message_id)}</MsgId>"
            f"<CreDtTm>{require_aware(created_at, 'created_at')}</CreDtTm></GrpHdr>"
            f"<OrgnlGrpInfAndSts><OrgnlMsgId>{escape(original_message_id)}</OrgnlMsgId>"
            f"<OrgnlMsgNmId>{escape(original_message_name)}</OrgnlMsgNmId><GrpSts>"
        ).encode("utf-8")
        self._patch_at: int | None = None
        if group_status is None and _seekable(out):
            self._patch_at = out.tell() + len(head)
        out.write(head + f"{group_status or PARTIAL}</GrpSts></OrgnlGrpInfAndSts>\n".encode())

    def add(self, status: TxStatus) -> None:
        code = status.status
        if code == REJECTED:
            self._rejected += 1
        elif code == ACCEPTED:
            self._accepted += 1
        else:
            raise ValueError(f"status must be ACCP or RJCT, not {code!r}")
        if not 0 < len(status.end_to_end_id) <= 35:
            raise ValueError(f"end_to_end_id must be 1-35 characters: {status.end_to_end_id!r}")
        parts = self._parts
        pmtinf = status.payment_information_id or self._original_message_id
        if pmtinf != self._pmtinf:
            if self._pmtinf is not None:
                parts.append("</OrgnlPmtInfAndSts>\n")
            parts.append(f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{escape(pmtinf)}</OrgnlPmtInfId>\n")
            self._pmtinf = pmtinf
        reason = ""
        if status.reason:
            reason = f"<StsRsnInf><Rsn><Cd>{escape(status.reason)}</Cd></Rsn></StsRsnInf>"
        parts.append(
            f"<TxInfAndSts><OrgnlEndToEndId>{escape(status.end_to_end_id)}</OrgnlEndToEndId>"
            f"<TxSts>{code}</TxSts>{reason}</TxInfAndSts>\n"
        )
        if len(parts) >= WRITE_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()

    @property
    def group_status(self) -> str:
        if self._fixed_group_status is not None:
            return self._fixed_group_status
        if self._rejected == 0:
            return ACCEPTED
        if self._accepted == 0:
            return REJECTED
        return PARTIAL

    def close(self) -> StatusTotals:
        """Finish the document (and patch the group status); the output stays open."""
        if self._closed:
            raise ValueError("writer already closed")
        self._closed = True
        if self._pmtinf is not None:
            self._parts.append("</OrgnlPmtInfAndSts>\n")
        self._parts.append("</CstmrPmtStsRpt></Document>\n")
        self._flush()
        group_status = self.group_status
        if self._patch_at is not None:
            end = self._out.tell()
            self._out.seek(self._patch_at)
            self._out.write(group_status.encode("ascii"))
            self._out.seek(end)
        elif self._fixed_group_status is None:
            group_status = PARTIAL
        return StatusTotals(self._accepted, self._rejected, group_status)


def _seekable(out: BinaryIO) -> bool:
    try:
        return bool(out.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def write_pain002(
    out: BinaryIO,
    *,
    message_id: str,
    created_at: datetime,
    original_message_id: str,
    statuses: Iterable[TxStatus],
    group_status: str | None = None,
) -> StatusTotals:
    """Stream a pain.002.001.10 status report for ``statuses`` to ``out`` (binary)."""
    writer = Pain002Writer(
        out,
        message_id=message_id,
        created_at=created_at,
        original_message_id=original_message_id,
        group_status=group_status,
    )
    for status in statuses:
        writer.add(status)
    return writer.close()


# --- reader --------------------------------------------------------------------------------------

_N = "{" + PAIN002_NS + "}"
_ROOT = _N + "Document"
_GRPHDR = _N + "GrpHdr"
_ORGNL_GRP = _N + "OrgnlGrpInfAndSts"
_PMTINF = _N + "OrgnlPmtInfAndSts"
_PMTINF_ID = _N + "OrgnlPmtInfId"
_TX = _N + "TxInfAndSts"
_MSGID = _N + "MsgId"
_CREDTTM = _N + "CreDtTm"
_ORGNL_MSGID = _N + "OrgnlMsgId"
_ORGNL_MSGNMID = _N + "OrgnlMsgNmId"
_GRPSTS = _N + "GrpSts"
_PMTINFSTS = _N + "PmtInfSts"
_E2E = _N + "OrgnlEndToEndId"
_TXSTS = _N + "TxSts"
_RSN = f"{_N}StsRsnInf/{_N}Rsn"
_STSRSNINF = _N + "StsRsnInf"
_RSN_TAG = _N + "Rsn"
_RSN_CD = f"{_N}Cd"
_RSN_PRTRY = f"{_N}Prtry"


def _reason(element: etree._Element) -> str | None:
    rsn = element.find(_RSN)
    if rsn is None:
        return None
    return first_text(rsn, _RSN_CD) or first_text(rsn, _RSN_PRTRY) or None


@dataclass(slots=True, eq=False)
class Pain002Document:
    """A pain.002 header (read ahead) and its transaction statuses as a one-pass iterator."""

    message_id: str
    created_at: str
    original_message_id: str
    original_message_name: str
    group_status: str  # "" when the bank gives none
    group_reason: str | None
    statuses: Iterator[TxStatus] = field(default_factory=lambda: iter(()))

    def __iter__(self) -> Iterator[TxStatus]:
        return self.statuses

    def close(self) -> None:
        close = getattr(self.statuses, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Pain002Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_pain002(source: Source, *, validate: bool = True) -> Pain002Document:
    """Open a pain.002.001.10 document, read its group information, stream the statuses.

    Statuses come from ``TxInfAndSts``. A payment information block without transaction
    details but with a ``PmtInfSts`` yields one status with ``end_to_end_id`` "" that applies
    to every transaction of that original ``PmtInfId``; a group status ``RJCT`` without any
    details rejects the whole original message (check :attr:`Pain002Document.group_status`).
    """
    elements = iterparse(
        source,
        tags=(_GRPHDR, _ORGNL_GRP, _PMTINF_ID, _TX, _PMTINF),
        schema=pain002_schema() if validate else None,
        expect_root=_ROOT,
    )
    message_id = created_at = ""
    for element in elements:
        if element.tag == _GRPHDR:
            message_id = first_text(element, _MSGID)
            created_at = first_text(element, _CREDTTM)
        elif element.tag == _ORGNL_GRP:
            return Pain002Document(
                message_id=message_id,
                created_at=created_at,
                original_message_id=first_text(element, _ORGNL_MSGID),
                original_message_name=first_text(element, _ORGNL_MSGNMID),
                group_status=first_text(element, _GRPSTS),
                group_reason=_reason(element),
                statuses=_statuses(elements),
            )
    raise InvalidXml("pain.002 without OrgnlGrpInfAndSts", 1)


def _transaction_status(element: etree._Element, pmtinf_id: str) -> TxStatus:
    e2e = status = ""
    reason: str | None = None
    for child in element:
        tag = child.tag
        if tag == _E2E:
            e2e = (child.text or "").strip()
        elif tag == _TXSTS:
            status = (child.text or "").strip()
        elif tag == _STSRSNINF and reason is None:
            for rsn in child:
                if rsn.tag == _RSN_TAG:
                    for code in rsn:  # Cd or Prtry
                        reason = (code.text or "").strip() or None
    return TxStatus(e2e, status, reason, pmtinf_id)


def _statuses(elements: Iterator[etree._Element]) -> Iterator[TxStatus]:
    pmtinf_id = ""
    details = 0
    try:
        for element in elements:
            tag = element.tag
            if tag == _TX:
                details += 1
                yield _transaction_status(element, pmtinf_id)
            elif tag == _PMTINF_ID:
                pmtinf_id = (element.text or "").strip()
                details = 0
            elif tag == _PMTINF:
                status = first_text(element, _PMTINFSTS)
                if details == 0 and status:
                    yield TxStatus("", status, _reason(element), pmtinf_id)
    finally:
        close = getattr(elements, "close", None)
        if close is not None:
            close()
