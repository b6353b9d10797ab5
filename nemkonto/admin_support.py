"""Plumbing shared by the apps' Django admins: every change goes through the services, so a
service's refusal (``ApplicationError``) is shown as a message, never as a server error.

Domain apps (accounts, payments, registry) import these from here rather than from each other.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accounts.models import User
from nemkonto.errors import ApplicationError


def admin_actor(request: HttpRequest) -> User:
    """The logged-in operator of an admin request."""
    assert isinstance(request.user, User)
    return request.user


def adopt_saved(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved ``obj`` the row a service created (for the redirect and log)."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def run_each(
    admin_: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    service: Callable[[Any], object],
    done: str,
) -> None:
    """An admin action: the service once per selected row, each in its own transaction."""
    succeeded = 0
    for obj in queryset:
        try:
            service(obj)
        except ApplicationError as error:
            admin_.message_user(request, f"{obj}: {error}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        admin_.message_user(request, done % {"count": succeeded}, messages.SUCCESS)


class ServiceAdmin(admin.ModelAdmin):
    """A refusal by a service (raised while saving) rolls the whole form back and is shown as a
    message instead of a server error."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().changelist_view(request, extra_context)
        except ApplicationError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdmin(admin.ModelAdmin):
    """History, logs and rows managed elsewhere: viewing only (no add, change or delete).

    Admin actions still work: they call services, not the admin's save or delete.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
