"""The absolute limit of a log-in session.

Idle sessions end by themselves: the session cookie and the stored session live
``SESSION_COOKIE_AGE`` seconds, renewed on every request (``SESSION_SAVE_EVERY_REQUEST``). A busy
session would live for ever that way, so this middleware notes when the user logged in and logs
them out ``NEMKONTO_SESSION_MAX_SECONDS`` later, whatever they are doing (portal and admin).
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

SESSION_STARTED = "nk_login_at"


class SessionLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED)
            if started is None:
                request.session[SESSION_STARTED] = now
            elif now - float(started) > settings.NEMKONTO_SESSION_MAX_SECONDS:
                logout(request)
                messages.info(
                    request, _("Your session has ended for your security. Please log in again.")
                )
        return self.get_response(request)
