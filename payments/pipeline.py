"""The set-based stages of the payment pipeline (ARCHITECTURE.md section 4).

Each stage is a handful of SQL statements whatever the size of the batch: no per-payment query,
no loop over model instances. Each is idempotent: every status change is guarded by the status
it expects (``UPDATE ... WHERE status = 'received'``), so a task that runs twice, or is resumed
by the sweeper after its worker died, finds nothing left to do. A statement-level trigger refuses
any illegal status change (``payments.models.pipeline.TRANSITIONS``). No Celery here: the tasks in
``payments.tasks`` call these functions.
"""

import datetime
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.models import Authority, Bank
from payments.bank_adapters import bank_adapter, bank_dir, is_camt054, test_bank_dir
from payments.calendar import cycle_dates, value_date_for_request
from payments.callback_events import (
    WAITING_EXPIRED,
    WAITING_RELEASED,
    payments_updated_enqueue,
)
from payments.duplicates import repeats_hold
from payments.intake_rows import STAGE_COLUMNS
from payments.models import (
    BankAgreement,
    BankFile,
    BankMessage,
    Batch,
    Benefit,
    ConnectionAgreement,
    DisbursementAccount,
    Payment,
    PaymentStatus,
)
from payments.reconciliation import bookings_apply, files_reconcile
from payments.waiting import released_notices, waiting_notices
from registry.models import NemKonto, Recipient, SpecificAccount

PAYMENT = Payment._meta.db_table
BATCH = Batch._meta.db_table
BANK_FILE = BankFile._meta.db_table
BENEFIT = Benefit._meta.db_table
RECIPIENT = Recipient._meta.db_table
NEMKONTO = NemKonto._meta.db_table
SPECIFIC = SpecificAccount._meta.db_table
BANK_AGREEMENT = BankAgreement._meta.db_table

# Statuses that are still on their way to the bank.
_PENDING_SQL = "('received', 'completed', 'waiting', 'held')"
# Payments that could not be completed but still leave in a bank file (cheque, error account).
_FAILED_TO_FORWARD_SQL = (
    "(p.status = 'failed' AND p.failure_handling IN ('cheque', 'error_account') "
    "AND p.bank_file_id IS NULL)"
)


def end_to_end_id(payment_id: int) -> str:
    """The payment's id in bank files (pain.001 EndToEndId), read back from the bank's answers."""
    return f"NK{payment_id}"


def payment_id_from(end_to_end: str) -> int | None:
    if end_to_end.startswith("NK") and end_to_end[2:].isdigit():
        return int(end_to_end[2:])
    return None


# --- Intake -------------------------------------------------------------------------------------

_STAGE_TABLE = "payment_stage"
_CREATE_STAGE = f"""
CREATE TEMP TABLE {_STAGE_TABLE} (
    line integer NOT NULL,
    reference varchar(35) NOT NULL,
    recipient_type varchar(3) NOT NULL,
    recipient_number varchar(10) NOT NULL,
    recipient_raw varchar(40) NOT NULL,
    benefit_code varchar(30) NOT NULL,
    amount_ore bigint,
    text varchar(35) NOT NULL,
    account_kind varchar(7) NOT NULL,
    reg varchar(4) NOT NULL,
    number varchar(10) NOT NULL,
    iban varchar(34) NOT NULL,
    bic varchar(11) NOT NULL,
    return_field varchar(40) NOT NULL,
    return_reason varchar(40) NOT NULL
) ON COMMIT DROP
"""


def stage_rows(rows: Iterable[tuple[object, ...]]) -> int:
    """COPY the rows into a temporary staging table of this transaction; returns how many."""
    assert connection.in_atomic_block, "the staging table lives for one transaction"
    count = 0
    with connection.cursor() as cursor:
        # Dropped at commit; dropped here too for a second batch in one transaction (tests).
        cursor.execute(f"DROP TABLE IF EXISTS {_STAGE_TABLE}")
        cursor.execute(_CREATE_STAGE)
        columns = ", ".join(STAGE_COLUMNS)
        with cursor.cursor.copy(f"COPY {_STAGE_TABLE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        # Statistics of the columns the intake and the dry run join on (all of them: twice the
        # time, 0.14 s for 100,000 rows).
        cursor.execute(
            f"ANALYZE {_STAGE_TABLE} "
            "(reference, recipient_type, recipient_number, benefit_code, account_kind)"
        )
    return count


def staged_unknown_benefits(authority: Authority, limit: int = 20) -> list[tuple[int, str, bool]]:
    """Benefit codes of the staged rows that the authority does not have (or has closed):
    (first line, code, exists-but-inactive)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT min(s.line), s.benefit_code, bool_or(b.id IS NOT NULL)
            FROM {_STAGE_TABLE} s
            LEFT JOIN {BENEFIT} b ON b.authority_id = %s AND b.code = s.benefit_code
            WHERE s.benefit_code <> '' AND (b.id IS NULL OR NOT b.is_active)
            GROUP BY s.benefit_code ORDER BY 1 LIMIT %s
            """,  # noqa: S608 - table names from model metadata
            [authority.pk, limit],
        )
        return [(line, code, inactive) for line, code, inactive in cursor.fetchall()]


