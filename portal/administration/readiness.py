"""The authority's readiness checklist, items 1.1 to 1.11 (DOMAIN.md section 7), for its local
administrators. Items the data tells are computed (``payments.readiness``); the others are
confirmed or withdrawn here by a local administrator of the whole authority, through
``payments.services.readiness_confirm`` / ``readiness_withdraw``."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.functions import Function
from nemkonto.errors import ApplicationError
from payments.readiness import readiness_for, readiness_summary
from payments.selectors import is_local_admin_of
from payments.services import readiness_confirm, readiness_withdraw
from portal.access import function_required
from portal.administration.common import actor_of, authority_of, crumbs
from portal.administration.forms import ReadinessConfirmForm


@function_required(Function.LOCAL_ADMINISTRATION)
def checklist(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    authority = authority_of(actor)
    items = readiness_for(authority)
    context = {
        "authority": authority,
        "items": items,
        "summary": readiness_summary(items),
        "can_confirm": is_local_admin_of(user=actor, authority=authority),
        "form": ReadinessConfirmForm(),
        "section": "administration",
        "crumbs": crumbs(("", _("Readiness checklist"))),
    }
    return render(request, "portal/administration/readiness.html", context)


@require_POST
@function_required(Function.LOCAL_ADMINISTRATION)
def checklist_item(request: HttpRequest, item: str) -> HttpResponse:
    """Confirm an item (with an optional note), or withdraw its confirmation (``withdraw``)."""
    actor = actor_of(request)
    authority = authority_of(actor)
    form = ReadinessConfirmForm(request.POST)
    try:
        if "withdraw" in request.POST:
            readiness_withdraw(actor=actor, authority=authority, item=item)
            messages.success(request, _("Item %(item)s is no longer confirmed.") % {"item": item})
        elif form.is_valid():
            readiness_confirm(
                actor=actor, authority=authority, item=item, note=form.cleaned_data["note"]
            )
            messages.success(request, _("Item %(item)s is confirmed.") % {"item": item})
        else:
            messages.error(
                request,
                _("Item %(item)s is not confirmed: %(errors)s")
                % {"item": item, "errors": " ".join(str(e) for e in form.errors.get("note", []))},
            )
    except ApplicationError as error:
        messages.error(request, str(error))
    return redirect("portal:administration:readiness")
