"""The floor of the pipeline benchmark: the least work that turns the same payments into a bank
file, in plain psycopg 3 on its own connection (issue 6, acceptance 4 a).

1. COPY in: the payments, already validated and normalised, into a temporary table with the
   product's staging columns (``payments.pipeline._CREATE_STAGE``), then ANALYZE (as intake does).
2. join: one INSERT ... SELECT of every well-formed payment against the register (recipient by
   (type, number), active NemKonto by recipient), into a temporary table without indexes; the
   file totals by one aggregate.
3. COPY out: the payments with an account (the file's rows) to a local file.
4. XML: a pain.001-like document from string templates, written in blocks (constant memory).

No status, no history, no trigger, no index, no XSD validation, no HTTP: what is left is the
cost of moving the rows through PostgreSQL and writing the file.
"""

import datetime
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from payments.pipeline import _CREATE_STAGE
from registry.models import NemKonto, Recipient

_STAGE = "floor_stage"
_RESULT = "floor_payment"
_BLOCK = 1 << 20

_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>'
    "<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{count}</NbOfTxs>"
    "<CtrlSum>{total}</CtrlSum><InitgPty><Nm>Testkøbing Kommune</Nm></InitgPty></GrpHdr>\n"
    "<PmtInf><PmtInfId>{msg_id}-TRF1</PmtInfId><PmtMtd>TRF</PmtMtd>"
    "<ReqdExctnDt><Dt>{value_date}</Dt></ReqdExctnDt><Dbtr><Nm>Testkøbing Kommune</Nm></Dbtr>"
    "<DbtrAcct><Id><IBAN>DK5030000004444444</IBAN></Id></DbtrAcct>"
    "<DbtrAgt><FinInstnId><BICFI>DABADKKK</BICFI></FinInstnId></DbtrAgt>\n"
)
_FOOTER = "</PmtInf></CstmrCdtTrfInitn></Document>\n"


@dataclass
class FloorRun:
    steps: dict[str, float] = field(default_factory=dict)
    rows_in: int = 0
    rows_out: int = 0
    control_sum_ore: int = 0
    xml_bytes: int = 0

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())


def run_floor(dsn: str, source: Path, out_dir: Path, value_date: datetime.date) -> FloorRun:
    """One run; everything it creates is temporary (rolled back at the end)."""
    run = FloorRun()
    rows_file = out_dir / "floor-rows.tsv"
    xml_file = out_dir / "floor-pain001.xml"
    recipients, nemkonto = Recipient._meta.db_table, NemKonto._meta.db_table
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(_CREATE_STAGE.replace("payment_stage", _STAGE))
        with cursor.copy(f"COPY {_STAGE} FROM STDIN") as copy, source.open("rb") as data:
            while block := data.read(_BLOCK):
                copy.write(block)
        cursor.execute(f"ANALYZE {_STAGE}")
        cursor.execute(f"SELECT count(*) FROM {_STAGE}")  # noqa: S608
        run.rows_in = int(cursor.fetchone()[0])  # type: ignore[index]
        run.steps["COPY in"] = time.perf_counter() - started

        started = time.perf_counter()
        cursor.execute(
            f"""
            CREATE TEMP TABLE {_RESULT} (line integer, amount_ore bigint, text varchar(35),
                recipient_id bigint, name varchar(200), reg varchar(4), number varchar(10))
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {_RESULT}
            SELECT s.line, s.amount_ore, s.text, r.id, r.name,
                   CASE WHEN s.reg <> '' THEN s.reg ELSE nk.reg END,
                   CASE WHEN s.reg <> '' THEN s.number ELSE nk.number END
            FROM {_STAGE} s
            LEFT JOIN {recipients} r
                   ON r.id_type = s.recipient_type AND r.id_number = s.recipient_number
            LEFT JOIN {nemkonto} nk ON nk.recipient_id = r.id AND nk.state = 'active'
            WHERE s.return_field = ''
            """  # noqa: S608 - table names from model metadata
        )
        cursor.execute(
            f"SELECT count(*), sum(amount_ore) FROM {_RESULT} "  # noqa: S608
            "WHERE recipient_id IS NOT NULL AND reg IS NOT NULL"
        )
        count, total = cursor.fetchone()  # type: ignore[misc]
        run.rows_out, run.control_sum_ore = int(count), int(total)
        run.steps["join (INSERT ... SELECT)"] = time.perf_counter() - started

        started = time.perf_counter()
        with (
            cursor.copy(
                f"COPY (SELECT line, amount_ore, name, reg, number, text FROM {_RESULT} "  # noqa: S608
                "WHERE recipient_id IS NOT NULL AND reg IS NOT NULL) TO STDOUT"
            ) as copy,
            rows_file.open("wb") as out,
        ):
            for chunk in copy:
                out.write(chunk)
        run.steps["COPY out"] = time.perf_counter() - started
        conn.rollback()

    started = time.perf_counter()
    run.xml_bytes = _write_xml(rows_file, xml_file, run.rows_out, run.control_sum_ore, value_date)
    run.steps["XML (template)"] = time.perf_counter() - started
    rows_file.unlink()
    xml_file.unlink()
    return run


def _write_xml(
    rows_file: Path, xml_file: Path, count: int, total: int, value_date: datetime.date
) -> int:
    written = 0
    with rows_file.open(encoding="utf-8") as rows, xml_file.open("wb") as out:
        header = _HEADER.format(
            msg_id="FLOOR",
            created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            count=count,
            total=f"{total // 100}.{total % 100:02d}",
            value_date=value_date.isoformat(),
        ).encode()
        written += out.write(header)
        parts: list[str] = []
        seen = summed = 0
        for line in rows:
            pid, amount, name, reg, number, text = line.rstrip("\n").split("\t")
            ore = int(amount)
            seen += 1
            summed += ore
            bban = reg + number.zfill(10)
            check = 98 - (int(bban) * 1000000 + 132000) % 97
            parts.append(
                f"<CdtTrfTxInf><PmtId><EndToEndId>NK{pid}</EndToEndId></PmtId>"
                f'<Amt><InstdAmt Ccy="DKK">{ore // 100}.{ore % 100:02d}</InstdAmt></Amt>'
                f"<Cdtr><Nm>{name}</Nm></Cdtr>"
                f"<CdtrAcct><Id><IBAN>DK{check:02d}{bban}</IBAN></Id></CdtrAcct>"
                f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></CdtTrfTxInf>\n"
            )
            if len(parts) >= 2048:
                written += out.write("".join(parts).encode())
                parts.clear()
        parts.append(_FOOTER)
        written += out.write("".join(parts).encode())
    assert (seen, summed) == (count, total), "the floor's file does not match its totals"
    return written
