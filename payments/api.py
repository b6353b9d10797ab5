"""REST endpoints for benefits, connection agreements, readiness and the payment systems' view
of their connection (API.md; issue 4).

Two kinds of caller:

- logged-in people (session): the authority's caseworkers with the benefits profile, its local
  administrator, operators: ``/authorities/{code}/...``;
- payment systems (OAuth2 client credentials, scope ``payments``): ``/connection``.

One APIView per operation; every write is one service call, so a refused request changes nothing.
"""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Authority, LosUnit, User
from accounts.selectors import is_operator
from nemkonto.api_support import (
    CURSOR_PARAMETERS,
    StrictInputSerializer,
    cursor_pagination,
    paginated,
    problems,
    request_actor,
)
from nemkonto.errors import PermissionDenied
from payments.api_permissions import PaymentSystemClient, payment_client_context
from payments.models import Benefit, ConnectionAgreement
from payments.readiness import MANUAL_ITEMS, readiness_for, readiness_summary
from payments.selectors import (
    agreement_get,
    agreement_history,
    agreement_list,
    authority_get,
    bank_agreement_list,
    benefit_get,
    benefit_list,
    is_local_admin_of,
)
from payments.services import (
    agreement_failure_choice_change,
    benefit_create,
    benefit_update,
    readiness_confirm,
    readiness_withdraw,
)

TAG_AUTHORITY = "Authority set-up"
TAG_PAYMENT_SYSTEMS = "Payment systems"


class UserApi(APIView):
    """Endpoints for logged-in people (caseworkers, local administrators, operators)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]


def _require_authority_admin(actor: User, authority: Authority) -> None:
    if not (is_operator(actor) or is_local_admin_of(user=actor, authority=authority)):
        raise PermissionDenied(
            _(
                "Only an operator or a local administrator of the whole of %(authority)s may "
                "do this."
            )
            % {"authority": authority},
            code="not_permitted",
        )


# --- Benefits ------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Benefit")
class BenefitOutputSerializer(serializers.Serializer[Benefit]):
    code = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class BenefitListApi(UserApi):
    """The authority's benefits, by code."""

    pagination_class = cursor_pagination("code")

    @extend_schema(
        operation_id="authority_benefits_list",
        summary="List benefits",
        description="The authority's benefits, by code: for its employees and operators.",
        tags=[TAG_AUTHORITY],
        parameters=CURSOR_PARAMETERS,
        responses={200: BenefitOutputSerializer(many=True), **problems(404)},
    )
    def get(self, request: Request, code: str) -> Response:
        authority = authority_get(actor=request_actor(request), code=code)
        benefits = benefit_list(actor=request_actor(request), authority=authority)
        return paginated(self, request, benefits, BenefitOutputSerializer)


