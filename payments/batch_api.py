"""REST endpoints to follow batches and payments (API.md: Batch status, Payments of a batch,
Return answers as XML, Stop) and the caseworkers' payment search (DOMAIN.md section 8, tracing).

Two kinds of caller:

- payment systems (OAuth2 client credentials, scope ``payments``): ``/batches/{batch_id}/...``,
  only their own batches (another's is 404);
- the authority's caseworkers (session): ``/payments``, scoped through their LOS units.

One APIView per operation; reads are selectors, stops are one service call each, so a refused
request changes nothing.
"""

import datetime
import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, cast
from xml.sax.saxutils import escape, quoteattr

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from nemkonto.api_errors import flatten_errors
from nemkonto.api_support import (
    CURSOR_PARAMETERS,
    StrictInputSerializer,
    cursor_pagination,
    problems,
    request_actor,
)
from nemkonto.errors import PermissionDenied, ValidationFailed
from payments.api_permissions import PaymentSystemClient, payment_client_context
from payments.models import AccountSource, BankFile, Batch, Payment, PaymentStatus
from payments.payment_selectors import (
    PENDING_STATUSES,
    batch_get_for_client,
    batch_payment_get,
    batch_payments,
    batch_summary,
    full_account,
    masked_account,
    payment_get,
    payment_history,
    payment_search,
)
from payments.return_codes import RETURN_CODE_TABLE, RETURN_CODES, return_text, return_text_for
from payments.services.stops import STOP_LIMIT, payments_stop, payments_stop_for_client
from payments.services.test_mode import answers_fetched_record
from registry.identifiers import IdKind

TAG_BATCHES = "Batches"
TAG_CASEWORKER = "Caseworkers"

RETURN_CODE_CHOICES = [(code, str(code)) for code in RETURN_CODES]
HISTORY_EVENTS = [
    "received",
    "validated",
    "attached",
    "rejected",
    "failed",
    "waiting",
    "held",
    "confirmed",
    "rejected_duplicate",
    "stopped",
    "forwarded",
    "bank_received",
    "bank_error",
    "booked",
]
STOP_ANSWERS = ["stopped", "already_forwarded", "already_final", "not_found"]


def _with_table(text: Any) -> Any:
    """An operation's description followed by the table of return codes."""
    return format_lazy("{}\n\n{}", text, RETURN_CODE_TABLE)


