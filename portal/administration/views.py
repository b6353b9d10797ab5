"""The administration's front page: the sections the employee may use, nothing else."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.functions import Function
from portal.access import function_required, has_function
from portal.administration.common import actor_of


@function_required(Function.MAINTAIN_BENEFITS, Function.LOCAL_ADMINISTRATION)
def index(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "benefits": has_function(actor, Function.MAINTAIN_BENEFITS),
        "local_admin": has_function(actor, Function.LOCAL_ADMINISTRATION),
        "section": "administration",
        "crumbs": [(reverse("portal:home"), _("Front page")), ("", _("Administration"))],
    }
    return render(request, "portal/administration/index.html", context)