# The staged rows (``staged``) and each row's formal error (``checked``: error_field and
# error_reason, '' when none): its own, a reference repeated in the batch (the first use counts)
# or one the payment system (``%(system)s``) used before. Shared by the intake and the dry run.
STAGED_CHECKED = f"""
    staged AS (
        SELECT s.*, row_number() OVER (PARTITION BY s.reference ORDER BY s.line) AS nth
        FROM {_STAGE_TABLE} s
    ), checked AS (
        SELECT s.*,
               CASE WHEN s.return_field <> '' THEN s.return_field
                    WHEN s.nth > 1 THEN 'reference'
                    WHEN used.yes THEN 'reference'
                    ELSE '' END AS error_field,
               CASE WHEN s.return_field <> '' THEN s.return_reason
                    WHEN s.nth > 1 THEN 'duplicate'
                    ELSE 'already_used' END AS error_reason
        FROM staged s
        -- One probe of payment_reference_per_system per row. (An EXISTS here was run as a
        -- hashed subplan reading every payment the system ever sent.)
        LEFT JOIN LATERAL (
            SELECT true AS yes FROM {PAYMENT} prior
            WHERE prior.payment_system_id = %(system)s
              AND prior.reference = s.reference
              AND NOT (prior.return_field = 'reference')
            LIMIT 1
        ) used ON true
    )"""  # noqa: S608 - table names from model metadata


@dataclass(frozen=True)
class IntakeTarget:
    batch_id: str
    authority_id: int
    los_unit_id: int
    payment_system_id: int
    bank_agreement_id: int
    requested_value_date: datetime.date | None
    value_date: datetime.date
    received_at: datetime.datetime
    is_test: bool = False


def staged_insert(target: IntakeTarget) -> dict[str, int]:
    """Insert the staged rows as the batch's payments, in one statement; returns counts per
    status. Formal errors, references repeated in the batch and references the payment system
    used before are rejected with code 2 (the first use of a reference in the batch is kept)."""
    with connection.cursor() as cursor:
        # Serialise intakes of one payment system, so two batches cannot both take a reference.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7301, target.payment_system_id])
        cursor.execute(
            f"""
            WITH {STAGED_CHECKED}, inserted AS (
                INSERT INTO {PAYMENT} (
                    batch_id, line, authority_id, los_unit_id, payment_system_id,
                    bank_agreement_id, reference, recipient_type, recipient_number,
                    recipient_raw, benefit_id, benefit_code, amount_ore, text,
                    requested_value_date, value_date, account_source, account_kind, reg, number,
                    iban, bic, status, return_code, return_field, return_reason,
                    failure_handling, received_at, is_test)
                SELECT %(batch)s, c.line, %(authority)s, %(unit)s, %(system)s, %(bank_agreement)s,
                       c.reference, c.recipient_type, c.recipient_number, c.recipient_raw, b.id,
                       c.benefit_code, c.amount_ore, c.text, %(requested)s, %(value_date)s,
                       CASE WHEN c.account_kind <> '' THEN 'given' ELSE '' END,
                       c.account_kind, c.reg, c.number, c.iban, c.bic,
                       CASE WHEN c.error_field <> '' THEN 'rejected' ELSE 'received' END,
                       CASE WHEN c.error_field <> '' THEN 2 END,
                       c.error_field,
                       CASE WHEN c.error_field <> '' THEN c.error_reason ELSE '' END,
                       '', %(now)s, %(test)s
                FROM checked c
                LEFT JOIN {BENEFIT} b ON b.authority_id = %(authority)s
                                     AND b.code = c.benefit_code
                RETURNING status
            )
            SELECT status, count(*) FROM inserted GROUP BY status
            """,  # noqa: S608 - table names from model metadata
            {
                "batch": target.batch_id,
                "authority": target.authority_id,
                "unit": target.los_unit_id,
                "system": target.payment_system_id,
                "bank_agreement": target.bank_agreement_id,
                "requested": target.requested_value_date,
                "value_date": target.value_date,
                "now": target.received_at,
                "test": target.is_test,
            },
        )
        return dict(cursor.fetchall())


# --- Validate and attach ------------------------------------------------------------------------


# The account a payment finds: the live specific account for (recipient, authority, benefit),
# else the recipient's active NemKonto; or none (then the failure choice, or the waiting
# account). Each account is one probe of a partial unique index. Shared by the attach and the dry
# run (``payments.dry_run``), which name the payment's columns differently.
def account_joins(*, row: str, given: str, authority: str, benefit: str, value_date: str) -> str:
    """LEFT JOINs of the register (``r``), the live specific account (``sa``) and the active
    NemKonto (``nk``) for the payment ``row`` (an alias with recipient_type and
    recipient_number); ``given`` is true for a complete payment (no account is looked up)."""
    return f"""
    LEFT JOIN {RECIPIENT} r
           ON r.id_type = {row}.recipient_type AND r.id_number = {row}.recipient_number
    LEFT JOIN {SPECIFIC} sa
           ON NOT ({given}) AND sa.recipient_id = r.id
          AND sa.authority_id = {authority} AND sa.benefit_id = {benefit}
          AND sa.state = 'active' AND (sa.end_date IS NULL OR sa.end_date >= {value_date})
    LEFT JOIN {NEMKONTO} nk
           ON NOT ({given}) AND nk.recipient_id = r.id AND nk.state = 'active'
    """


def account_source(given: str) -> str:
    """Where the payment's account comes from: '' (the ID is not in the register), given,
    specific, nemkonto or none."""
    return f"""CASE WHEN r.id IS NULL THEN ''
                WHEN {given} THEN 'given'
                WHEN sa.id IS NOT NULL THEN 'specific'
                WHEN nk.id IS NOT NULL THEN 'nemkonto'
                ELSE 'none' END"""


