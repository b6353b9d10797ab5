"""Who may call the registry's machine endpoints.

- Look-ups (``/recipients/...``, ``/resolve``): an authority's client with scope ``resolve``, or
  a payment system's client with scope ``payments`` whose connection agreement is active; both
  act for the client's authority.
- Bank reports (``PUT /nemkonto/...``): a bank's client with scope ``bank``.
- The phone menu (``POST /activation``): the telephony provider, by a shared secret in the
  ``X-Telephony-Key`` header (``NEMKONTO_TELEPHONY_KEY``; the endpoint is closed while unset).
  There is no OAuth2 client kind for telephony (API clients are payment systems, authorities
  and banks); one provider with one secret is the simplest honest design. The provider cannot
  do more than a caller with the letter could: each letter allows a few attempts only.
"""

import hmac

from django.conf import settings
from django.utils.translation import gettext as _
from oauth2_provider.models import AbstractAccessToken
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import ApiClient
from nemkonto.errors import PermissionDenied
from payments.models import ConnectionAgreement

TELEPHONY_HEADER = "X-Telephony-Key"


def request_client(request: Request) -> ApiClient:
    """The API client of a request that passed ``LookupClient`` or ``BankClient``."""
    client = getattr(request, "registry_client", None)
    if not isinstance(client, ApiClient):
        raise RuntimeError("LookupClient or BankClient must guard this view")
    return client


def _token_client(request: Request, purpose: str) -> tuple[AbstractAccessToken, ApiClient] | None:
    token = request.auth
    if not isinstance(token, AbstractAccessToken):
        if request.successful_authenticator is None:
            return None  # DRF answers 401 with WWW-Authenticate: Bearer
        raise PermissionDenied(
            _("This endpoint is for %(who)s: use an OAuth2 client-credentials token.")
            % {"who": purpose},
            code="client_required",
        )
    client = (
        ApiClient.objects.select_related("authority", "bank", "payment_system", "application")
        .filter(application_id=token.application_id)
        .first()
    )
    if client is None:
        raise PermissionDenied(
            _("The token does not belong to an API client."), code="client_required"
        )
    if not client.is_active:
        raise PermissionDenied(_("The API client is deactivated."), code="client_inactive")
    return token, client


class LookupClient(BasePermission):
    """Scope ``resolve`` (authority client) or ``payments`` (payment system, active agreement)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        found = _token_client(request, _("authorities and payment systems"))
        if found is None:
            return False
        token, client = found
        if client.kind == ApiClient.Kind.AUTHORITY and token.allow_scopes(["resolve"]):
            pass
        elif client.kind == ApiClient.Kind.PAYMENT_SYSTEM and token.allow_scopes(["payments"]):
            active = ConnectionAgreement.objects.filter(
                authority=client.authority,
                payment_system=client.payment_system,
                status=ConnectionAgreement.Status.ACTIVE,
            ).exists()
            if not active:
                raise PermissionDenied(
                    _("The payment system's connection agreement is not active."),
                    code="agreement_not_active",
                )
        else:
            raise PermissionDenied(
                _("Look-ups need a token with the scope resolve (or payments)."),
                code="insufficient_scope",
            )
        request.registry_client = client  # type: ignore[attr-defined]
        return True


class BankClient(BasePermission):
    """A bank's client with scope ``bank``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        found = _token_client(request, _("banks"))
        if found is None:
            return False
        token, client = found
        if client.kind != ApiClient.Kind.BANK or not token.allow_scopes(["bank"]):
            raise PermissionDenied(
                _("Only banks (a token with the scope bank) can report NemKonti."),
                code="insufficient_scope",
            )
        request.registry_client = client  # type: ignore[attr-defined]
        return True


class TelephonyProvider(BasePermission):
    """The ``X-Telephony-Key`` header equals ``NEMKONTO_TELEPHONY_KEY`` (constant-time)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        expected = str(getattr(settings, "NEMKONTO_TELEPHONY_KEY", "") or "")
        given = request.headers.get(TELEPHONY_HEADER, "")
        if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise PermissionDenied(
                _("This endpoint is for the telephony provider (header %(header)s).")
                % {"header": TELEPHONY_HEADER},
                code="telephony_key_required",
            )
        return True
