"""Bank reconciliation: the banks' booking reports (camt.054) matched against what was sent
(pain.001), differences stored (``BankDifference``) and listed for the authority (API) and the
operator (admin).

Applied inside ``payments.pipeline.camt054_apply``, set-wise, on the staged entries of one report:

- a booking of a payment sent to this bank books it (``booked_at``), and is a difference when its
  amount is not the amount sent (*amount differs*), when the payment was booked before or twice
  in the report, or when the bank had rejected it (*extra*);
- a booking of an end-to-end id we never sent to this bank is *extra* (tied to the authority of
  the report's disbursement account when it is one of ours);
- a payment accepted by the bank (code 8) and not booked is *missing* once its file has been
  answered and booked (a bank books a file in one report, as the simulated bank does), or at the
  latest ``NEMKONTO_RECONCILE_AFTER_BANK_DAYS`` bank days after its value date
  (``reconciliation_sweep``, daily). A missing payment booked later is marked resolved.

Each step is one statement whatever the size of the report, and runs again harmlessly: a payment
is missing, or booked with another amount, once (a unique constraint).
"""

import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ApiClient, Bank
from payments.calendar import add_bank_days
from payments.models import BankDifference, BankFile, DisbursementAccount, Payment

PAYMENT = Payment._meta.db_table
BANK_FILE = BankFile._meta.db_table
DIFFERENCE = BankDifference._meta.db_table

# The staged camt.054 entries, each matched to the payment it names (sent to this bank), with its
# place among the report's bookings of that payment.
_MATCHED = f"""
    matched AS MATERIALIZED (
        SELECT a.line, a.end_to_end, a.amount_ore AS booked_amount, a.booked,
               p.id AS payment_id, p.amount_ore AS sent_amount, p.status, p.booked_at,
               p.bank_file_id, p.authority_id,
               row_number() OVER (PARTITION BY p.id ORDER BY a.line) AS nth
        FROM {{answers}} a
        LEFT JOIN ({PAYMENT} p JOIN {BANK_FILE} f ON f.id = p.bank_file_id
                                                  AND f.bank_id = %(bank)s
                                                  AND f.is_test = %(test)s)
               ON p.id = a.payment_id
    )"""  # noqa: S608 - table names from model metadata

_BOOKINGS_SQL = f"""
WITH {_MATCHED},
booked AS (
    UPDATE {PAYMENT} p SET booked_at = m.booked
    FROM matched m
    WHERE p.id = m.payment_id AND m.nth = 1 AND p.booked_at IS NULL
    RETURNING p.id, p.bank_file_id
), differences AS (
    INSERT INTO {DIFFERENCE} (kind, reason, bank_id, authority_id, message_id, bank_file_id,
                              payment_id, end_to_end_id, sent_amount_ore, booked_amount_ore,
                              booking_date, detected_at, resolved_at)
    SELECT kind, reason, %(bank)s, coalesce(m.authority_id, %(report_authority)s), %(message)s,
           m.bank_file_id, m.payment_id, m.end_to_end, m.sent_amount, m.booked_amount, m.booked,
           %(now)s, NULL
    FROM matched m
    CROSS JOIN LATERAL (
        SELECT 'extra' AS kind, 'unknown_payment' AS reason WHERE m.payment_id IS NULL
        UNION ALL
        SELECT 'extra', 'booked_twice'
        WHERE m.payment_id IS NOT NULL AND (m.nth > 1 OR m.booked_at IS NOT NULL)
        UNION ALL
        SELECT 'extra', 'rejected_by_bank'
        WHERE m.nth = 1 AND m.booked_at IS NULL AND m.status = 'bank_error'
        UNION ALL
        SELECT 'amount_differs', 'amount'
        WHERE m.nth = 1 AND m.booked_at IS NULL AND m.booked_amount <> m.sent_amount
    ) d
    ON CONFLICT DO NOTHING
    RETURNING 1
), resolved AS (
    UPDATE {DIFFERENCE} d SET resolved_at = %(now)s
    FROM booked b
    WHERE d.payment_id = b.id AND d.kind = 'missing' AND d.resolved_at IS NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM booked),
       coalesce((SELECT array_agg(DISTINCT bank_file_id) FROM booked), '{{{{}}}}'),
       (SELECT count(*) FROM differences)
"""  # noqa: S608 - table names from model metadata

