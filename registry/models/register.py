"""The local mirror of the CPR and CVR registers (DOMAIN.md section 2).

One table for every kind of recipient ID, so that "does this ID exist" is one indexed join for a
whole batch of payments whatever the ID kind. ``id_type``/``id_number`` have the same column types
as the recipient columns of payments, so joins need no casts (ARCHITECTURE.md section 4).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.identifiers import IdKind


class Recipient(models.Model):
    """A person (CPR) or a business unit (CVR, P or SE number) known to the registers."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DEAD = "dead", _("Dead")
        EMIGRATED = "emigrated", _("Emigrated")
        UNKNOWN_ADDRESS = "unknown_address", _("Address unknown")
        CEASED = "ceased", _("Ceased")

    id_type = models.CharField(_("ID type"), max_length=3, choices=IdKind.choices)
    id_number = models.CharField(_("ID number"), max_length=10)
    # The owning CVR number of a P- or SE-number (equal to id_number for a CVR; empty for CPR).
    cvr = models.CharField(_("CVR number"), max_length=8, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=4, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number"], name="recipient_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.id_type} {self.name}"

    @property
    def is_person(self) -> bool:
        return self.id_type == IdKind.CPR
