"""The Django admin for operators: payments set-up (benefits, payment systems, agreements,
readiness). Every change goes through the services, exactly as from the API; so do the actions.

API clients are created, rotated and deactivated with ``manage.py create_api_client`` and the
services in ``accounts.api_clients`` (the admin of ``ApiClient`` is read-only).
"""

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from nemkonto.admin_support import ReadOnlyAdmin, ServiceAdmin, admin_actor, adopt_saved, run_each
from nemkonto.errors import ApplicationError
from payments import admin_pipeline, services  # noqa: F401 - admin_pipeline registers its admin
from payments.models import (
    BankAgreement,
    BankClosure,
    Benefit,
    ConnectionAgreement,
    PaymentSystem,
    Readiness,
    ReadinessConfirmation,
    error_account_normalise,
)
from payments.readiness import readiness_for, readiness_summary
from payments.test_script import test_script
from registry.identifiers import IdentifierError, parse_danish_account

ConnectionAgreementEvent = apps.get_model("payments", "ConnectionAgreementEvent")
Status = ConnectionAgreement.Status


@admin.register(BankClosure)
class BankClosureAdmin(admin.ModelAdmin):
    list_display = ("date", "reason", "created_by", "created_at")
    date_hierarchy = "date"
    search_fields = ("reason",)
    ordering = ("-date",)
    readonly_fields = ("created_by", "created_at")
    list_select_related = ("created_by",)

    def save_model(
        self, request: HttpRequest, obj: BankClosure, form: ModelForm, change: bool
    ) -> None:
        if not change and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


# --- Benefits ------------------------------------------------------------------------------