# The outcome for a payment from its account source (``t.source``), whether the register has an
# address (``t.has_address``) and the failure choice (``%(choice)s``): status, return code, field
# and reason (code 7 without an address for a cheque), failure handling.
OUTCOME_STATUS = """CASE
        WHEN t.source = '' THEN 'rejected'
        WHEN t.source <> 'none' THEN 'completed'
        WHEN %(choice)s = 'cheque' AND NOT t.has_address THEN 'rejected'
        WHEN %(choice)s = 'waiting' THEN 'waiting'
        ELSE 'failed' END"""
OUTCOME_CODE = "CASE WHEN t.source = '' THEN 1 WHEN t.source <> 'none' THEN 0 ELSE 7 END"
_NO_ADDRESS = "t.source = 'none' AND %(choice)s = 'cheque' AND NOT t.has_address"
OUTCOME_FIELD = f"CASE WHEN {_NO_ADDRESS} THEN 'address' ELSE '' END"
OUTCOME_REASON = f"CASE WHEN {_NO_ADDRESS} THEN 'no_address' ELSE '' END"
OUTCOME_HANDLING = """CASE
        WHEN t.source <> 'none' THEN ''
        WHEN %(choice)s = 'return' THEN 'returned'
        WHEN %(choice)s = 'cheque' AND t.has_address THEN 'cheque'
        WHEN %(choice)s = 'error_account' THEN 'error_account'
        WHEN %(choice)s = 'waiting' THEN 'waiting'
        ELSE '' END"""

# The attach: one pass over the payments ``{where}`` selects; ``{returning}`` is empty or a
# RETURNING clause. ``value_date_floor`` moves the value date of payments attached later than
# their batch (released from the waiting account, confirmed duplicates) to the next cycle's;
# NULL keeps it.
_GIVEN = "p.account_source = 'given'"
_ATTACH_JOINS = account_joins(
    row="p",
    given=_GIVEN,
    authority="p.authority_id",
    benefit="p.benefit_id",
    value_date="p.value_date",
)
_ATTACH_SQL = f"""
WITH target AS (
    SELECT p.id,
           r.id AS recipient_id,
           r.address <> '' AS has_address,
           {account_source(_GIVEN)} AS source,
           sa.id AS specific_id,
           CASE WHEN sa.id IS NULL THEN nk.id END AS nemkonto_id,
           coalesce(sa.account_kind, nk.account_kind) AS account_kind,
           coalesce(sa.reg, nk.reg) AS reg,
           coalesce(sa.number, nk.number) AS number,
           coalesce(sa.iban, nk.iban) AS iban,
           coalesce(sa.bic, nk.bic) AS bic
    FROM {PAYMENT} p
    {_ATTACH_JOINS}
    WHERE {{where}}
)
UPDATE {PAYMENT} p SET
    recipient_id = t.recipient_id,
    status = {OUTCOME_STATUS},
    return_code = {OUTCOME_CODE},
    return_field = {OUTCOME_FIELD},
    return_reason = {OUTCOME_REASON},
    account_source = CASE WHEN t.source = '' THEN p.account_source ELSE t.source END,
    specific_account_id = t.specific_id,
    nemkonto_id = t.nemkonto_id,
    failure_handling = {OUTCOME_HANDLING},
    waiting_since = CASE
        WHEN t.source = 'none' AND %(choice)s = 'waiting' THEN coalesce(p.waiting_since, %(now)s)
        ELSE p.waiting_since END,
    value_date = greatest(p.value_date, %(value_date_floor)s::date),
    account_kind = CASE
        WHEN t.source IN ('', 'given') THEN p.account_kind
        WHEN t.source IN ('specific', 'nemkonto') THEN t.account_kind
        WHEN %(choice)s = 'error_account' THEN 'danish'
        ELSE '' END,
    reg = CASE
        WHEN t.source IN ('', 'given') THEN p.reg
        WHEN t.source IN ('specific', 'nemkonto') THEN t.reg
        WHEN %(choice)s = 'error_account' THEN %(error_reg)s
        ELSE '' END,
    number = CASE
        WHEN t.source IN ('', 'given') THEN p.number
        WHEN t.source IN ('specific', 'nemkonto') THEN t.number
        WHEN %(choice)s = 'error_account' THEN %(error_number)s
        ELSE '' END,
    iban = CASE
        WHEN t.source IN ('', 'given') THEN p.iban
        WHEN t.source IN ('specific', 'nemkonto') THEN t.iban ELSE '' END,
    bic = CASE
        WHEN t.source IN ('', 'given') THEN p.bic
        WHEN t.source IN ('specific', 'nemkonto') THEN t.bic ELSE '' END,
    processed_at = %(now)s
FROM target t
WHERE p.id = t.id AND p.status = %(expected)s
{{returning}}
"""  # noqa: S608 - table names from model metadata


def _agreement_params(agreement: ConnectionAgreement) -> dict[str, Any]:
    return {
        "choice": agreement.failure_choice,
        "error_reg": agreement.error_account_reg,
        "error_number": agreement.error_account_number,
        "value_date_floor": None,
    }


def attach_sql(where: str, returning: str = "") -> str:
    """The attach statement for the payments ``where`` selects (see ``_ATTACH_SQL``)."""
    return _ATTACH_SQL.format(where=where, returning=returning)


