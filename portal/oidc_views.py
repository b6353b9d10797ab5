"""The log-in and log-out pages: the OpenID Connect flow of ``portal.oidc`` in thin views.

``/log-ind/`` offers MitID (citizens) and MitID Erhverv (businesses and authority staff); each
button starts the flow at the broker; the broker sends the user back to ``/log-ind/svar/``, where
state, PKCE and the ID token are checked before the claims are mapped to a user. ``/log-ud/``
(POST) clears our session, then sends the user to the broker's end-session endpoint (RP-initiated
logout) so the log-in ends there too.
"""

import logging
import time

import requests
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from joserfc.errors import JoseError

from accounts.models import User
from portal.oidc import (
    SESSION_ID_TOKEN,
    SESSION_METHOD,
    LoginRefused,
    Method,
    broker,
    login_user_for_claims,
    logout_audit,
)
from portal.session_limit import SESSION_STARTED

logger = logging.getLogger(__name__)

# Keys of the state data Authlib keeps in the session for one log-in attempt.
STATE_METHOD = "nk_method"
STATE_NEXT = "nk_next"


def _default_language_url(name: str) -> str:
    """A URL without language prefix: the broker knows the exact callback and logout URLs."""
    with translation.override(settings.LANGUAGE_CODE):
        return reverse(name)


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` if it is a URL of this site, else empty."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _landing(user: object) -> str:
    """Where a user goes after logging in when no page asked for the log-in: their own start."""
    kind = getattr(user, "kind", "")
    if kind == User.Kind.EMPLOYEE:
        return reverse("portal:caseworker:home")
    if kind in (User.Kind.CITIZEN, User.Kind.BUSINESS):
        return reverse("portal:citizen:overview")
    return reverse(settings.LOGIN_REDIRECT_URL)


def _login_page(
    request: HttpRequest, *, error: str = "", status: int = 200, next_url: str = ""
) -> HttpResponse:
    crumbs = [(reverse("portal:home"), _("Front page")), ("", _("Log in"))]
    return render(
        request,
        "portal/login.html",
        {
            "crumbs": crumbs,
            "error": error,
            "next": next_url or request.GET.get("next", ""),
            "idle_minutes": settings.SESSION_COOKIE_AGE // 60,
            "local_provider": settings.NEMKONTO_DEMO_DATA_ALLOWED,
        },
        status=status,
    )


@require_GET
def login_page(request: HttpRequest) -> HttpResponse:
    """The choice between MitID and MitID Erhverv (operators go to the admin's own log-in)."""
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")) or _landing(request.user))
    return _login_page(request)


@require_GET
def login_start(request: HttpRequest, method: str) -> HttpResponse:
    """Send the user to the broker with a fresh state, nonce and PKCE verifier."""
    chosen = Method(method)
    next_url = _safe_next(request, request.GET.get("next"))
    callback = request.build_absolute_uri(_default_language_url("portal:login-callback"))
    try:
        client = broker()
        created = client.create_authorization_url(
            callback,
            acr_values=chosen.acr,
            ui_locales=translation.get_language() or settings.LANGUAGE_CODE,
        )
    except (requests.RequestException, LoginRefused) as exc:
        logger.warning("OIDC broker unavailable at the start of a log-in: %s", exc)
        return _login_page(request, error=_unavailable(), status=503, next_url=next_url)
    # Authlib keeps state, nonce, PKCE verifier and redirect URI in the session under the state;
    # the chosen button and where to go afterwards are kept with them.
    client.save_authorize_data(
        request,
        redirect_uri=callback,
        **created,
        **{STATE_METHOD: str(chosen), STATE_NEXT: next_url},
    )
    return HttpResponseRedirect(created["url"])


def _unavailable() -> str:
    return _("The log-in service is not answering. Please try again in a few minutes.")


def _not_verified() -> str:
    return _("The log-in could not be verified. Please start again.")


@require_GET
def login_callback(request: HttpRequest) -> HttpResponse:
    """The broker's answer: check state, exchange the code (PKCE), verify the ID token (signature,
    issuer, audience, expiry, nonce), map the claims to a user and log them in."""
    try:
        client = broker()
    except (requests.RequestException, LoginRefused) as exc:
        logger.warning("OIDC broker unavailable at the callback: %s", exc)
        return _login_page(request, error=_unavailable(), status=503)
    state = request.GET.get("state", "")
    attempt = client.framework.get_state_data(request.session, state) if state else None
    if not isinstance(attempt, dict):
        logger.warning("OIDC callback with an unknown state")
        return _login_page(request, error=_not_verified(), status=400)
    if request.GET.get("error"):
        client.framework.clear_state_data(request.session, state)
        messages.info(request, _("The log-in was cancelled."))
        return redirect("portal:login")
    try:
        token = client.authorize_access_token(request)
    except (OAuthError, JoseError, requests.RequestException, ValueError) as exc:
        logger.warning("OIDC log-in failed: %s", exc)
        return _login_page(request, error=_not_verified(), status=400)
    claims = token.get("userinfo")
    if not token.get("id_token") or not claims:
        logger.warning("OIDC token answer without an ID token")
        return _login_page(request, error=_not_verified(), status=400)
    method = Method(attempt[STATE_METHOD])
    try:
        user = login_user_for_claims(claims=claims, method=method)
    except LoginRefused as refusal:
        return _login_page(request, error=str(refusal), status=403)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_ID_TOKEN] = token["id_token"]
    request.session[SESSION_METHOD] = str(method)
    request.session[SESSION_STARTED] = time.time()
    return redirect(_safe_next(request, attempt.get(STATE_NEXT)) or _landing(user))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out here, then at the broker (RP-initiated logout) if it has an end-session endpoint."""
    id_token = request.session.get(SESSION_ID_TOKEN)
    if isinstance(request.user, User) and request.user.is_authenticated:
        logout_audit(user=request.user)
    logout(request)
    messages.success(request, _("You are logged out."))
    home = request.build_absolute_uri(_default_language_url("portal:home"))
    if not id_token:
        return redirect("portal:home")
    try:
        client = broker()
        if not client.load_server_metadata().get("end_session_endpoint"):
            return redirect("portal:home")
        end_session = client.create_logout_url(
            post_logout_redirect_uri=home,
            id_token_hint=id_token,
            client_id=settings.NEMKONTO_OIDC_CLIENT_ID,
            ui_locales=translation.get_language() or settings.LANGUAGE_CODE,
        )
    except (requests.RequestException, LoginRefused) as exc:
        logger.warning("OIDC broker unavailable at log-out; logged out here only: %s", exc)
        return redirect("portal:home")
    return HttpResponseRedirect(end_session["url"])
