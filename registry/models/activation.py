"""Activation letters for caseworkers' NemKonto changes (DOMAIN.md sections 4 and 11)."""

import pgtrigger
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models.accounts import NemKonto


def letter_upload_to(letter: "ActivationLetter", filename: str) -> str:
    return f"letters/{timezone.localdate():%Y/%m}/{filename}"


class ActivationLetter(models.Model):
    """The letter with the activation code for one pending NemKonto version.

    The code itself is never stored: only a keyed hash (HMAC-SHA256 with a per-letter salt), so
    neither operators nor a copy of the database can read it. The PDF, which carries the code,
    is the only copy; it is for printing and sending, and only operators can download it.
    """

    class Status(models.TextChoices):
        UNPRINTED = "unprinted", _("Not printed")
        PRINTED = "printed", _("Printed")
        SENT = "sent", _("Sent")

    nemkonto = models.OneToOneField(
        NemKonto,
        verbose_name=_("NemKonto version"),
        on_delete=models.PROTECT,
        related_name="activation_letter",
    )
    code_salt = models.CharField(_("code salt"), max_length=32, editable=False)
    code_hash = models.CharField(_("code hash"), max_length=64, editable=False)
    expires_at = models.DateTimeField(_("code expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    # The address the letter was written to, as the register had it then.
    addressee = models.TextField(_("addressee"))
    pdf = models.FileField(_("letter (PDF)"), upload_to=letter_upload_to, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UNPRINTED
    )
    printed_at = models.DateTimeField(_("printed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("activation letter")
        verbose_name_plural = _("activation letters")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="letter_status_time")]
        triggers = [
            pgtrigger.Protect(name="activation_letter_never_deleted", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(
                name="activation_letter_code_fixed",
                fields=["nemkonto", "code_salt", "code_hash", "expires_at", "created_at"],
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Activation letter')} {self.pk}"
