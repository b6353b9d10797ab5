"""Django admin for operators: the register mirror, account history, letters, look-ups, notices.

History and logs are read-only here (the database refuses changes anyway); the few actions an
operator takes (review a foreign account, mark letters printed or sent, send notices) call the
services. Finding a person by CPR number in the admin is a look-up like any other: it writes one
row to the look-up log (channel ``admin``), as does opening a person's page.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from nemkonto.admin_support import ReadOnlyAdmin
from nemkonto.errors import ApplicationError
from registry.identifiers import IdentifierError, IdKind, parse_cpr
from registry.models import (
    ActivationLetter,
    BankBulkJob,
    LookupAllowance,
    LookupLog,
    NemKonto,
    Notice,
    Recipient,
    SpecificAccount,
)
from registry.services import letters_mark, nemkonto_review, notices_deliver
from registry.services.allowance import lookup_allowances_reset
from registry.services.lookups import cpr_hash, lookup_log_write

ADMIN_SEARCH = "admin: search"
ADMIN_VIEW = "admin: view person"


def _cpr_or_none(term: str) -> str | None:
    try:
        return parse_cpr(term).number
    except IdentifierError:
        return None


def _log_admin_lookup(request: HttpRequest, cpr: str, purpose: str, found: bool) -> None:
    user = request.user if isinstance(request.user, User) else None
    lookup_log_write(
        channel=LookupLog.Channel.ADMIN,
        cpr=cpr,
        purpose=purpose,
        result=LookupLog.Result.FOUND if found else LookupLog.Result.NOT_FOUND,
        user=user,
    )


class CprSearchMixin:
    """Searching by a CPR number matches the recipient exactly and is logged as a look-up.

    ``cpr_lookup`` is the ORM path from the listed model to the recipient.
    """

    cpr_lookup = "recipient"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        cpr = _cpr_or_none(search_term)
        if cpr is None:
            return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        prefix = f"{self.cpr_lookup}__" if self.cpr_lookup else ""
        found = queryset.filter(**{f"{prefix}id_type": IdKind.CPR, f"{prefix}id_number": cpr})
        _log_admin_lookup(
            request,
            cpr,
            f"{ADMIN_SEARCH} ({queryset.model._meta.verbose_name_plural})",
            Recipient.objects.filter(id_type=IdKind.CPR, id_number=cpr).exists(),
        )
        return found, False


def masked_id(recipient: Recipient) -> str:
    """A CPR number shown in lists: the birth date only (the person's page shows it all)."""
    if recipient.id_type == IdKind.CPR:
        return f"{recipient.id_number[:6]}-****"
    return recipient.id_number


class NemKontoInline(admin.TabularInline):
    model = NemKonto
    fk_name = "recipient"
    extra = 0
    can_delete = False
    fields = ("masked", "state", "channel", "actor_label", "created_at", "activated_at", "ended_at")
    readonly_fields = fields
    ordering = ["-created_at"]
    verbose_name_plural = _("NemKonto versions")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("account"))
    def masked(self, obj: NemKonto) -> str:
        return obj.masked_account

    @admin.display(description=_("held because"))
    def held_because(self, obj: NemKonto) -> str:
        return ", ".join(obj.hold_reason_labels())


