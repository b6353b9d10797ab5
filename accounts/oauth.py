"""Scopes per kind of API client (API.md, Conventions): a client gets its own kind's scope only.

Set ``OAUTH2_PROVIDER["SCOPES_BACKEND_CLASS"] = "accounts.oauth.ApiClientScopes"``. The token
endpoint then refuses any other scope with ``invalid_scope``, and a token requested without a
scope gets the client's own one.

``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"] = "accounts.oauth.ApiClientValidator"`` also refuses
any token to an OAuth2 application that is not an active API client (``unauthorized_client``):
one registered by hand, or a deactivated client.
"""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes

from accounts.models import ApiClient

SCOPE_BY_KIND: dict[str, str] = {
    ApiClient.Kind.PAYMENT_SYSTEM: "payments",
    ApiClient.Kind.AUTHORITY: "resolve",
    ApiClient.Kind.BANK: "bank",
}


def scopes_for(application: Any) -> list[str]:
    """The scopes an OAuth2 application may hold: its API client's kind's, none when it is not
    an active API client (an application made by hand, or a deactivated client)."""
    try:
        client = application.api_client
    except ApiClient.DoesNotExist:
        return []
    if not client.is_active:
        return []
    return [SCOPE_BY_KIND[client.kind]]


class ApiClientScopes(SettingsScopes):
    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            # Asked for the server's list (metadata views), not for one client.
            return list(super().get_available_scopes(application, request, *args, **kwargs))
        return scopes_for(application)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return []
        return scopes_for(application)


class ApiClientValidator(OAuth2Validator):
    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not scopes_for(request.client):
            return False
        return bool(
            super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)
        )