def batch_process(batch_id: str) -> bool:
    """Validate and attach every received payment of the batch (code 1, 0 or 7), then mark the
    batch completed. Returns False when there was nothing to do (already processed)."""
    now = timezone.now()
    with transaction.atomic():
        # skip_locked: a second delivery of the task (or the sweeper's) leaves a batch alone
        # while another worker is on it.
        batch = (
            Batch.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("agreement")
            .filter(pk=batch_id, status__in=[Batch.Status.RECEIVED, Batch.Status.PROCESSING])
            .first()
        )
        if batch is None:
            return False
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.PROCESSING, touched_at=now)
        with connection.cursor() as cursor:
            # JIT compiling the guard and the attach cost more than it saved: a batch of 100,000
            # took 11.2 s with it and 5.8 s without (docs/benchmarks.md, dry run); batches of
            # 10,000 are below the JIT's threshold either way.
            cursor.execute("SET LOCAL jit = off")
            repeats_hold(cursor, batch_id=str(batch.pk), now=now)
            cursor.execute(
                attach_sql("p.batch_id = %(batch)s AND p.status = 'received'"),
                {
                    "batch": batch.pk,
                    "expected": "received",
                    "now": now,
                    **_agreement_params(batch.agreement),
                },
            )
            if batch.agreement.failure_choice == ConnectionAgreement.FailureChoice.WAITING:
                waiting_notices(
                    cursor,
                    where="p.batch_id = %(batch)s AND p.status = 'waiting' "
                    "AND p.waiting_since = %(now)s",
                    params={"batch": batch.pk, "now": now},
                )
        Batch.objects.filter(pk=batch.pk).update(
            status=Batch.Status.COMPLETED, processed_at=now, touched_at=now
        )
        batches_advance([str(batch.pk)])
    return True


def batches_advance(batch_ids: list[str]) -> None:
    """Move batches on as their payments move: forwarded when none is pending any longer,
    closed when every payment has its final answer. Set-wise and idempotent."""
    if not batch_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH state AS (
                SELECT b.id,
                       EXISTS (SELECT 1 FROM {PAYMENT} p WHERE p.batch_id = b.id
                               AND (p.status IN {_PENDING_SQL} OR {_FAILED_TO_FORWARD_SQL}))
                           AS pending,
                       EXISTS (SELECT 1 FROM {PAYMENT} p WHERE p.batch_id = b.id
                               AND p.status = 'forwarded') AS at_bank
                FROM {BATCH} b
                WHERE b.id = ANY(%(ids)s::uuid[]) AND b.status IN ('completed', 'forwarded')
            )
            UPDATE {BATCH} b SET
                status = CASE WHEN s.pending THEN b.status
                              WHEN s.at_bank THEN 'forwarded' ELSE 'closed' END,
                forwarded_at = CASE WHEN NOT s.pending THEN coalesce(b.forwarded_at, %(now)s)
                                    ELSE b.forwarded_at END,
                closed_at = CASE WHEN NOT s.pending AND NOT s.at_bank THEN %(now)s END,
                touched_at = %(now)s
            FROM state s
            WHERE b.id = s.id AND NOT s.pending
              AND b.status <> CASE WHEN s.at_bank THEN 'forwarded' ELSE 'closed' END
            """,  # noqa: S608 - table names from model metadata
            {"ids": batch_ids, "now": timezone.now()},
        )


# --- The cut-off cycle --------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleResult:
    cut_off_day: datetime.date
    value_date: datetime.date
    file_ids: list[int]
    payments: int
    reattached: int


def _message_id(at: datetime.datetime) -> str:
    return "NK" + at.astimezone(datetime.UTC).strftime("%Y%m%d%H%M%S")


def cycle_run(*, at: datetime.datetime) -> CycleResult:
    """The forwarding cycle of the cut-off at ``at``: re-attach payments whose account changed
    since, then claim every payment due by the cycle's value date into one bank file per (bank,
    bank agreement, value date, test or real: a file never mixes the two). Files are written
    afterwards (``bank_file_write``)."""
    cut_off_day, value_date = cycle_dates(at)
    now = timezone.now()
    due = (
        f"p.value_date <= %(value_date)s AND (p.status = 'completed' OR {_FAILED_TO_FORWARD_SQL})"
        f" AND {_NOT_HELD_SQL}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Payments waiting for an account whose recipient has one now leave in this cycle.
        _release(cursor, value_date=value_date, now=now)
        reattached = _reattach_due(cursor, value_date, now)
        cursor.execute(
            f"""
            INSERT INTO {BANK_FILE} (bank_id, bank_agreement_id, authority_id, value_date,
                                     cycle_at, message_id, status, transaction_count,
                                     control_sum_ore, path, sha256, created_at, is_test)
            SELECT ba.bank_id, ba.id, ba.authority_id, %(value_date)s, %(at)s,
                   %(message_prefix)s || '-' || ba.id || CASE WHEN d.is_test THEN '-T' ELSE '' END,
                   'claimed', 0, 0, '', '', %(now)s, d.is_test
            FROM (SELECT DISTINCT p.bank_agreement_id, p.is_test FROM {PAYMENT} p WHERE {due}) d
            JOIN {BANK_AGREEMENT} ba ON ba.id = d.bank_agreement_id
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - table names from model metadata
            {
                "value_date": value_date,
                "at": at,
                "now": now,
                "message_prefix": _message_id(at),
            },
        )
        cursor.execute(
            f"""
            UPDATE {PAYMENT} p SET
                status = CASE WHEN p.status = 'completed' THEN 'forwarded' ELSE p.status END,
                bank_file_id = f.id,
                value_date = %(value_date)s,
                forwarded_at = %(now)s
            FROM {BANK_FILE} f
            WHERE f.cycle_at = %(at)s AND f.value_date = %(value_date)s AND f.status = 'claimed'
              AND f.bank_agreement_id = p.bank_agreement_id AND f.is_test = p.is_test AND {due}
            """,  # noqa: S608 - table names from model metadata
            {"value_date": value_date, "at": at, "now": now},
        )
        claimed = cursor.rowcount
        # The totals come from the payments actually claimed (a stop may win a race).
        cursor.execute(
            f"""
            UPDATE {BANK_FILE} f SET transaction_count = t.n, control_sum_ore = t.total
            FROM (SELECT p.bank_file_id, count(*) AS n, sum(p.amount_ore) AS total
                  FROM {PAYMENT} p JOIN {BANK_FILE} f2 ON f2.id = p.bank_file_id
                  WHERE f2.cycle_at = %(at)s AND f2.status = 'claimed'
                  GROUP BY p.bank_file_id) t
            WHERE f.id = t.bank_file_id
            """,  # noqa: S608 - table names from model metadata
            {"at": at},
        )
        cursor.execute(
            f"DELETE FROM {BANK_FILE} WHERE cycle_at = %s AND status = 'claimed' "  # noqa: S608
            "AND transaction_count = 0",
            [at],
        )
        cursor.execute(
            f"SELECT id FROM {BANK_FILE} WHERE cycle_at = %s AND status = 'claimed' ORDER BY id",  # noqa: S608
            [at],
        )
        file_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT DISTINCT batch_id::text FROM {PAYMENT} WHERE bank_file_id = ANY(%s)",  # noqa: S608
            [file_ids],
        )
        batches_advance([row[0] for row in cursor.fetchall()])
    statistics_refresh(claimed)
    return CycleResult(cut_off_day, value_date, file_ids, claimed, reattached)


