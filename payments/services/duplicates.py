"""Deciding on held duplicates (``payments.duplicates``): confirm (pay it) or reject (do not).

By the payment system that sent the batch (its API client, by reference) or by a caseworker with
the stop profile on the payment's LOS unit (by payment id; the portal may offer it too). Set-based
and guarded like a stop: the held payments are locked, a confirmed one is attached like a
received payment (``payments.pipeline.held_attach``) and leaves in the next cycle, a rejected one
is stopped. Each answer per payment: ``confirmed``, ``rejected``, ``not_held`` (it exists but is
not held, e.g. decided before) or ``not_found`` (also: outside the caseworker's units).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import audit_record
from accounts.functions import Function
from accounts.models import ApiClient, User
from accounts.selectors import units_for
from nemkonto.errors import PermissionDenied, ValidationFailed
from payments.callback_events import (
    DUPLICATE_CONFIRMED,
    DUPLICATE_REJECTED,
    payments_updated_enqueue,
)
from payments.models import Batch, Payment, PaymentHold
from payments.pipeline import batches_advance, held_attach

DECIDE_LIMIT = 10_000

CONFIRMED = "confirmed"
REJECTED = "rejected"
NOT_HELD = "not_held"
NOT_FOUND = "not_found"
ANSWERS = (CONFIRMED, REJECTED, NOT_HELD, NOT_FOUND)

_PAYMENT = Payment._meta.db_table
_HOLD = PaymentHold._meta.db_table


@dataclass(frozen=True)
class _Decider:
    user: User | None
    label: str


def _check(confirm: Sequence[Any], reject: Sequence[Any]) -> None:
    if not confirm and not reject:
        raise ValidationFailed(
            _("Name at least one held payment to confirm or reject."),
            field="confirm",
            code="required",
        )
    if len(confirm) + len(reject) > DECIDE_LIMIT:
        raise ValidationFailed(
            _("At most %(limit)s payments can be decided in one call.") % {"limit": DECIDE_LIMIT},
            field="confirm",
            code="too_many",
        )
    both = set(confirm) & set(reject)
    if both:
        raise ValidationFailed(
            _("A payment cannot be both confirmed and rejected: %(which)s.")
            % {"which": ", ".join(sorted(str(item) for item in both))},
            field="reject",
            code="ambiguous",
        )


def _lock_held(ids: list[int]) -> set[int]:
    """Lock the held ones among ``ids``; the rest is left alone."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_PAYMENT} WHERE id = ANY(%s) AND status = 'held' "  # noqa: S608
            "ORDER BY id FOR UPDATE",
            [ids],
        )
        return {row[0] for row in cursor.fetchall()}


def _decide(*, confirm: set[int], reject: set[int], by: _Decider) -> None:
    """Apply the decisions to locked held payments."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_HOLD} SET decision = CASE WHEN payment_id = ANY(%(confirm)s)
                                              THEN 'confirmed' ELSE 'rejected' END,
                               decided_at = %(now)s, decided_by_id = %(user)s,
                               decided_by_label = %(label)s
            WHERE payment_id = ANY(%(all)s) AND decision = 'pending'
            """,  # noqa: S608 - table name from model metadata
            {
                "confirm": sorted(confirm),
                "all": sorted(confirm | reject),
                "now": now,
                "user": by.user.pk if by.user else None,
                "label": by.label[:200],
            },
        )
        cursor.execute(
            f"""
            UPDATE {_PAYMENT} SET status = 'stopped', stopped_at = %(now)s,
                                  stopped_by_id = %(user)s, stopped_by_label = %(label)s
            WHERE id = ANY(%(reject)s) AND status = 'held'
            RETURNING batch_id::text
            """,  # noqa: S608 - table name from model metadata
            {
                "reject": sorted(reject),
                "now": now,
                "user": by.user.pk if by.user else None,
                "label": by.label[:200],
            },
        )
        batch_ids = {row[0] for row in cursor.fetchall()}
        confirmed = held_attach(payment_ids=sorted(confirm), now=now) if confirm else None
        if confirmed is not None:
            batch_ids |= set(confirmed.batch_ids)
        payments_updated_enqueue(cursor, payment_ids=sorted(confirm), reason=DUPLICATE_CONFIRMED)
        payments_updated_enqueue(cursor, payment_ids=sorted(reject), reason=DUPLICATE_REJECTED)
    batches_advance(sorted(batch_ids))
    transaction.on_commit(_notify)