def _query(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    """The query parameters, validated; 422 naming every bad one (blank values count as absent)."""
    data = {key: value for key, value in request.query_params.items() if value != ""}
    query = serializer_class(data=data)
    if not query.is_valid():
        raise ValidationFailed(
            gettext("The query has errors; see the list of errors."),
            errors=flatten_errors(query.errors),
        )
    return dict(query.validated_data)


def _page(
    view: APIView,
    request: Request,
    queryset: QuerySet[Any],
    serializer_class: type[serializers.Serializer[Any]],
) -> Response:
    paginator = view.pagination_class()  # type: ignore[attr-defined]
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(data)


# --- Shapes ------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="PaymentRecipient")
class RecipientSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(allow_null=True, help_text="CPR, CVR, P or SE")
    id = serializers.CharField(help_text="As normalised, or as sent when it could not be read")


def _recipient(payment: Payment) -> dict[str, Any]:
    return {
        "type": payment.recipient_type or None,
        "id": payment.recipient_number or payment.recipient_raw,
    }


def _failure_handling(payment: Payment) -> str | None:
    if payment.failure_handling:
        return payment.failure_handling
    return "waiting" if payment.status == PaymentStatus.WAITING else None


class PaymentFieldsSerializer(serializers.Serializer[Payment]):
    """The fields of a payment that every caller sees (API.md, Payments of a batch)."""

    reference = serializers.CharField()
    recipient = serializers.SerializerMethodField()
    benefit = serializers.CharField(source="benefit_code")
    amount = serializers.SerializerMethodField(help_text='Kroner as a decimal string: "1234.50"')
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    return_code = serializers.IntegerField(allow_null=True)
    return_text = serializers.SerializerMethodField()
    account_kind = serializers.SerializerMethodField()
    account = serializers.SerializerMethodField(help_text="Masked: ****4567")
    value_date = serializers.DateField()
    failure_handling = serializers.SerializerMethodField()
    test = serializers.BooleanField(
        source="is_test",
        help_text="A test payment (sent under a connection agreement in test): it only ever "
        "goes to the simulated bank",
    )

    @extend_schema_field(RecipientSerializer)
    def get_recipient(self, payment: Payment) -> dict[str, Any]:
        return _recipient(payment)

    def get_amount(self, payment: Payment) -> str | None:
        return payment.amount_display or None

    def get_return_text(self, payment: Payment) -> str:
        return return_text(payment)

    @extend_schema_field(serializers.ChoiceField(choices=AccountSource.choices))
    def get_account_kind(self, payment: Payment) -> str:
        return payment.account_source or AccountSource.NONE

    def get_account(self, payment: Payment) -> str | None:
        return masked_account(payment)

    @extend_schema_field(
        serializers.ChoiceField(
            choices=["returned", "cheque", "error_account", "waiting"], allow_null=True
        )
    )
    def get_failure_handling(self, payment: Payment) -> str | None:
        return _failure_handling(payment)


@extend_schema_serializer(component_name="BatchPayment")
class BatchPaymentOutputSerializer(PaymentFieldsSerializer):
    history = serializers.SerializerMethodField(
        help_text="URL of the payment's history (null for a row rejected without a reference)"
    )

    def get_history(self, payment: Payment) -> str | None:
        if not payment.reference:
            return None
        url = reverse("payments-batch-payment-history", args=[payment.batch_id, payment.reference])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


@extend_schema_serializer(component_name="PaymentEvent")
class HistoryEventSerializer(serializers.Serializer[Any]):
    at = serializers.SerializerMethodField(help_text="Time with offset; the booking date alone")
    event = serializers.ChoiceField(choices=HISTORY_EVENTS)
    text = serializers.CharField()
    details = serializers.DictField(
        help_text="By event: batch_id, format, line (received); account_kind, nemkonto_version "
        "and active_from, or specific_account_version (attached); return_code, field, reason, "
        "failure_handling (rejected, failed, waiting); by (stopped); message_id, value_date "
        "(forwarded); reason (bank_error); booked_on (booked)"
    )

    def get_at(self, event: dict[str, Any]) -> str:
        return str(_json_value(event["at"]))


def _json_value(value: Any) -> Any:
    """Times in local time with their offset, dates as YYYY-MM-DD, the rest as it is."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _history(payment: Payment, *, with_accounts: bool) -> list[dict[str, Any]]:
    events = payment_history(payment=payment, with_accounts=with_accounts)
    for event in events:
        event["details"] = {key: _json_value(value) for key, value in event["details"].items()}
    return events


# --- Payment systems ---------------------------------------------------------------------------


class ClientApi(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [PaymentSystemClient]


BATCH_ID_PARAMETER = OpenApiParameter(
    "batch_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="From the 202 answer"
)


@extend_schema_serializer(component_name="BatchFile")
class BatchFileSerializer(serializers.Serializer[Any]):
    message_id = serializers.CharField(help_text="The pain.001 file's message id")
    value_date = serializers.DateField()
    status = serializers.ChoiceField(choices=BankFile.Status.choices)
    transactions = serializers.IntegerField(help_text="Payments of this batch in the file")


@extend_schema_serializer(component_name="BatchStatus")
class BatchStatusOutputSerializer(serializers.Serializer[Any]):
    batch_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Batch.Status.choices)
    received = serializers.IntegerField(help_text="Payments received in the batch")
    received_at = serializers.DateTimeField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Payments per status; statuses without payments are left out",
    )
    return_codes = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='Payments per return code ({"0": n, ...}); codes no payment has are left out',
    )
    requested_value_date = serializers.DateField(allow_null=True)
    expected_value_date = serializers.DateField()
    cut_off = serializers.DateTimeField()
    test = serializers.BooleanField(
        help_text="A test batch (sent under a connection agreement in test): its payments only "
        "ever go to the simulated bank"
    )
    files = BatchFileSerializer(many=True)
    links = serializers.DictField(child=serializers.URLField())


BATCH_STATUS_EXAMPLE = OpenApiExample(
    "A forwarded batch",
    value={
        "batch_id": "5f0c1d2e-8a7b-4c3d-9e8f-0a1b2c3d4e5f",
        "status": "forwarded",
        "received": 3,
        "received_at": "2026-11-30T05:12:09+01:00",
        "counts": {"rejected": 1, "forwarded": 2},
        "return_codes": {"0": 2, "2": 1},
        "requested_value_date": None,
        "expected_value_date": "2026-12-01",
        "cut_off": "2026-11-30T06:00:00+01:00",
        "test": False,
        "files": [
            {
                "message_id": "NK20261130050000-1",
                "value_date": "2026-12-01",
                "status": "written",
                "transactions": 2,
            }
        ],
        "links": {
            "self": "https://nemkonto.example/api/v1/batches/5f0c1d2e-8a7b-4c3d-9e8f-0a1b2c3d4e5f",
            "payments": "https://nemkonto.example/api/v1/batches/5f0c1d2e-8a7b-4c3d-9e8f-"
            "0a1b2c3d4e5f/payments",
            "return_answers": "https://nemkonto.example/api/v1/batches/5f0c1d2e-8a7b-4c3d-9e8f-"
            "0a1b2c3d4e5f/return-answers.xml",
        },
    },
    response_only=True,
)


def _absolute(request: Request, name: str, *args: Any) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


class BatchDetailApi(ClientApi):
    @extend_schema(
        operation_id="batch_get",
        summary="Batch status",
        description=(
            "The batch's stage (`received`, `processing`, `completed`, `forwarded`, `closed`), "
            "how many payments it has per status and per return code, the expected value date, "
            "and the bank files its payments left in. Only the caller's own batches (another "
            "payment system's, or another authority's, answer 404). `test` is true for a batch "
            "sent while the connection agreement is in test (test mode)."
        ),
        tags=[TAG_BATCHES],
        parameters=[BATCH_ID_PARAMETER],
        responses={200: BatchStatusOutputSerializer, **problems(401, 404)},
        examples=[BATCH_STATUS_EXAMPLE],
    )
    def get(self, request: Request, batch_id: str) -> Response:
        batch = batch_get_for_client(
            client=payment_client_context(request).client, batch_id=batch_id
        )
        summary = batch_summary(batch=batch)
        answers_fetched_record(batch=batch)
        summary["links"] = {
            "self": _absolute(request, "payments-batch", batch.pk),
            "payments": _absolute(request, "payments-batch-payments", batch.pk),
            "return_answers": _absolute(request, "payments-batch-return-answers", batch.pk),
        }
        return Response(BatchStatusOutputSerializer(summary).data)


class BatchPaymentsQuerySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    return_code = serializers.ChoiceField(choices=RETURN_CODE_CHOICES, required=False)
    reference = serializers.CharField(max_length=35, required=False)


BATCH_PAYMENT_EXAMPLE = OpenApiExample(
    "Payments of a batch",
    value={
        "next": "https://nemkonto.example/api/v1/batches/5f0c1d2e-8a7b-4c3d-9e8f-0a1b2c3d4e5f/"
        "payments?cursor=cD0y",
        "previous": None,
        "results": [
            {
                "reference": "BC-2026-000001",
                "recipient": {"type": "CPR", "id": "0101901234"},
                "benefit": "BOERNECHECK",
                "amount": "1234.50",
                "status": "forwarded",
                "return_code": 0,
                "return_text": "Accepted: forwarded to the bank.",
                "account_kind": "nemkonto",
                "account": "****4567",
                "value_date": "2026-12-01",
                "failure_handling": None,
                "test": False,
                "history": "https://nemkonto.example/api/v1/batches/5f0c1d2e-8a7b-4c3d-9e8f-"
                "0a1b2c3d4e5f/payments/BC-2026-000001/history",
            },
            {
                "reference": "BC-2026-000002",
                "recipient": {"type": None, "id": "3113901234"},
                "benefit": "BOERNECHECK",
                "amount": "1234.50",
                "status": "rejected",
                "return_code": 2,
                "return_text": "Formal error in recipient.id: the first six digits are not a "
                "date (cpr_invalid_date).",
                "account_kind": "none",
                "account": None,
                "value_date": "2026-12-01",
                "failure_handling": None,
                "test": False,
                "history": "https://nemkonto.example/api/v1/batches/5f0c1d2e-8a7b-4c3d-9e8f-"
                "0a1b2c3d4e5f/payments/BC-2026-000002/history",
            },
        ],
    },
    response_only=True,
)


class BatchPaymentsApi(ClientApi):
    pagination_class = cursor_pagination("line")

    @extend_schema(
        operation_id="batch_payments_list",
        summary="Payments of a batch",
        description=_with_table(
            _(
                "The batch's payments in the order they were sent, with status, return code and "
                "text, which kind of account each goes to (`specific`, `nemkonto`, `given`, "
                "`none`; the account itself masked) and a link to its history. Filters: "
                "`status`, `return_code`, `reference`; a bad value answers 422 naming it. "
                "Paged with `cursor` (follow `next`).\n\n**Return codes**"
            )
        ),
        tags=[TAG_BATCHES],
        parameters=[
            BATCH_ID_PARAMETER,
            OpenApiParameter("status", str, enum=PaymentStatus.values),
            OpenApiParameter("return_code", int, enum=list(RETURN_CODES)),
            OpenApiParameter("reference", str, description="The payer's reference"),
            *CURSOR_PARAMETERS,
        ],
        responses={200: BatchPaymentOutputSerializer(many=True), **problems(401, 404, 422)},
        examples=[BATCH_PAYMENT_EXAMPLE],
    )
    def get(self, request: Request, batch_id: str) -> Response:
        batch = batch_get_for_client(
            client=payment_client_context(request).client, batch_id=batch_id
        )
        query = _query(BatchPaymentsQuerySerializer, request)
        payments = batch_payments(
            batch=batch,
            status=query.get("status"),
            return_code=query.get("return_code"),
            reference=query.get("reference"),
        )
        answers_fetched_record(batch=batch)
        return _page(self, request, payments, BatchPaymentOutputSerializer)


HISTORY_EXAMPLE = OpenApiExample(
    "A payment booked by the bank",
    value=[
        {
            "at": "2026-11-30T05:12:09+01:00",
            "event": "received",
            "text": "Received in batch 5f0c1d2e-8a7b-4c3d-9e8f-0a1b2c3d4e5f (JSON), line 1.",
            "details": {
                "batch_id": "5f0c1d2e-8a7b-4c3d-9e8f-0a1b2c3d4e5f",
                "format": "json",
                "line": 1,
            },
        },
        {
            "at": "2026-11-30T05:12:11+01:00",
            "event": "validated",
            "text": "The recipient ID exists in the CPR/CVR register.",
            "details": {},
        },
        {
            "at": "2026-11-30T05:12:11+01:00",
            "event": "attached",
            "text": "Attached to NemKonto version 812, active from 2026-03-02 10:14: the "
            "NemKonto active at that moment (no specific account for the benefit).",
            "details": {
                "account_kind": "nemkonto",
                "nemkonto_version": 812,
                "active_from": "2026-03-02T10:14:00+01:00",
            },
        },
        {
            "at": "2026-11-30T06:00:04+01:00",
            "event": "forwarded",
            "text": "Forwarded to the bank in file NK20261130050000-1 with value date 2026-12-01.",
            "details": {"message_id": "NK20261130050000-1", "value_date": "2026-12-01"},
        },
        {
            "at": "2026-11-30T07:30:00+01:00",
            "event": "bank_received",
            "text": "Received by the bank.",
            "details": {"return_code": 8, "reason": None},
        },
        {
            "at": "2026-12-01",
            "event": "booked",
            "text": "Booked by the bank on 2026-12-01 (camt.054).",
            "details": {"booked_on": "2026-12-01"},
        },
    ],
    response_only=True,
)


class BatchPaymentHistoryApi(ClientApi):
    @extend_schema(
        operation_id="batch_payment_history",
        summary="History of a payment",
        description=(
            "What happened to the payment, in time order: received (batch, format, line), "
            "validated and attached (which account version and why: a specific account, the "
            "NemKonto active at that moment, the account the payer gave) or rejected with its "
            "return code and text, failed with the failure choice, stopped (by whom), forwarded "
            "(bank file, value date), the bank's answer (code 8 or 9 with the ISO reason) and "
            "the booking date. Accounts are not shown to payment systems."
        ),
        tags=[TAG_BATCHES],
        parameters=[
            BATCH_ID_PARAMETER,
            OpenApiParameter("reference", str, OpenApiParameter.PATH),
        ],
        responses={200: HistoryEventSerializer(many=True), **problems(401, 404)},
        examples=[HISTORY_EXAMPLE],
    )
    def get(self, request: Request, batch_id: str, reference: str) -> Response:
        batch = batch_get_for_client(
            client=payment_client_context(request).client, batch_id=batch_id
        )
        payment = batch_payment_get(batch=batch, reference=reference)
        events = _history(payment, with_accounts=False)
        return Response(HistoryEventSerializer(events, many=True).data)


# --- Return answers as XML -----------------------------------------------------------------------

# Characters XML 1.0 cannot carry (a rejected row may hold what the payer sent).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: object) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)))


_ANSWER_COLUMNS = (
    "reference",
    "status",
    "return_code",
    "return_field",
    "return_reason",
    "failure_handling",
)


def _answer_rows(batch: Batch) -> Iterator[tuple[Any, ...]]:
    return (
        batch_payments(batch=batch)
        .values_list(*_ANSWER_COLUMNS)
        .iterator(chunk_size=2000)  # a server-side cursor: never the whole batch in memory
    )


def _row_text(row: tuple[Any, ...]) -> str:
    _reference, status, code, field, reason, handling = row
    return return_text_for(
        code=code, status=status, field=field, reason=reason, failure_handling=handling
    )


def return_answers_xml(batch: Batch, rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    """The batch's return answers in our own XML, in chunks."""
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ReturnAnswers batchId={quoteattr(str(batch.pk))} status={quoteattr(batch.status)} "
        f"created={quoteattr(timezone.localtime().isoformat(timespec='seconds'))}>\n"
    ).encode()
    chunk: list[str] = []
    for row in rows:
        code = "" if row[2] is None else str(row[2])
        chunk.append(
            "  <Payment>"
            f"<Reference>{_xml_text(row[0])}</Reference>"
            f"<ReturnCode>{code}</ReturnCode>"
            f"<ReturnText>{_xml_text(_row_text(row))}</ReturnText>"
            f"<Status>{_xml_text(row[1])}</Status>"
            "</Payment>\n"
        )
        if len(chunk) >= 500:
            yield "".join(chunk).encode()
            chunk.clear()
    chunk.append("</ReturnAnswers>\n")
    yield "".join(chunk).encode()


