"""The admin of onboarding (imported by ``accounts.admin``): operators name coordinators and
decide connection and user requests. Approve and carry out are admin actions that call the
services; return asks for the reason on a page of its own first."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import ConnectionRequest, Coordinator, UserRequest, UserRequestLine
from accounts.onboarding_documents import connection_request_pdf
from accounts.onboarding_services import (
    connection_request_approve,
    connection_request_return,
    coordinator_appoint,
    coordinator_remove,
    user_request_carry_out,
    user_request_return,
)
from nemkonto.admin_support import ReadOnlyAdmin, ServiceAdmin, admin_actor, adopt_saved, run_each
from nemkonto.pdf_response import pdf_response


@admin.register(Coordinator)
class CoordinatorAdmin(ServiceAdmin):
    """The authorities' NemKonto coordinators: they may request connections."""

    list_display = ("user", "authority", "appointed_at")
    list_filter = ("authority",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "authority__name")
    autocomplete_fields = ("user",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a coordinator is appointed or removed, never moved

    def save_model(self, request: HttpRequest, obj: Coordinator, form: Any, change: bool) -> None:
        adopt_saved(
            obj,
            coordinator_appoint(actor=admin_actor(request), authority=obj.authority, user=obj.user),
        )

    def delete_model(self, request: HttpRequest, obj: Coordinator) -> None:
        coordinator_remove(actor=admin_actor(request), coordinator=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Coordinator]) -> None:
        for coordinator in queryset:
            coordinator_remove(actor=admin_actor(request), coordinator=coordinator)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for returning"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        help_text=_("The requester sees it in the portal and corrects the request."),
    )


def _return_with_reason(
    admin_: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    service: Any,
) -> HttpResponse | None:
    """The return action: a page asking for the reason, then the service for each request."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        actor = admin_actor(request)
        reason = form.cleaned_data["reason"]
        run_each(
            admin_,
            request,
            queryset,
            lambda obj: service(actor=actor, request=obj, reason=reason),
            gettext("%(count)d requests returned."),
        )
        return None
    context = {
        **admin_.admin_site.each_context(request),
        "title": gettext("Return the requests"),
        "opts": admin_.model._meta,
        "queryset": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/accounts/return_requests.html", context)


@admin.register(ConnectionRequest)
class ConnectionRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "authority",
        "system_label",
        "new_system",
        "go_live_on",
        "status",
        "submitted_at",
        "pdf_link",
    )
    list_filter = ("status", "new_system")
    search_fields = ("authority__name", "authority__code", "system_name", "bank_agreement_number")
    list_select_related = ("authority", "payment_system")
    actions = ["approve", "return_requests"]

    @admin.display(description=_("payment system"))
    def system_label(self, obj: ConnectionRequest) -> str:
        return obj.system_label

    @admin.display(description=_("document"))
    def pdf_link(self, obj: ConnectionRequest) -> str:
        url = reverse("admin:accounts_connectionrequest_pdf", args=[obj.pk])
        return format_html('<a href="{}">PDF</a>', url)

    @admin.action(description=_("Approve: make the agreements and start the test or activation"))
    def approve(self, request: HttpRequest, queryset: QuerySet[ConnectionRequest]) -> None:
        actor = admin_actor(request)
        run_each(
            self,
            request,
            queryset,
            lambda obj: connection_request_approve(actor=actor, request=obj),
            gettext("%(count)d requests approved."),
        )

    @admin.action(description=_("Return to the requester with a reason"))
    def return_requests(
        self, request: HttpRequest, queryset: QuerySet[ConnectionRequest]
    ) -> HttpResponse | None:
        return _return_with_reason(self, request, queryset, connection_request_return)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="accounts_connectionrequest_pdf",
            )
        ]
        return own + super().get_urls()

    def pdf_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        found = get_object_or_404(ConnectionRequest, pk=object_id)
        return pdf_response(
            request, connection_request_pdf(found), f"tilslutningsanmodning-{found.pk}.pdf"
        )


class UserRequestLineInline(admin.TabularInline):
    model = UserRequestLine
    extra = 0
    can_delete = False
    fields = ("action", "role_profile", "unit")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UserRequest)
class UserRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "authority", "kind", "user_label", "status", "submitted_at")
    list_filter = ("status", "kind")
    search_fields = ("authority__name", "username", "user__username", "last_name")
    list_select_related = ("authority", "user")
    inlines = [UserRequestLineInline]
    actions = ["carry_out", "return_requests"]

    @admin.display(description=_("user"))
    def user_label(self, obj: UserRequest) -> str:
        return obj.user_label

    @admin.action(description=_("Carry out: create the user and grant the role profiles"))
    def carry_out(self, request: HttpRequest, queryset: QuerySet[UserRequest]) -> None:
        actor = admin_actor(request)
        run_each(
            self,
            request,
            queryset,
            lambda obj: user_request_carry_out(actor=actor, request=obj),
            gettext("%(count)d requests carried out."),
        )

    @admin.action(description=_("Return to the requester with a reason"))
    def return_requests(
        self, request: HttpRequest, queryset: QuerySet[UserRequest]
    ) -> HttpResponse | None:
        return _return_with_reason(self, request, queryset, user_request_return)


__all__ = ["ConnectionRequestAdmin", "CoordinatorAdmin", "UserRequestAdmin"]
