"""Users and role-profile grants, for the authority's local administrator (function *local
administration*, NKS-Lokal-Admin): the same services as the API (``accounts.services``), which
check the administrator's scope themselves; a refusal is shown and nothing changes."""

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.functions import Function
from accounts.models import LosUnit, User
from accounts.selectors import employee_get, employee_list, grant_get, grant_list, role_profile_list
from accounts.selectors import unit_tree as admin_unit_tree
from accounts.services import (
    employee_create,
    employee_deactivate,
    employee_reactivate,
    grant_create,
    grant_revoke,
)
from nemkonto.errors import ApplicationError, NotFound
from portal.access import function_required
from portal.administration.common import actor_of, authority_of, crumbs
from portal.administration.forms import (
    EmployeeCreateForm,
    EmployeeSearchForm,
    GrantForm,
    show_error,
)

LOCAL_ADMINISTRATION = Function.LOCAL_ADMINISTRATION
USERS_PER_PAGE = 50


def _open_units(actor: User) -> QuerySet[LosUnit]:
    return admin_unit_tree(actor=actor).filter(closed_at__isnull=True)


def _grant_form(actor: User, data: Any = None) -> GrantForm:
    return GrantForm(data, profiles=role_profile_list(actor=actor), units=_open_units(actor))


def _employee(actor: User, user_id: int) -> User:
    try:
        return employee_get(actor=actor, user_id=user_id)
    except NotFound:
        raise Http404 from None


def _list_crumb() -> tuple[str, str]:
    return (reverse("portal:administration:users"), _("Users"))


@function_required(LOCAL_ADMINISTRATION)
def user_index(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = EmployeeSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(employee_list(actor=actor, search=search), USERS_PER_PAGE).get_page(
        request.GET.get("side")
    )
    query = request.GET.copy()
    query.pop("side", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "section": "administration",
        "crumbs": crumbs(("", _("Users"))),
    }
    return render(request, "portal/administration/users.html", context)


@function_required(LOCAL_ADMINISTRATION)
def user_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = EmployeeCreateForm(
        request.POST or None, profiles=role_profile_list(actor=actor), units=_open_units(actor)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        first_grant = [(data["role_profile"], data["unit"])] if data["role_profile"] else []
        try:
            user = employee_create(
                actor=actor,
                authority=authority_of(actor),
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                grants=first_grant,
            )
        except ApplicationError as error:
            show_error(form, error)
        else:
            messages.success(
                request, _("The user %(username)s is created.") % {"username": user.username}
            )
            return redirect("portal:administration:user", user_id=user.pk)
    context = {
        "form": form,
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", _("New user"))),
    }
    return render(request, "portal/administration/user_new.html", context)


def _user_page(
    request: HttpRequest, actor: User, user: User, grant_form: GrantForm
) -> HttpResponse:
    name = user.get_full_name() or user.username
    context = {
        "employee": user,
        "grants": grant_list(actor=actor, user_id=user.pk).order_by("unit__path", "role_profile"),
        "grant_form": grant_form,
        "is_self": user.pk == actor.pk,
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", name)),
    }
    return render(request, "portal/administration/user.html", context)


@function_required(LOCAL_ADMINISTRATION)
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = actor_of(request)
    return _user_page(request, actor, _employee(actor, user_id), _grant_form(actor))


@require_POST
@function_required(LOCAL_ADMINISTRATION)
def grant_new(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = actor_of(request)
    user = _employee(actor, user_id)
    form = _grant_form(actor, request.POST)
    if form.is_valid():
        try:
            grant = grant_create(actor=actor, user=user, **form.cleaned_data)
        except ApplicationError as error:
            show_error(form, error)
        else:
            messages.success(
                request,
                _("%(user)s now has %(profile)s on %(unit)s.")
                % {"user": user.username, "profile": grant.role_profile, "unit": grant.unit},
            )
            return redirect("portal:administration:user", user_id=user.pk)
    return _user_page(request, actor, user, form)


@require_POST
@function_required(LOCAL_ADMINISTRATION)
def grant_remove(request: HttpRequest, grant_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        grant = grant_get(actor=actor, grant_id=grant_id)
    except NotFound:
        raise Http404 from None
    try:
        grant_revoke(actor=actor, grant=grant)
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(profile)s on %(unit)s is taken from %(user)s.")
            % {"user": grant.user.username, "profile": grant.role_profile, "unit": grant.unit},
        )
    return redirect("portal:administration:user", user_id=grant.user_id)


@require_POST
@function_required(LOCAL_ADMINISTRATION)
def user_active(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate (``active=0``) or reactivate (``active=1``) an employee."""
    actor = actor_of(request)
    user = _employee(actor, user_id)
    reactivate = request.POST.get("active") == "1"
    try:
        if reactivate:
            employee_reactivate(actor=actor, user=user)
        else:
            employee_deactivate(actor=actor, user=user)
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        text = (
            _("%(user)s is active again, with the role profiles they had.")
            if reactivate
            else _("%(user)s is deactivated and can no longer log in.")
        )
        messages.success(request, text % {"user": user.username})
    return redirect("portal:administration:user", user_id=user.pk)
