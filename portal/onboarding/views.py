"""Onboarding pages (DOMAIN.md section 7), under /tilslutning/: the authority's connection
requests (for its coordinator and local administrators), user requests (for every employee),
and its agreements with their test scripts and readiness checklist. Thin views over
``accounts.onboarding_services`` and ``accounts.onboarding_selectors``; operators decide the
requests in the Django admin."""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from accounts.models import Authority, ConnectionRequest, User
from accounts.onboarding_documents import connection_request_pdf
from accounts.onboarding_selectors import (
    can_request_connection,
    can_request_users,
    connection_request_get,
    connection_request_list,
    user_request_get,
    user_request_list,
)
from accounts.onboarding_services import (
    ConnectionRequestData,
    connection_request_resubmit,
    connection_request_submit,
    user_request_submit,
)
from nemkonto.errors import ApplicationError, NotFound
from nemkonto.pdf_response import pdf_response
from payments.models import ConnectionAgreement
from payments.readiness import readiness_for, readiness_summary
from payments.test_script import AgreementTestScript, test_script
from portal.caseworker.forms import add_service_error
from portal.documents.views import pdf_policy
from portal.onboarding.forms import ConnectionKindForm, ConnectionRequestForm, UserRequestForm

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _authority(actor: User) -> Authority:
    assert actor.authority is not None
    return actor.authority


