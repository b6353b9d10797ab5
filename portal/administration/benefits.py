"""Maintain the authority's benefits (*ydelser*): function *maintain benefits* (NKS-Ydelser).

Benefits belong to the whole authority, so changing them needs the profile on every open unit
(``payments.selectors.can_maintain_benefits``, checked again by the services); a holder on a
branch of the tree sees the list without the buttons, and the forms answer 404.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.functions import Function
from accounts.models import User
from nemkonto.errors import ApplicationError, NotFound
from payments.selectors import benefit_get, benefit_list, can_maintain_benefits
from payments.services import benefit_create, benefit_update
from portal.access import function_required
from portal.administration.common import actor_of, authority_of, crumbs
from portal.administration.forms import BenefitCreateForm, BenefitUpdateForm, show_error


def _editor(request: HttpRequest) -> User:
    actor = actor_of(request)
    if not can_maintain_benefits(user=actor, authority=authority_of(actor)):
        raise Http404
    return actor


def _list_crumb() -> tuple[str, str]:
    return (reverse("portal:administration:benefits"), _("Benefits"))


@function_required(Function.MAINTAIN_BENEFITS)
def benefit_index(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    authority = authority_of(actor)
    context = {
        "benefits": benefit_list(actor=actor, authority=authority),
        "can_edit": can_maintain_benefits(user=actor, authority=authority),
        "authority": authority,
        "section": "administration",
        "crumbs": crumbs(("", _("Benefits"))),
    }
    return render(request, "portal/administration/benefits.html", context)


@function_required(Function.MAINTAIN_BENEFITS)
def benefit_new(request: HttpRequest) -> HttpResponse:
    actor = _editor(request)
    form = BenefitCreateForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            benefit = benefit_create(
                actor=actor, authority=authority_of(actor), **form.cleaned_data
            )
        except ApplicationError as error:
            show_error(form, error)
        else:
            messages.success(
                request, _("The benefit %(code)s is created.") % {"code": benefit.code}
            )
            return redirect("portal:administration:benefits")
    context = {
        "form": form,
        "title": _("New benefit"),
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", _("New benefit"))),
    }
    return render(request, "portal/administration/benefit_form.html", context)


@function_required(Function.MAINTAIN_BENEFITS)
def benefit_edit(request: HttpRequest, code: str) -> HttpResponse:
    actor = _editor(request)
    try:
        benefit = benefit_get(actor=actor, authority=authority_of(actor), code=code)
    except NotFound:
        raise Http404 from None
    form = BenefitUpdateForm(
        request.POST or None, initial={"name": benefit.name, "is_active": benefit.is_active}
    )
    if request.method == "POST" and form.is_valid():
        try:
            benefit_update(actor=actor, benefit=benefit, **form.cleaned_data)
        except ApplicationError as error:
            show_error(form, error)
        else:
            messages.success(request, _("The benefit %(code)s is saved.") % {"code": code})
            return redirect("portal:administration:benefits")
    title = _("Benefit %(code)s") % {"code": benefit.code}
    context = {
        "form": form,
        "benefit": benefit,
        "title": title,
        "section": "administration",
        "crumbs": crumbs(_list_crumb(), ("", title)),
    }
    return render(request, "portal/administration/benefit_form.html", context)