def _notify() -> None:
    from payments.callback_tasks import callbacks_dispatch

    callbacks_dispatch.delay()


def _answers[K](
    wanted: dict[K, int | None], held: set[int], decided: dict[int, str]
) -> dict[K, str]:
    return {
        key: NOT_FOUND if pk is None else (decided[pk] if pk in held else NOT_HELD)
        for key, pk in wanted.items()
    }


@transaction.atomic
def duplicates_decide_for_client(
    *, client: ApiClient, batch: Batch, confirm: list[str], reject: list[str]
) -> dict[str, str]:
    """The payment system confirms or rejects held payments of its own batch, by reference;
    returns the answer per reference. The caller has checked that the batch is the client's.

    Raises ValidationFailed (none named, more than 10,000, a reference in both lists).
    """
    confirm, reject = list(dict.fromkeys(confirm)), list(dict.fromkeys(reject))
    _check(confirm, reject)
    ids: dict[str, int | None] = dict.fromkeys(confirm + reject)
    rows = Payment.objects.filter(batch=batch, reference__in=list(ids)).values_list(
        "reference", "pk", "status"
    )
    for reference, pk, status in rows:
        # A reference repeated in the batch (the repeat was rejected): the held row counts.
        if ids[reference] is None or status == "held":
            ids[reference] = pk
    found = {ref: pk for ref, pk in ids.items() if pk is not None}
    held = _lock_held(sorted(found.values()))
    confirm_ids = {found[ref] for ref in confirm if found.get(ref) in held}
    reject_ids = {found[ref] for ref in reject if found.get(ref) in held}
    label = client.application.name[:200]
    _decide(confirm=confirm_ids, reject=reject_ids, by=_Decider(None, label))
    decided = dict.fromkeys(confirm_ids, CONFIRMED) | dict.fromkeys(reject_ids, REJECTED)
    audit_record(
        actor=None,
        action="payment.duplicates_decide",
        target=batch,
        authority=batch.authority,
        data={
            "api_client": label,
            "confirmed": len(confirm_ids),
            "rejected": len(reject_ids),
            "refused": len(ids) - len(decided),
        },
    )
    return _answers(ids, held, decided)


@transaction.atomic
def duplicates_decide(
    *, actor: User, confirm: list[int], reject: list[int], reason: str = ""
) -> dict[int, str]:
    """A caseworker with the stop profile confirms or rejects held payments of the LOS units
    where they hold it (and the units below); returns the answer per payment id.

    Raises PermissionDenied (no stop profile on any unit: nothing changes) and ValidationFailed
    (none named, more than 10,000, an id in both lists).
    """
    confirm, reject = list(dict.fromkeys(confirm)), list(dict.fromkeys(reject))
    _check(confirm, reject)
    units = units_for(user=actor, function=Function.STOP_PENDING_PAYMENTS)
    if not units.exists():
        raise PermissionDenied(
            _(
                "You cannot decide on held payments: you need the profile NKS-Stop-Bet on a LOS "
                "unit."
            ),
            code="not_permitted",
        )
    visible = set(
        Payment.objects.filter(pk__in=confirm + reject, los_unit__in=units).values_list(
            "pk", flat=True
        )
    )
    ids: dict[int, int | None] = {pk: pk if pk in visible else None for pk in confirm + reject}
    held = _lock_held(sorted(visible))
    confirm_ids = {pk for pk in confirm if pk in held}
    reject_ids = {pk for pk in reject if pk in held}
    _decide(confirm=confirm_ids, reject=reject_ids, by=_Decider(actor, actor.get_username()))
    decided = dict.fromkeys(confirm_ids, CONFIRMED) | dict.fromkeys(reject_ids, REJECTED)
    results = _answers(ids, held, decided)
    audit_record(
        actor=actor,
        action="payment.duplicates_decide",
        target=actor.authority if actor.authority is not None else actor,
        authority=actor.authority,
        data={
            "confirmed": sorted(confirm_ids),
            "rejected": sorted(reject_ids),
            "reason": reason.strip()[:500],
            "refused": {str(pk): answer for pk, answer in results.items() if pk not in decided},
        },
    )
    return results
