"""Server-rendered pages of the citizen and caseworker portal."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The front page: what NemKonto is and where each kind of user goes next."""
    return render(request, "portal/home.html")