@admin.register(Recipient)
class RecipientAdmin(CprSearchMixin, ReadOnlyAdmin):
    """The register mirror: maintained by the register import, read here."""

    cpr_lookup = ""
    list_display = ["id_type", "shown_id", "name", "postcode", "city", "status"]
    list_filter = ["id_type", "status"]
    search_fields = ["=id_number", "=cvr", "name"]
    show_full_result_count = False
    inlines = [NemKontoInline]

    @admin.display(description=_("ID number"), ordering="id_number")
    def shown_id(self, obj: Recipient) -> str:
        return masked_id(obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            recipient = (
                Recipient.objects.filter(pk=object_id).first() if object_id.isdigit() else None
            )
            if recipient is not None and recipient.id_type == IdKind.CPR:
                _log_admin_lookup(request, recipient.id_number, ADMIN_VIEW, True)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(NemKonto)
class NemKontoAdmin(CprSearchMixin, ReadOnlyAdmin):
    list_display = [
        "recipient",
        "masked",
        "state",
        "channel",
        "actor_label",
        "authority",
        "created_at",
        "activated_at",
        "ended_at",
        "held_because",
    ]
    list_filter = ["state", "channel", "account_kind"]
    list_select_related = ["recipient", "authority"]
    search_fields = ["=recipient__id_number", "actor_label"]
    date_hierarchy = "created_at"
    actions = ["approve", "reject"]
    show_full_result_count = False

    @admin.display(description=_("account"))
    def masked(self, obj: NemKonto) -> str:
        return obj.masked_account

    @admin.display(description=_("held because"))
    def held_because(self, obj: NemKonto) -> str:
        return ", ".join(obj.hold_reason_labels())

    def _review(self, request: HttpRequest, queryset: QuerySet[NemKonto], approve: bool) -> None:
        done = 0
        for version in queryset.filter(state=NemKonto.State.HELD):
            try:
                nemkonto_review(actor=request.user, version=version, approve=approve)  # type: ignore[arg-type]
            except ApplicationError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            done += 1
        self.message_user(
            request,
            ngettext("%(n)d change reviewed.", "%(n)d changes reviewed.", done) % {"n": done},
        )

    @admin.action(description=_("Approve the selected changes held for review"))
    def approve(self, request: HttpRequest, queryset: QuerySet[NemKonto]) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected changes held for review"))
    def reject(self, request: HttpRequest, queryset: QuerySet[NemKonto]) -> None:
        self._review(request, queryset, approve=False)


@admin.register(SpecificAccount)
class SpecificAccountAdmin(CprSearchMixin, ReadOnlyAdmin):
    list_display = [
        "recipient",
        "authority",
        "benefit",
        "masked",
        "locked",
        "end_date",
        "state",
        "channel",
        "actor_label",
        "created_at",
        "ended_at",
    ]
    list_filter = ["state", "channel", "locked", "authority"]
    list_select_related = ["recipient", "authority", "benefit"]
    search_fields = ["=recipient__id_number", "benefit__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("account"))
    def masked(self, obj: SpecificAccount) -> str:
        return obj.masked_account


@admin.register(ActivationLetter)
class ActivationLetterAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "addressee_name",
        "authority",
        "status",
        "created_at",
        "expires_at",
        "attempts",
        "used_at",
        "pdf_link",
    ]
    list_filter = ["status"]
    list_select_related = ["nemkonto__authority"]
    exclude = ["code_salt", "code_hash"]
    actions = ["mark_printed", "mark_sent"]
    date_hierarchy = "created_at"

    @admin.display(description=_("addressee"))
    def addressee_name(self, obj: ActivationLetter) -> str:
        return obj.addressee.split("\n", 1)[0]

    @admin.display(description=_("authority"))
    def authority(self, obj: ActivationLetter) -> str:
        return str(obj.nemkonto.authority or "")

    @admin.display(description=_("letter (PDF)"))
    def pdf_link(self, obj: ActivationLetter) -> str:
        if not obj.pdf:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("registry-letter-pdf", args=[obj.pk]), _("PDF")
        )

    def _mark(
        self, request: HttpRequest, queryset: QuerySet[ActivationLetter], status: str
    ) -> None:
        changed = letters_mark(
            actor=request.user,  # type: ignore[arg-type]
            letter_ids=list(queryset.values_list("pk", flat=True)),
            status=status,
        )
        self.message_user(
            request,
            ngettext("%(n)d letter marked.", "%(n)d letters marked.", changed) % {"n": changed},
        )

    @admin.action(description=_("Mark the selected letters printed"))
    def mark_printed(self, request: HttpRequest, queryset: QuerySet[ActivationLetter]) -> None:
        self._mark(request, queryset, ActivationLetter.Status.PRINTED)

    @admin.action(description=_("Mark the selected letters sent"))
    def mark_sent(self, request: HttpRequest, queryset: QuerySet[ActivationLetter]) -> None:
        self._mark(request, queryset, ActivationLetter.Status.SENT)


@admin.register(LookupLog)
class LookupLogAdmin(ReadOnlyAdmin):
    """The look-up log. Searching it by CPR number compares keyed hashes, and is itself logged."""

    list_display = ["at", "actor_label", "authority", "channel", "purpose", "result"]
    list_filter = ["channel", "result"]
    list_select_related = ["authority"]
    search_fields = ["actor_label", "purpose"]
    date_hierarchy = "at"
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LookupLog], search_term: str
    ) -> tuple[QuerySet[LookupLog], bool]:
        cpr = _cpr_or_none(search_term)
        if cpr is None:
            return super().get_search_results(request, queryset, search_term)
        _log_admin_lookup(
            request,
            cpr,
            f"{ADMIN_SEARCH} ({LookupLog._meta.verbose_name_plural})",
            Recipient.objects.filter(id_type=IdKind.CPR, id_number=cpr).exists(),
        )
        return queryset.filter(id_hash=cpr_hash(cpr)), False


@admin.register(LookupAllowance)
class LookupAllowanceAdmin(ReadOnlyAdmin):
    """The look-up limits: who is close to or over their allowance, and who probed for numbers."""

    list_display = ["label", "tokens_now", "allowed", "misses", "refused", "updated_at"]
    list_filter = ["allowed"]
    search_fields = ["label"]
    actions = ["reset"]

    @admin.display(description=_("tokens now"))
    def tokens_now(self, allowance: LookupAllowance) -> str:
        return f"{allowance.balance():.1f} / {settings.NEMKONTO_LOOKUP_ALLOWANCE}"

    @admin.action(description=_("Give the selected callers their full allowance back"))
    def reset(self, request: HttpRequest, queryset: QuerySet[LookupAllowance]) -> None:
        assert isinstance(request.user, User)
        done = lookup_allowances_reset(
            actor=request.user, keys=list(queryset.values_list("key", flat=True))
        )
        self.message_user(
            request,
            ngettext("%(n)d allowance reset.", "%(n)d allowances reset.", done) % {"n": done},
        )


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "kind", "channel", "subject", "sent_at", "attempts"]
    list_filter = ["kind", "channel", ("sent_at", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    actions = ["send_now"]
    show_full_result_count = False

    @admin.action(description=_("Send the selected notices now"))
    def send_now(self, request: HttpRequest, queryset: QuerySet[Notice]) -> None:
        sent = notices_deliver(notice_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, ngettext("%(n)d notice sent.", "%(n)d notices sent.", sent) % {"n": sent}
        )


@admin.register(BankBulkJob)
class BankBulkJobAdmin(ReadOnlyAdmin):
    """Banks' bulk reports: status and counts (the rows are read through the API)."""

    list_display = (
        "id", "bank", "status", "received", "changed", "unchanged", "superseded", "rejected",
        "created_at", "finished_at",
    )  # fmt: skip
    list_filter = ("status", "bank")
    date_hierarchy = "created_at"
