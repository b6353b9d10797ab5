"""The Django admin of the pipeline, for operators: batches, payments, bank files and the banks'
answers. Read-only (the pipeline writes these tables); the actions run the same stages the
workers run, for when an operator will not wait for the sweeper."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nemkonto.admin_support import ReadOnlyAdmin
from nemkonto.pdf_response import pdf_response
from payments import pipeline
from payments.models import (
    BankDifference,
    BankFile,
    BankMessage,
    Batch,
    FailureHandling,
    Payment,
    PaymentHold,
)
from registry.admin import CprSearchMixin
from registry.documents import cheque_information_pdf


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "authority",
        "payment_system",
        "los_unit",
        "status",
        "received_count",
        "expected_value_date",
        "received_at",
        "is_test",
    )
    list_filter = ("status", "is_test", "source_format", "authority", "payment_system")
    list_select_related = ("authority", "payment_system", "los_unit")
    search_fields = ("=id", "=idempotency_key")
    date_hierarchy = "received_at"
    readonly_fields = ("payment_counts",)
    actions = ("process_now",)

    @admin.display(description=_("payments per status and return code"))
    def payment_counts(self, batch: Batch) -> str:
        rows = (
            Payment.objects.filter(batch=batch)
            .values("status", "return_code")
            .annotate(n=Count("id"))
            .order_by("status", "return_code")
        )
        return ", ".join(
            f"{row['status']} ({row['return_code'] if row['return_code'] is not None else '-'})"
            f": {row['n']}"
            for row in rows
        )

    @admin.action(description=_("Validate and attach now"))
    def process_now(self, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
        done = sum(pipeline.batch_process(str(batch.pk)) for batch in queryset)
        self.message_user(
            request,
            gettext("%(done)d of %(total)d batches processed.")
            % {"done": done, "total": queryset.count()},
            messages.SUCCESS,
        )


@admin.register(Payment)
class PaymentAdmin(CprSearchMixin, ReadOnlyAdmin):
    list_display = (
        "reference",
        "batch",
        "recipient_type",
        "recipient_shown",
        "amount_display",
        "status",
        "return_code",
        "account_source",
        "value_date",
        "is_test",
    )
    list_filter = (
        "status",
        "return_code",
        "account_source",
        "failure_handling",
        "is_test",
        "value_date",
    )
    search_fields = ("=reference", "=batch__id")
    show_full_result_count = False
    raw_id_fields = ("batch", "recipient", "nemkonto", "specific_account", "bank_file")

    @admin.display(description=_("recipient"))
    def recipient_shown(self, payment: Payment) -> str:
        """A CPR number is shown as the birth date only; the search by CPR is logged."""
        if payment.recipient_type == "CPR" and payment.recipient_number:
            return f"{payment.recipient_number[:6]}-****"
        return payment.recipient_number or payment.recipient_raw

    @admin.display(description=_("amount (DKK)"))
    def amount_display(self, payment: Payment) -> str:
        return payment.amount_display


@admin.register(BankFile)
class BankFileAdmin(ReadOnlyAdmin):
    list_display = (
        "message_id",
        "bank",
        "bank_agreement",
        "value_date",
        "status",
        "transaction_count",
        "control_sum_ore",
        "created_at",
        "is_test",
        "cheque_sheets",
    )
    list_filter = ("status", "is_test", "bank", "value_date")
    list_select_related = ("bank", "bank_agreement")
    search_fields = ("=message_id",)
    actions = ("write_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BankFile]:
        # Exists, not a count: it stops at the file's first cheque, and the list's count of
        # files leaves it out.
        cheques = Payment.objects.filter(
            bank_file=OuterRef("pk"), failure_handling=FailureHandling.CHEQUE
        )
        return super().get_queryset(request).annotate(has_cheques=Exists(cheques))

    @admin.display(description=_("cheque information sheets"))
    def cheque_sheets(self, bank_file: BankFile) -> str | None:
        """The information sheets to post with the file's cheque order (its CHK payments)."""
        if not getattr(bank_file, "has_cheques", False):
            return None  # the admin's empty value
        url = reverse("admin:payments_bankfile_cheque_sheets", args=[bank_file.pk])
        return format_html('<a href="{}">PDF</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:file_id>/checkinformation.pdf",
                self.admin_site.admin_view(self.cheque_sheets_pdf),
                name="payments_bankfile_cheque_sheets",
            ),
            *super().get_urls(),
        ]

    def cheque_sheets_pdf(self, request: HttpRequest, file_id: int) -> HttpResponse:
        """One PDF with a page per cheque of the bank file, for the recipients."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        cheques = Payment.objects.select_related("authority").filter(
            bank_file_id=file_id, failure_handling=FailureHandling.CHEQUE
        )
        try:
            pdf = cheque_information_pdf(cheques, language=request.LANGUAGE_CODE)
        except ValueError:
            raise Http404 from None
        return pdf_response(request, pdf, f"checkinformation-fil-{file_id}.pdf")

    @admin.action(description=_("Write the file now"))
    def write_now(self, request: HttpRequest, queryset: QuerySet[BankFile]) -> None:
        written = sum(pipeline.bank_file_write(file.pk) for file in queryset)
        self.message_user(
            request,
            gettext("%(done)d files written.") % {"done": written},
            messages.SUCCESS,
        )


@admin.register(BankMessage)
class BankMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "message_id",
        "kind",
        "bank",
        "original_message_id",
        "accepted",
        "rejected",
        "unmatched",
        "received_at",
    )
    list_filter = ("kind", "bank")
    search_fields = ("=message_id", "=original_message_id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("bank")


@admin.register(BankDifference)
class BankDifferenceAdmin(ReadOnlyAdmin):
    """The bank reconciliation's differences (``payments.reconciliation``), for operators."""

    list_display = (
        "detected_at",
        "kind",
        "reason",
        "bank",
        "authority",
        "end_to_end_id",
        "sent_amount",
        "booked_amount",
        "booking_date",
        "resolved_at",
    )
    list_filter = ("kind", "reason", ("resolved_at", admin.EmptyFieldListFilter), "bank")
    list_select_related = ("bank", "authority")
    search_fields = ("=end_to_end_id", "=bank_file__message_id")
    raw_id_fields = ("payment", "bank_file", "message")
    date_hierarchy = "detected_at"

    @admin.display(description=_("amount sent (DKK)"))
    def sent_amount(self, difference: BankDifference) -> str:
        return _kroner(difference.sent_amount_ore)

    @admin.display(description=_("amount booked (DKK)"))
    def booked_amount(self, difference: BankDifference) -> str:
        return _kroner(difference.booked_amount_ore)


def _kroner(ore: int | None) -> str:
    return "-" if ore is None else f"{ore // 100}.{ore % 100:02d}"


@admin.register(PaymentHold)
class PaymentHoldAdmin(ReadOnlyAdmin):
    """Payments held as possible duplicates (``payments.duplicates``) and their decisions."""

    list_display = ("payment", "duplicate_of", "authority", "held_at", "decision", "decided_at")
    list_filter = ("decision", "authority")
    list_select_related = ("payment", "duplicate_of", "authority")
    raw_id_fields = ("payment", "duplicate_of", "decided_by")
    date_hierarchy = "held_at"
