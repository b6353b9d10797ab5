"""The duplicate guard's endpoints (``payments.duplicates``): held payments and the decision on
them, for the payment system (``/batches/{batch_id}/duplicates``, by reference) and for
caseworkers with the stop profile (``/payments/duplicates``, by payment id)."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from nemkonto.api_support import (
    CURSOR_PARAMETERS,
    StrictInputSerializer,
    cursor_pagination,
    paginated,
    problems,
    request_actor,
)
from payments.api_permissions import payment_client_context
from payments.batch_api import (
    BATCH_ID_PARAMETER,
    TAG_BATCHES,
    TAG_CASEWORKER,
    CaseworkerApi,
    ClientApi,
)
from payments.duplicate_selectors import batch_held_payments, held_payments_for_caseworker
from payments.models import PaymentHold
from payments.payment_selectors import batch_get_for_client
from payments.services.duplicates import (
    ANSWERS,
    DECIDE_LIMIT,
    duplicates_decide,
    duplicates_decide_for_client,
)

_GUARD = (
    "A payment is held (status `held`, no return code) when the same authority sent the same "
    "recipient, benefit and amount for the same period (the calendar month of the requested "
    "value date, else of the value date) in another batch received within "
    "`NEMKONTO_DUPLICATE_WINDOW_DAYS` days before it (35 by default), and that earlier payment "
    "is paid or on its way. A held payment is not forwarded until it is confirmed (it is then "
    "attached like any payment and leaves in the next cycle) or rejected (it is stopped); "
    "each decision is also sent as a `payments_updated` callback."
)


def _amount(ore: int | None) -> str | None:
    return None if ore is None else f"{ore // 100}.{ore % 100:02d}"


@extend_schema_serializer(component_name="HeldPayment")
class HeldPaymentSerializer(serializers.Serializer[PaymentHold]):
    reference = serializers.CharField(source="payment.reference")
    batch_id = serializers.UUIDField(source="payment.batch_id")
    recipient = serializers.SerializerMethodField()
    benefit = serializers.CharField(source="payment.benefit_code")
    amount = serializers.SerializerMethodField()
    held_at = serializers.DateTimeField()
    repeats = serializers.SerializerMethodField(
        help_text="The earlier payment it repeats: batch, reference, status, received"
    )

    def get_recipient(self, hold: PaymentHold) -> dict[str, str]:
        return {"type": hold.payment.recipient_type, "id": hold.payment.recipient_number}

    def get_amount(self, hold: PaymentHold) -> str | None:
        return _amount(hold.payment.amount_ore)

    def get_repeats(self, hold: PaymentHold) -> dict[str, Any]:
        earlier = hold.duplicate_of
        return {
            "batch_id": str(earlier.batch_id),
            "reference": earlier.reference,
            "status": earlier.status,
            "received_at": serializers.DateTimeField().to_representation(earlier.received_at),
        }


@extend_schema_serializer(component_name="CaseworkerHeldPayment")
class CaseworkerHeldPaymentSerializer(HeldPaymentSerializer):
    payment_id = serializers.IntegerField(source="payment.pk")
    los_unit = serializers.CharField(source="payment.los_unit.code")
    payment_system = serializers.CharField(source="payment.payment_system.code")


HELD_EXAMPLE = OpenApiExample(
    "A held duplicate",
    value={
        "next": None,
        "previous": None,
        "results": [
            {
                "reference": "KMD-2026-000107",
                "batch_id": "7d1c2e3f-0a1b-4c5d-8e9f-1a2b3c4d5e6f",
                "recipient": {"type": "CPR", "id": "0101901234"},
                "benefit": "BOERNECHECK",
                "amount": "1234.50",
                "held_at": "2026-11-30T05:12:11+01:00",
                "repeats": {
                    "batch_id": "5f0c1d2e-8a7b-4c3d-9e8f-0a1b2c3d4e5f",
                    "reference": "KMD-2026-000001",
                    "status": "bank_received",
                    "received_at": "2026-11-20T05:10:00+01:00",
                },
            }
        ],
    },
    response_only=True,
)


class _DecisionSerializer(StrictInputSerializer):
    confirm = serializers.ListField(
        child=serializers.CharField(max_length=35),
        required=False,
        default=list,
        help_text="References to pay after all",
    )
    reject = serializers.ListField(
        child=serializers.CharField(max_length=35),
        required=False,
        default=list,
        help_text="References not to pay (they are stopped)",
    )


class _DecisionAnswerSerializer(serializers.Serializer[Any]):
    results = serializers.DictField(
        child=serializers.ChoiceField(choices=ANSWERS),
        help_text="Per reference (or payment id): confirmed, rejected, not_held, not_found",
    )


_DECISION_EXAMPLES = [
    OpenApiExample(
        "Pay one, reject the other",
        value={"confirm": ["KMD-2026-000107"], "reject": ["KMD-2026-000108"]},
        request_only=True,
    ),
    OpenApiExample(
        "The answer",
        value={"results": {"KMD-2026-000107": "confirmed", "KMD-2026-000108": "rejected"}},
        response_only=True,
    ),
]


class BatchDuplicatesApi(ClientApi):
    pagination_class = cursor_pagination("payment_id")

    @extend_schema(
        operation_id="batch_duplicates_list",
        summary="Held duplicates of a batch",
        description=f"The batch's payments held as possible duplicates. {_GUARD}",
        tags=[TAG_BATCHES],
        parameters=[BATCH_ID_PARAMETER, *CURSOR_PARAMETERS],
        responses={200: HeldPaymentSerializer(many=True), **problems(401, 404)},
        examples=[HELD_EXAMPLE],
    )
    def get(self, request: Request, batch_id: str) -> Response:
        client = payment_client_context(request).client
        batch = batch_get_for_client(client=client, batch_id=batch_id)
        return paginated(self, request, batch_held_payments(batch=batch), HeldPaymentSerializer)

    @extend_schema(
        operation_id="batch_duplicates_decide",
        summary="Confirm or reject held duplicates",
        description=(
            "`confirm`: the named held payments are paid after all; `reject`: they are not (they "
            f"get status `stopped`). At most {DECIDE_LIMIT:,} references; none, or one in both "
            "lists, answers 422. Per reference `confirmed`, `rejected`, or the refusal: "
            f"`not_held` (not, or no longer, held), `not_found`. {_GUARD}"
        ),
        tags=[TAG_BATCHES],
        parameters=[BATCH_ID_PARAMETER],
        request=_DecisionSerializer,
        responses={200: _DecisionAnswerSerializer, **problems(400, 401, 404, 422)},
        examples=_DECISION_EXAMPLES,
    )
    def post(self, request: Request, batch_id: str) -> Response:
        client = payment_client_context(request).client
        batch = batch_get_for_client(client=client, batch_id=batch_id)
        data = _DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = duplicates_decide_for_client(
            client=client,
            batch=batch,
            confirm=data.validated_data["confirm"],
            reject=data.validated_data["reject"],
        )
        return Response({"results": results})


class _CaseworkerDecisionSerializer(StrictInputSerializer):
    confirm = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    reject = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class PaymentDuplicatesApi(CaseworkerApi):
    pagination_class = cursor_pagination("-held_at")

    @extend_schema(
        operation_id="payments_duplicates_list",
        summary="Held duplicates of your LOS units",
        description=(
            "For caseworkers with NKS-Stop-Bet: the held payments of the LOS units where you "
            f"hold it (and the units below), newest first. {_GUARD}"
        ),
        tags=[TAG_CASEWORKER],
        parameters=CURSOR_PARAMETERS,
        responses={200: CaseworkerHeldPaymentSerializer(many=True), **problems()},
    )
    def get(self, request: Request) -> Response:
        holds = held_payments_for_caseworker(actor=request_actor(request))
        return paginated(self, request, holds, CaseworkerHeldPaymentSerializer)

    @extend_schema(
        operation_id="payments_duplicates_decide",
        summary="Confirm or reject held duplicates",
        description=(
            "Needs NKS-Stop-Bet: `confirm` pays the named held payments after all, `reject` "
            "stops them; your `reason` is kept in the audit record. Per payment id "
            "`confirmed`, `rejected`, `not_held`, `not_found` (also for payments outside your "
            "units). Without the profile on any unit: 403, nothing changes."
        ),
        tags=[TAG_CASEWORKER],
        request=_CaseworkerDecisionSerializer,
        responses={200: _DecisionAnswerSerializer, **problems(400, 422)},
        examples=[
            OpenApiExample(
                "Reject one",
                value={"reject": [1041], "reason": "Paid twice by mistake"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = _CaseworkerDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = duplicates_decide(
            actor=request_actor(request),
            confirm=data.validated_data["confirm"],
            reject=data.validated_data["reject"],
            reason=data.validated_data["reason"],
        )
        return Response({"results": {str(pk): answer for pk, answer in results.items()}})