class BenefitCreateApi(UserApi):
    """A new benefit of the authority."""

    @extend_schema_serializer(component_name="BenefitCreate")
    class InputSerializer(StrictInputSerializer):
        code = serializers.CharField(max_length=30)
        name = serializers.CharField(max_length=200)
        is_active = serializers.BooleanField(required=False, default=True)

    @extend_schema(
        operation_id="authority_benefits_create",
        summary="Create a benefit",
        description=(
            "Needs the benefits profile (NKS-Ydelser) on any unit of the authority, or an "
            "operator. The code is what payment systems send and never changes."
        ),
        tags=[TAG_AUTHORITY],
        request=InputSerializer,
        responses={201: BenefitOutputSerializer, **problems(400, 404, 409, 422)},
    )
    def post(self, request: Request, code: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        data = BenefitCreateApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        benefit = benefit_create(actor=actor, authority=authority, **data.validated_data)
        return Response(BenefitOutputSerializer(benefit).data, status=status.HTTP_201_CREATED)


class BenefitCollectionApi(BenefitListApi, BenefitCreateApi):
    """``/authorities/{code}/benefits``: GET lists, POST creates."""


class BenefitDetailApi(UserApi):
    @extend_schema(
        operation_id="authority_benefits_get",
        summary="Get a benefit",
        tags=[TAG_AUTHORITY],
        responses={200: BenefitOutputSerializer, **problems(404)},
    )
    def get(self, request: Request, code: str, benefit_code: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        benefit = benefit_get(actor=actor, authority=authority, code=benefit_code)
        return Response(BenefitOutputSerializer(benefit).data)


class BenefitUpdateApi(UserApi):
    @extend_schema_serializer(component_name="BenefitUpdate")
    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=200, required=False)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="authority_benefits_update",
        summary="Rename or (de)activate a benefit",
        description="Same permission as creating. The code cannot be changed.",
        tags=[TAG_AUTHORITY],
        request=InputSerializer,
        responses={200: BenefitOutputSerializer, **problems(400, 404, 422)},
    )
    def patch(self, request: Request, code: str, benefit_code: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        benefit = benefit_get(actor=actor, authority=authority, code=benefit_code)
        data = BenefitUpdateApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        benefit = benefit_update(actor=actor, benefit=benefit, **data.validated_data)
        return Response(BenefitOutputSerializer(benefit).data)


class BenefitItemApi(BenefitDetailApi, BenefitUpdateApi):
    """``/authorities/{code}/benefits/{benefit_code}``: GET reads, PATCH changes."""


# --- Connection agreements -----------------------------------------------------------------


@extend_schema_serializer(component_name="ErrorAccount")
class ErrorAccountSerializer(serializers.Serializer[Any]):
    reg = serializers.CharField(max_length=4)
    number = serializers.CharField(max_length=10)


@extend_schema_serializer(component_name="ConnectionAgreement")
class AgreementOutputSerializer(serializers.Serializer[ConnectionAgreement]):
    payment_system = serializers.CharField(source="payment_system.code")
    payment_system_name = serializers.CharField(source="payment_system.name")
    status = serializers.ChoiceField(choices=ConnectionAgreement.Status.choices)
    failure_choice = serializers.ChoiceField(choices=ConnectionAgreement.FailureChoice.choices)
    waiting_fallback = serializers.ChoiceField(
        choices=ConnectionAgreement.WaitingFallback.choices,
        help_text="With the failure choice `waiting`: what happens after the longest wait",
    )
    error_account = serializers.SerializerMethodField()
    signed_at = serializers.DateField(allow_null=True)
    requested_at = serializers.DateTimeField()
    test_started_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)

    def get_error_account(self, agreement: ConnectionAgreement) -> dict[str, str] | None:
        if not agreement.error_account_number:
            return None
        return {"reg": agreement.error_account_reg, "number": agreement.error_account_number}