# pain.002 reasons for our own answers (DOMAIN.md section 9).
_FORMAL_ISO = "FF01"
_DUPLICATE_ISO = "AM05"
_ISO_REASON = re.compile("[A-Z0-9]{4}")


def iso_status(row: tuple[Any, ...]) -> tuple[str, str] | None:
    """The ISO 20022 status and reason of a payment's answer; None while it has none."""
    _reference, status, code, field, reason, handling = row
    if status == PaymentStatus.STOPPED:
        return "RJCT", "DS02"
    if code is None:
        return None
    if code in (0, 8):
        return "ACCP", ""
    if code == 1:
        return "RJCT", "BE05"
    if code == 2:
        duplicate = field == "reference" and reason in ("duplicate", "already_used")
        return "RJCT", _DUPLICATE_ISO if duplicate else _FORMAL_ISO
    if code == 7:
        if status == PaymentStatus.REJECTED:
            return "RJCT", "BE04"
        if handling == "returned":
            return "RJCT", "MS03"
        return "ACCP", ""  # redirected: cheque, error account or the waiting account
    if not reason:
        return "RJCT", "MS03"
    # A bank's own (proprietary) reason does not fit a 4-character ISO code: "narrative".
    return "RJCT", reason if _ISO_REASON.fullmatch(reason) else "NARR"


