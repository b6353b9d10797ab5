"""Batches, payments, bank files and bank answers: the tables of the pipeline (ARCHITECTURE.md
section 4).

The pipeline writes these tables with set-based SQL (``payments.pipeline``), never row by row.
A payment's history is its own columns: one timestamp per stage, the account version it was
attached to, the bank file it left in and the bank's answer. Recipient ID columns have the same
types as the register's (``registry.Recipient``) so the existence join needs no casts.
"""

import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.identifiers import IdKind


class BatchFormat(models.TextChoices):
    JSON = "json", "JSON"
    CSV = "csv", "CSV"
    PAIN001 = "pain001", "ISO 20022 pain.001"


class Batch(models.Model):
    """One delivery of payments from a payment system for one authority (API.md, batches)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        COMPLETED = "completed", _("Completed (waiting for the cut-off)")
        FORWARDED = "forwarded", _("Forwarded to the bank")
        CLOSED = "closed", _("Closed (every payment has its final answer)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    payment_system = models.ForeignKey(
        "payments.PaymentSystem",
        verbose_name=_("payment system"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    agreement = models.ForeignKey(
        "payments.ConnectionAgreement",
        verbose_name=_("connection agreement"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    los_unit = models.ForeignKey(
        "accounts.LosUnit",
        verbose_name=_("LOS unit"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    bank_agreement = models.ForeignKey(
        "payments.BankAgreement",
        verbose_name=_("bank agreement"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    api_client = models.ForeignKey(
        "accounts.ApiClient",
        verbose_name=_("API client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
    )
    source_format = models.CharField(_("format"), max_length=8, choices=BatchFormat.choices)
    # Idempotency (API.md, Conventions): the first answer is replayed for the same key and body.
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, blank=True)
    request_hash = models.CharField(_("request hash"), max_length=64)
    answer = models.JSONField(_("first answer"), default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    received_count = models.PositiveIntegerField(_("payments received"), default=0)
    requested_value_date = models.DateField(_("requested value date"), null=True, blank=True)
    expected_value_date = models.DateField(_("expected value date"))
    cut_off = models.DateTimeField(_("cut-off"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    forwarded_at = models.DateTimeField(_("forwarded at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Last progress of any stage; the sweeper resumes batches that stopped moving.
    touched_at = models.DateTimeField(_("last progress"), default=timezone.now)
    # Sent under an agreement in test (payments.test_script): its payments leave only in test
    # bank files, to the simulated bank, and never cause notices to recipients.
    is_test = models.BooleanField(_("test"), default=False, db_default=False)
    # Test batches only: when the payment system last fetched the answers (status, payments,
    # return answers) and which return codes it has seen so far (the test script's "received").
    answers_fetched_at = models.DateTimeField(_("answers fetched at"), null=True, blank=True)
    return_codes_fetched = models.JSONField(_("return codes fetched"), default=list, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        constraints = [
            models.UniqueConstraint(
                fields=["api_client", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="batch_idempotency_key_per_client",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "touched_at"], name="batch_status_touched"),
            models.Index(fields=["authority", "received_at"], name="batch_authority_received"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.get_status_display()})"


class PaymentStatus(models.TextChoices):
    """API.md, Payment status and return codes."""

    RECEIVED = "received", _("Received")
    REJECTED = "rejected", _("Rejected")
    COMPLETED = "completed", _("Completed (waiting for the cut-off)")
    STOPPED = "stopped", _("Stopped")
    FAILED = "failed", _("Failed (no account)")
    WAITING = "waiting", _("Waiting for an account")
    # A possible duplicate of an earlier payment, held until it is confirmed or rejected.
    HELD = "held", _("Held as a possible duplicate")
    FORWARDED = "forwarded", _("Forwarded to the bank")
    BANK_RECEIVED = "bank_received", _("Received by the bank")
    BANK_ERROR = "bank_error", _("Error in the bank")


# Statuses a payment never leaves.
FINAL_STATUSES = (
    PaymentStatus.REJECTED,
    PaymentStatus.STOPPED,
    PaymentStatus.FAILED,
    PaymentStatus.BANK_RECEIVED,
    PaymentStatus.BANK_ERROR,
)
# Statuses a payment may be stopped in (not yet forwarded, API.md Stop).
STOPPABLE_STATUSES = (
    PaymentStatus.RECEIVED,
    PaymentStatus.COMPLETED,
    PaymentStatus.WAITING,
    PaymentStatus.HELD,
)
# Every legal status change; a statement-level trigger refuses any other (ARCHITECTURE.md 4).
TRANSITIONS = (
    ("received", "rejected"),
    ("received", "completed"),
    ("received", "failed"),
    ("received", "waiting"),
    ("received", "stopped"),
    ("received", "held"),
    ("completed", "forwarded"),
    ("completed", "stopped"),
    ("completed", "failed"),
    # Re-attached at the cycle after its account was deleted, under the waiting account.
    ("completed", "waiting"),
    ("waiting", "completed"),
    ("waiting", "failed"),
    ("waiting", "stopped"),
    # The waiting account's fallback: a cheque to a recipient without an address is rejected.
    ("waiting", "rejected"),
    # A held duplicate: confirmed, it is attached like any received payment; rejected, stopped.
    ("held", "completed"),
    ("held", "failed"),
    ("held", "waiting"),
    ("held", "rejected"),
    ("held", "stopped"),
    ("forwarded", "bank_received"),
    ("forwarded", "bank_error"),
)


_TRANSITION_CHECK = """
    IF (OLD.status, NEW.status) NOT IN ({pairs}) THEN
        RAISE EXCEPTION 'illegal payment status transition from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
