"""pain.002.001.10: written files validate, round trip, group status, bank-side variants."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from lxml import etree

from payments.iso20022.common import PAIN002_NS
from payments.iso20022.errors import InvalidXml
from payments.iso20022.pain002 import (
    Pain002Writer,
    StatusTotals,
    TxStatus,
    read_pain002,
    write_pain002,
)
from payments.iso20022.schemas import pain002_schema, validate_file
from payments.tests.iso20022.builders import NOW

NS = {"p": PAIN002_NS}

STATUSES = [
    TxStatus("E2E-1", "ACCP", None, "NK-1-TRF1"),
    TxStatus("E2E-2", "RJCT", "AC01", "NK-1-TRF1"),
    TxStatus("E2E-3", "RJCT", "AC04", "NK-1-TRF1"),
    TxStatus("E2E-4", "ACCP", None, "NK-1-CHK2"),
    TxStatus("E2E-<&>", "RJCT", "AM05", "NK-1-CHK2"),
]


def _write(statuses: list[TxStatus], out: io.BytesIO | None = None, **kwargs: object) -> bytes:
    out = out or io.BytesIO()
    write_pain002(
        out,
        message_id="P2-1",
        created_at=NOW,
        original_message_id="NK-1",
        statuses=statuses,
        **kwargs,  # type: ignore[arg-type]
    )
    return out.getvalue()


def test_round_trip_and_validation() -> None:
    data = _write(STATUSES)
    validate_file(io.BytesIO(data), pain002_schema())
    with read_pain002(io.BytesIO(data)) as doc:
        assert (doc.message_id, doc.original_message_id) == ("P2-1", "NK-1")
        assert doc.original_message_name == "pain.001.001.09"
        assert doc.group_status == "PART"
        assert doc.created_at == "2026-11-30T06:00:00+00:00"
        assert list(doc) == STATUSES


def test_one_block_per_original_payment_information() -> None:
    root = etree.fromstring(_write(STATUSES))
    blocks = root.findall("p:CstmrPmtStsRpt/p:OrgnlPmtInfAndSts", NS)
    assert [b.findtext("p:OrgnlPmtInfId", namespaces=NS) for b in blocks] == [
        "NK-1-TRF1",
        "NK-1-CHK2",
    ]
    assert [len(b.findall("p:TxInfAndSts", NS)) for b in blocks] == [3, 2]


def test_statuses_without_payment_information_use_the_original_message_id() -> None:
    data = _write([TxStatus("E2E-1", "ACCP")])
    validate_file(io.BytesIO(data), pain002_schema())
    assert [s.payment_information_id for s in read_pain002(io.BytesIO(data))] == ["NK-1"]


@pytest.mark.parametrize(
    ("codes", "group"),
    [
        (["ACCP", "ACCP"], "ACCP"),
        (["RJCT", "RJCT"], "RJCT"),
        (["ACCP", "RJCT"], "PART"),
        ([], "ACCP"),
    ],
)
def test_group_status_is_patched_on_seekable_output(codes: list[str], group: str) -> None:
    statuses = [
        TxStatus(f"E{i}", code, "AC01" if code == "RJCT" else None) for i, code in enumerate(codes)
    ]
    out = io.BytesIO()
    data = _write(statuses, out)
    validate_file(io.BytesIO(data), pain002_schema())
    assert read_pain002(io.BytesIO(data)).group_status == group


class _AppendOnly(io.BytesIO):
    def seekable(self) -> bool:
        return False


def test_group_status_stays_part_on_non_seekable_output() -> None:
    out = _AppendOnly()
    totals = write_pain002(
        out,
        message_id="P2",
        created_at=NOW,
        original_message_id="NK",
        statuses=[TxStatus("E", "ACCP")],
    )
    assert totals == StatusTotals(accepted=1, rejected=0, group_status="PART")
    assert read_pain002(io.BytesIO(out.getvalue())).group_status == "PART"


def test_explicit_group_status() -> None:
    data = _write([TxStatus("E", "ACCP")], group_status="RJCT")
    assert read_pain002(io.BytesIO(data)).group_status == "RJCT"


def test_empty_report_is_valid() -> None:
    data = _write([])
    validate_file(io.BytesIO(data), pain002_schema())
    assert list(read_pain002(io.BytesIO(data))) == []


def test_writer_returns_totals_and_refuses_misuse() -> None:
    writer = Pain002Writer(io.BytesIO(), message_id="P2", created_at=NOW, original_message_id="NK")
    writer.add(TxStatus("E1", "ACCP"))
    writer.add(TxStatus("E2", "RJCT", "AC06"))
    with pytest.raises(ValueError, match="ACCP or RJCT"):
        writer.add(TxStatus("E3", "ACSC"))
    assert writer.close() == StatusTotals(accepted=1, rejected=1, group_status="PART")
    with pytest.raises(ValueError, match="closed"):
        writer.close()
    with pytest.raises(ValueError, match="timezone-aware"):
        Pain002Writer(
            io.BytesIO(), message_id="P", created_at=datetime(2026, 1, 1), original_message_id="N"
        )
    with pytest.raises(ValueError, match="group_status"):
        Pain002Writer(
            io.BytesIO(),
            message_id="P",
            created_at=NOW,
            original_message_id="N",
            group_status="ACTC",
        )


BANK_FILE = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{PAIN002_NS}">
<CstmrPmtStsRpt>
<GrpHdr><MsgId>BANK-STS-9</MsgId><CreDtTm>2026-12-01T07:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>NK-7</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
<GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>NK-7-TRF1</OrgnlPmtInfId>
<TxInfAndSts><OrgnlEndToEndId>A</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>B</OrgnlEndToEndId><TxSts>RJCT</TxSts>
<StsRsnInf><Rsn><Prtry>BANK-42</Prtry></Rsn><AddtlInf>Konto lukket</AddtlInf></StsRsnInf>
</TxInfAndSts>
</OrgnlPmtInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>NK-7-CHK2</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
<StsRsnInf><Rsn><Cd>MS03</Cd></Rsn></StsRsnInf></OrgnlPmtInfAndSts>
</CstmrPmtStsRpt>
</Document>
""".encode()


