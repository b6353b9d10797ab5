"""Server-rendered pages of the citizen and caseworker portal."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from payments.return_codes import RETURN_CODES


def home(request: HttpRequest) -> HttpResponse:
    """The front page: what NemKonto is and where each kind of user goes next."""
    return render(request, "portal/home.html")


def about(request: HttpRequest) -> HttpResponse:
    """Information about NemKonto: the page the standard wording in letters points to."""
    crumbs = [(reverse("portal:home"), _("Front page")), ("", _("About NemKonto"))]
    return render(
        request,
        "portal/about.html",
        {"crumbs": crumbs, "return_codes": list(RETURN_CODES.values())},
    )