def statistics_refresh(changed: int) -> None:
    """After a stage changed payments' status en masse (the cycle's claim, a bank's answer),
    sample the payments' columns the next stages filter on. Until autovacuum gets round to it,
    the planner still believes the old distribution: having seen no ``bank_received`` payment it
    planned the reconciliation's join as a nested loop, quadratic at a million payments. Run
    after the stage's commit, so that the lock ANALYZE takes is not held by a long transaction;
    whenever the stage changed any payment, so that the statements per batch do not depend on
    its size (about 0.2 s for a table of millions: ANALYZE reads a sample)."""
    if changed:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {PAYMENT} (status, return_code, bank_file_id, booked_at)")


# Payments to a recipient whose NemKonto change is held for review (a fraud hold, registry/
# services/risk.py) wait for the operator's decision; the next cycle after it takes them, to the
# account then in force. One probe of the one-waiting-version-per-recipient index.
_NOT_HELD_SQL = f"""NOT EXISTS (
    SELECT 1 FROM {NEMKONTO} held
    WHERE held.recipient_id = p.recipient_id AND held.state = '{NemKonto.State.HELD}'
)"""  # noqa: S608 - table name from model metadata

# Account versions are written once and then only begin and end (the registry's triggers allow
# no other change), each stamped: a recipient whose versions carry no stamp since ``%(since)s``
# finds what it found then.
_CHANGED_RECIPIENTS = f"""
    SELECT recipient_id FROM {NEMKONTO}
    WHERE greatest(created_at, activated_at, ended_at) >= %(since)s
    UNION
    SELECT recipient_id FROM {SPECIFIC} WHERE greatest(created_at, ended_at) >= %(since)s
"""  # noqa: S608 - table names from model metadata

# Due payments whose attached version is no longer the one they would find now, among those of
# the recipients whose NemKonto or specific accounts changed since.
_REATTACH_WHERE = f"""
    p.status = 'completed' AND p.account_source IN ('specific', 'nemkonto') AND r.id IS NOT NULL
    AND p.value_date <= %(value_date)s
    AND p.batch_id IN (SELECT id FROM {BATCH} WHERE agreement_id = %(agreement)s)
    AND p.recipient_id IN ({_CHANGED_RECIPIENTS})
    AND (p.nemkonto_id IS DISTINCT FROM CASE WHEN sa.id IS NULL THEN nk.id END
         OR p.specific_account_id IS DISTINCT FROM sa.id)
"""  # noqa: S608 - table name from model metadata

# The margin covers a registry transaction that stamped its change before an attach began and
# committed after it (and clocks a little apart).
_CHANGE_MARGIN = datetime.timedelta(hours=1)


def _reattach_due(cursor: Any, value_date: datetime.date, now: datetime.datetime) -> int:
    """Attach again, per connection agreement, the payments due whose account is no longer the
    one a payment would find now (the NemKonto active at the moment of forwarding). Only the
    payments of recipients whose account versions changed since the oldest due batch was
    attached are looked at: joining every due payment to the register again took 8 s for
    1,000,000 payments."""
    due = Batch.objects.filter(status=Batch.Status.COMPLETED)
    oldest = due.aggregate(oldest=Min("processed_at"))["oldest"]
    if oldest is None:
        return 0
    total = 0
    for agreement in ConnectionAgreement.objects.filter(batches__in=due).distinct():
        cursor.execute(
            attach_sql(_REATTACH_WHERE),
            {
                "expected": "completed",
                "now": now,
                "value_date": value_date,
                "agreement": agreement.pk,
                "since": oldest - _CHANGE_MARGIN,
                **_agreement_params(agreement),
            },
        )
        total += cursor.rowcount
    return total


# --- The waiting account (payments.waiting) and held duplicates (payments.duplicates) ----------

# Waiting payments whose recipient has an account now (in the attach statement's ``target``).
_RELEASE_WHERE = "p.status = 'waiting' AND (sa.id IS NOT NULL OR nk.id IS NOT NULL)"
# No failure choice applies to a payment that finds an account.
_ACCOUNT_FOUND_PARAMS = {"choice": "waiting", "error_reg": "", "error_number": ""}


@dataclass(frozen=True)
class Moved:
    """Payments a waiting-account or duplicate step moved on: ids, recipients and batches."""

    payment_ids: list[int]
    recipient_ids: list[int]
    batch_ids: list[str]