# Accepted payments of the selected files that no report booked: missing. The files are chosen
# first, on their own: with the condition on the files beside the payments' status in one join,
# a planner that had not seen the pain.002's million status changes yet (stale statistics)
# evaluated the files' EXISTS once per payment, a full scan each time.
_MISSING_SQL = f"""
WITH files AS MATERIALIZED (
    SELECT f.id, f.bank_id FROM {BANK_FILE} f WHERE {{files}} AND f.status = 'answered'
)
INSERT INTO {DIFFERENCE} (kind, reason, bank_id, authority_id, message_id, bank_file_id,
                          payment_id, end_to_end_id, sent_amount_ore, booked_amount_ore,
                          booking_date, detected_at, resolved_at)
SELECT 'missing', 'not_booked', f.bank_id, p.authority_id, NULL, f.id, p.id, 'NK' || p.id,
       p.amount_ore, NULL, NULL, %(now)s, NULL
FROM files f
JOIN {PAYMENT} p ON p.bank_file_id = f.id
WHERE p.status = 'bank_received' AND p.booked_at IS NULL
ON CONFLICT DO NOTHING
"""  # noqa: S608 - table names from model metadata
# A file is reconciled once the bank has answered it and booked any of it.
_BOOKED_FILES = f"""f.id = ANY(%(files)s) AND EXISTS (
    SELECT 1 FROM {PAYMENT} b WHERE b.bank_file_id = f.id AND b.booked_at IS NOT NULL)"""  # noqa: S608


def _report_authority(bank: Bank, account_iban: str) -> int | None:
    """The authority whose disbursement account (at this bank) the report is about, if ours."""
    iban = account_iban.replace(" ", "").upper()
    if not (iban.startswith("DK") and len(iban) == 18):
        return None
    return (
        DisbursementAccount.objects.filter(agreement__bank=bank, reg=iban[4:8], number=iban[8:18])
        .values_list("agreement__authority_id", flat=True)
        .first()
    )


def bookings_apply(
    cursor: Any,
    *,
    answers: str,
    bank: Bank,
    message_id: int,
    account_iban: str,
    test: bool = False,
) -> tuple[int, int]:
    """Book the payments a staged camt.054 names and record its differences; then the payments
    of the files it booked that are still not booked are missing. Returns (booked, differences).
    ``answers`` is the staging table (line, end_to_end, payment_id, amount_ore, booked); ``test``:
    the simulated bank's report on test files, which books test payments only (and a real
    report only real ones)."""
    now = timezone.now()
    cursor.execute(
        _BOOKINGS_SQL.format(answers=answers),
        {
            "bank": bank.pk,
            "message": message_id,
            "report_authority": _report_authority(bank, account_iban),
            "now": now,
            "test": test,
        },
    )
    booked, file_ids, differences = cursor.fetchone()
    differences += files_reconcile(cursor, file_ids=[f for f in file_ids if f], now=now)
    return booked, differences


def files_reconcile(
    cursor: Any, *, file_ids: list[int], now: datetime.datetime | None = None
) -> int:
    """Record as missing the accepted, unbooked payments of those of ``file_ids`` that the bank
    has answered and booked; returns how many (run after each pain.002 and camt.054)."""
    if not file_ids:
        return 0
    cursor.execute(
        _MISSING_SQL.format(files=_BOOKED_FILES), {"files": file_ids, "now": now or timezone.now()}
    )
    return max(cursor.rowcount, 0)


def reconciliation_sweep(*, today: datetime.date | None = None) -> int:
    """Record as missing every accepted payment still not booked
    ``NEMKONTO_RECONCILE_AFTER_BANK_DAYS`` bank days after its value date, booking report or not
    (daily by beat); returns how many."""
    today = today or timezone.localdate()
    until = add_bank_days(today, -int(settings.NEMKONTO_RECONCILE_AFTER_BANK_DAYS))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _MISSING_SQL.format(files="f.value_date <= %(until)s"),
            {"until": until, "now": timezone.now()},
        )
        return max(cursor.rowcount, 0)


# --- Reading -----------------------------------------------------------------------------------


def differences_for_client(
    *, client: ApiClient, kind: str | None = None, resolved: bool | None = None
) -> QuerySet[BankDifference]:
    """The differences the client may see, newest first: its authority's; for a payment
    system's client only its own payments' and those tied to no payment."""
    if client.authority_id is None:
        return BankDifference.objects.none()
    differences = BankDifference.objects.filter(authority_id=client.authority_id).select_related(
        "bank", "bank_file", "payment"
    )
    if client.kind == ApiClient.Kind.PAYMENT_SYSTEM:
        differences = differences.filter(
            Q(payment__isnull=True) | Q(payment__payment_system_id=client.payment_system_id)
        )
    if kind:
        differences = differences.filter(kind=kind)
    if resolved is not None:
        differences = differences.filter(resolved_at__isnull=not resolved)
    return differences
