"""Callback deliveries: one signed POST per (batch, status) to the payment system's callback URL
(API.md, Callbacks), and the events of the extensions (``Event``).

Rows are written set-wise by ``payments.callbacks.callbacks_enqueue`` (batch statuses) and by
the stages whose changes a batch status does not show (``payments.callback_events``), and sent by
``callbacks_deliver``; the unique (batch, status) constraint is what makes a status be notified
once, however often the enqueuer runs.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from payments.models.pipeline import Batch


class CallbackDelivery(models.Model):
    """The notice of one batch status (or one event) to one API client, and how sending it went."""

    class Event(models.TextChoices):
        BATCH_STATUS = "batch_status", _("Batch status changed")
        # Payments of a batch changed while the batch did not: released from the waiting
        # account, fallen back after waiting too long, held duplicates decided.
        PAYMENTS_UPDATED = "payments_updated", _("Payments updated")
        MISSING_ACCOUNTS = "missing_accounts", _("Recipients without a usable account")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    id = models.BigAutoField(primary_key=True)
    api_client = models.ForeignKey(
        "accounts.ApiClient",
        verbose_name=_("API client"),
        on_delete=models.CASCADE,
        related_name="callback_deliveries",
    )
    event = models.CharField(
        _("event"), max_length=16, choices=Event.choices, default=Event.BATCH_STATUS
    )
    # Indexed by the unique (batch, status) constraint. None for the missing-accounts event.
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="callback_deliveries",
        db_index=False,
    )
    status = models.CharField(
        _("batch status"), max_length=12, choices=Batch.Status.choices, blank=True
    )
    payload = models.JSONField(_("payload"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("callback delivery")
        verbose_name_plural = _("callback deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "status"],
                condition=Q(event="batch_status"),
                name="callback_delivery_once_per_status",
            ),
        ]
        indexes = [
            # The deliverer's "due" scan touches pending rows only.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="callback_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id or self.event} {self.status} ({self.get_state_display()})"
