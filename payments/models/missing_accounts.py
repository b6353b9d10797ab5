"""The missing-account work list's webhook (``payments.missing_accounts``).

A payment system's API client subscribes for its authority; each recipient of the authority's
pending payments who has no usable account is told once (an alert row), and told again only
after the alert was cleared (the recipient registered an account, or has nothing pending).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.identifiers import IdKind


class MissingAccountSubscription(models.Model):
    """An API client that wants the missing-account events of its authority at its callback URL."""

    api_client = models.OneToOneField(
        "accounts.ApiClient",
        verbose_name=_("API client"),
        on_delete=models.CASCADE,
        related_name="missing_account_subscription",
    )
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("missing-account subscription")
        verbose_name_plural = _("missing-account subscriptions")

    def __str__(self) -> str:
        return f"{self.authority_id} -> {self.api_client_id}"


class MissingAccountAlert(models.Model):
    """A recipient the subscriber has been told has no usable account."""

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(
        MissingAccountSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="alerts",
        db_index=False,
    )
    recipient_type = models.CharField(_("recipient ID type"), max_length=3, choices=IdKind.choices)
    recipient_number = models.CharField(_("recipient ID"), max_length=10)
    alerted_at = models.DateTimeField(_("told at"), default=timezone.now)

    class Meta:
        verbose_name = _("missing-account alert")
        verbose_name_plural = _("missing-account alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "recipient_type", "recipient_number"],
                name="missing_account_alert_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_type} {self.recipient_number}"
