"""Fraud holds: which NemKonto changes look risky and wait for an operator (issue 8).

A change is held for review when (our rules; thresholds in settings ``NEMKONTO_RISK_*``):

- the account is foreign (DOMAIN.md section 3);
- the change is the ``NEMKONTO_RISK_MAX_CHANGES``-th or later change of the recipient's NemKonto
  (versions written, whatever became of them) within the last ``NEMKONTO_RISK_WINDOW_DAYS`` days
  (several changes in a short time);
- ``NEMKONTO_RISK_SHARED_RECIPIENTS`` or more other recipients were given the same account within
  that window (one account suddenly used by many recipients);
- a payment of ``NEMKONTO_RISK_LARGE_PAYMENT_ORE`` or more to the recipient is on its way (received,
  completed or waiting, not yet forwarded: a change right before a large payment).

One SQL statement answers for any number of changes, so a single change and a bank's bulk
report of 100,000 changes are judged by the same rules.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from payments.models import Payment, PaymentStatus
from registry.models import AccountKind, NemKonto, Recipient, StoredAccount

Reason = NemKonto.HoldReason
_LIVE = "', '".join([NemKonto.State.ACTIVE, NemKonto.State.PENDING, NemKonto.State.HELD])
_ON_ITS_WAY = "', '".join([PaymentStatus.RECEIVED, PaymentStatus.COMPLETED, PaymentStatus.WAITING])

# ``{candidates}``: a relation named c of (key, recipient_id, account_kind, reg, number, iban).
RISK_SQL = f"""
SELECT c.key, array_remove(ARRAY[
    CASE WHEN c.account_kind = '{AccountKind.FOREIGN}' THEN '{Reason.FOREIGN_ACCOUNT}' END,
    CASE WHEN (SELECT count(*) FROM {NemKonto._meta.db_table} v
               WHERE v.recipient_id = c.recipient_id AND v.created_at >= %(since)s)
              + %(unsaved)s >= %(max_changes)s
         THEN '{Reason.FREQUENT_CHANGES}' END,
    CASE WHEN (SELECT count(DISTINCT v.recipient_id) FROM {NemKonto._meta.db_table} v
               WHERE v.number = c.number AND v.reg = c.reg AND v.iban = c.iban
                 AND v.state IN ('{_LIVE}') AND v.created_at >= %(since)s
                 AND v.recipient_id <> c.recipient_id)
              >= %(shared)s
         THEN '{Reason.SHARED_ACCOUNT}' END,
    CASE WHEN EXISTS (SELECT 1 FROM {Payment._meta.db_table} p
                      JOIN {Recipient._meta.db_table} r ON r.id = c.recipient_id
                      WHERE p.recipient_number = r.id_number AND p.recipient_type = r.id_type
                        AND p.status IN ('{_ON_ITS_WAY}') AND NOT p.is_test
                        AND p.amount_ore >= %(large)s)
         THEN '{Reason.LARGE_PAYMENT_PENDING}' END
], NULL)
FROM {{candidates}}
"""  # noqa: S608 - table names from model metadata, values from enums


@dataclass(frozen=True, slots=True)
class Candidate:
    recipient_id: int
    account: StoredAccount


def risk_params(now: datetime.datetime, *, saved: bool) -> dict[str, Any]:
    """The rules' parameters; ``saved``: the judged versions are already written (and counted)."""
    return {
        "unsaved": 0 if saved else 1,
        "since": now - datetime.timedelta(days=settings.NEMKONTO_RISK_WINDOW_DAYS),
        "max_changes": settings.NEMKONTO_RISK_MAX_CHANGES,
        "shared": settings.NEMKONTO_RISK_SHARED_RECIPIENTS,
        "large": settings.NEMKONTO_RISK_LARGE_PAYMENT_ORE,
    }


def change_risks(
    recipient: Recipient, account: StoredAccount, *, now: datetime.datetime
) -> list[str]:
    """Why a change of ``recipient``'s NemKonto to ``account``, whose version is written, must be
    held (empty: it need not)."""
    return changes_risks([Candidate(recipient.pk, account)], now=now)[0]


def changes_risks(candidates: Sequence[Candidate], *, now: datetime.datetime) -> list[list[str]]:
    """``change_risks`` for many changes in one statement, in order."""
    relation = (
        "unnest(%(keys)s::int[], %(recipients)s::bigint[], %(kinds)s::text[], %(regs)s::text[],"
        " %(numbers)s::text[], %(ibans)s::text[])"
        " AS c(key, recipient_id, account_kind, reg, number, iban)"
    )
    accounts = [candidate.account for candidate in candidates]
    with connection.cursor() as cursor:
        cursor.execute(
            RISK_SQL.replace("{candidates}", relation),
            {
                "keys": list(range(len(candidates))),
                "recipients": [candidate.recipient_id for candidate in candidates],
                "kinds": [account.kind for account in accounts],
                "regs": [account.reg for account in accounts],
                "numbers": [account.number for account in accounts],
                "ibans": [account.iban for account in accounts],
                **risk_params(now, saved=True),
            },
        )
        by_key = dict(cursor.fetchall())
    return [by_key[key] for key in range(len(candidates))]
