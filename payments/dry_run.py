"""A dry run of a batch (``dry_run`` on ``POST /api/v1/batches``): per row the outcome it would
get now (status, return code and text, the kind of account that would be used, value date),
without storing or forwarding anything and without revealing any account.

The rows are read and checked by the intake's own code (``payments.intake_rows``), staged with
COPY into the intake's temporary table, and answered by ONE statement that joins them to the
register, the accounts, the payment system's earlier references and the earlier payments, with
the same SQL fragments the pipeline's attach and duplicate guard use (``payments.pipeline``,
``payments.duplicates``). PostgreSQL writes each row's JSON; the texts are looked up once per
distinct outcome. The caller runs it inside a savepoint that is rolled back, and streams the
answer afterwards from a spooled file: constant memory whatever the number of rows.
"""

import datetime
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db import connection

from payments.duplicates import EARLIER_SQL, duplicate_window
from payments.models import Benefit, ConnectionAgreement
from payments.pipeline import (
    OUTCOME_CODE,
    OUTCOME_FIELD,
    OUTCOME_HANDLING,
    OUTCOME_REASON,
    OUTCOME_STATUS,
    STAGED_CHECKED,
    account_joins,
    account_source,
)
from payments.return_codes import return_text_for

BENEFIT = Benefit._meta.db_table
_GIVEN = "p.account_kind <> ''"


def _sql(*, guard: bool) -> str:
    repeats = (
        f"LEFT JOIN LATERAL ({EARLIER_SQL}) earlier ON p.error_field = ''"
        if guard
        else "LEFT JOIN (SELECT NULL::bigint AS id) earlier ON false"
    )
    joins = account_joins(
        row="p",
        given=_GIVEN,
        authority="p.authority_id",
        benefit="p.benefit_id",
        value_date="p.value_date",
    )
    return f"""
    WITH {STAGED_CHECKED},
    p AS (
        -- The staged rows as the payments they would be (received now, in no batch yet).
        SELECT c.*, b.id AS benefit_id, %(authority)s::bigint AS authority_id,
               '00000000-0000-0000-0000-000000000000'::uuid AS batch_id,
               %(now)s::timestamptz AS received_at, 9223372036854775807::bigint AS id,
               %(requested)s::date AS requested_value_date, %(value_date)s::date AS value_date,
               %(test)s::boolean AS is_test
        FROM checked c
        LEFT JOIN {BENEFIT} b ON b.authority_id = %(authority)s AND b.code = c.benefit_code
    ), t AS (
        SELECT p.line, p.reference, p.error_field, p.error_reason,
               r.address <> '' AS has_address,
               {account_source(_GIVEN)} AS source,
               earlier.id IS NOT NULL AS repeats
        FROM p
        {joins}
        {repeats}
    )
    SELECT t.line, t.reference,
           CASE WHEN t.error_field <> '' THEN 'rejected'
                WHEN t.repeats THEN 'held'
                ELSE {OUTCOME_STATUS} END AS status,
           CASE WHEN t.error_field <> '' THEN 2
                WHEN t.repeats THEN NULL
                ELSE {OUTCOME_CODE} END AS return_code,
           CASE WHEN t.error_field <> '' THEN t.error_field ELSE {OUTCOME_FIELD} END AS field,
           CASE WHEN t.error_field <> '' THEN t.error_reason ELSE {OUTCOME_REASON} END AS reason,
           CASE WHEN t.error_field <> '' OR t.repeats THEN ''
                ELSE {OUTCOME_HANDLING} END AS handling,
           CASE WHEN t.error_field <> '' OR t.source = '' THEN 'none' ELSE t.source END AS kind
    FROM t
    """  # noqa: S608 - table names from model metadata


@dataclass(frozen=True)
class DryRunTarget:
    authority_id: int
    payment_system_id: int
    agreement: ConnectionAgreement
    requested_value_date: datetime.date | None
    value_date: datetime.date
    now: datetime.datetime


@dataclass
class DryRunRows:
    """The outcome of every row as JSON objects (comma-separated, in line order) in a spooled
    file, and the counts; built while the staged rows exist, read after they are rolled back."""

    file: IO[bytes]
    summary: dict[str, Any]

    def chunks(self, head: dict[str, Any]) -> Iterator[bytes]:
        """The answer: ``head`` and the summary, then ``payments``; the file is closed after."""
        opening = json.dumps({**head, **self.summary}, ensure_ascii=False)[:-1]
        try:
            yield f'{opening}, "payments": ['.encode()
            self.file.seek(0)
            while block := self.file.read(1 << 16):
                yield block
            yield b"]}"
        finally:
            self.file.close()


