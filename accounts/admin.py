"""The Django admin for operators: every change goes through the services, so it is checked and
audited exactly as from the API; admin actions call the services too."""

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.functions import Function
from accounts.models import (
    ApiClient,
    AuditEvent,
    Authority,
    Bank,
    DataChange,
    Grant,
    LosUnit,
    RoleProfile,
    User,
)
from nemkonto.admin_support import ReadOnlyAdmin, ServiceAdmin, admin_actor, adopt_saved, run_each
from nemkonto.errors import ApplicationError
from registry.identifiers import IdentifierError, parse_cvr

LosUnitEvent = apps.get_model("accounts", "LosUnitEvent")


# --- Authorities --------------------------------------------------------------------------------


class AuthorityForm(forms.ModelForm):
    class Meta:
        model = Authority
        fields = ("code", "name", "kind", "cvr", "is_active")

    def clean_cvr(self) -> str:
        try:
            return parse_cvr(self.cleaned_data["cvr"]).number
        except IdentifierError as error:
            raise error.as_validation_error() from None


@admin.register(Authority)
class AuthorityAdmin(ServiceAdmin):
    form = AuthorityForm
    list_display = ("code", "name", "kind", "cvr", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "cvr")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The code is what payment systems and API clients send; it never changes.
        return ("code", "created_at") if obj else ()

    def save_model(
        self, request: HttpRequest, obj: Authority, form: ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            services.authority_update(
                actor=admin_actor(request),
                authority=obj,
                name=data["name"],
                kind=data["kind"],
                cvr=data["cvr"],
                is_active=data["is_active"],
            )
        else:
            created = services.authority_create(
                actor=admin_actor(request),
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                cvr=data["cvr"],
            )
            if not data["is_active"]:
                created = services.authority_update(
                    actor=admin_actor(request), authority=created, is_active=False
                )
            adopt_saved(obj, created)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # authorities are deactivated, never deleted (their history refers to them)


# --- LOS units ----------------------------------------------------------------------------------


class LosUnitForm(forms.ModelForm):
    class Meta:
        model = LosUnit
        fields = ("authority", "parent", "code", "name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        authority, parent = data.get("authority"), data.get("parent")
        if self.instance.pk:
            authority = self.instance.authority
        if parent is not None and authority is not None and parent.authority_id != authority.pk:
            self.add_error("parent", _("The parent unit belongs to another authority."))
        if parent is not None and self.instance.pk and parent.path.startswith(self.instance.path):
            self.add_error("parent", _("A unit cannot be moved under itself."))
        return data


@admin.register(LosUnit)
class LosUnitAdmin(ServiceAdmin):
    form = LosUnitForm
    list_display = ("tree_name", "authority", "path", "closed_at")
    list_filter = ("authority", ("closed_at", admin.EmptyFieldListFilter))
    search_fields = ("code", "name", "path")
    ordering = ("authority__name", "path")
    list_select_related = ("authority",)
    autocomplete_fields = ("parent",)
    actions = ("close_units",)

    @admin.display(description=_("unit"), ordering="path")
    def tree_name(self, unit: LosUnit) -> str:
        depth = unit.path.count("/") - 2
        return f"{'— ' * depth}{unit.code} {unit.name}"

    @admin.display(description=_("history"))
    def history_link(self, unit: LosUnit) -> str:
        url = reverse("admin:accounts_losunitevent_changelist")
        return format_html('<a href="{}?pgh_obj={}">{}</a>', url, unit.pk, gettext("Versions"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("authority", "path", "closed_at", "created_at", "history_link")

    def save_model(self, request: HttpRequest, obj: LosUnit, form: ModelForm, change: bool) -> None:
        data, actor = form.cleaned_data, admin_actor(request)
        if not change:
            created = services.los_unit_create(
                actor=actor,
                authority=data["authority"],
                parent=data["parent"],
                code=data["code"],
                name=data["name"],
            )
            adopt_saved(obj, created)
            return
        unit = services.los_unit_update(actor=actor, unit=obj, code=data["code"], name=data["name"])
        if "parent" in form.changed_data:
            unit = services.los_unit_move(actor=actor, unit=obj, new_parent=data["parent"])
        adopt_saved(obj, unit)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # units are closed, never deleted

    @admin.action(description=_("Close selected units"))
    def close_units(self, request: HttpRequest, queryset: QuerySet[LosUnit]) -> None:
        # Deepest first, so that a unit and its sub-units can be closed together.
        units = sorted(queryset, key=lambda unit: unit.path.count("/"), reverse=True)
        succeeded = 0
        for unit in units:
            try:
                services.los_unit_close(actor=admin_actor(request), unit=unit)
            except ApplicationError as error:
                self.message_user(request, f"{unit}: {error}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(
                request, gettext("%(count)d units closed.") % {"count": succeeded}, messages.SUCCESS
            )


@admin.register(LosUnitEvent)
class LosUnitEventAdmin(ReadOnlyAdmin):
    """The recorded versions of LOS units (pghistory): moves, renames and closings."""

    list_display = (
        "pgh_created_at",
        "pgh_label",
        "pgh_obj_id",
        "code",
        "name",
        "parent_id",
        "path",
        "closed_at",
        "context",
    )
    list_filter = ("pgh_label",)
    ordering = ("-pgh_id",)

    @admin.display(description=_("context"))
    def context(self, event: Any) -> str:
        return str(event.pgh_context.metadata) if event.pgh_context_id else ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("pgh_context")

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        return lookup == "pgh_obj" or super().lookup_allowed(lookup, value, request)


# --- Users --------------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(ServiceAdmin, DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "kind", "authority", "is_active")
    list_filter = ("kind", "authority", "is_active", "is_staff")
    list_select_related = ("authority",)
    search_fields = ("username", "first_name", "last_name", "email", "recipient_id")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("NemKonto"), {"fields": ("kind", "authority", "recipient_type", "recipient_id")}),
    )
    add_fieldsets = (
        *(DjangoUserAdmin.add_fieldsets or ()),
        (_("NemKonto"), {"fields": ("kind", "authority")}),
    )
    actions = ("deactivate_users", "reactivate_users")

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        services.user_admin_save(
            actor=admin_actor(request), user=obj, created=not change, changed=form.changed_data
        )

    @admin.action(description=_("Deactivate selected users"))
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda user: services.employee_deactivate(actor=admin_actor(request), user=user),
            gettext("%(count)d users deactivated."),
        )

    @admin.action(description=_("Reactivate selected users"))
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda user: services.employee_reactivate(actor=admin_actor(request), user=user),
            gettext("%(count)d users reactivated."),
        )


