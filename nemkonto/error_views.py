"""Django's error pages, answered as problem details under the API's paths (API.md, Errors):
an address no API route matches (an ID that is not a number, say) is a 404 problem document
there, as every other API error is; the portal keeps Django's pages."""

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views import defaults

from nemkonto.middleware import API_PREFIXES
from nemkonto.problems import problem_response


def _problem(request: HttpRequest, status: int, detail: str) -> HttpResponse | None:
    if not request.path.startswith(API_PREFIXES):
        return None
    return problem_response(status, HTTPStatus(status).phrase, detail)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    problem = _problem(request, 400, _("The request is malformed."))
    return problem or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    problem = _problem(request, 403, _("You do not have permission to do this."))
    return problem or defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    problem = _problem(request, 404, _("There is nothing at this address."))
    return problem or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    problem = _problem(request, 500, _("Something went wrong on our side."))
    return problem or defaults.server_error(request)
