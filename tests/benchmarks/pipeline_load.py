"""Synthetic data of the pipeline benchmark (test_pipeline_bench.py): the register and the load.

The register: PERSONS persons (CPR numbers born 1950-1999, seventh digit 0, so none collides
with the test world's), written set-based in SQL; every person but one in a hundred has an
active NemKonto, one in a thousand also a specific account for the benefit paid.

The load: payment ``k`` pays person ``k % PERSONS`` once per batch run. Its outcome follows from
``k`` (``outcome``), so the benchmark can check every count:

* ``k % 1000 == 13``: amount 0.00, a formal error (rejected, code 2);
* ``k % 1000 == 7``: a CPR number the register does not have (rejected, code 1);
* ``k % 100 == 3``: a complete payment, with the payer's own account (forwarded);
* ``k % 100 == 99``: the person has no NemKonto (failed, code 7, returned to the payer);
* else the NemKonto is attached, or for ``k % 1000 == 1`` the specific account (forwarded).

Nothing is held in memory as a whole: bodies are written one batch at a time.
"""

import datetime
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection

from payments.models import Payment
from registry.models import NemKonto, Recipient, SpecificAccount

PERSONS = 1_000_000
DAYS = 18_262  # 1950-01-01 .. 1999-12-31
BIRTH_0 = datetime.date(1950, 1, 1)
BENEFIT = "BOERNECHECK"
TEXT = "Børnecheck 4. kvartal"
GIVEN_REG = "5301"
PAYMENT_TABLE = Payment._meta.db_table


def cpr(i: int) -> str:
    """The CPR number of person ``i`` (the same as the SQL in ``fill_register``)."""
    return (BIRTH_0 + datetime.timedelta(days=i % DAYS)).strftime("%d%m%y") + f"0{i // DAYS:03d}"


def outcome(k: int) -> str:
    """What payment ``k`` must end as: rejected_2, rejected_1, given, none, specific, nemkonto."""
    if k % 1000 == 13:
        return "rejected_2"
    if k % 1000 == 7:
        return "rejected_1"
    if k % 100 == 3:
        return "given"
    if k % 100 == 99:
        return "none"
    if k % 1000 == 1:
        return "specific"
    return "nemkonto"


def expected_outcomes(first: int, count: int) -> Counter[str]:
    return Counter(outcome(k) for k in range(first, first + count))


def amount_ore(k: int) -> int:
    # 499,979 rather than a round modulus: payment k and payment k + 1,000,000 (the alongside
    # batch, paying the same persons) then differ in amount, so the duplicate guard holds none.
    return 0 if outcome(k) == "rejected_2" else 10_000 + (k * 7919) % 499_979


def payment(k: int) -> dict[str, Any]:
    """Payment ``k`` in the API's JSON shape."""
    kind = outcome(k)
    number = cpr(k % PERSONS)
    if kind == "rejected_1":
        number = number[:6] + "0999"  # the serial numbers in the register stop at 054
    ore = amount_ore(k)
    return {
        "reference": f"BENCH-{k:09d}",
        "recipient": {"type": "CPR", "id": number},
        "benefit": BENEFIT,
        "amount": f"{ore // 100}.{ore % 100:02d}",
        "text": TEXT,
        "account": {"reg": GIVEN_REG, "number": f"{k:010d}"} if kind == "given" else None,
    }


def staging_line(k: int) -> str:
    """Payment ``k`` as the product's staging row (payments.intake_rows.STAGE_COLUMNS), in
    COPY text format: what the floor reads, validated and normalised already."""
    item = payment(k)
    account = item["account"]
    field, reason = ("amount", "not_positive") if outcome(k) == "rejected_2" else ("", "")
    ore = amount_ore(k)
    return "\t".join(
        (
            str(k),
            item["reference"],
            "CPR",
            item["recipient"]["id"],
            "",
            BENEFIT,
            str(ore),
            TEXT,
            "danish" if account else "",
            account["reg"] if account else "",
            account["number"] if account else "",
            "",
            "",
            field,
            reason,
        )
    )


@dataclass(frozen=True)
class Register:
    first_id: int
    persons: int
    nemkonti: int
    specific: int
    seconds: float


# The register exists long before the payments: its accounts were registered a year ago, except
# one recipient in a thousand, whose account was registered now (changed since the batches were
# attached, so the cycle looks at that recipient's payments again).
_REGISTERED = "CASE WHEN (id - %(first)s) %% 1000 = 7 THEN now() ELSE now() - interval '1 year' END"


