"""Bank reconciliation: what the banks booked (camt.054) against what was sent (pain.001).

Every difference is a row: a payment the bank accepted but never booked (*missing*), a booking
that matches nothing sent, a second booking of one payment or a booking of a payment the bank
rejected (*extra*), and a booking of another amount than the one sent (*amount differs*). They
are written set-wise by ``payments.reconciliation`` and listed for the authority (API) and the
operator (admin). A missing payment booked later is marked resolved, not deleted.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BankDifference(models.Model):
    """One difference between a bank's bookings and the payments sent to it."""

    class Kind(models.TextChoices):
        MISSING = "missing", _("Sent and accepted, not booked")
        EXTRA = "extra", _("Booked, not sent (or booked twice)")
        AMOUNT_DIFFERS = "amount_differs", _("Booked with another amount")

    class Reason(models.TextChoices):
        NOT_BOOKED = "not_booked", _("no booking by the bank")
        UNKNOWN_PAYMENT = "unknown_payment", _("no payment sent has this end-to-end id")
        BOOKED_TWICE = "booked_twice", _("the payment was booked before")
        REJECTED_BY_BANK = "rejected_by_bank", _("the bank had rejected the payment")
        AMOUNT = "amount", _("the booked amount is not the amount sent")

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    bank = models.ForeignKey(
        "accounts.Bank",
        verbose_name=_("bank"),
        on_delete=models.PROTECT,
        related_name="differences",
    )
    # The authority whose payment (or disbursement account) it concerns; null when a booking
    # can be tied to nothing we know (then only the operator sees it).
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.ForeignKey(
        "payments.BankMessage",
        verbose_name=_("booking report"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="differences",
    )
    bank_file = models.ForeignKey(
        "payments.BankFile",
        verbose_name=_("bank file"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="differences",
    )
    payment = models.ForeignKey(
        "payments.Payment",
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, blank=True)
    sent_amount_ore = models.BigIntegerField(_("amount sent (øre)"), null=True, blank=True)
    booked_amount_ore = models.BigIntegerField(_("amount booked (øre)"), null=True, blank=True)
    booking_date = models.DateField(_("booking date"), null=True, blank=True)
    detected_at = models.DateTimeField(_("found at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name = _("bank difference")
        verbose_name_plural = _("bank differences")
        constraints = [
            # A payment is missing, or booked with another amount, once; repeats of the same
            # booking report change nothing.
            models.UniqueConstraint(
                fields=["payment", "kind"],
                condition=Q(kind__in=["missing", "amount_differs"]),
                name="bank_difference_once_per_payment",
            ),
        ]
        indexes = [
            models.Index(fields=["authority", "detected_at"], name="bank_difference_authority"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.end_to_end_id}"