""".format(pairs=", ".join(f"('{old}', '{new}')" for old, new in TRANSITIONS))


class AccountSource(models.TextChoices):
    """Which account a payment was sent to (API.md ``account_kind``)."""

    SPECIFIC = "specific", _("Specific account")
    NEMKONTO = "nemkonto", _("NemKonto")
    GIVEN = "given", _("Account given by the payer")
    NONE = "none", _("No account")


class FailureHandling(models.TextChoices):
    """What became of a payment that could not be completed (API.md ``failure_handling``)."""

    RETURNED = "returned", _("Returned to the authority")
    CHEQUE = "cheque", _("Cheque to the recipient")
    ERROR_ACCOUNT = "error_account", _("Transferred to the error account")
    WAITING = "waiting", _("On the waiting account")


class BankFile(models.Model):
    """One pain.001 file for one (authority bank, bank agreement, value date) of one cycle."""

    class Status(models.TextChoices):
        CLAIMED = "claimed", _("Payments claimed, file not yet written")
        WRITTEN = "written", _("Written and validated, waiting for the bank")
        FETCHED = "fetched", _("Fetched by the bank")
        ANSWERED = "answered", _("Answered by the bank")

    bank = models.ForeignKey(
        "accounts.Bank", verbose_name=_("bank"), on_delete=models.PROTECT, related_name="files"
    )
    bank_agreement = models.ForeignKey(
        "payments.BankAgreement",
        verbose_name=_("bank agreement"),
        on_delete=models.PROTECT,
        related_name="files",
    )
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="bank_files",
    )
    value_date = models.DateField(_("value date"))
    cycle_at = models.DateTimeField(_("cut-off cycle"))
    message_id = models.CharField(_("message id"), max_length=35, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CLAIMED
    )
    transaction_count = models.PositiveIntegerField(_("transactions"), default=0)
    control_sum_ore = models.BigIntegerField(_("control sum (øre)"), default=0)
    path = models.CharField(_("file"), max_length=500, blank=True)
    size = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    written_at = models.DateTimeField(_("written at"), null=True, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # A test file holds only test payments and goes only to the simulated bank; a real file
    # holds none (payments.pipeline.cycle_run groups by the payments' own flag).
    is_test = models.BooleanField(_("test"), default=False, db_default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bank file")
        verbose_name_plural = _("bank files")
        constraints = [
            models.UniqueConstraint(
                fields=["bank_agreement", "value_date", "cycle_at", "is_test"],
                name="bank_file_per_cycle",
            ),
        ]
        indexes = [models.Index(fields=["bank", "status"], name="bank_file_bank_status")]

    def __str__(self) -> str:
        return self.message_id


class Payment(models.Model):
    """One payment of a batch, from receipt to the bank's answer."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by the unique (batch, line) constraint.
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        on_delete=models.PROTECT,
        related_name="payments",
        db_index=False,
    )
    line = models.PositiveIntegerField(_("position in the batch"))
    # The envelope, copied from the batch onto every payment so that scoping, search and file
    # grouping need no join. The batch holds the foreign-key constraints; repeating them here
    # would cost four index probes per payment on intake (ARCHITECTURE.md section 4). Nor do
    # they get indexes of their own: the indexes below serve the reads, and every index costs a
    # write in each stage's UPDATE.
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    los_unit = models.ForeignKey(
        "accounts.LosUnit",
        verbose_name=_("LOS unit"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    payment_system = models.ForeignKey(
        "payments.PaymentSystem",
        verbose_name=_("payment system"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    bank_agreement = models.ForeignKey(
        "payments.BankAgreement",
        verbose_name=_("bank agreement"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    reference = models.CharField(_("payer's reference"), max_length=35)
    recipient_type = models.CharField(
        _("recipient ID type"), max_length=3, choices=IdKind.choices, blank=True
    )
    recipient_number = models.CharField(_("recipient ID"), max_length=10, blank=True)
    # What the payer sent when it could not be read as an ID (then the row is rejected).
    recipient_raw = models.CharField(_("recipient as sent"), max_length=40, blank=True)
    recipient = models.ForeignKey(
        "registry.Recipient",
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    benefit = models.ForeignKey(
        "payments.Benefit",
        verbose_name=_("benefit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    benefit_code = models.CharField(_("benefit code"), max_length=30, blank=True)
    amount_ore = models.BigIntegerField(_("amount (øre)"), null=True, blank=True)
    text = models.CharField(_("text for the recipient"), max_length=35, blank=True)
    requested_value_date = models.DateField(_("requested value date"), null=True, blank=True)
    value_date = models.DateField(_("value date"))
    # The account the money goes to: given by the payer (complete payment) or attached.
    account_source = models.CharField(
        _("account kind"), max_length=10, choices=AccountSource.choices, blank=True
    )
    account_kind = models.CharField(_("account form"), max_length=7, blank=True)
    reg = models.CharField(_("registration number"), max_length=4, blank=True)
    number = models.CharField(_("account number"), max_length=10, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    nemkonto = models.ForeignKey(
        "registry.NemKonto",
        verbose_name=_("NemKonto version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    specific_account = models.ForeignKey(
        "registry.SpecificAccount",
        verbose_name=_("specific account version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=13, choices=PaymentStatus.choices, default=PaymentStatus.RECEIVED
    )
    return_code = models.SmallIntegerField(_("return code"), null=True, blank=True)
    # For code 2 the field in error and the error's code; for 9 the bank's ISO reason.
    return_field = models.CharField(_("field in error"), max_length=40, blank=True)
    return_reason = models.CharField(_("reason code"), max_length=40, blank=True)
    failure_handling = models.CharField(
        _("failure handling"), max_length=13, choices=FailureHandling.choices, blank=True
    )
    # When it was put on the waiting account (kept after it is released, for its history).
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    bank_file = models.ForeignKey(
        BankFile,
        verbose_name=_("bank file"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        db_index=False,
    )
    received_at = models.DateTimeField(_("received at"))
    processed_at = models.DateTimeField(_("validated and attached at"), null=True, blank=True)
    forwarded_at = models.DateTimeField(_("forwarded at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered by the bank at"), null=True, blank=True)
    booked_at = models.DateField(_("booked by the bank on"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("stopped by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    stopped_by_label = models.CharField(
        _("stopped by (label)"), max_length=200, blank=True, db_default=""
    )
    # Copied from the batch like the envelope: the cycle groups bank files by it, and the
    # recipients' notices leave test payments out, without a join.
    is_test = models.BooleanField(_("test"), default=False, db_default=False)

    class Meta:
        ordering = ["batch", "line"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(fields=["batch", "line"], name="payment_line_per_batch"),
            # A payer's reference is used once per payment system; a row rejected because of
            # its reference does not take it.
            models.UniqueConstraint(
                fields=["payment_system", "reference"],
                condition=~Q(return_field="reference"),
                name="payment_reference_per_system",
            ),
            models.CheckConstraint(
                condition=Q(amount_ore__gt=0) | Q(status="rejected"),
                name="payment_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(return_code__in=[0, 1, 2, 7, 8, 9]) | Q(return_code__isnull=True),
                name="payment_known_return_code",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "status"], name="payment_batch_status"),
            models.Index(
                fields=["value_date", "bank_agreement"],
                condition=Q(status="completed") | Q(status="failed", bank_file__isnull=True),
                name="payment_to_forward",
            ),
            models.Index(fields=["bank_file"], name="payment_bank_file"),
            models.Index(fields=["los_unit", "received_at"], name="payment_unit_received"),
            # The caseworkers' payment search, newest first, within their authority
            # (docs/benchmarks.md, "Caseworker payment search").
            models.Index(
                fields=["authority", "received_at", "id"], name="payment_authority_received"
            ),
            models.Index(
                fields=["authority", "status", "received_at", "id"],
                name="payment_authority_status",
            ),
            models.Index(
                fields=["authority", "return_code", "received_at", "id"],
                name="payment_authority_return_code",
            ),
            models.Index(fields=["recipient_number", "recipient_type"], name="payment_recipient"),
            models.Index(fields=["authority", "reference"], name="payment_authority_reference"),
            # The waiting account and the held duplicates: few rows, read by every release.
            models.Index(
                fields=["status", "recipient"],
                condition=Q(status__in=["waiting", "held"]),
                name="payment_waiting_or_held",
            ),
        ]
        triggers = [
            # A row trigger, fired only when the status changes. (A statement trigger joining
            # its old and new transition tables was measured quadratic: the planner has no
            # statistics for them and picks a nested loop, 440 s for 60,000 payments.)
            pgtrigger.Trigger(
                name="payment_legal_transitions",
                level=pgtrigger.Row,
                when=pgtrigger.Before,
                operation=pgtrigger.UpdateOf("status"),
                condition=pgtrigger.Condition("OLD.status IS DISTINCT FROM NEW.status"),
                func=_TRANSITION_CHECK,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.status})"

    @property
    def amount_display(self) -> str:
        """The amount in kroner with two decimals (``1234.50``), as the API writes it."""
        if self.amount_ore is None:
            return ""
        return f"{self.amount_ore // 100}.{self.amount_ore % 100:02d}"


class BankMessage(models.Model):
    """A bank's answer file (pain.002 or camt.054), applied once per message id."""

    class Kind(models.TextChoices):
        PAIN002 = "pain002", "pain.002"
        CAMT054 = "camt054", "camt.054"

    bank = models.ForeignKey(
        "accounts.Bank", verbose_name=_("bank"), on_delete=models.PROTECT, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    message_id = models.CharField(_("message id"), max_length=35)
    original_message_id = models.CharField(_("answers file"), max_length=35, blank=True)
    bank_file = models.ForeignKey(
        BankFile,
        verbose_name=_("bank file"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answers",
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    accepted = models.PositiveIntegerField(_("accepted or booked"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    unmatched = models.PositiveIntegerField(_("not matched"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("bank answer")
        verbose_name_plural = _("bank answers")
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "kind", "message_id"], name="bank_message_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.message_id}"
