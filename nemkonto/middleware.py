"""Language of machine clients: the API answers in Danish only when asked (Accept-Language: da)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

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
