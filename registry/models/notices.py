"""The notice outbox: every change tells the recipient (DOMAIN.md section 12)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models.register import Recipient


class Notice(models.Model):
    """A message to a recipient about a change of their accounts, sent by a Celery task.

    ``channel`` says how it goes out: ``email`` to the address of the recipient's portal login,
    ``digital_post`` (placeholder until the Digital Post adapter: delivered by e-mail to the
    address in ``NEMKONTO_DIGITAL_POST_EMAIL``) and ``old_account``: the notice about the
    previous account, through the bank that holds it, so that whoever used to receive the money
    hears of the change even if the recipient's own channels were taken over.
    """

    class Kind(models.TextChoices):
        NEMKONTO_CHANGED = "nemkonto_changed", _("NemKonto changed")
        NEMKONTO_DELETED = "nemkonto_deleted", _("NemKonto deleted")
        NEMKONTO_PENDING = "nemkonto_pending", _("NemKonto change waiting for activation")
        NEMKONTO_HELD = "nemkonto_held", _("NemKonto change held for review")
        NEMKONTO_CANCELLED = "nemkonto_cancelled", _("NemKonto change cancelled")
        SPECIFIC_CHANGED = "specific_changed", _("Specific account created or changed")
        SPECIFIC_DELETED = "specific_deleted", _("Specific account deleted")
        OLD_ACCOUNT = "old_account", _("Account no longer used")
        # The waiting account (payments.waiting): a payment waits for the recipient's account,
        # and is on its way once they registered one.
        PAYMENT_WAITING = "payment_waiting", _("Payment waiting for an account")
        PAYMENT_RELEASED = "payment_released", _("Waiting payment on its way")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        DIGITAL_POST = "digital_post", _("Digital Post (placeholder)")
        OLD_ACCOUNT = "old_account", _("Via the bank of the old account (placeholder)")

    recipient = models.ForeignKey(
        Recipient, verbose_name=_("recipient"), on_delete=models.PROTECT, related_name="notices"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    to_address = models.CharField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="notice_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_channel_display()})"
