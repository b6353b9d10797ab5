"""Duplicate payments held for confirmation (the duplicate guard, ``payments.duplicates``).

A payment that repeats an earlier one of the same authority (same recipient, benefit, amount
and period, within ``NEMKONTO_DUPLICATE_WINDOW_DAYS``) is held: its status is ``held`` and a
row here says which payment it repeats and, once decided, who confirmed or rejected it. Held
payments are few, so they get their own table instead of columns on every payment.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from payments.models.pipeline import Payment


class PaymentHold(models.Model):
    """Why one payment was held, and how the hold ended."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Waiting for a decision")
        CONFIRMED = "confirmed", _("Confirmed: to be paid")
        REJECTED = "rejected", _("Rejected: not to be paid")

    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="hold",
    )
    duplicate_of = models.ForeignKey(
        Payment,
        verbose_name=_("repeats payment"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    held_at = models.DateTimeField(_("held at"), default=timezone.now)
    decision = models.CharField(
        _("decision"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    decided_by_label = models.CharField(_("decided by (label)"), max_length=200, blank=True)

    class Meta:
        ordering = ["-held_at"]
        verbose_name = _("held duplicate")
        verbose_name_plural = _("held duplicates")
        indexes = [
            models.Index(
                fields=["authority", "held_at"],
                condition=Q(decision="pending"),
                name="payment_hold_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} ({self.get_decision_display()})"