@admin.register(Benefit)
class BenefitAdmin(ServiceAdmin):
    list_display = ("code", "name", "authority", "is_active", "updated_at")
    list_filter = ("is_active", "authority")
    search_fields = ("code", "name", "authority__code", "authority__name")
    list_select_related = ("authority",)
    fields = ("authority", "code", "name", "is_active")
    actions = ("deactivate", "activate")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Payment systems send the code: it never changes, nor does the benefit's authority.
        return ("authority", "code") if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: payments refer to the code

    def save_model(self, request: HttpRequest, obj: Benefit, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.benefit_update(
                actor=admin_actor(request),
                benefit=obj,
                name=data["name"],
                is_active=data["is_active"],
            )
        else:
            adopt_saved(
                obj,
                services.benefit_create(
                    actor=admin_actor(request),
                    authority=data["authority"],
                    code=data["code"],
                    name=data["name"],
                    is_active=data["is_active"],
                ),
            )

    @admin.action(description=_("Deactivate selected benefits"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Benefit]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda b: services.benefit_update(
                actor=admin_actor(request), benefit=b, is_active=False
            ),
            gettext("%(count)d benefits deactivated."),
        )

    @admin.action(description=_("Activate selected benefits"))
    def activate(self, request: HttpRequest, queryset: QuerySet[Benefit]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda b: services.benefit_update(
                actor=admin_actor(request), benefit=b, is_active=True
            ),
            gettext("%(count)d benefits activated."),
        )


# --- Payment systems and connection agreements ---------------------------------------------


@admin.register(PaymentSystem)
class PaymentSystemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "vendor", "active_agreements")
    search_fields = ("code", "name", "vendor")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code", "created_at") if obj else ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentSystem]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                active=models.Count("agreements", filter=models.Q(agreements__status=Status.ACTIVE))
            )
        )

    @admin.display(description=_("active agreements"), ordering="active")
    def active_agreements(self, obj: Any) -> int:
        return int(obj.active)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgreementForm(forms.ModelForm):
    class Meta:
        model = ConnectionAgreement
        fields = (
            "authority",
            "payment_system",
            "failure_choice",
            "waiting_fallback",
            "error_account_reg",
            "error_account_number",
            "signed_at",
            "go_live_on",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the waiting account uses it; left out, it is "return".
        self.fields["waiting_fallback"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["waiting_fallback"] = (
            data.get("waiting_fallback") or ConnectionAgreement.WaitingFallback.RETURN
        )
        try:
            data["error_account_reg"], data["error_account_number"] = error_account_normalise(
                data.get("failure_choice", ""),
                data.get("error_account_reg", ""),
                data.get("error_account_number", ""),
                waiting_fallback=data.get("waiting_fallback", ""),
            )
        except ApplicationError as error:
            raise forms.ValidationError({error.field or "failure_choice": str(error)}) from None
        return data


class AgreementEventInline(admin.TabularInline):
    """The agreement's history (pghistory): every status and failure choice it has had."""

    model = ConnectionAgreementEvent
    fk_name = "pgh_obj"
    fields = (
        "pgh_created_at",
        "pgh_label",
        "changed_by",
        "status",
        "failure_choice",
        "waiting_fallback",
        "error_account_reg",
        "error_account_number",
    )
    readonly_fields = fields
    ordering = ("-pgh_id",)
    extra = 0
    can_delete = False
    verbose_name = _("history")
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("pgh_context")

    @admin.display(description=_("changed by"))
    def changed_by(self, event: Any) -> str:
        if not event.pgh_context_id:
            return "-"
        user_id = event.pgh_context.metadata.get("user")
        if user_id is None:
            return gettext("system")
        user = User.objects.filter(pk=user_id).first()
        return user.get_username() if user else str(user_id)


@admin.register(ConnectionAgreement)
class ConnectionAgreementAdmin(ServiceAdmin):
    form = AgreementForm
    list_display = (
        "authority",
        "payment_system",
        "status",
        "failure_choice",
        "go_live_on",
        "activated_at",
        "status_changed_at",
    )
    list_filter = ("status", "failure_choice", "payment_system")
    search_fields = ("authority__code", "authority__name", "payment_system__code")
    list_select_related = ("authority", "payment_system")
    inlines = (AgreementEventInline,)
    actions = ("move_to_test", "activate", "suspend", "terminate")
    change_form_template = "admin/payments/connectionagreement/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/go-live/",
                self.admin_site.admin_view(self.go_live_view),
                name="payments_connectionagreement_go_live",
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The change page of an agreement in test shows its test script and the authority's
        readiness checklist beside it, with the button that makes it active."""
        agreement = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if agreement is not None and agreement.in_test:
            items = readiness_for(agreement.authority)
            scenarios = test_script(agreement)
            extra.update(
                test_script=scenarios,
                test_script_passed=sum(s.passed for s in scenarios),
                readiness_items=items,
                **readiness_summary(items),
            )
        return super().change_view(request, object_id, form_url, extra)

    def go_live_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: make the agreement active (``agreement_advance``); a refusal, such as a test
        script not passed yet, is shown as an error on the change page."""
        agreement = self.get_object(request, object_id)
        if agreement is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, agreement):
            raise PermissionDenied
        try:
            services.agreement_advance(
                actor=admin_actor(request), agreement=agreement, to=Status.ACTIVE
            )
        except ApplicationError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("%(agreement)s is active.") % {"agreement": agreement},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(
            reverse("admin:payments_connectionagreement_change", args=[agreement.pk])
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        times = ("requested_at", "test_started_at", "activated_at", "status_changed_at")
        if obj is None:
            return ()
        # The pair and the status change only through the services (actions below).
        return ("authority", "payment_system", "status", "signed_at", *times)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = list(AgreementForm.Meta.fields)
        if obj is not None:
            fields[2:2] = ["status"]
            fields += ["requested_at", "test_started_at", "activated_at", "status_changed_at"]
        return tuple(fields)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # terminate instead; the history stays

    def save_model(
        self, request: HttpRequest, obj: ConnectionAgreement, form: ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            services.agreement_failure_choice_change(
                actor=admin_actor(request),
                agreement=obj,
                failure_choice=data["failure_choice"],
                error_account_reg=data["error_account_reg"],
                error_account_number=data["error_account_number"],
                waiting_fallback=data["waiting_fallback"],
            )
            services.agreement_go_live_change(
                actor=admin_actor(request), agreement=obj, go_live_on=data["go_live_on"]
            )
        else:
            adopt_saved(
                obj,
                services.agreement_request(
                    actor=admin_actor(request),
                    authority=data["authority"],
                    payment_system=data["payment_system"],
                    failure_choice=data["failure_choice"],
                    error_account_reg=data["error_account_reg"],
                    error_account_number=data["error_account_number"],
                    signed_at=data["signed_at"],
                    waiting_fallback=data["waiting_fallback"],
                    go_live_on=data["go_live_on"],
                ),
            )

    def _advance(
        self, request: HttpRequest, queryset: QuerySet[ConnectionAgreement], to: str, done: str
    ) -> None:
        run_each(
            self,
            request,
            queryset.select_related("authority", "payment_system"),
            lambda a: services.agreement_advance(actor=admin_actor(request), agreement=a, to=to),
            done,
        )

    @admin.action(description=_("Move to test"))
    def move_to_test(self, request: HttpRequest, queryset: QuerySet[ConnectionAgreement]) -> None:
        self._advance(request, queryset, Status.IN_TEST, gettext("%(count)d moved to test."))

    @admin.action(description=_("Activate"))
    def activate(self, request: HttpRequest, queryset: QuerySet[ConnectionAgreement]) -> None:
        self._advance(request, queryset, Status.ACTIVE, gettext("%(count)d activated."))

    @admin.action(description=_("Suspend"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[ConnectionAgreement]) -> None:
        self._advance(request, queryset, Status.SUSPENDED, gettext("%(count)d suspended."))

    @admin.action(description=_("Terminate"))
    def terminate(self, request: HttpRequest, queryset: QuerySet[ConnectionAgreement]) -> None:
        self._advance(request, queryset, Status.TERMINATED, gettext("%(count)d terminated."))


# --- Bank agreements -----------------------------------------------------------------------


def _parse_accounts(text: str) -> list[tuple[str, str]]:
    """One account a line, ``reg number`` (or ``reg-number``); blank lines are skipped."""
    accounts = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.replace("-", " ").split()
        if len(parts) != 2:
            raise forms.ValidationError(
                gettext("Line %(line)d: write the reg.nr. and the account number.")
                % {"line": line_no}
            )
        try:
            account = parse_danish_account(parts[0], parts[1])
        except IdentifierError as error:
            raise forms.ValidationError(
                gettext("Line %(line)d: %(error)s") % {"line": line_no, "error": error}
            ) from None
        accounts.append((account.reg, account.number))
    if not accounts:
        raise forms.ValidationError(gettext("Give at least one disbursement account."))
    return accounts


class BankAgreementForm(forms.ModelForm):
    accounts = forms.CharField(
        label=_("disbursement accounts"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One account a line: reg.nr. and account number, e.g. 3001 0001234567."),
    )

    class Meta:
        model = BankAgreement
        fields = ("authority", "bank", "number", "pays_from")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["accounts"].initial = "\n".join(
                f"{a.reg} {a.number}" for a in self.instance.disbursement_accounts.all()
            )

    def clean_accounts(self) -> list[tuple[str, str]]:
        return _parse_accounts(self.cleaned_data["accounts"])


@admin.register(BankAgreement)
class BankAgreementAdmin(ServiceAdmin):
    form = BankAgreementForm
    list_display = ("number", "authority", "bank", "pays_from", "accounts")
    list_filter = ("bank",)
    search_fields = ("number", "authority__code", "authority__name", "bank__reg")
    list_select_related = ("authority", "bank")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("authority",) if obj else ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[BankAgreement]:
        return super().get_queryset(request).prefetch_related("disbursement_accounts")

    @admin.display(description=_("disbursement accounts"))
    def accounts(self, obj: BankAgreement) -> str:
        return ", ".join(f"{a.reg} {a.number}" for a in obj.disbursement_accounts.all())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: BankAgreement, form: ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            services.bank_agreement_update(
                actor=admin_actor(request),
                bank_agreement=obj,
                bank=data["bank"],
                number=data["number"],
                pays_from=data["pays_from"],
                disbursement_accounts=data["accounts"],
            )
        else:
            adopt_saved(
                obj,
                services.bank_agreement_create(
                    actor=admin_actor(request),
                    authority=data["authority"],
                    bank=data["bank"],
                    number=data["number"],
                    pays_from=data["pays_from"],
                    disbursement_accounts=data["accounts"],
                ),
            )


# --- Readiness -----------------------------------------------------------------------------


@admin.register(ReadinessConfirmation)
class ReadinessConfirmationAdmin(ReadOnlyAdmin):
    """What local administrators have confirmed (they do so through the API)."""

    list_display = ("authority", "item", "confirmed_by", "confirmed_at", "note")
    list_filter = ("item",)
    search_fields = ("authority__code", "authority__name", "note")
    list_select_related = ("authority", "confirmed_by")


@admin.register(Readiness)
class ReadinessAdmin(ReadOnlyAdmin):
    """Each authority's checklist 1.1-1.11: /admin/payments/readiness/ and .../<code>/."""

    list_display = ("code", "name", "summary", "checklist")
    search_fields = ("code", "name")
    list_per_page = 25

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        authority = get_object_or_404(Readiness, pk=object_id)
        return HttpResponseRedirect(
            reverse("admin:payments_readiness_checklist", args=[authority.code])
        )

    @admin.display(description=_("items met"))
    def summary(self, obj: Readiness) -> str:
        counts = readiness_summary(readiness_for(obj))
        return f"{counts['met']} / {counts['total']}"

    @admin.display(description=_("checklist"))
    def checklist(self, obj: Readiness) -> str:
        url = reverse("admin:payments_readiness_checklist", args=[obj.code])
        return format_html('<a href="{}">{}</a>', url, gettext("Show"))

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<slug:code>/",
                self.admin_site.admin_view(self.checklist_view),
                name="payments_readiness_checklist",
            ),
        ]
        return own + super().get_urls()

    def checklist_view(self, request: HttpRequest, code: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        authority = get_object_or_404(Readiness, code=code)
        items = readiness_for(authority)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Readiness of %(authority)s") % {"authority": authority.name},
            "authority": authority,
            "items": items,
            **readiness_summary(items),
        }
        return TemplateResponse(request, "admin/payments/readiness.html", context)
