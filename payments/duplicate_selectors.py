"""Reads of held duplicates (``payments.duplicates``): for the payment system that sent them (its
own batch) and for caseworkers with the stop profile (their LOS units), each with the earlier
payment it repeats. One query per page."""

from django.db.models import QuerySet

from accounts.functions import Function
from accounts.models import User
from accounts.selectors import units_for
from payments.models import Batch, PaymentHold, PaymentStatus


def _held() -> QuerySet[PaymentHold]:
    # A held payment stopped meanwhile (the stop services take held ones too) is no longer held.
    return PaymentHold.objects.filter(
        decision=PaymentHold.Decision.PENDING, payment__status=PaymentStatus.HELD
    ).select_related("payment", "duplicate_of", "duplicate_of__batch")


def batch_held_payments(*, batch: Batch) -> QuerySet[PaymentHold]:
    """The batch's payments held as possible duplicates, in line order."""
    return _held().filter(payment__batch=batch).order_by("payment__line")


def held_payments_for_caseworker(*, actor: User) -> QuerySet[PaymentHold]:
    """The held payments of the LOS units where the caseworker may stop payments (and decide on
    held ones), newest first; none without the profile."""
    units = units_for(user=actor, function=Function.STOP_PENDING_PAYMENTS)
    return (
        _held()
        .filter(payment__los_unit__in=units)
        .select_related("payment__los_unit", "payment__payment_system")
        .order_by("-held_at", "-payment_id")
    )