# --- Role profiles and grants -------------------------------------------------------------------


def _function_permissions() -> QuerySet[Permission]:
    return Permission.objects.filter(
        content_type__app_label="accounts",
        content_type__model="losunit",
        codename__in=Function.values,
    )


@admin.register(RoleProfile)
class RoleProfileAdmin(ServiceAdmin):
    list_display = ("name", "code", "is_standard", "function_list")
    list_filter = ("is_standard",)
    search_fields = ("code", "name")
    filter_horizontal = ("functions",)
    fields = ("code", "name", "description", "functions", "is_standard")
    readonly_fields = ("is_standard",)

    @admin.display(description=_("functions"))
    def function_list(self, profile: RoleProfile) -> str:
        return ", ".join(str(Function(p.codename).label) for p in profile.functions.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoleProfile]:
        return super().get_queryset(request).prefetch_related("functions")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code", "is_standard") if obj else ("is_standard",)

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:
        if db_field.name == "functions":
            kwargs["queryset"] = _function_permissions()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_standard:
            return False  # the standard profiles are shipped as they are
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_standard:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: RoleProfile, form: ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            saved = services.role_profile_update(
                actor=admin_actor(request),
                profile=obj,
                name=data["name"],
                description=data["description"],
                functions=list(data["functions"]),
            )
        else:
            saved = services.role_profile_create(
                actor=admin_actor(request),
                code=data["code"],
                name=data["name"],
                description=data["description"],
                functions=list(data["functions"]),
            )
        adopt_saved(obj, saved)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        pass  # the service has set the functions (and resynced the grants' permissions)

    def delete_model(self, request: HttpRequest, obj: RoleProfile) -> None:
        services.role_profile_delete(actor=admin_actor(request), profile=obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RoleProfile]) -> None:
        for profile in queryset:
            services.role_profile_delete(actor=admin_actor(request), profile=profile)