class AnyAccept(DefaultContentNegotiation):
    """For views that stream their own answer whatever the client accepts, where ``format``
    chooses the view's format (our XML or pain.002; JSON or CSV), not one of DRF's renderers;
    errors are problem documents."""

    def select_renderer(
        self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


class ReturnAnswersApi(ClientApi):
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="batch_return_answers",
        summary="Return answers as XML",
        description=_with_table(
            _(
                "One element per payment of the batch, in line order, streamed. Our own format "
                "(default):\n\n"
                "```xml\n"
                '<ReturnAnswers batchId="..." status="forwarded" created="...">\n'
                "  <Payment><Reference>BC-1</Reference><ReturnCode>0</ReturnCode>"
                "<ReturnText>Accepted: forwarded to the bank.</ReturnText>"
                "<Status>forwarded</Status></Payment>\n"
                "</ReturnAnswers>\n"
                "```\n\n"
                "`ReturnCode` is empty while a payment has none (`received`, `stopped`); the text "
                "is in the language asked for (`Accept-Language`).\n\n"
                "With `format=pain002`, the same as an ISO 20022 pain.002 status report: one "
                "transaction per payment with an answer, `EndToEndId` the payer's reference, "
                "`ACCP` (codes 0 and 8, and 7 when paid by cheque, to the error account or held "
                "on the waiting account) or `RJCT` with a reason: code 1 `BE05`, code 2 `FF01` "
                "(`AM05` for a reused reference), code 7 returned `MS03` or without an address "
                "`BE04`, code 9 the bank's reason, stopped `DS02`.\n\n**Return codes**"
            )
        ),
        tags=[TAG_BATCHES],
        parameters=[
            BATCH_ID_PARAMETER,
            OpenApiParameter(
                "format",
                str,
                enum=["xml", "pain002"],
                description="`xml` (our format, the default) or `pain002`",
            ),
        ],
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="The return answers"
            ),
            **problems(401, 404, 422),
        },
    )
    def get(self, request: Request, batch_id: str) -> StreamingHttpResponse:
        batch = batch_get_for_client(
            client=payment_client_context(request).client, batch_id=batch_id
        )
        kind = request.query_params.get("format") or "xml"
        if kind not in ("xml", "pain002"):
            raise ValidationFailed(
                gettext("The format must be xml or pain002."), field="format", code="invalid"
            )
        language = translation.get_language() or "en"
        answers_fetched_record(batch=batch)
        if kind == "pain002":
            return self._pain002(batch, language)

        def chunks() -> Iterator[bytes]:
            # The generator runs after the view returned: keep the request's language.
            with translation.override(language):
                yield from return_answers_xml(batch, _answer_rows(batch))

        response = StreamingHttpResponse(chunks(), content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="return-answers-{batch.pk}.xml"'
        return response

    def _pain002(self, batch: Batch, language: str) -> StreamingHttpResponse:
        # Imported here: the ISO 20022 writers are their own module.
        from payments.iso20022.pain002 import TxStatus, write_pain002

        now = timezone.now()

        def statuses() -> Iterator[TxStatus]:
            for row in _answer_rows(batch):
                answer = iso_status(row)
                if answer is not None:
                    # A row rejected for a missing reference has none: ISO's placeholder.
                    reference = _NOT_XML.sub("", row[0]).strip() or "NOTPROVIDED"
                    yield TxStatus(reference, answer[0], answer[1] or None)

        # The writer pushes into a file: spooled in memory, on disk beyond 8 MiB.
        out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed below
        with translation.override(language):
            write_pain002(
                cast(BinaryIO, out),
                message_id=f"NKRA{now:%Y%m%d%H%M%S}{batch.pk.hex[:16]}",
                created_at=now,
                original_message_id=batch.pk.hex,
                statuses=statuses(),
            )
        out.seek(0)

        def chunks() -> Iterator[bytes]:
            try:
                while block := out.read(1 << 16):
                    yield block
            finally:
                out.close()

        response = StreamingHttpResponse(chunks(), content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="pain002-{batch.pk}.xml"'
        return response


# --- Stop ---------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="BatchStop")
class BatchStopInputSerializer(StrictInputSerializer):
    references = serializers.ListField(
        child=serializers.CharField(max_length=35),
        required=False,
        allow_empty=True,
        help_text=f"The payer's references, at most {STOP_LIMIT:,}",
    )
    all = serializers.BooleanField(
        required=False, default=False, help_text="Stop every payment of the batch still pending"
    )


@extend_schema_serializer(component_name="StopAnswer")
class BatchStopOutputSerializer(serializers.Serializer[Any]):
    results = serializers.DictField(
        child=serializers.ChoiceField(choices=STOP_ANSWERS),
        help_text="Per reference: stopped, or why not",
    )


class BatchStopApi(ClientApi):
    @extend_schema(
        operation_id="batch_stop",
        summary="Stop payments of a batch",
        description=(
            "Stops the named payments (`references`, at most 10,000) or every pending payment "
            "of the batch (`all: true`) before they are forwarded to the bank. Answers per "
            "reference `stopped`, or the refusal: `already_forwarded` (in a bank file "
            "already), `already_final` (rejected, failed or stopped before), `not_found` (no "
            "such reference in this batch). A stopped payment gets status `stopped`. More than "
            "10,000 references, none, or both forms answer 422 naming the field."
        ),
        tags=[TAG_BATCHES],
        parameters=[BATCH_ID_PARAMETER],
        request=BatchStopInputSerializer,
        responses={200: BatchStopOutputSerializer, **problems(400, 401, 404, 422)},
        examples=[
            OpenApiExample(
                "Stop two payments",
                value={"references": ["BC-2026-000001", "BC-2026-000002"]},
                request_only=True,
            ),
            OpenApiExample("Stop the whole batch", value={"all": True}, request_only=True),
            OpenApiExample(
                "One stopped, one too late",
                value={
                    "results": {"BC-2026-000001": "stopped", "BC-2026-000002": "already_forwarded"}
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request, batch_id: str) -> Response:
        context = payment_client_context(request)
        batch = batch_get_for_client(client=context.client, batch_id=batch_id)
        data = BatchStopInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = payments_stop_for_client(
            client=context.client,
            batch=batch,
            references=data.validated_data.get("references"),
            stop_all=data.validated_data["all"],
        )
        return Response({"results": results})


# --- Caseworkers ---------------------------------------------------------------------------------


class IsCaseworker(BasePermission):
    """A logged-in, active employee of an authority; the selectors scope the rest by unit."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if not (
            isinstance(user, User)
            and user.is_active
            and user.kind == User.Kind.EMPLOYEE
            and user.authority_id is not None
        ):
            raise PermissionDenied(
                gettext("This is for the authorities' caseworkers."), code="employees_only"
            )
        return True


class CaseworkerApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsCaseworker]


@extend_schema_serializer(component_name="CaseworkerPayment")
class CaseworkerPaymentOutputSerializer(PaymentFieldsSerializer):
    id = serializers.IntegerField()
    batch_id = serializers.UUIDField()
    line = serializers.IntegerField()
    los_unit = serializers.CharField(source="los_unit.code")
    payment_system = serializers.CharField(source="payment_system.code")
    received_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text="The payment's detail with its history")

    def get_url(self, payment: Payment) -> str:
        url = reverse("payments-caseworker-payment", args=[payment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


@extend_schema_serializer(component_name="CaseworkerPaymentDetail")
class CaseworkerPaymentDetailSerializer(CaseworkerPaymentOutputSerializer):
    text = serializers.CharField(help_text="The text for the recipient")
    requested_value_date = serializers.DateField(allow_null=True)
    account_full = serializers.SerializerMethodField(
        help_text="The whole account, for a payment no longer pending (seen through the "
        "profile for completed payments); null otherwise"
    )
    return_field = serializers.CharField(help_text="Code 2: the field in error")
    return_reason = serializers.CharField(
        help_text="Code 2: the error's code; code 9: the bank's ISO reason"
    )
    bank_file = serializers.SerializerMethodField(help_text="The pain.001 file's message id")
    history = serializers.SerializerMethodField()

    def get_account_full(self, payment: Payment) -> str | None:
        if payment.status in PENDING_STATUSES:
            return None
        return full_account(payment)

    def get_bank_file(self, payment: Payment) -> str | None:
        return payment.bank_file.message_id if payment.bank_file else None

    @extend_schema_field(HistoryEventSerializer(many=True))
    def get_history(self, payment: Payment) -> list[dict[str, Any]]:
        events = _history(payment, with_accounts=True)
        return list(HistoryEventSerializer(events, many=True).data)


class PaymentSearchQuerySerializer(serializers.Serializer[Any]):
    recipient = serializers.CharField(max_length=20, required=False)
    recipient_type = serializers.ChoiceField(choices=IdKind.values, required=False)
    purpose = serializers.CharField(required=False)
    reference = serializers.CharField(max_length=35, required=False)
    batch_id = serializers.UUIDField(required=False)
    amount = serializers.CharField(max_length=20, required=False)
    received_from = serializers.DateField(required=False)
    received_to = serializers.DateField(required=False)
    value_date_from = serializers.DateField(required=False)
    value_date_to = serializers.DateField(required=False)
    status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    return_code = serializers.ChoiceField(choices=RETURN_CODE_CHOICES, required=False)
    pending = serializers.BooleanField(required=False, allow_null=True, default=None)


SEARCH_PARAMETERS = [
    OpenApiParameter(
        "recipient",
        str,
        description="CPR (with or without hyphen), CVR, P or SE number; alone it matches any "
        "type. Needs `purpose`; a search by CPR number is written to the look-up log",
    ),
    OpenApiParameter("recipient_type", str, enum=IdKind.values),
    OpenApiParameter("purpose", str, description="Why (logged); required with `recipient`"),
    OpenApiParameter("reference", str, description="The payer's reference"),
    OpenApiParameter("batch_id", OpenApiTypes.UUID),
    OpenApiParameter("amount", str, description='Kroner: "1234.50"'),
    OpenApiParameter("received_from", OpenApiTypes.DATE),
    OpenApiParameter("received_to", OpenApiTypes.DATE, description="Inclusive"),
    OpenApiParameter("value_date_from", OpenApiTypes.DATE),
    OpenApiParameter("value_date_to", OpenApiTypes.DATE, description="Inclusive"),
    OpenApiParameter("status", str, enum=PaymentStatus.values),
    OpenApiParameter("return_code", int, enum=list(RETURN_CODES)),
    OpenApiParameter(
        "pending",
        bool,
        description="true: only pending (received, completed, waiting); false: only completed",
    ),
    *CURSOR_PARAMETERS,
]


class PaymentSearchApi(CaseworkerApi):
    pagination_class = cursor_pagination("-id")

    @extend_schema(
        operation_id="payments_search",
        summary="Search the authority's payments",
        description=_with_table(
            _(
                "For caseworkers: the authority's payments by recipient, reference, batch, "
                "amount, dates, status or return code, newest first. Pending payments "
                "(`received`, `completed`, `waiting`) are found on the LOS units where you hold "
                "NKS-Søg-Bet (or NKS-Stop-Bet), the others where you hold NKS-Søg-Gennemf-Bet; "
                "a grant on a unit covers the units below it. Without either profile: 403. Bad "
                "filter values answer 422 naming each. Accounts are masked.\n\n**Return codes**"
            )
        ),
        tags=[TAG_CASEWORKER],
        parameters=SEARCH_PARAMETERS,
        responses={200: CaseworkerPaymentOutputSerializer(many=True), **problems(422)},
    )
    def get(self, request: Request) -> Response:
        query = _query(PaymentSearchQuerySerializer, request)
        payments = payment_search(actor=request_actor(request), **query)
        return _page(self, request, payments, CaseworkerPaymentOutputSerializer)


class PaymentDetailApi(CaseworkerApi):
    @extend_schema(
        operation_id="payment_get",
        summary="A payment and its history",
        description=_with_table(
            _(
                "One of the authority's payments that you may see (else 404), with its full "
                "history: which account version it was attached to and why, who stopped it, "
                "the bank file and the bank's answer. The whole account is shown for payments "
                "no longer pending.\n\n**Return codes**"
            )
        ),
        tags=[TAG_CASEWORKER],
        responses={200: CaseworkerPaymentDetailSerializer, **problems(404)},
    )
    def get(self, request: Request, payment_id: int) -> Response:
        payment = payment_get(actor=request_actor(request), payment_id=payment_id)
        data = CaseworkerPaymentDetailSerializer(payment, context={"request": request}).data
        return Response(data)


@extend_schema_serializer(component_name="PaymentsStop")
class PaymentsStopInputSerializer(StrictInputSerializer):
    payment_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=True,
        help_text=f"At most {STOP_LIMIT:,}",
    )


@extend_schema_serializer(component_name="PaymentsStopAnswer")
class PaymentsStopOutputSerializer(serializers.Serializer[Any]):
    results = serializers.DictField(
        child=serializers.ChoiceField(choices=STOP_ANSWERS),
        help_text="Per payment id: stopped, or why not",
    )


class PaymentsStopApi(CaseworkerApi):
    @extend_schema(
        operation_id="payments_stop",
        summary="Stop pending payments",
        description=(
            "Needs NKS-Stop-Bet: stops the named payments of the LOS units where you hold it "
            "(and the units below) until they are forwarded to the bank. Per id `stopped` or "
            "the refusal: `already_forwarded`, `already_final`, `not_found` (also for payments "
            "outside your units). Without the profile on any unit: 403, nothing is stopped. "
            "At most 10,000 ids (422)."
        ),
        tags=[TAG_CASEWORKER],
        request=PaymentsStopInputSerializer,
        responses={200: PaymentsStopOutputSerializer, **problems(400, 422)},
        examples=[
            OpenApiExample(
                "Stop two payments", value={"payment_ids": [101, 102]}, request_only=True
            ),
            OpenApiExample(
                "One stopped, one forwarded",
                value={"results": {"101": "stopped", "102": "already_forwarded"}},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = PaymentsStopInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = payments_stop(
            actor=request_actor(request), payment_ids=data.validated_data["payment_ids"]
        )
        return Response({"results": {str(pk): answer for pk, answer in results.items()}})
