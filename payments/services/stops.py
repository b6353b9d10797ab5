"""Stopping pending payments before they are forwarded to the bank (DOMAIN.md section 8; API.md,
Stop): by the payment system that sent them, or by a caseworker with the stop profile.

Set-based: one guarded ``UPDATE ... WHERE status IN (stoppable) AND bank_file_id IS NULL
RETURNING`` stops what can still be stopped, one read tells the refusals. The guard makes a stop
that races the cut-off cycle safe: whichever statement takes a payment's row first wins, and the
other sees the payment's new state (PostgreSQL re-checks the WHERE clause after the lock).
"""

from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import audit_record
from accounts.functions import Function
from accounts.models import ApiClient, User
from accounts.selectors import units_for
from nemkonto.errors import PermissionDenied, ValidationFailed
from payments.models import STOPPABLE_STATUSES, Batch, Payment, PaymentStatus

STOP_LIMIT = 10_000

STOPPED = "stopped"
ALREADY_FORWARDED = "already_forwarded"
ALREADY_FINAL = "already_final"
NOT_FOUND = "not_found"

_PAYMENT = Payment._meta.db_table
_STOPPABLE_SQL = "(" + ", ".join(f"'{status}'" for status in STOPPABLE_STATUSES) + ")"
_AT_BANK = (PaymentStatus.FORWARDED, PaymentStatus.BANK_RECEIVED, PaymentStatus.BANK_ERROR)


def _refusal(status: str, bank_file_id: int | None) -> str:
    """Why a payment that exists could not be stopped."""
    if bank_file_id is not None or status in _AT_BANK:
        return ALREADY_FORWARDED
    return ALREADY_FINAL


def _worse(first: str | None, second: str) -> str:
    # Several rows may share a reference (a repeat rejected as a duplicate): the payment that
    # went to the bank is the one the payer asks about.
    return ALREADY_FORWARDED if ALREADY_FORWARDED in (first, second) else second


def _check_count[T](values: Iterable[T] | None, field: str) -> list[T]:
    items = list(values or [])
    if not items:
        raise ValidationFailed(
            _("Name at least one payment to stop."), field=field, code="required"
        )
    if len(items) > STOP_LIMIT:
        raise ValidationFailed(
            _("At most %(limit)s payments can be stopped in one call.") % {"limit": STOP_LIMIT},
            field=field,
            code="too_many",
        )
    return items


def _batches_advance(batch_ids: Iterable[str]) -> None:
    # Imported here: the pipeline module imports much of the app.
    from payments.pipeline import batches_advance

    batches_advance(sorted(set(batch_ids)))


@transaction.atomic
def payments_stop_for_client(
    *, client: ApiClient, batch: Batch, references: list[str] | None, stop_all: bool
) -> dict[str, str]:
    """Stop the named payments of the client's own batch (or all of them): per reference
    ``stopped`` or the refusal (``already_forwarded``, ``already_final``, ``not_found``).

    The caller has checked that the batch is the client's. Raises ValidationFailed when neither
    or both of ``references`` and ``stop_all`` are given, or more than 10,000 references.
    """
    if stop_all and references:
        raise ValidationFailed(
            _("Give either references or all, not both."), field="all", code="ambiguous"
        )
    wanted: list[str] = []
    if not stop_all:
        wanted = list(dict.fromkeys(str(ref) for ref in _check_count(references, "references")))
    label = client.application.name[:200]
    now = timezone.now()
    params = {"batch": batch.pk, "now": now, "label": label, "refs": wanted}
    only_named = "" if stop_all else "AND reference = ANY(%(refs)s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_PAYMENT} SET status = 'stopped', stopped_at = %(now)s,
                                  stopped_by_label = %(label)s
            WHERE batch_id = %(batch)s AND status IN {_STOPPABLE_SQL} AND bank_file_id IS NULL
              {only_named}
            RETURNING reference
            """,  # noqa: S608 - table name from model metadata, statuses from the model
            params,
        )
        stopped = {row[0] for row in cursor.fetchall()}
    results: dict[str, str] = {}
    refusals: dict[str, str] = {}
    rest = Payment.objects.filter(batch=batch)
    if not stop_all:
        rest = rest.filter(reference__in=[ref for ref in wanted if ref not in stopped])
    for reference, status, bank_file_id in rest.values_list(
        "reference", "status", "bank_file_id"
    ).iterator(chunk_size=5000):
        if reference not in stopped:
            refusals[reference] = _worse(refusals.get(reference), _refusal(status, bank_file_id))
    if stop_all:
        results = dict.fromkeys(stopped, STOPPED) | refusals
    else:
        for ref in wanted:
            results[ref] = STOPPED if ref in stopped else refusals.get(ref, NOT_FOUND)
    audit_record(
        actor=None,
        action="batch.stop",
        target=batch,
        authority=batch.authority,
        data={
            "api_client": label,
            "all": stop_all,
            "requested": len(wanted),
            "stopped": len(stopped),
            "refused": len(results) - len(stopped),
        },
    )
    if stopped:
        _batches_advance([str(batch.pk)])
    return results


@transaction.atomic
def payments_stop(*, actor: User, payment_ids: list[int], reason: str = "") -> dict[int, str]:
    """A caseworker stops pending payments of the LOS units where they hold *stop pending
    payments*: per id ``stopped`` or the refusal (payments outside that scope: ``not_found``).
    The caseworker's ``reason`` (the portal asks for one) is kept in the audit record.

    Raises PermissionDenied (no stop profile on any unit: nothing changes) and ValidationFailed
    (no ids, or more than 10,000).
    """
    ids = list(dict.fromkeys(int(pk) for pk in _check_count(payment_ids, "payment_ids")))
    units = units_for(user=actor, function=Function.STOP_PENDING_PAYMENTS)
    if not units.exists():
        raise PermissionDenied(
            _("You cannot stop payments: you need the profile NKS-Stop-Bet on a LOS unit."),
            code="not_permitted",
        )
    unit_sql, unit_params = units.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_PAYMENT} SET status = 'stopped', stopped_at = %s, stopped_by_id = %s,
                                  stopped_by_label = %s
            WHERE id = ANY(%s) AND status IN {_STOPPABLE_SQL} AND bank_file_id IS NULL
              AND los_unit_id IN ({unit_sql})
            RETURNING id, batch_id::text
            """,  # noqa: S608 - table name from model metadata, scope compiled by the ORM
            [timezone.now(), actor.pk, actor.get_username()[:200], ids, *unit_params],
        )
        rows = cursor.fetchall()
    stopped = {row[0] for row in rows}
    refusals = {
        pk: _refusal(status, bank_file_id)
        for pk, status, bank_file_id in Payment.objects.filter(
            pk__in=[pk for pk in ids if pk not in stopped], los_unit__in=units
        ).values_list("pk", "status", "bank_file_id")
    }
    results = {pk: STOPPED if pk in stopped else refusals.get(pk, NOT_FOUND) for pk in ids}
    audit_record(
        actor=actor,
        action="payment.stop",
        target=actor.authority if actor.authority is not None else actor,
        authority=actor.authority,
        data={
            "payment_ids": ids,
            "reason": reason.strip()[:500],
            "stopped": sorted(stopped),
            "refused": {str(pk): answer for pk, answer in results.items() if answer != STOPPED},
        },
    )
    if rows:
        _batches_advance(row[1] for row in rows)
    return results