def test_reading_a_bank_file_with_other_codes_and_block_level_rejection() -> None:
    validate_file(io.BytesIO(BANK_FILE), pain002_schema())
    doc = read_pain002(io.BytesIO(BANK_FILE))
    assert (doc.message_id, doc.original_message_id, doc.group_status) == (
        "BANK-STS-9",
        "NK-7",
        "PART",
    )
    assert list(doc) == [
        TxStatus("A", "ACSC", None, "NK-7-TRF1"),
        TxStatus("B", "RJCT", "BANK-42", "NK-7-TRF1"),
        TxStatus("", "RJCT", "MS03", "NK-7-CHK2"),
    ]


def test_whole_file_rejected_by_the_bank() -> None:
    data = f"""<?xml version="1.0"?><Document xmlns="{PAIN002_NS}"><CstmrPmtStsRpt>
<GrpHdr><MsgId>B</MsgId><CreDtTm>2026-12-01T07:00:00Z</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>NK-8</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>
</CstmrPmtStsRpt></Document>""".encode()
    doc = read_pain002(io.BytesIO(data))
    assert (doc.group_status, doc.group_reason) == ("RJCT", "FF01")
    assert list(doc) == []


def test_invalid_report_is_refused_with_a_line() -> None:
    bad = _write(STATUSES).replace(b"<TxSts>RJCT</TxSts>", b"<TxSts>REJECTED</TxSts>", 1)
    line = bad[: bad.index(b"REJECTED")].count(b"\n") + 1
    with pytest.raises(InvalidXml, match="TxSts") as caught:
        list(read_pain002(io.BytesIO(bad)))
    assert caught.value.line == line


def test_a_pain001_is_not_a_pain002() -> None:
    with pytest.raises(InvalidXml):
        read_pain002(
            io.BytesIO(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>')
        )
