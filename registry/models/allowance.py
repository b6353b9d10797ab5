"""Look-up allowances: a token bucket per caseworker and per API client (abuse limits)."""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LookupAllowance(models.Model):
    """What is left of one caller's look-up allowance (DOMAIN.md section 11, anti-enumeration).

    ``tokens`` were left at ``updated_at``; the bucket refills continuously up to its capacity
    (settings ``NEMKONTO_LOOKUP_*``). Every look-up takes one token, and a look-up of an ID that is
    not in the register takes a heavy penalty on top, which may drive the balance below zero: a
    caller that probes for numbers waits until the bucket has refilled. The table is UNLOGGED
    (a crash empties it, which only forgives), so each look-up's one UPSERT costs no WAL.
    """

    key = models.CharField(_("caller"), max_length=80, primary_key=True)
    label = models.CharField(_("who"), max_length=200)
    tokens = models.FloatField(_("tokens left"))
    updated_at = models.DateTimeField(_("last look-up"), default=timezone.now)
    refused = models.PositiveIntegerField(_("refused look-ups"), default=0)
    misses = models.PositiveIntegerField(_("look-ups of unknown IDs"), default=0)
    allowed = models.BooleanField(_("last look-up allowed"), default=True)

    class Meta:
        verbose_name = _("look-up allowance")
        verbose_name_plural = _("look-up allowances")
        ordering = ["tokens"]

    def __str__(self) -> str:
        return self.label

    def balance(self, now: datetime.datetime | None = None) -> float:
        """The tokens the caller has now, refilled since the last look-up (as the SQL does)."""
        elapsed = max(0.0, ((now or timezone.now()) - self.updated_at).total_seconds())
        refill = elapsed * settings.NEMKONTO_LOOKUP_REFILL_PER_MINUTE / 60
        return min(float(settings.NEMKONTO_LOOKUP_ALLOWANCE), self.tokens + refill)