class AgreementListApi(UserApi):
    pagination_class = cursor_pagination("id")

    @extend_schema(
        operation_id="authority_agreements_list",
        summary="List connection agreements",
        description="The authority's agreements with payment systems: for its local "
        "administrator (of the whole authority) and operators.",
        tags=[TAG_AUTHORITY],
        parameters=CURSOR_PARAMETERS,
        responses={200: AgreementOutputSerializer(many=True), **problems(404)},
    )
    def get(self, request: Request, code: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        _require_authority_admin(actor, authority)
        agreements = agreement_list(actor=actor, authority=authority)
        return paginated(self, request, agreements, AgreementOutputSerializer)


class AgreementDetailApi(UserApi):
    @extend_schema(
        operation_id="authority_agreements_get",
        summary="Get a connection agreement",
        tags=[TAG_AUTHORITY],
        responses={200: AgreementOutputSerializer, **problems(404)},
    )
    def get(self, request: Request, code: str, system: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        _require_authority_admin(actor, authority)
        agreement = agreement_get(actor=actor, authority=authority, system_code=system)
        return Response(AgreementOutputSerializer(agreement).data)


class AgreementFailureChoiceApi(UserApi):
    @extend_schema_serializer(component_name="FailureChoiceChange")
    class InputSerializer(StrictInputSerializer):
        failure_choice = serializers.ChoiceField(choices=ConnectionAgreement.FailureChoice.choices)
        waiting_fallback = serializers.ChoiceField(
            choices=ConnectionAgreement.WaitingFallback.choices,
            required=False,
            default=ConnectionAgreement.WaitingFallback.RETURN,
        )
        error_account = ErrorAccountSerializer(required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="authority_agreements_failure_choice",
        summary="Change the failure choice",
        description=(
            "What happens to payments that cannot be completed: `return`, `cheque`, "
            "`error_account` (then with `error_account`) or `waiting`: the waiting account "
            "(*ventekonto*), where the payment waits until the recipient registers an account "
            "and is then forwarded in the next cycle; after `NEMKONTO_WAITING_DAYS` days "
            "(30 by default) `waiting_fallback` applies (`return`, `cheque` or `error_account`, "
            "then with `error_account`). The old choice stays in the history."
        ),
        examples=[
            OpenApiExample(
                "The waiting account, returned after the longest wait",
                value={"failure_choice": "waiting", "waiting_fallback": "return"},
                request_only=True,
            ),
        ],
        tags=[TAG_AUTHORITY],
        request=InputSerializer,
        responses={200: AgreementOutputSerializer, **problems(400, 404, 409, 422)},
    )
    def put(self, request: Request, code: str, system: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        _require_authority_admin(actor, authority)
        agreement = agreement_get(actor=actor, authority=authority, system_code=system)
        data = AgreementFailureChoiceApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = data.validated_data["error_account"] or {}
        agreement = agreement_failure_choice_change(
            actor=actor,
            agreement=agreement,
            failure_choice=data.validated_data["failure_choice"],
            error_account_reg=account.get("reg", ""),
            error_account_number=account.get("number", ""),
            waiting_fallback=data.validated_data["waiting_fallback"],
        )
        return Response(AgreementOutputSerializer(agreement).data)


class AgreementHistoryApi(UserApi):
    @extend_schema_serializer(component_name="ConnectionAgreementEvent")
    class OutputSerializer(serializers.Serializer[Any]):
        at = serializers.DateTimeField()
        event = serializers.CharField(help_text="insert or update")
        action = serializers.CharField(help_text="The service that made the change")
        by = serializers.CharField(help_text="Username; empty for the system")
        status = serializers.CharField()
        failure_choice = serializers.CharField()
        waiting_fallback = serializers.CharField(help_text="With the failure choice waiting")
        error_account_reg = serializers.CharField()
        error_account_number = serializers.CharField()

    @extend_schema(
        operation_id="authority_agreements_history",
        summary="History of a connection agreement",
        description="Every recorded state (status, failure choice), oldest first.",
        tags=[TAG_AUTHORITY],
        responses={200: OutputSerializer(many=True), **problems(404)},
    )
    def get(self, request: Request, code: str, system: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        _require_authority_admin(actor, authority)
        agreement = agreement_get(actor=actor, authority=authority, system_code=system)
        history = agreement_history(agreement=agreement)
        return Response(AgreementHistoryApi.OutputSerializer(history, many=True).data)


# --- Readiness -----------------------------------------------------------------------------


@extend_schema_serializer(component_name="ReadinessItem")
class ReadinessItemSerializer(serializers.Serializer[Any]):
    item = serializers.CharField(help_text="The guide's item number, 1.1 to 1.11")
    title = serializers.CharField()
    met = serializers.BooleanField()
    how = serializers.ChoiceField(choices=["data", "confirmed"])
    why = serializers.CharField()


@extend_schema_serializer(component_name="Readiness")
class ReadinessOutputSerializer(serializers.Serializer[Any]):
    authority = serializers.CharField()
    met = serializers.IntegerField()
    total = serializers.IntegerField()
    items = ReadinessItemSerializer(many=True)


def _readiness_answer(authority: Authority) -> dict[str, Any]:
    items = readiness_for(authority)
    return {
        "authority": authority.code,
        **readiness_summary(items),
        "items": [item.as_dict() for item in items],
    }


class ReadinessApi(UserApi):
    @extend_schema(
        operation_id="authority_readiness",
        summary="Readiness checklist",
        description=(
            "The guide's items 1.1 to 1.11: each met or not, computed from the data (`how: "
            "data`) or confirmed by the local administrator (`how: confirmed`), and why."
        ),
        tags=[TAG_AUTHORITY],
        responses={200: ReadinessOutputSerializer, **problems(404)},
    )
    def get(self, request: Request, code: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        _require_authority_admin(actor, authority)
        return Response(_readiness_answer(authority))


class ReadinessConfirmApi(UserApi):
    @extend_schema_serializer(component_name="ReadinessConfirm")
    class InputSerializer(StrictInputSerializer):
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(
        operation_id="authority_readiness_confirm",
        summary="Confirm a checklist item",
        description=(
            "The authority's local administrator confirms an item the data cannot tell ("
            + ", ".join(sorted((i.value for i in MANUAL_ITEMS), key=lambda v: int(v[2:])))
            + "). Answers the whole checklist."
        ),
        tags=[TAG_AUTHORITY],
        request=InputSerializer,
        responses={200: ReadinessOutputSerializer, **problems(400, 404, 422)},
    )
    def post(self, request: Request, code: str, item: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        data = ReadinessConfirmApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        readiness_confirm(
            actor=actor, authority=authority, item=item, note=data.validated_data["note"]
        )
        return Response(_readiness_answer(authority))


class ReadinessWithdrawApi(UserApi):
    @extend_schema(
        operation_id="authority_readiness_withdraw",
        summary="Withdraw a confirmation",
        tags=[TAG_AUTHORITY],
        request=None,
        responses={200: ReadinessOutputSerializer, **problems(404, 422)},
    )
    def delete(self, request: Request, code: str, item: str) -> Response:
        actor = request_actor(request)
        authority = authority_get(actor=actor, code=code)
        readiness_withdraw(actor=actor, authority=authority, item=item)
        return Response(_readiness_answer(authority))


class ReadinessItemApi(ReadinessConfirmApi, ReadinessWithdrawApi):
    """``/authorities/{code}/readiness/{item}``: POST confirms, DELETE withdraws."""


# --- Payment systems -----------------------------------------------------------------------


@extend_schema_serializer(component_name="Connection")
class ConnectionOutputSerializer(serializers.Serializer[Any]):
    @extend_schema_serializer(component_name="ConnectionAuthority")
    class AuthoritySerializer(serializers.Serializer[Authority]):
        code = serializers.CharField()
        name = serializers.CharField()
        cvr = serializers.CharField()

    @extend_schema_serializer(component_name="ConnectionAgreementSummary")
    class AgreementSerializer(serializers.Serializer[ConnectionAgreement]):
        payment_system = serializers.CharField(source="payment_system.code")
        status = serializers.CharField()
        activated_at = serializers.DateTimeField(allow_null=True)
        failure_choice = serializers.CharField()
        error_account = serializers.SerializerMethodField()

        def get_error_account(self, agreement: ConnectionAgreement) -> str | None:
            return agreement.error_account_masked or None

    @extend_schema_serializer(component_name="ConnectionBenefit")
    class BenefitSerializer(serializers.Serializer[Benefit]):
        code = serializers.CharField()
        name = serializers.CharField()

    @extend_schema_serializer(component_name="ConnectionLosUnit")
    class LosUnitSerializer(serializers.Serializer[LosUnit]):
        code = serializers.CharField()
        name = serializers.CharField()

    @extend_schema_serializer(component_name="ConnectionBankAgreement")
    class BankAgreementSerializer(serializers.Serializer[Any]):
        number = serializers.CharField()
        bank_reg = serializers.CharField(source="bank.reg")
        bank_bic = serializers.CharField(source="bank.bic")
        pays_from = serializers.DateField()

    authority = AuthoritySerializer()
    agreement = AgreementSerializer()
    benefits = BenefitSerializer(many=True)
    los_units = LosUnitSerializer(many=True)
    bank_agreements = BankAgreementSerializer(many=True)


class ConnectionApi(APIView):
    """What a payment system needs to build a batch for the authority it acts for."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [PaymentSystemClient]

    @extend_schema(
        operation_id="connection",
        summary="The caller's connection",
        description=(
            "For payment systems (scope `payments`): the authority the client acts for, its "
            "connection agreement and failure choice, and the codes a batch uses: active "
            "benefits, open LOS units and bank agreement numbers. 403 with the reason while the "
            "agreement is not active."
        ),
        tags=[TAG_PAYMENT_SYSTEMS],
        responses={
            200: ConnectionOutputSerializer,
            401: OpenApiResponse(description="No valid bearer token."),
            **problems(),
        },
    )
    def get(self, request: Request) -> Response:
        context = payment_client_context(request)
        authority = context.agreement.authority
        answer = {
            "authority": authority,
            "agreement": context.agreement,
            "benefits": Benefit.objects.filter(authority=authority, is_active=True).order_by(
                "code"
            ),
            "los_units": LosUnit.objects.filter(
                authority=authority, closed_at__isnull=True
            ).order_by("code"),
            "bank_agreements": bank_agreement_list(authority=authority),
        }
        return Response(ConnectionOutputSerializer(answer).data)