def _moved(rows: list[tuple[int, int | None, str]]) -> Moved:
    return Moved(
        payment_ids=[row[0] for row in rows],
        recipient_ids=sorted({row[1] for row in rows if row[1] is not None}),
        batch_ids=sorted({row[2] for row in rows}),
    )


_MOVED_RETURNING = "RETURNING p.id, p.recipient_id, p.batch_id::text"
_OF_AGREEMENT = f"p.batch_id IN (SELECT id FROM {BATCH} WHERE agreement_id = %(agreement)s)"  # noqa: S608


def _release(cursor: Any, *, value_date: datetime.date, now: datetime.datetime) -> Moved:
    cursor.execute(
        attach_sql(_RELEASE_WHERE, _MOVED_RETURNING),
        {
            "expected": "waiting",
            "now": now,
            "value_date_floor": value_date,
            **_ACCOUNT_FOUND_PARAMS,
        },
    )
    moved = _moved(cursor.fetchall())
    if moved.payment_ids:
        released_notices(cursor, payment_ids=moved.payment_ids)
        payments_updated_enqueue(cursor, payment_ids=moved.payment_ids, reason=WAITING_RELEASED)
    return moved


def waiting_release(*, now: datetime.datetime | None = None) -> Moved:
    """Attach every waiting payment whose recipient has an account now: it is completed with the
    next cycle's value date and leaves in that cycle; the recipient gets a notice and the payment
    system a ``payments_updated`` callback, in the same transaction. Idempotent (only ``waiting``
    payments move), so the registry's hook and the cycle may both run it."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        return _release(cursor, value_date=value_date_for_request(now, None), now=now)


def waiting_expire(*, now: datetime.datetime | None = None) -> Moved:
    """Give the payments that waited longer than ``NEMKONTO_WAITING_DAYS`` the fallback of their
    agreement (``waiting_fallback``; or its failure choice, if that is no longer the waiting
    account): returned, cheque (rejected without an address) or error account. One statement
    per agreement with such payments; the payment systems get a ``payments_updated`` callback.
    """
    now = now or timezone.now()
    before = now - datetime.timedelta(days=settings.NEMKONTO_WAITING_DAYS)
    rows: list[tuple[int, int | None, str]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        _release(cursor, value_date=value_date_for_request(now, None), now=now)
        expired = Payment.objects.filter(
            status=PaymentStatus.WAITING, waiting_since__lt=before
        ).values("batch__agreement_id")
        for agreement in ConnectionAgreement.objects.filter(pk__in=expired).order_by("pk"):
            choice = agreement.failure_choice
            if choice == ConnectionAgreement.FailureChoice.WAITING:
                choice = agreement.waiting_fallback
            cursor.execute(
                attach_sql(
                    "p.status = 'waiting' AND p.waiting_since < %(before)s AND " + _OF_AGREEMENT,
                    _MOVED_RETURNING,
                ),
                {
                    **_agreement_params(agreement),
                    "choice": choice,
                    "expected": "waiting",
                    "now": now,
                    "before": before,
                    "agreement": agreement.pk,
                    "value_date_floor": value_date_for_request(now, None),
                },
            )
            rows += cursor.fetchall()
        moved = _moved(rows)
        payments_updated_enqueue(cursor, payment_ids=moved.payment_ids, reason=WAITING_EXPIRED)
        batches_advance(moved.batch_ids)
    return moved


def held_attach(*, payment_ids: list[int], now: datetime.datetime) -> Moved:
    """Attach confirmed duplicates (``held``) like received payments, with the failure choice of
    their agreement and the next cycle's value date. The caller holds the transaction."""
    rows: list[tuple[int, int | None, str]] = []
    agreements = ConnectionAgreement.objects.filter(
        pk__in=Payment.objects.filter(pk__in=payment_ids).values("batch__agreement_id")
    ).order_by("pk")
    with connection.cursor() as cursor:
        for agreement in agreements:
            cursor.execute(
                attach_sql(
                    "p.id = ANY(%(ids)s) AND p.status = 'held' AND " + _OF_AGREEMENT,
                    _MOVED_RETURNING,
                ),
                {
                    **_agreement_params(agreement),
                    "ids": payment_ids,
                    "agreement": agreement.pk,
                    "expected": "held",
                    "now": now,
                    "value_date_floor": value_date_for_request(now, None),
                },
            )
            rows += cursor.fetchall()
            if agreement.failure_choice == ConnectionAgreement.FailureChoice.WAITING:
                waiting_notices(
                    cursor,
                    where="p.id = ANY(%(ids)s) AND p.status = 'waiting' AND p.waiting_since = "
                    "%(now)s",
                    params={"ids": payment_ids, "now": now},
                )
    return _moved(rows)


# --- Bank files ---------------------------------------------------------------------------------


class _HashingWriter:
    """A binary file that hashes and counts what is written to it."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return int(self._file.write(data))


_FILE_ROWS_SQL = f"""
SELECT p.id, p.amount_ore, p.failure_handling = 'cheque', coalesce(r.name, ''), p.text,
       p.reg, p.number, p.iban, p.bic,
       coalesce(r.address, ''), coalesce(r.postcode, ''), coalesce(r.city, '')
