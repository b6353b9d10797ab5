"""The missing-account work list: which recipients an authority is going to pay have no usable
account, so it can contact them before the cut-off (issue 9).

- ``missing_accounts_page``: the recipients of the authority's pending payments (``received``,
  ``held``, ``completed`` or ``waiting``) for whom a payment would find neither a live specific
  account for its benefit nor an active NemKonto *now*, one row per recipient with the number of
  payments, their total and the earliest value date; keyset-paged. One statement per page.
- ``missing_accounts_scan``: the webhook. For each subscription (``MissingAccountSubscription``)
  one statement compares the current list with what the subscriber was told (alerts) and writes
  one ``missing_accounts`` callback with the recipients that appeared (``missing``) and those
  that no longer lack an account or are no longer to be paid (``resolved``). Run for the
  recipients of a batch once it is processed, for recipients whose accounts changed (the
  registry's hook), and hourly for everything (beat: ``payments.tasks.missing_accounts_scan``).

Complete payments (the payer gave the account) and test payments (an agreement in test) are never
on the list.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiClient, Authority
from payments.calendar import COPENHAGEN, CUT_OFF, add_bank_days
from payments.models import (
    Batch,
    CallbackDelivery,
    MissingAccountAlert,
    MissingAccountSubscription,
    Payment,
)
from payments.pipeline import account_joins, account_source
from registry.models import Recipient

PAYMENT = Payment._meta.db_table
BATCH = Batch._meta.db_table
RECIPIENT = Recipient._meta.db_table
ALERT = MissingAccountAlert._meta.db_table
SUBSCRIPTION = MissingAccountSubscription._meta.db_table
CLIENT = ApiClient._meta.db_table
DELIVERY = CallbackDelivery._meta.db_table

_GIVEN = "p.account_source = 'given'"
_JOINS = account_joins(
    row="p",
    given=_GIVEN,
    authority="p.authority_id",
    benefit="p.benefit_id",
    value_date="p.value_date",
)
# ``{scope}`` limits the recipients by their (type, number) pair, written ``{pair}``.
_MISSING = f"""
    SELECT p.recipient_type, p.recipient_number, count(*) AS payments,
           sum(p.amount_ore)::bigint AS amount_ore, min(p.value_date) AS first_value_date,
           array_agg(DISTINCT p.benefit_code ORDER BY p.benefit_code) AS benefits,
           bool_or(p.status = 'waiting') AS waiting
    FROM {PAYMENT} p
    {_JOINS}
    WHERE p.batch_id IN (SELECT id FROM {BATCH} WHERE authority_id = %(authority)s
                         AND status IN ('received', 'processing', 'completed')
                         AND NOT is_test)
      AND p.status IN ('received', 'held', 'completed', 'waiting')
      AND {account_source(_GIVEN)} = 'none'
      AND {{scope}}
    GROUP BY p.recipient_type, p.recipient_number
"""  # noqa: S608 - table names from model metadata
_PAIR = "(p.recipient_type, p.recipient_number)"
_SCOPES = {
    "all": "true",
    "after": f"{_PAIR} > (%(after_type)s, %(after_number)s)",
    "recipients": f"{{pair}} IN (SELECT id_type, id_number FROM {RECIPIENT} "  # noqa: S608
    "WHERE id = ANY(%(recipients)s))",
    "batch": f"{{pair}} IN (SELECT recipient_type, recipient_number FROM {PAYMENT} "  # noqa: S608
    "WHERE batch_id = %(batch)s)",
}


@dataclass(frozen=True)
class MissingAccount:
    """A recipient of the authority's pending payments without a usable account."""

    recipient_type: str
    recipient_number: str
    payments: int
    amount_ore: int
    first_value_date: datetime.date
    benefits: list[str]
    waiting: bool

    @property
    def amount(self) -> str:
        return f"{self.amount_ore // 100}.{self.amount_ore % 100:02d}"

    @property
    def cut_off(self) -> datetime.datetime:
        """The cut-off of the earliest payment (06:00 the bank day before its value date): the
        recipient must have an account by then for it to be paid on time."""
        day = add_bank_days(self.first_value_date, -1)
        return datetime.datetime.combine(day, CUT_OFF, tzinfo=COPENHAGEN)


def missing_accounts_page(
    *, authority: Authority, after: tuple[str, str] | None, limit: int
) -> list[MissingAccount]:
    """Up to ``limit`` recipients after the (type, number) ``after``, in ID order."""
    scope = _SCOPES["all"] if after is None else _SCOPES["after"]
    with connection.cursor() as cursor:
        cursor.execute(
            _MISSING.format(scope=scope) + " ORDER BY 1, 2 LIMIT %(limit)s",
            {
                "authority": authority.pk,
                "after_type": after[0] if after else "",
                "after_number": after[1] if after else "",
                "limit": limit,
            },
        )
        return [MissingAccount(*row) for row in cursor.fetchall()]


# --- The webhook -------------------------------------------------------------------------------

