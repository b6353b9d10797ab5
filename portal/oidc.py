"""Log-in with OpenID Connect, the way MitID and MitID Erhverv brokers work.

The portal is an OpenID Connect relying party of one broker (``NEMKONTO_OIDC_*`` settings): the
authorization code flow with PKCE (S256), a state and a nonce per attempt (kept in the session by
Authlib and checked on the way back), and an ID token whose signature (the broker's JWKS), issuer,
audience, expiry and nonce are verified before any claim is read.

The verified claims are mapped to our user (``login_user_for_claims``):

- **MitID** (citizens): the CPR claim. The person must be in the register mirror; their citizen
  login is created on the first log-in and acts as that CPR number.
- **MitID Erhverv**: the CVR claim. An employee of the authority with that CVR whose username is
  the employee claim (``NEMKONTO_OIDC_CLAIM_EMPLOYEE``) logs in as that existing user; authority
  employees are never created from claims (the local administrator creates them). Anyone else
  with a CVR number in the register logs in as that business (read-only pages).
- Operators do not log in here: they keep the Django admin's own log-in.

Every log-in is audited (``accounts.audit``) in the transaction that finds or creates the user.
"""

import enum
import functools
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Authority, User
from registry.identifiers import IdKind
from registry.models import Recipient

logger = logging.getLogger(__name__)

# Session keys of a logged-in portal user.
SESSION_ID_TOKEN = "nk_oidc_id_token"  # noqa: S105 - a session key
SESSION_METHOD = "nk_oidc_method"


class Method(enum.StrEnum):
    """The two buttons of the log-in page."""

    MITID = "mitid"  # citizens
    MITID_ERHVERV = "mitid-erhverv"  # businesses and authority employees

    @property
    def acr(self) -> str:
        if self is Method.MITID:
            return str(settings.NEMKONTO_OIDC_ACR_CITIZEN)
        return str(settings.NEMKONTO_OIDC_ACR_BUSINESS)

    @property
    def label(self) -> str:
        return "MitID" if self is Method.MITID else "MitID Erhverv"


class LoginRefused(Exception):
    """The provider's answer is valid but does not give access; the message is for the user."""


@functools.cache
def _client(
    issuer: str, client_id: str, client_secret: str, scope: str, timeout: float
) -> DjangoOAuth2App:
    oauth = OAuth()
    client = oauth.register(
        name="broker",
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={
            "scope": scope,
            "code_challenge_method": "S256",
            "default_timeout": timeout,
        },
    )
    assert isinstance(client, DjangoOAuth2App)
    return client


def broker() -> DjangoOAuth2App:
    """The Authlib client of the configured broker, its metadata loaded and its issuer checked.

    Raises ``requests.RequestException`` when the broker does not answer, and ``LoginRefused``
    when its discovery document names another issuer than the configured one.
    """
    issuer = settings.NEMKONTO_OIDC_ISSUER
    client = _client(
        issuer,
        settings.NEMKONTO_OIDC_CLIENT_ID,
        settings.NEMKONTO_OIDC_CLIENT_SECRET,
        settings.NEMKONTO_OIDC_SCOPE,
        settings.NEMKONTO_OIDC_TIMEOUT_SECONDS,
    )
    metadata = client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != issuer:
        logger.error("OIDC discovery names issuer %r, expected %r", metadata.get("issuer"), issuer)
        raise LoginRefused(_("The log-in service is misconfigured. Please try again later."))
    return client


def _claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    return str(value).strip() if value is not None else ""


def _split_name(name: str) -> tuple[str, str]:
    first, _sep, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def _recipient_login(recipient: Recipient, kind: str) -> tuple[User, bool]:
    """The citizen or business login of a recipient in the register, created on first use."""
    user = User.objects.filter(
        kind=kind, recipient_type=recipient.id_type, recipient_id=recipient.id_number
    ).first()
    if user is not None:
        if not user.is_active:
            raise LoginRefused(_("Your log-in to NemKonto is blocked. Please contact support."))
        return user, False
    if kind == User.Kind.CITIZEN:
        first_name, last_name = _split_name(recipient.name)
        username = f"borger-{secrets.token_hex(6)}"
    else:
        first_name, last_name = recipient.name[:150], ""
        username = f"virksomhed-{recipient.id_number}"
    user = User.objects.create_user(
        username,
        first_name=first_name[:150],
        last_name=last_name[:150],
        kind=kind,
        recipient_type=recipient.id_type,
        recipient_id=recipient.id_number,
    )
    return user, True


def _citizen(claims: Mapping[str, Any]) -> tuple[User, bool]:
    cpr = _claim(claims, settings.NEMKONTO_OIDC_CLAIM_CPR).replace("-", "")
    if not cpr:
        raise LoginRefused(
            _("MitID did not tell us a CPR number. Log in as a business with MitID Erhverv.")
        )
    recipient = Recipient.objects.filter(id_type=IdKind.CPR, id_number=cpr).first()
    if recipient is None:
        logger.warning("OIDC log-in refused: CPR not in the register")
        raise LoginRefused(
            _(
                "Your CPR number is not in the register that NemKonto uses, so you cannot log "
                "in here. Please contact support if you think this is wrong."
            )
        )
    return _recipient_login(recipient, User.Kind.CITIZEN)


def _employee_or_business(claims: Mapping[str, Any]) -> tuple[User, bool]:
    cvr = _claim(claims, settings.NEMKONTO_OIDC_CLAIM_CVR)
    if not cvr:
        raise LoginRefused(
            _("MitID Erhverv did not tell us a CVR number. Citizens log in with MitID.")
        )
    authority = Authority.objects.filter(cvr=cvr).first()
    employee_id = _claim(claims, settings.NEMKONTO_OIDC_CLAIM_EMPLOYEE)
    if authority is not None and employee_id:
        employee = User.objects.filter(
            kind=User.Kind.EMPLOYEE, authority=authority, username=employee_id
        ).first()
        if employee is not None:
            if not employee.is_active or not authority.is_active:
                raise LoginRefused(
                    _(
                        "Your user at %(authority)s is deactivated. Please ask your local "
                        "administrator."
                    )
                    % {"authority": authority.name}
                )
            return employee, False
    recipient = Recipient.objects.filter(id_type=IdKind.CVR, id_number=cvr).first()
    if recipient is None:
        logger.warning("OIDC log-in refused: CVR %s neither an authority's employee nor known", cvr)
        raise LoginRefused(
            _(
                "Your organisation (CVR %(cvr)s) is not in the register that NemKonto uses, "
                "and you are not registered as a caseworker. Authority staff are created by "
                "their local administrator."
            )
            % {"cvr": cvr}
        )
    return _recipient_login(recipient, User.Kind.BUSINESS)


@transaction.atomic
def login_user_for_claims(*, claims: Mapping[str, Any], method: Method) -> User:
    """The user the verified ID token's claims log in as (created for a first-time citizen or
    business), with the log-in audited; raises ``LoginRefused`` with a message for the user."""
    if method is Method.MITID:
        user, created = _citizen(claims)
    else:
        user, created = _employee_or_business(claims)
    audit_record(
        actor=user,
        action="login",
        target=user,
        authority=user.authority,
        data={"method": str(method), "kind": user.kind, "created": created},
    )
    return user


def logout_audit(*, user: User) -> None:
    """Record that a user logged out (before the session is cleared)."""
    audit_record(actor=user, action="logout", target=user, authority=user.authority)