_OUTCOME_TABLE = "dry_run_outcome"
# Every row's JSON, made by PostgreSQL (in C, not one Python dict per row); the texts come from
# the distinct outcomes (``texts``: arrays of the key columns and the text in this language).
_ROWS_SQL = f"""
SELECT json_build_object(
           'line', o.line, 'reference', o.reference, 'status', o.status,
           'return_code', o.return_code, 'return_text', t.text, 'account_kind', o.kind,
           'failure_handling', nullif(o.handling, ''),
           'value_date', CASE WHEN o.status IN ('completed', 'held')
                                OR (o.status = 'failed'
                                    AND o.handling IN ('cheque', 'error_account'))
                              THEN %(value_date)s::date END)::text
FROM {_OUTCOME_TABLE} o
JOIN unnest(%(statuses)s::text[], %(codes)s::int[], %(fields)s::text[], %(reasons)s::text[],
            %(handlings)s::text[], %(texts)s::text[])
     AS t(status, code, field, reason, handling, text)
  ON t.status = o.status AND t.code IS NOT DISTINCT FROM o.return_code AND t.field = o.field
 AND t.reason = o.reason AND t.handling = o.handling
ORDER BY o.line
"""  # noqa: S608 - a constant table name
_GROUPS_SQL = f"""
SELECT status, return_code, field, reason, handling, kind, count(*)
FROM {_OUTCOME_TABLE} GROUP BY 1, 2, 3, 4, 5, 6
"""  # noqa: S608 - a constant table name
_SPOOL_IN_MEMORY = 8 * 1024 * 1024


def staged_dry_run(target: DryRunTarget) -> DryRunRows:
    """The outcome of every staged row and the counts (per status, return code and account
    kind). Reads only; the staged rows, and the outcome table it makes, are the caller's
    transaction's. Constant memory: the rows' JSON goes to a file, in memory up to 8 MiB."""
    window = duplicate_window()
    params: dict[str, Any] = {
        "authority": target.authority_id,
        "system": target.payment_system_id,
        "requested": target.requested_value_date,
        "value_date": target.value_date,
        "now": target.now,
        "window": window,
        "choice": target.agreement.failure_choice,
        "test": target.agreement.in_test,
    }
    with connection.cursor() as cursor:
        # Measured on 100,000 rows (docs/benchmarks.md): JIT compiling this one statement took
        # longer than running it, and 4 MB of work_mem sent its sorts to disk. For this
        # transaction only (the caller's savepoint is rolled back).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {_OUTCOME_TABLE}")
        outcome = _sql(guard=window is not None)
        cursor.execute(f"CREATE TEMP TABLE {_OUTCOME_TABLE} ON COMMIT DROP AS {outcome}", params)
        cursor.execute(_GROUPS_SQL)
        groups = cursor.fetchall()
    keys = sorted({group[:5] for group in groups}, key=str)
    texts = [
        return_text_for(code=code, status=status, field=field, reason=reason, failure_handling=how)
        for status, code, field, reason, how in keys
    ]
    file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    rows = connection.chunked_cursor()
    try:
        rows.execute(
            _ROWS_SQL,
            {
                "value_date": target.value_date,
                "statuses": [key[0] for key in keys],
                "codes": [key[1] for key in keys],
                "fields": [key[2] for key in keys],
                "reasons": [key[3] for key in keys],
                "handlings": [key[4] for key in keys],
                "texts": texts,
            },
        )
        separator = b""
        while chunk := rows.fetchmany(5000):
            file.write(separator + b",".join(row[0].encode() for row in chunk))
            separator = b","
    finally:
        rows.close()
    return DryRunRows(file=file, summary=_summary(groups))


def _summary(groups: list[tuple[Any, ...]]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for status, code, _field, _reason, _handling, kind, count in groups:
        statuses[status] += count
        kinds[kind] += count
        if code is not None:
            codes[str(code)] += count
    return {
        "counts": dict(sorted(statuses.items())),
        "return_codes": dict(sorted(codes.items())),
        "account_kinds": dict(sorted(kinds.items())),
    }
