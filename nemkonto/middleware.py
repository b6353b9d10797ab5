"""Request middleware of the project: the language of machine clients (the API answers in Danish
only when asked, Accept-Language: da), and the refusal of NUL characters in addresses."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from nemkonto.problems import problem_response

API_PREFIXES = ("/api/", "/o/")


class ApiLanguageMiddleware:
    """After LocaleMiddleware: the portal defaults to Danish, the API to English (API.md)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        accepted = parse_accept_lang_header(request.headers.get("Accept-Language", ""))
        wanted = next((lang for lang, _q in accepted if lang.split("-")[0] in {"da", "en"}), "en")
        with translation.override(wanted.split("-")[0]):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class NulCharacterMiddleware:
    """Refuses a NUL character in the path or the query string (400, naming the parameter)
    before any view sees it.

    No address or filter of the system can carry one, and PostgreSQL cannot even compare a text
    with a NUL in it: a view that looked it up would fail with a server error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request)
        if where is None:
            return self.get_response(request)
        message = str(_("The address contains a NUL character."))
        if request.path.startswith(API_PREFIXES):
            error = {"field": where, "code": "nul_character", "message": message}
            return problem_response(400, "Bad request", message, [error])
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _nul_in(request: HttpRequest) -> str | None:
    """Where the request has a NUL: ``path``, the query parameter's name, or None."""
    if "\x00" in request.path:
        return "path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\ufffd")
    return None
