"""OAuth2 client-credentials clients of the REST API (API.md, Conventions).

Each client is a django-oauth-toolkit ``Application`` (confidential, client credentials) with an
``ApiClient`` saying what it is bound to. DOT stores the secret hashed, so the plaintext is only
ever seen in the answer of ``api_client_create`` and ``api_client_rotate_secret``.
``actor=None`` is the command line (``manage.py create_api_client``), trusted like an operator.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_application_model

from accounts.audit import audit_record
from accounts.models import ApiClient, Authority, Bank, User
from accounts.oauth import SCOPE_BY_KIND
from accounts.selectors import is_operator
from nemkonto.errors import Conflict, PermissionDenied, ValidationFailed
from payments.models import ConnectionAgreement, PaymentSystem

Application = get_application_model()

# A payment system gets its credentials when its test begins; the agreement's status decides
# what the client may do (``payments.api_permissions.PaymentSystemClient``).
CLIENT_AGREEMENT_STATUSES = (ConnectionAgreement.Status.IN_TEST, ConnectionAgreement.Status.ACTIVE)


@dataclass(frozen=True)
class ApiClientCredentials:
    """What the client's operator must be told once: the secret cannot be read back later."""

    api_client: ApiClient
    client_id: str
    client_secret: str
    scopes: list[str]

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scopes": self.scopes,
        }


def _require_operator(actor: User | None) -> None:
    if actor is not None and not is_operator(actor):
        raise PermissionDenied(
            _("Only operators of the NemKonto service may manage API clients."),
            code="operator_only",
        )


def _check_binding(
    kind: str,
    authority: Authority | None,
    payment_system: PaymentSystem | None,
    bank: Bank | None,
) -> None:
    if kind not in ApiClient.Kind.values:
        raise ValidationFailed(
            _("Unknown kind %(kind)s: use payment_system, authority or bank.") % {"kind": kind},
            field="kind",
            code="invalid_choice",
        )
    needs = {
        ApiClient.Kind.PAYMENT_SYSTEM: {"authority", "payment_system"},
        ApiClient.Kind.AUTHORITY: {"authority"},
        ApiClient.Kind.BANK: {"bank"},
    }[ApiClient.Kind(kind)]
    given = {
        name
        for name, value in (
            ("authority", authority),
            ("payment_system", payment_system),
            ("bank", bank),
        )
        if value is not None
    }
    for name in sorted(needs - given):
        raise ValidationFailed(
            _("A %(kind)s client needs the %(field)s it acts for.")
            % {"kind": ApiClient.Kind(kind).label, "field": name.replace("_", " ")},
            field=name,
            code="required",
        )
    for name in sorted(given - needs):
        raise ValidationFailed(
            _("A %(kind)s client is not bound to a %(field)s.")
            % {"kind": ApiClient.Kind(kind).label, "field": name.replace("_", " ")},
            field=name,
            code="not_allowed",
        )
    if authority is not None and not authority.is_active:
        raise ValidationFailed(
            _("%(authority)s is not active.") % {"authority": authority},
            field="authority",
            code="inactive",
        )
    if kind == ApiClient.Kind.PAYMENT_SYSTEM:
        agreement = ConnectionAgreement.objects.filter(
            authority=authority, payment_system=payment_system
        ).first()
        if agreement is None or agreement.status not in CLIENT_AGREEMENT_STATUSES:
            state = agreement.get_status_display().lower() if agreement else _("missing")
            raise Conflict(
                _(
                    "The connection agreement between %(authority)s and %(system)s is "
                    "%(state)s: a client is only made for an agreement in test or active."
                )
                % {"authority": authority, "system": payment_system, "state": state},
                field="payment_system",
                code="no_agreement",
            )


@transaction.atomic
def api_client_create(
    *,
    actor: User | None,
    kind: str,
    name: str,
    authority: Authority | None = None,
    payment_system: PaymentSystem | None = None,
    bank: Bank | None = None,
) -> ApiClientCredentials:
    """Create an OAuth2 client bound by its kind; returns the plaintext secret, once.

    Raises PermissionDenied (not an operator), ValidationFailed (binding does not fit the kind),
    Conflict (a payment system without an agreement in test or active).
    """
    _require_operator(actor)
    _check_binding(kind, authority, payment_system, bank)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("The name is missing."), field="name", code="required")
    secret = generate_client_secret()
    application = Application(
        name=name[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
        skip_authorization=True,
    )
    application.save()
    client = ApiClient.objects.create(
        application=application,
        kind=kind,
        authority=authority,
        payment_system=payment_system,
        bank=bank,
    )
    audit_record(
        actor=actor,
        action="api_client.create",
        target=client,
        authority=authority,
        data={
            "kind": kind,
            "name": application.name,
            "client_id": application.client_id,
            "payment_system": payment_system.code if payment_system else None,
            "bank": bank.reg if bank else None,
        },
    )
    return ApiClientCredentials(
        api_client=client,
        client_id=application.client_id,
        client_secret=secret,
        scopes=[SCOPE_BY_KIND[kind]],
    )


def _revoke_tokens(client: ApiClient) -> int:
    deleted, _rows = (
        get_access_token_model().objects.filter(application_id=client.application_id).delete()
    )
    return deleted


@transaction.atomic
def api_client_rotate_secret(*, actor: User | None, api_client: ApiClient) -> ApiClientCredentials:
    """Give the client a new secret (returned once); the old secret and its tokens stop working.

    Raises PermissionDenied (not an operator), Conflict (deactivated client).
    """
    _require_operator(actor)
    client = (
        ApiClient.objects.select_for_update().select_related("application").get(pk=api_client.pk)
    )
    if not client.is_active:
        raise Conflict(_("The API client is deactivated."), code="inactive")
    secret = generate_client_secret()
    client.application.client_secret = secret
    client.application.save(update_fields=["client_secret", "updated"])
    client.secret_rotated_at = timezone.now()
    client.save(update_fields=["secret_rotated_at"])
    revoked = _revoke_tokens(client)
    audit_record(
        actor=actor,
        action="api_client.rotate_secret",
        target=client,
        authority=client.authority,
        data={"client_id": client.application.client_id, "tokens_revoked": revoked},
    )
    return ApiClientCredentials(
        api_client=client,
        client_id=client.application.client_id,
        client_secret=secret,
        scopes=[SCOPE_BY_KIND[client.kind]],
    )


@transaction.atomic
def api_client_deactivate(*, actor: User | None, api_client: ApiClient) -> ApiClient:
    """Switch a client off: its tokens are revoked and its secret replaced by an unknown one.

    Raises PermissionDenied (not an operator). Deactivating twice changes nothing.
    """
    _require_operator(actor)
    client = (
        ApiClient.objects.select_for_update().select_related("application").get(pk=api_client.pk)
    )
    if not client.is_active:
        return client
    client.is_active = False
    client.save(update_fields=["is_active"])
    # Nobody ever sees this secret, so the client can no longer authenticate at all.
    client.application.client_secret = generate_client_secret()
    client.application.save(update_fields=["client_secret", "updated"])
    revoked = _revoke_tokens(client)
    audit_record(
        actor=actor,
        action="api_client.deactivate",
        target=client,
        authority=client.authority,
        data={"client_id": client.application.client_id, "tokens_revoked": revoked},
    )
    return client