class GrantForm(forms.ModelForm):
    class Meta:
        model = Grant
        fields = ("user", "role_profile", "unit")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, unit = data.get("user"), data.get("unit")
        if user is not None and unit is not None:
            if user.kind != User.Kind.EMPLOYEE or user.authority_id != unit.authority_id:
                self.add_error("user", _("The user is not an employee of the unit's authority."))
            elif not user.is_active:
                self.add_error("user", _("The user is deactivated."))
        if unit is not None and not unit.is_open:
            self.add_error("unit", _("The unit is closed."))
        return data


@admin.register(Grant)
class GrantAdmin(ServiceAdmin):
    """Grants are given and revoked, never edited: add calls grant_create, delete grant_revoke."""

    form = GrantForm
    list_display = ("user", "role_profile", "unit", "granted_by", "granted_at")
    list_filter = ("role_profile", "unit__authority")
    list_select_related = ("user", "role_profile", "unit", "granted_by")
    search_fields = ("user__username", "user__last_name", "unit__code", "unit__name")
    autocomplete_fields = ("user", "unit")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("user", "role_profile", "unit", "granted_by", "granted_at") if obj else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Grant, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        created = services.grant_create(
            actor=admin_actor(request),
            user=data["user"],
            role_profile=data["role_profile"],
            unit=data["unit"],
        )
        adopt_saved(obj, created)

    def delete_model(self, request: HttpRequest, obj: Grant) -> None:
        services.grant_revoke(actor=admin_actor(request), grant=obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Grant]) -> None:
        for grant in queryset:
            services.grant_revoke(actor=admin_actor(request), grant=grant)


# --- Audit, banks, API clients ------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "target_type", "target_id", "authority")
    list_filter = ("action", "target_type", "authority")
    search_fields = ("actor_label", "action", "target_id")
    list_select_related = ("authority",)
    date_hierarchy = "at"


@admin.register(DataChange)
class DataChangeAdmin(ReadOnlyAdmin):
    """Every statement that changed a tracked table, with who and what was behind it."""

    list_display = ("at", "table_name", "operation", "actor_label", "channel", "source")
    list_filter = ("table_name", "operation", "channel")
    search_fields = ("actor_label", "source", "source_id")
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(Bank)
class BankAdmin(ServiceAdmin):
    list_display = ("reg", "bic", "name")
    search_fields = ("reg", "bic", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("reg",) if obj else ()

    def save_model(self, request: HttpRequest, obj: Bank, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.bank_update(
                actor=admin_actor(request), bank=obj, bic=data["bic"], name=data["name"]
            )
        else:
            saved = services.bank_create(
                actor=admin_actor(request), reg=data["reg"], bic=data["bic"], name=data["name"]
            )
        adopt_saved(obj, saved)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "authority", "payment_system", "bank", "is_active")
    # The callback secret signs webhooks; it is shown once to the client, never here.
    exclude = ("callback_secret",)
    list_filter = ("kind", "is_active")
    list_select_related = ("application", "authority", "payment_system", "bank")


# Coordinators, connection requests and user requests (issue 10) have an admin module of their own.
import accounts.onboarding_admin  # noqa: E402, F401
