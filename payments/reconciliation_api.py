"""The bank reconciliation's differences for the authority (``payments.reconciliation``):
``GET /api/v1/reconciliation/differences``, for the authority's clients (scope ``resolve``) and
its payment systems' clients (scope ``payments``: the differences of their own payments, and
those tied to no payment)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from nemkonto.api_support import CURSOR_PARAMETERS, cursor_pagination, paginated, problems
from nemkonto.errors import ValidationFailed
from payments.models import BankDifference
from payments.reconciliation import differences_for_client
from registry.api_auth import LookupClient, request_client

TAG_RECONCILIATION = "Bank reconciliation"


def _amount(ore: int | None) -> str | None:
    return None if ore is None else f"{ore // 100}.{ore % 100:02d}"


@extend_schema_serializer(component_name="BankDifference")
class DifferenceSerializer(serializers.Serializer[BankDifference]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=BankDifference.Kind.choices)
    reason = serializers.ChoiceField(choices=BankDifference.Reason.choices)
    bank = serializers.CharField(source="bank.reg", help_text="The bank's reg.nr.")
    bank_file = serializers.SerializerMethodField(help_text="The pain.001 file's message id")
    end_to_end_id = serializers.CharField()
    batch_id = serializers.SerializerMethodField()
    reference = serializers.SerializerMethodField(help_text="The payer's reference")
    sent_amount = serializers.SerializerMethodField()
    booked_amount = serializers.SerializerMethodField()
    booking_date = serializers.DateField(allow_null=True)
    detected_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)

    def get_bank_file(self, difference: BankDifference) -> str | None:
        return difference.bank_file.message_id if difference.bank_file else None

    def get_batch_id(self, difference: BankDifference) -> str | None:
        return str(difference.payment.batch_id) if difference.payment else None

    def get_reference(self, difference: BankDifference) -> str | None:
        return difference.payment.reference if difference.payment else None

    def get_sent_amount(self, difference: BankDifference) -> str | None:
        return _amount(difference.sent_amount_ore)

    def get_booked_amount(self, difference: BankDifference) -> str | None:
        return _amount(difference.booked_amount_ore)


class DifferencesApi(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [LookupClient]
    pagination_class = cursor_pagination("-id")

    @extend_schema(
        operation_id="reconciliation_differences",
        summary="Differences between the banks' bookings and the payments sent",
        description=(
            "The authority's bank's booking reports (camt.054) matched against the payments "
            "sent (pain.001): `missing` (accepted by the bank, code 8, but not booked, once the "
            "file's bookings have arrived or at the latest "
            "`NEMKONTO_RECONCILE_AFTER_BANK_DAYS` bank days after the value date), `extra` (a "
            "booking of something never sent, a second booking, or a booking of a payment the "
            "bank rejected) and `amount_differs`. A missing payment booked later gets "
            "`resolved_at`. Filters `kind` and `resolved`; newest first, paged by `cursor`. "
            "Payment systems see their own payments' differences and those tied to no payment."
        ),
        tags=[TAG_RECONCILIATION],
        parameters=[
            OpenApiParameter("kind", str, enum=BankDifference.Kind.values),
            OpenApiParameter("resolved", bool),
            *CURSOR_PARAMETERS,
        ],
        responses={200: DifferenceSerializer(many=True), **problems(401, 422)},
        examples=[
            OpenApiExample(
                "A payment booked with another amount",
                value={
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "id": 17,
                            "kind": "amount_differs",
                            "reason": "amount",
                            "bank": "3000",
                            "bank_file": "NK20261130050000-1",
                            "end_to_end_id": "NK1041",
                            "batch_id": "5f0c1d2e-8a7b-4c3d-9e8f-0a1b2c3d4e5f",
                            "reference": "KMD-2026-000001",
                            "sent_amount": "1234.50",
                            "booked_amount": "1235.50",
                            "booking_date": "2026-12-01",
                            "detected_at": "2026-12-01T09:15:02+01:00",
                            "resolved_at": None,
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in BankDifference.Kind.values:
            raise ValidationFailed(
                _("The kind must be missing, extra or amount_differs."),
                field="kind",
                code="invalid_choice",
            )
        resolved_text = request.query_params.get("resolved") or None
        if resolved_text not in (None, "true", "false"):
            raise ValidationFailed(
                _("resolved must be true or false."), field="resolved", code="invalid"
            )
        resolved = None if resolved_text is None else resolved_text == "true"
        differences = differences_for_client(
            client=request_client(request), kind=kind, resolved=resolved
        )
        return paginated(self, request, differences, DifferenceSerializer)
