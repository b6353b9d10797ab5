"""Who may call the payment-system endpoints: OAuth2 clients bound to an active agreement, or
to one in test (test mode: its batches are test batches, ``payments.test_script``)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from oauth2_provider.models import AbstractAccessToken
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import ApiClient
from nemkonto.errors import PermissionDenied
from payments.models import ConnectionAgreement

PAYMENTS_SCOPE = "payments"


@dataclass(frozen=True)
class PaymentClientContext:
    """The calling client and the agreement it acts under, for the view."""

    client: ApiClient
    agreement: ConnectionAgreement

    @property
    def is_test(self) -> bool:
        """Test mode: the agreement is in test."""
        return self.agreement.in_test


def _refuse(message: str, code: str) -> PermissionDenied:
    return PermissionDenied(message, code=code)


def payment_client_context(request: Request) -> PaymentClientContext:
    """The client and agreement of a request that passed ``PaymentSystemClient``."""
    context = getattr(request, "payment_client", None)
    if not isinstance(context, PaymentClientContext):
        raise RuntimeError("PaymentSystemClient must guard this view")
    return context


def agreement_not_active_message(client: ApiClient, agreement: ConnectionAgreement | None) -> str:
    """Why a payment system's client may not send payments, in words its operator can act on."""
    names = {"authority": client.authority, "system": client.payment_system}
    Status = ConnectionAgreement.Status
    if agreement is None:
        return _("There is no connection agreement between %(authority)s and %(system)s.") % names
    if agreement.status == Status.IN_TEST:
        return (
            _(
                "The connection agreement between %(authority)s and %(system)s is in test: this is "
                "only open to active agreements."
            )
            % names
        )
    if agreement.status == Status.REQUESTED:
        return _(
            "The connection agreement between %(authority)s and %(system)s is %(state)s, not "
            "active: payments cannot be sent yet."
        ) % {**names, "state": agreement.get_status_display().lower()}
    return _(
        "The connection agreement between %(authority)s and %(system)s is %(state)s: payments "
        "cannot be sent."
    ) % {**names, "state": agreement.get_status_display().lower()}


class PaymentSystemClient(BasePermission):
    """A bearer token with scope ``payments`` of an active payment-system client whose
    connection agreement is active or in test (test mode). Anything else is refused with a
    problem document saying why.
    """

    allowed_statuses: tuple[str, ...] = (
        ConnectionAgreement.Status.ACTIVE,
        ConnectionAgreement.Status.IN_TEST,
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        if not isinstance(token, AbstractAccessToken):
            # No bearer token: DRF answers 401 when nothing authenticated the request.
            if request.successful_authenticator is None:
                return False
            raise _refuse(
                _("This endpoint is for payment systems: use an OAuth2 client-credentials token."),
                "payment_client_required",
            )
        if not token.allow_scopes([PAYMENTS_SCOPE]):
            raise _refuse(
                _("The token does not have the scope %(scope)s.") % {"scope": PAYMENTS_SCOPE},
                "insufficient_scope",
            )
        client = (
            ApiClient.objects.select_related("authority", "payment_system")
            .filter(application_id=token.application_id)
            .first()
        )
        if (
            client is None
            or client.kind != ApiClient.Kind.PAYMENT_SYSTEM
            or client.authority_id is None
            or client.payment_system_id is None
        ):
            raise _refuse(
                _("The token does not belong to a payment system's API client."),
                "payment_client_required",
            )
        if not client.is_active:
            raise _refuse(_("The API client is deactivated."), "client_inactive")
        agreement = (
            ConnectionAgreement.objects.select_related("authority", "payment_system")
            .filter(authority_id=client.authority_id, payment_system_id=client.payment_system_id)
            .first()
        )
        if agreement is None or agreement.status not in self.allowed_statuses:
            raise _refuse(agreement_not_active_message(client, agreement), "agreement_not_active")
        request.payment_client = PaymentClientContext(client=client, agreement=agreement)  # type: ignore[attr-defined]
        return True


class ActivePaymentSystemClient(PaymentSystemClient):
    """As ``PaymentSystemClient``, but the agreement must be active: for what concerns the
    authority's real payments rather than the client's own batches (the missing-account events).
    """

    allowed_statuses = (ConnectionAgreement.Status.ACTIVE,)