def _allowed(check: Callable[..., bool]) -> Callable[[View[P]], View[P]]:
    """Log-in required; then 404 unless ``check(user=..., authority=...)`` holds for the user
    and their own authority (a page they may not use does not exist for them)."""

    def decorator(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            user = request.user
            if not (
                isinstance(user, User)
                and user.authority is not None
                and check(user=user, authority=user.authority)
            ):
                raise Http404
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


connection_access = _allowed(can_request_connection)
employee_access = _allowed(can_request_users)


def _crumbs(*trail: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        (reverse("portal:home"), _("Front page")),
        (reverse("portal:onboarding:index"), _("Connection and users")),
        *trail,
    ]


@employee_access
def index(request: HttpRequest) -> HttpResponse:
    """The authority's connection requests (if the user may make them) and user requests."""
    actor = _actor(request)
    may_connect = can_request_connection(user=actor, authority=_authority(actor))
    context = {
        "may_connect": may_connect,
        "connection_requests": connection_request_list(actor=actor),
        "user_requests": user_request_list(actor=actor),
        "section": "onboarding",
        "crumbs": [(reverse("portal:home"), _("Front page")), ("", _("Connection and users"))],
    }
    return render(request, "portal/onboarding/index.html", context)


# --- Connection requests ----------------------------------------------------------------------


def _summary(data: ConnectionRequestData) -> list[tuple[str, str]]:
    """What the requester confirms, as rows of (what, value)."""
    choices = dict(ConnectionAgreement.FailureChoice.choices)
    fallbacks = dict(ConnectionAgreement.WaitingFallback.choices)
    rows = [
        (
            _("Connection"),
            _("New system, tested before it goes live")
            if data.new_system
            else _("Already connected for other authorities: only activated"),
        ),
        (
            _("Payment system"),
            " ".join(
                filter(None, [data.system_name, data.system_vendor and f"({data.system_vendor})"])
            )
            if data.new_system
            else str(data.payment_system),
        ),
        (_("LOS units"), ", ".join(str(unit) for unit in data.units)),
        (_("Bank"), str(data.bank)),
        (_("Bank agreement number"), data.bank_agreement_number),
        (
            _("Disbursement account"),
            f"{data.disbursement_reg}-{data.disbursement_number}"
            if data.disbursement_number
            else _("as registered with the bank agreement"),
        ),
        (_("Failure choice"), str(choices[data.failure_choice])),
    ]
    if data.failure_choice == ConnectionAgreement.FailureChoice.WAITING:
        rows.append((_("After the waiting account"), str(fallbacks[data.waiting_fallback])))
    if data.error_account_number:
        rows.append((_("Error account"), f"{data.error_account_reg}-{data.error_account_number}"))
    assert data.go_live_on is not None
    rows += [
        (_("Planned go-live date"), formats.date_format(data.go_live_on, "DATE_FORMAT")),
        (
            _("Contact person"),
            f"{data.contact_name}, {data.contact_email}, {data.contact_phone}",
        ),
        (
            _("Technical contact"),
            f"{data.technical_name}, {data.technical_email}, {data.technical_phone}",
        ),
    ]
    return rows


def _request_steps(
    request: HttpRequest, existing: ConnectionRequest | None, title: str
) -> HttpResponse:
    """Step 1 (new requests only) asks whether the system is connected elsewhere; step 2 is the
    form; step 3 the summary to confirm, which posts the same fields again (hidden)."""
    actor = _actor(request)
    authority = _authority(actor)
    context: dict[str, Any] = {
        "title": title,
        "existing": existing,
        "section": "onboarding",
        "crumbs": _crumbs(("", title)),
    }
    if request.method == "POST":
        form = ConnectionRequestForm(request.POST, authority=authority)
        context["form"] = form
        step = request.POST.get("step")
        if form.is_valid():
            if step == "confirm":
                try:
                    if existing is None:
                        saved = connection_request_submit(
                            actor=actor, authority=authority, data=form.data_checked
                        )
                    else:
                        saved = connection_request_resubmit(
                            actor=actor, request=existing, data=form.data_checked
                        )
                except ApplicationError as error:
                    add_service_error(form, error)
                else:
                    messages.success(
                        request,
                        _("The connection request no. %(number)s is submitted.")
                        % {"number": saved.pk},
                    )
                    return redirect("portal:onboarding:request", request_id=saved.pk)
            elif step != "edit":
                context["summary"] = _summary(form.data_checked)
                return render(request, "portal/onboarding/request_confirm.html", context)
        return render(request, "portal/onboarding/request_form.html", context)
    if existing is not None:
        context["form"] = ConnectionRequestForm(
            initial=ConnectionRequestForm.initial_from(existing), authority=authority
        )
        return render(request, "portal/onboarding/request_form.html", context)
    kind = ConnectionKindForm(request.GET or None)
    if kind.is_bound and kind.is_valid():
        context["form"] = ConnectionRequestForm(
            initial={"connection": kind.cleaned_data["connection"]}, authority=authority
        )
        return render(request, "portal/onboarding/request_form.html", context)
    context["form"] = kind
    return render(request, "portal/onboarding/request_kind.html", context)


@connection_access
def request_new(request: HttpRequest) -> HttpResponse:
    return _request_steps(request, None, _("New connection request"))


def _own_request(request: HttpRequest, request_id: int) -> ConnectionRequest:
    try:
        return connection_request_get(actor=_actor(request), request_id=request_id)
    except NotFound:
        raise Http404 from None


@connection_access
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    found = _own_request(request, request_id)
    title = _("Connection request no. %(number)s") % {"number": found.pk}
    context = {
        "connection_request": found,
        "units": list(found.units.order_by("path")),
        "title": title,
        "section": "onboarding",
        "crumbs": _crumbs(("", title)),
    }
    return render(request, "portal/onboarding/request_detail.html", context)


@connection_access
def request_correct(request: HttpRequest, request_id: int) -> HttpResponse:
    """Correct a returned request and submit it again."""
    found = _own_request(request, request_id)
    if found.status != ConnectionRequest.Status.RETURNED:
        raise Http404
    title = _("Correct connection request no. %(number)s") % {"number": found.pk}
    return _request_steps(request, found, title)


@connection_access
@pdf_policy
def request_pdf(request: HttpRequest, request_id: int) -> HttpResponse:
    found = _own_request(request, request_id)
    pdf = connection_request_pdf(found, language=request.LANGUAGE_CODE)
    return pdf_response(request, pdf, f"tilslutningsanmodning-{found.pk}.pdf")


# --- Agreements, test scripts and readiness ----------------------------------------------------


@connection_access
def agreements(request: HttpRequest) -> HttpResponse:
    """Each agreement's status and go-live date, the test script of those in test, and the
    authority's readiness checklist."""
    authority = _authority(_actor(request))
    rows = [
        AgreementTestScript(
            agreement=agreement,
            scenarios=test_script(agreement)
            if agreement.status == ConnectionAgreement.Status.IN_TEST
            else [],
        )
        for agreement in ConnectionAgreement.objects.filter(authority=authority)
        .select_related("payment_system")
        .order_by("payment_system__name")
    ]
    items = readiness_for(authority)
    context = {
        "authority": authority,
        "rows": rows,
        "items": items,
        "summary": readiness_summary(items),
        "section": "onboarding",
        "crumbs": _crumbs(("", _("Agreements and go-live"))),
    }
    return render(request, "portal/onboarding/agreements.html", context)


# --- User requests ----------------------------------------------------------------------------


@employee_access
def user_request_new(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    authority = _authority(actor)
    form = UserRequestForm(request.POST or None, authority=authority)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = user_request_submit(
                actor=actor,
                authority=authority,
                kind=data["kind"],
                user=data["user"],
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                note=data["note"],
                lines=form.lines(),
            )
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, _("The user request no. %(number)s is submitted.") % {"number": saved.pk}
            )
            return redirect("portal:onboarding:user-request", request_id=saved.pk)
    title = _("New user request")
    context = {
        "form": form,
        "title": title,
        "section": "onboarding",
        "crumbs": _crumbs(("", title)),
    }
    return render(request, "portal/onboarding/user_request_form.html", context)


@employee_access
def user_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    try:
        found = user_request_get(actor=_actor(request), request_id=request_id)
    except NotFound:
        raise Http404 from None
    title = _("User request no. %(number)s") % {"number": found.pk}
    context = {
        "user_request": found,
        "title": title,
        "section": "onboarding",
        "crumbs": _crumbs(("", title)),
    }
    return render(request, "portal/onboarding/user_request_detail.html", context)
