"""Control lists (*kontrollister*) for the authority's local administrator, from data the system
keeps anyway:

- account changes: every NemKonto and specific-account change made by the authority's
  caseworkers or to its specific accounts (``registry.selectors.control_list``, also as CSV from
  the API);
- role profiles: who holds which profile on which LOS unit (the grants the administrator sees);
- grants without recent use: grants of employees who have not logged in for a while, or are
  deactivated, so that powers nobody uses can be taken back;
- administrative changes: what the authority's users changed (the audit trail: users, grants,
  benefits, readiness, stopped payments, ...).
"""

import datetime
from typing import Any

from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.functions import Function
from accounts.models import AuditEvent
from accounts.selectors import audit_event_list, employee_list, grant_list
from portal.access import function_required
from portal.administration.common import actor_of, authority_of, crumbs
from portal.administration.forms import ChangesForm, PeriodForm, UnusedGrantsForm
from registry.selectors import control_list, control_list_authority

ROWS_PER_PAGE = 100
LOCAL_ADMINISTRATION = Function.LOCAL_ADMINISTRATION

# Names of the audited actions a local administrator meets (others are shown by their code).
ACTIONS = {
    "employee_create": gettext_lazy("User created"),
    "employee_deactivate": gettext_lazy("User deactivated"),
    "employee_reactivate": gettext_lazy("User reactivated"),
    "grant_create": gettext_lazy("Role profile granted"),
    "grant_revoke": gettext_lazy("Role profile revoked"),
    "los_unit_create": gettext_lazy("LOS unit created"),
    "los_unit_update": gettext_lazy("LOS unit changed"),
    "los_unit_move": gettext_lazy("LOS unit moved"),
    "los_unit_close": gettext_lazy("LOS unit closed"),
    "benefit.create": gettext_lazy("Benefit created"),
    "benefit.update": gettext_lazy("Benefit changed"),
    "readiness.confirm": gettext_lazy("Readiness item confirmed"),
    "readiness.withdraw": gettext_lazy("Readiness confirmation withdrawn"),
    "payment.stop": gettext_lazy("Payments stopped"),
    "agreement.failure_choice_change": gettext_lazy("Failure choice changed"),
    "specific_account.create": gettext_lazy("Specific account created"),
}

# The events of the account control list (registry.selectors.control_list).
ACCOUNT_EVENTS = {
    "requested": gettext_lazy("Change requested (awaits activation)"),
    "activated": gettext_lazy("Activated by the recipient"),
    "created": gettext_lazy("Created"),
    "changed": gettext_lazy("Changed"),
    "deleted": gettext_lazy("Deleted"),
    "expired": gettext_lazy("Expired"),
}


def _period(form: PeriodForm) -> tuple[datetime.date, datetime.date] | None:
    if not form.is_valid():
        return None
    return form.cleaned_data["date_from"], form.cleaned_data["date_to"]


def _page(request: HttpRequest, rows: Any) -> Any:
    return Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("side"))


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("side", None)
    return query.urlencode()


@function_required(LOCAL_ADMINISTRATION)
def index(request: HttpRequest) -> HttpResponse:
    context = {"section": "administration", "crumbs": crumbs(("", _("Control lists")))}
    return render(request, "portal/administration/control_lists.html", context)


def _list_crumb() -> tuple[str, str]:
    return (reverse("portal:administration:control-lists"), _("Control lists"))


@function_required(LOCAL_ADMINISTRATION)
def account_changes(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    authority = control_list_authority(actor=actor, code=authority_of(actor).code)
    form = PeriodForm(request.GET)
    period = _period(form)
    rows = []
    csv_url = ""
    if period is not None:
        rows = [
            {"row": row, "event": ACCOUNT_EVENTS.get(row.event.split(":")[0], row.event)}
            for row in control_list(authority=authority, date_from=period[0], date_to=period[1])
        ]
        csv_url = (
            reverse("registry-control-list", args=[authority.code])
            + "?"
            + (f"from={period[0].isoformat()}&to={period[1].isoformat()}")
        )
    title = _("Account changes")
    context = {
        "form": form,
        "period": period,
        "page": _page(request, rows),
        "query": _query(request),
        "csv_url": csv_url,
        "title": title,
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", title)),
    }
    return render(request, "portal/administration/control_account_changes.html", context)


@function_required(LOCAL_ADMINISTRATION)
def role_profiles(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    grants = grant_list(actor=actor).order_by("unit__path", "role_profile__name", "user__username")
    title = _("Role profiles per LOS unit")
    context = {
        "page": _page(request, grants),
        "query": _query(request),
        "title": title,
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", title)),
    }
    return render(request, "portal/administration/control_role_profiles.html", context)


@function_required(LOCAL_ADMINISTRATION)
def unused_grants(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = UnusedGrantsForm(request.GET or None)
    days = form.cleaned_data["days"] if form.is_valid() else 90
    since = timezone.now() - datetime.timedelta(days=days)
    grants = (
        grant_list(actor=actor)
        .filter(
            Q(user__last_login__lt=since)
            | Q(user__last_login__isnull=True)
            | Q(user__is_active=False)
        )
        .order_by(F("user__last_login").asc(nulls_first=True), "user__username", "unit__path")
    )
    title = _("Grants without recent use")
    context = {
        "form": form,
        "days": days,
        "page": _page(request, grants),
        "query": _query(request),
        "title": title,
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", title)),
    }
    return render(request, "portal/administration/control_unused_grants.html", context)


def _details(event: AuditEvent) -> str:
    """The audit record's details as one line (scalar values; lists and objects summarised)."""
    parts = []
    for key, value in (event.data or {}).items():
        if isinstance(value, list | dict):
            value = ", ".join(str(v) for v in value) if isinstance(value, list) else len(value)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


@function_required(LOCAL_ADMINISTRATION)
def changes(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    authority = authority_of(actor)
    form = ChangesForm(request.GET, users=employee_list(actor=actor))
    period = _period(form)
    page = None
    rows: list[dict[str, Any]] = []
    if period is not None:
        start = datetime.datetime.combine(period[0], datetime.time.min)
        end = datetime.datetime.combine(period[1] + datetime.timedelta(days=1), datetime.time.min)
        events = audit_event_list(actor=actor).filter(
            actor__authority=authority,
            at__gte=timezone.make_aware(start),
            at__lt=timezone.make_aware(end),
        )
        if form.cleaned_data.get("user") is not None:
            events = events.filter(actor=form.cleaned_data["user"])
        page = _page(request, events)
        rows = [
            {
                "event": event,
                "action": ACTIONS.get(event.action, event.action),
                "details": _details(event),
            }
            for event in page.object_list
        ]
    title = _("Changes made by the authority's users")
    context = {
        "form": form,
        "period": period,
        "page": page,
        "rows": rows,
        "query": _query(request),
        "title": title,
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", title)),
    }
    return render(request, "portal/administration/control_changes.html", context)