_SCAN_SQL = f"""
WITH missing AS MATERIALIZED ({_MISSING}),
told AS (
    SELECT a.id, a.recipient_type, a.recipient_number FROM {ALERT} a
    WHERE a.subscription_id = %(subscription)s AND {{alert_scope}}
), appeared AS (
    INSERT INTO {ALERT} (subscription_id, recipient_type, recipient_number, alerted_at)
    SELECT %(subscription)s, m.recipient_type, m.recipient_number, %(now)s FROM missing m
    WHERE NOT EXISTS (SELECT 1 FROM told t WHERE t.recipient_type = m.recipient_type
                                             AND t.recipient_number = m.recipient_number)
    ON CONFLICT DO NOTHING
    RETURNING recipient_type, recipient_number
), resolved AS (
    DELETE FROM {ALERT} a USING told t
    WHERE a.id = t.id AND NOT EXISTS (
        SELECT 1 FROM missing m WHERE m.recipient_type = t.recipient_type
                                  AND m.recipient_number = t.recipient_number)
    RETURNING a.recipient_type, a.recipient_number
), event AS (
    SELECT
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'recipient', jsonb_build_object('type', m.recipient_type,
                                                    'id', m.recipient_number),
                    'payments', m.payments,
                    'amount', (m.amount_ore / 100)::text || '.'
                              || lpad(mod(m.amount_ore, 100)::text, 2, '0'),
                    'first_value_date', m.first_value_date,
                    'benefits', to_jsonb(m.benefits),
                    'waiting', m.waiting)
                ORDER BY m.recipient_type, m.recipient_number), '[]'::jsonb)
         FROM appeared n JOIN missing m USING (recipient_type, recipient_number)) AS missing,
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'recipient', jsonb_build_object('type', g.recipient_type,
                                                    'id', g.recipient_number))
                ORDER BY g.recipient_type, g.recipient_number), '[]'::jsonb)
         FROM resolved g) AS resolved
)
INSERT INTO {DELIVERY} (api_client_id, batch_id, event, status, payload, state, attempts,
                        next_attempt_at, last_error, created_at)
SELECT s.api_client_id, NULL, 'missing_accounts', '',
       jsonb_build_object('event', 'missing_accounts', 'authority', %(authority_code)s,
                          'missing', e.missing, 'resolved', e.resolved),
       'pending', 0, %(now)s, '', %(now)s
FROM event e
JOIN {SUBSCRIPTION} s ON s.id = %(subscription)s
JOIN {CLIENT} c ON c.id = s.api_client_id
WHERE (e.missing <> '[]'::jsonb OR e.resolved <> '[]'::jsonb)
  AND c.is_active AND c.callback_url <> ''
"""  # noqa: S608 - table names from model metadata


def missing_accounts_scan(
    *, recipient_ids: list[int] | None = None, batch_id: str | None = None
) -> int:
    """Tell every subscriber (of the authorities concerned) which recipients appeared on, or
    left, its missing-account list: all of them, those with these register ids, or those of
    one batch. Returns the number of callbacks written. Raises nothing of its own."""
    params: dict[str, Any]
    if recipient_ids is not None:
        scope, params = "recipients", {"recipients": recipient_ids}
    elif batch_id is not None:
        scope, params = "batch", {"batch": batch_id}
    else:
        scope, params = "all", {}
    subscriptions = MissingAccountSubscription.objects.select_related("authority")
    if batch_id is not None:
        subscriptions = subscriptions.filter(authority__batches__pk=batch_id)
    written = 0
    now = timezone.now()
    for subscription in subscriptions.order_by("pk"):
        sql = _SCAN_SQL.format(
            scope=_SCOPES[scope].format(pair=_PAIR),
            alert_scope=_SCOPES[scope].format(pair="(a.recipient_type, a.recipient_number)"),
        )
        with transaction.atomic(), connection.cursor() as cursor:
            # One scan of a subscription at a time: two would both tell the same news.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7303, subscription.pk])
            cursor.execute(
                sql,
                {
                    **params,
                    "authority": subscription.authority_id,
                    "authority_code": subscription.authority.code,
                    "subscription": subscription.pk,
                    "now": now,
                },
            )
            written += max(cursor.rowcount, 0)
    return written


@transaction.atomic
def missing_accounts_subscribe(*, client: ApiClient, subscribe: bool) -> bool:
    """Start (or stop) the client's missing-account events; returns whether it is subscribed.

    The events go to the client's callback URL, signed like every callback; the first scan
    tells it the whole current list. Raises nothing of its own: the caller checked the client.
    """
    from accounts.audit import audit_record

    assert client.authority is not None, "payment-system clients act for an authority"
    if subscribe:
        _subscription, created = MissingAccountSubscription.objects.get_or_create(
            api_client=client, defaults={"authority": client.authority}
        )
        if created:
            transaction.on_commit(_scan_soon)
    else:
        created = MissingAccountSubscription.objects.filter(api_client=client).delete()[0] > 0
    if created:
        audit_record(
            actor=None,
            action="missing_accounts.subscribe" if subscribe else "missing_accounts.unsubscribe",
            target=client,
            authority=client.authority,
            data={"client_id": client.application.client_id},
        )
    return subscribe


def _scan_soon() -> None:
    from payments.tasks import missing_accounts_scan as scan_task

    scan_task.delay()
