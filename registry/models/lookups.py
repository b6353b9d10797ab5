"""The look-up log: every look-up of a person by CPR number (DOMAIN.md section 11)."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LookupLog(models.Model):
    """One look-up of one person: who, when, through which channel, why, and what they got.

    Append-only (a trigger refuses updates and deletes). The CPR number itself is not stored,
    only a keyed hash of it (HMAC-SHA256, ``registry.lookups.cpr_hash``): the person's own
    login can find their rows, a copy of the table alone cannot be turned back into numbers.
    """

    class Channel(models.TextChoices):
        API = "api", _("API")
        PORTAL = "portal", _("Portal")
        ADMIN = "admin", _("Administration")

    class Result(models.TextChoices):
        FOUND = "found", _("Found")
        NOT_FOUND = "not_found", _("Not in the register")
        YES = "yes", _("Has an account")
        NO = "no", _("Has no account")
        UNKNOWN_ID = "unknown_id", _("Unknown ID")

    at = models.DateTimeField(_("time"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    api_client = models.ForeignKey(
        "accounts.ApiClient",
        verbose_name=_("API client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("who"), max_length=200)
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    id_hash = models.CharField(_("keyed hash of the CPR number"), max_length=64)
    purpose = models.CharField(_("purpose"), max_length=200)
    result = models.CharField(_("result"), max_length=12, choices=Result.choices)

    class Meta:
        verbose_name = _("look-up log entry")
        verbose_name_plural = _("look-up log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["id_hash", "at"], name="lookuplog_person_time")]
        triggers = [
            pgtrigger.Protect(
                name="lookup_log_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} ({self.channel})"