def fill_register(*, authority_id: int, benefit_id: int, persons: int = PERSONS) -> Register:
    """The persons, their NemKonti and a few specific accounts, set-based, committed."""
    import time

    started = time.perf_counter()
    recipients = Recipient._meta.db_table
    nemkonto = NemKonto._meta.db_table
    specific = SpecificAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {recipients} (id_type, id_number, cvr, name, address, postcode, city,
                                      status, updated_at)
            SELECT 'CPR',
                   to_char(date '1950-01-01' + (i %% {DAYS}), 'DDMMYY') || '0'
                       || lpad((i / {DAYS})::text, 3, '0'),
                   '', 'Person ' || i, 'Vej ' || (i %% 200 + 1), '8000', 'Aarhus C', 'active',
                   now()
            FROM generate_series(0, %s - 1) AS i
            ORDER BY i
            """,  # noqa: S608 - table names from model metadata
            [persons],
        )
        cursor.execute(
            f"SELECT min(id), max(id) FROM {recipients} WHERE name LIKE %s",  # noqa: S608
            ["Person %"],
        )
        first_id, last_id = cursor.fetchone()
        assert last_id - first_id + 1 == persons, "the persons' ids are not contiguous"
        cursor.execute(
            f"""
            INSERT INTO {nemkonto} (recipient_id, state, channel, actor_label, account_kind, reg,
                                    number, iban, bic, created_at, activated_at, end_reason,
                                    ended_by_label, ended_channel, hold_reasons)
            SELECT id, 'active', 'bank', 'bank 3000', 'danish', '3000',
                   lpad((id - %(first)s)::text, 10, '0'), '', '', {_REGISTERED}, {_REGISTERED},
                   '', '', '', '[]'::jsonb
            FROM {recipients}
            WHERE id BETWEEN %(first)s AND %(last)s AND (id - %(first)s) %% 100 <> 99
            """,  # noqa: S608 - table names from model metadata
            {
                "first": first_id,
                "last": last_id,
            },
        )
        nemkonti = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {specific} (recipient_id, authority_id, benefit_id, locked, state,
                                    channel, actor_label, created_at, end_reason,
                                    ended_by_label, ended_channel, account_kind, reg, number,
                                    iban, bic)
            SELECT id, %(authority)s, %(benefit)s, false, 'active', 'caseworker',
                   'sagsbehandler', {_REGISTERED}, '', '', '', 'danish', '5301',
                   lpad((id - %(first)s)::text, 10, '0'), '', ''
            FROM {recipients}
            WHERE id BETWEEN %(first)s AND %(last)s AND (id - %(first)s) %% 1000 = 1
            """,  # noqa: S608 - table names from model metadata
            {"first": first_id, "last": last_id, "authority": authority_id, "benefit": benefit_id},
        )
        specifics = cursor.rowcount
        cursor.execute(f"ANALYZE {recipients}, {nemkonto}, {specific}")
    return Register(first_id, persons, nemkonti, specifics, time.perf_counter() - started)


def batch_body(envelope: dict[str, Any], first: int, count: int) -> bytes:
    """The gzipped JSON body of one batch: the envelope first, then the payments (API.md)."""
    document = {**envelope, "payments": [payment(k) for k in range(first, first + count)]}
    return gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=1)


def write_bodies(
    folder: Path, envelope: dict[str, Any], *, first: int, batches: int, size: int
) -> Iterator[tuple[Path, int]]:
    """Write ``batches`` bodies of ``size`` payments from payment ``first`` on; yields each
    file and its uncompressed payment count."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(batches):
        path = folder / f"batch-{n:04d}.json.gz"
        path.write_bytes(batch_body(envelope, first + n * size, size))
        yield path, size


def write_floor_input(path: Path, ranges: list[tuple[int, int]]) -> int:
    """The floor's COPY input: every payment of ``ranges`` ((first, count), ...)."""
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        for first, count in ranges:
            lines = []
            for k in range(first, first + count):
                lines.append(staging_line(k))
                if len(lines) == 10_000:
                    out.write("\n".join(lines) + "\n")
                    lines.clear()
            if lines:
                out.write("\n".join(lines) + "\n")
            rows += count
    return rows
