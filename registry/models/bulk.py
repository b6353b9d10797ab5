"""Banks' bulk NemKonto reports: one job per request, one row per change (API.md, Banks).

A job holds up to 100,000 changes. The rows are written with ``COPY`` when the request comes
in (already checked for format), and the job is applied later in one set-based pass
(``registry.bank_bulk``). Each row then carries its own result, so that the bank can fetch the
outcome of every change it sent.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BankBulkJob(models.Model):
    """One bulk report of a bank: received, then applied (or failed) as a whole."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    client = models.ForeignKey(
        "accounts.ApiClient",
        verbose_name=_("API client"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    bank = models.ForeignKey(
        "accounts.Bank",
        verbose_name=_("bank"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED
    )
    # The language of the request: the row results' messages are written in it.
    language = models.CharField(_("language"), max_length=8)
    # Idempotency-Key header (API.md, Conventions) and the SHA-256 of the body it came with.
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, blank=True)
    body_hash = models.CharField(_("body hash"), max_length=64, blank=True)
    received = models.PositiveIntegerField(_("changes received"))
    changed = models.PositiveIntegerField(_("changed"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    superseded = models.PositiveIntegerField(_("superseded"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    created_at = models.DateTimeField(_("received at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("bank bulk report")
        verbose_name_plural = _("bank bulk reports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="bank_bulk_job_idempotency",
            ),
        ]
        indexes = [
            models.Index(fields=["bank", "created_at"], name="bank_bulk_job_bank_time"),
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=["received", "processing"]),
                name="bank_bulk_job_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Bulk report')} {self.pk} ({self.get_status_display()})"


class BankBulkRow(models.Model):
    """One change of a bulk report and its result.

    ``id_type``/``id_number`` are the normalised ID (same column types as the register, so the
    join needs no casts), blank when the ID was malformed; ``reg``/``number`` the normalised
    account, blank when it was rejected. ``errors`` lists ``{"field", "code", "message"}``; the
    first one is what a single report of the same change would have answered.
    """

    # The table is created with fillfactor 45 (migration 0003): the results are written into
    # the rows by one UPDATE, which then finds room on the same page (HOT updates).

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("Received")
        CHANGED = "changed", _("Changed")
        UNCHANGED = "unchanged", _("Unchanged")
        SUPERSEDED = "superseded", _("Superseded by a later change in the same report")
        REJECTED = "rejected", _("Rejected")

    pk = models.CompositePrimaryKey("job", "index")
    # No index of its own: the primary key (job, index) serves every look-up by job.
    job = models.ForeignKey(
        BankBulkJob,
        verbose_name=_("bulk report"),
        on_delete=models.CASCADE,
        related_name="rows",
        db_index=False,
    )
    index = models.PositiveIntegerField(_("index"))
    id_type = models.CharField(_("ID type"), max_length=3, blank=True)
    id_number = models.CharField(_("ID number"), max_length=10, blank=True)
    reg = models.CharField(_("registration number"), max_length=4, blank=True)
    number = models.CharField(_("account number"), max_length=10, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    # The version written (changed) or kept (unchanged). Versions are never deleted (a trigger
    # refuses it), so no foreign-key check is paid on 100,000 rows.
    version = models.ForeignKey(
        "registry.NemKonto",
        verbose_name=_("NemKonto version"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    superseded_by = models.PositiveIntegerField(_("superseded by"), null=True, blank=True)
    errors = models.JSONField(_("errors"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank bulk report row")
        verbose_name_plural = _("bank bulk report rows")
        ordering = ["job", "index"]

    def __str__(self) -> str:
        return f"{self.job_id}[{self.index}]: {self.outcome}"