FROM {PAYMENT} p LEFT JOIN {RECIPIENT} r ON r.id = p.recipient_id
WHERE p.bank_file_id = %s AND (p.failure_handling = 'cheque') = %s
"""  # noqa: S608 - table names from model metadata


def _file_transactions(file_id: int) -> Iterator[Any]:
    from payments.iso20022.pain001_writer import Pain001Transaction

    # Credit transfers first, then cheques: one payment-information block each.
    for cheques in (False, True):
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(_FILE_ROWS_SQL, [file_id, cheques])
            while rows := cursor.fetchmany(5000):
                for pid, amount, cheque, name, text, reg, number, iban, bic, adr, pc, city in rows:
                    yield Pain001Transaction(
                        end_to_end_id=end_to_end_id(pid),
                        amount_ore=amount,
                        method="CHK" if cheque else "TRF",
                        creditor_name=name,
                        text=text,
                        reg="" if cheque else reg,
                        number="" if cheque else number,
                        iban="" if cheque else iban,
                        bic="" if cheque else bic,
                        address=adr if cheque else "",
                        postcode=pc if cheque else "",
                        city=city if cheque else "",
                    )
        finally:
            cursor.close()


def bank_file_write(file_id: int) -> bool:
    """Write the claimed file as pain.001 into the bank's outbox (the file-drop adapter),
    validated against the XSD before it is put where the bank reads; a test file goes to the
    simulated bank instead, and is kept apart from the bank's archive. Returns False when the
    file was written before."""
    from payments.iso20022.pain001_writer import Pain001Header, Party, danish_iban, write_pain001
    from payments.iso20022.schemas import pain001_schema, validate_file

    file = (
        BankFile.objects.select_related("bank", "bank_agreement", "authority")
        .filter(pk=file_id, status=BankFile.Status.CLAIMED)
        .first()
    )
    if file is None:
        return False
    debit = DisbursementAccount.objects.filter(agreement=file.bank_agreement).order_by("pk").first()
    if debit is None:
        raise RuntimeError(f"bank agreement {file.bank_agreement} has no disbursement account")
    header = Pain001Header(
        message_id=file.message_id,
        created_at=timezone.now(),
        initiating_party=Party(name=file.authority.name, cvr=file.authority.cvr),
        debtor_account_iban=danish_iban(debit.reg, debit.number),
        debtor_agent_bic=file.bank.bic,
        bank_agreement_number=file.bank_agreement.number,
        value_date=file.value_date,
        number_of_transactions=file.transaction_count,
        control_sum_ore=file.control_sum_ore,
    )
    # The file is kept in the bank's archive (what the bank API serves) and handed to the
    # bank adapter once written and validated.
    archive = (test_bank_dir if file.is_test else bank_dir)(file.bank) / "files"
    archive.mkdir(parents=True, exist_ok=True)
    final = archive / f"{file.message_id}.xml"
    partial = archive / f".{file.message_id}.xml.part"
    with transaction.atomic():
        with partial.open("wb") as raw:
            out = _HashingWriter(raw)
            write_pain001(out, header, _file_transactions(file.pk))  # type: ignore[arg-type]
        validate_file(partial, pain001_schema())
        updated = BankFile.objects.filter(pk=file.pk, status=BankFile.Status.CLAIMED).update(
            status=BankFile.Status.WRITTEN,
            path=str(final),
            size=out.size,
            sha256=out.digest.hexdigest(),
            written_at=timezone.now(),
        )
        if not updated:
            partial.unlink(missing_ok=True)
            return False
        os.replace(partial, final)
        bank_adapter(test=file.is_test).deliver(file.bank, final)
    return True


# --- Bank answers -------------------------------------------------------------------------------

_ANSWER_TABLE = "bank_answer_stage"


def _stage_answers(cursor: Any, rows: Iterable[tuple[object, ...]], columns: str) -> int:
    cursor.execute(f"DROP TABLE IF EXISTS {_ANSWER_TABLE}")
    cursor.execute(
        f"CREATE TEMP TABLE {_ANSWER_TABLE} (payment_id bigint, status varchar(4), "
        "reason varchar(40), amount_ore bigint, booked date, end_to_end varchar(35), "
        "line integer) ON COMMIT DROP"
    )
    count = 0
    with cursor.cursor.copy(f"COPY {_ANSWER_TABLE} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    cursor.execute(f"ANALYZE {_ANSWER_TABLE}")
    return count


@dataclass(frozen=True)
class AnswerResult:
    message_id: str
    kind: str
    applied: bool
    accepted: int = 0
    rejected: int = 0
    unmatched: int = 0


def _bank_message(
    *, bank: Bank, kind: str, message_id: str, original: str, sha256: str
) -> BankMessage | None:
    """Record the message once; None when it was applied before (the same answer twice)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {BankMessage._meta.db_table}
                (bank_id, kind, message_id, original_message_id, received_at, accepted, rejected,
                 unmatched, sha256)
            VALUES (%s, %s, %s, %s, %s, 0, 0, 0, %s)
            ON CONFLICT DO NOTHING RETURNING id
            """,  # noqa: S608 - table name from model metadata
            [bank.pk, kind, message_id, original, timezone.now(), sha256],
        )
        row = cursor.fetchone()
    return BankMessage.objects.get(pk=row[0]) if row else None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pain002_apply(*, bank: Bank, path: Path, test: bool = False) -> AnswerResult:
    """Apply a bank's pain.002 set-wise: code 8 for accepted, 9 with the ISO reason for
    rejected transactions of this bank's files (``test``: of its test files, answered by the
    simulated bank; else of its real ones). The same message id twice changes nothing."""
    from payments.iso20022.pain002 import read_pain002

    document = read_pain002(path)
    with transaction.atomic():
        message = _bank_message(
            bank=bank,
            kind=BankMessage.Kind.PAIN002,
            message_id=document.message_id,
            original=document.original_message_id,
            sha256=_file_sha256(path),
        )
        if message is None:
            return AnswerResult(document.message_id, BankMessage.Kind.PAIN002, applied=False)
        with connection.cursor() as cursor:
            total = _stage_answers(
                cursor,
                (
                    (payment_id_from(tx.end_to_end_id), tx.status, tx.reason or "")
                    for tx in document.statuses
                ),
                "payment_id, status, reason",
            )
            # Counted in SQL: a million answers must not become a million Python objects.
            cursor.execute(
                f"""
                WITH updated AS (
                    UPDATE {PAYMENT} p SET
                        status = CASE WHEN a.status = 'RJCT' THEN 'bank_error'
                                      ELSE 'bank_received' END,
                        return_code = CASE WHEN a.status = 'RJCT' THEN 9 ELSE 8 END,
                        return_reason = CASE WHEN a.status = 'RJCT' THEN a.reason ELSE '' END,
                        answered_at = %(now)s
                    FROM {_ANSWER_TABLE} a, {BANK_FILE} f
                    WHERE p.id = a.payment_id AND p.status = 'forwarded'
                      AND f.id = p.bank_file_id AND f.bank_id = %(bank)s
                      AND f.is_test = %(test)s
                    RETURNING p.status, p.batch_id
                )
                SELECT count(*) FILTER (WHERE status = 'bank_received'), count(*),
                       coalesce(array_agg(DISTINCT batch_id::text), '{{}}')
                FROM updated
                """,  # noqa: S608 - table names from model metadata
                {"now": timezone.now(), "bank": bank.pk, "test": test},
            )
            accepted, updated, batch_ids = cursor.fetchone()
        rejected = updated - accepted
        answered = BankFile.objects.filter(
            bank=bank, message_id=document.original_message_id, is_test=test
        )
        answered.exclude(status=BankFile.Status.ANSWERED).update(
            status=BankFile.Status.ANSWERED, answered_at=timezone.now()
        )
        BankMessage.objects.filter(pk=message.pk).update(
            accepted=accepted,
            rejected=rejected,
            unmatched=total - updated,
            bank_file=answered.values("pk")[:1],
        )
        batches_advance(batch_ids)
        # When the bookings came first, this answer completes the file's reconciliation.
        with connection.cursor() as cursor:
            files_reconcile(cursor, file_ids=list(answered.values_list("pk", flat=True)))
    statistics_refresh(updated)
    return AnswerResult(
        document.message_id,
        BankMessage.Kind.PAIN002,
        applied=True,
        accepted=accepted,
        rejected=rejected,
        unmatched=total - updated,
    )


def camt054_apply(*, bank: Bank, path: Path, test: bool = False) -> AnswerResult:
    """Record the booking dates of a bank's camt.054 on the payments it names, and reconcile it
    with what was sent (``payments.reconciliation``: missing, extra, amount differs); ``test`` as
    for ``pain002_apply``."""
    from payments.iso20022.camt054 import read_camt054

    document = read_camt054(path)
    with transaction.atomic():
        message = _bank_message(
            bank=bank,
            kind=BankMessage.Kind.CAMT054,
            message_id=document.message_id,
            original="",
            sha256=_file_sha256(path),
        )
        if message is None:
            return AnswerResult(document.message_id, BankMessage.Kind.CAMT054, applied=False)
        with connection.cursor() as cursor:
            total = _stage_answers(
                cursor,
                (
                    (
                        line,
                        entry.end_to_end_id[:35],
                        payment_id_from(entry.end_to_end_id),
                        entry.amount_ore,
                        entry.booking_date,
                    )
                    for line, entry in enumerate(document.entries)
                ),
                "line, end_to_end, payment_id, amount_ore, booked",
            )
            booked, _differences = bookings_apply(
                cursor,
                answers=_ANSWER_TABLE,
                bank=bank,
                message_id=message.pk,
                account_iban=document.account_iban,
                test=test,
            )
        BankMessage.objects.filter(pk=message.pk).update(accepted=booked, unmatched=total - booked)
    statistics_refresh(booked)
    return AnswerResult(
        document.message_id,
        BankMessage.Kind.CAMT054,
        applied=True,
        accepted=booked,
        unmatched=total - booked,
    )


def bank_answers_collect() -> list[AnswerResult]:
    """Apply every answer file the bank adapter, and the simulated bank of the test files, have
    waiting, then tell them so."""
    results = []
    for test in (False, True):
        adapter = bank_adapter(test=test)
        for bank in Bank.objects.order_by("reg"):
            for path in adapter.answers(bank):
                results.append(bank_answer_apply(bank=bank, path=path, test=test))
                adapter.applied(bank, path)
    return results


def bank_answer_apply(*, bank: Bank, path: Path, test: bool = False) -> AnswerResult:
    """Apply one answer file, pain.002 or camt.054 (told apart by its namespace); ``test``: an
    answer of the simulated bank to test files."""
    if is_camt054(path):
        return camt054_apply(bank=bank, path=path, test=test)
    return pain002_apply(bank=bank, path=path, test=test)


# --- The sweeper ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stuck:
    batch_ids: list[str]
    file_ids: list[int]


def stuck_work(now: datetime.datetime | None = None) -> Stuck:
    """Batches and bank files that stopped moving (their worker died): to be resumed."""
    before = (now or timezone.now()) - settings.NEMKONTO_SWEEP_AFTER
    batch_ids = [
        str(pk)
        for pk in Batch.objects.filter(
            status__in=[Batch.Status.RECEIVED, Batch.Status.PROCESSING], touched_at__lt=before
        ).values_list("pk", flat=True)
    ]
    file_ids = list(
        BankFile.objects.filter(status=BankFile.Status.CLAIMED, created_at__lt=before)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return Stuck(batch_ids, file_ids)
