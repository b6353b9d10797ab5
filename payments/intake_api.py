"""``POST /api/v1/batches``: a payment system submits a batch (API.md, Submit a batch).

The body is read as a stream (never through DRF's parsers, which would hold it in memory), so
the view declares its media types for the schema only.
"""

import io
from typing import Any

from django.http import QueryDict, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from nemkonto.api_support import problems
from payments.api_permissions import PaymentSystemClient, payment_client_context
from payments.intake import CSV_COLUMNS, UnsupportedFormat, format_for, spool_body
from payments.services.batches import batch_submit

TAG_BATCHES = "Batches (payment systems)"


class _RecipientSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["CPR", "CVR", "P", "SE"])
    id = serializers.CharField(help_text="Digits; a CPR number may carry a hyphen.")


class _AccountSerializer(serializers.Serializer[Any]):
    reg = serializers.CharField(required=False, help_text="Danish reg.nr. (4 digits)")
    number = serializers.CharField(required=False, help_text="Danish account number")
    iban = serializers.CharField(required=False)
    bic = serializers.CharField(required=False)


class _PaymentInSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=35, help_text="Unique per payment system.")
    recipient = _RecipientSerializer()
    benefit = serializers.CharField(max_length=30, help_text="The authority's benefit code.")
    amount = serializers.CharField(help_text='DKK with at most two decimals, > 0: "1234.50".')
    text = serializers.CharField(max_length=35, required=False, help_text="For the recipient.")
    account = _AccountSerializer(
        required=False,
        allow_null=True,
        help_text="Present: a complete payment to this account. Absent or null: incomplete "
        "(NemKonto attaches the specific account or the NemKonto).",
    )


class BatchInputSerializer(serializers.Serializer[Any]):
    authority = serializers.CharField(help_text="The authority's code (the client's own).")
    los_unit = serializers.CharField(help_text="The paying LOS unit's code.")
    bank_agreement = serializers.CharField(help_text="The bank agreement number.")
    requested_value_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Optional; the earliest possible date is used when absent or earlier.",
    )
    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: answer 200 with the outcome every row would get now; nothing is stored "
        "or forwarded.",
    )
    payments = _PaymentInSerializer(many=True)


class BatchAcceptedSerializer(serializers.Serializer[Any]):
    batch_id = serializers.UUIDField()
    status = serializers.CharField()
    received = serializers.IntegerField()
    expected_value_date = serializers.DateField()
    cut_off = serializers.DateTimeField()
    test = serializers.BooleanField(
        help_text="A test batch: the connection agreement is in test (test mode)"
    )
    links = serializers.DictField(child=serializers.CharField())


class _DryRunRowSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(help_text="The row's position in the batch, from 0")
    reference = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["rejected", "completed", "failed", "waiting", "held"],
        help_text="The status the payment would get when the batch is processed now",
    )
    return_code = serializers.IntegerField(allow_null=True)
    return_text = serializers.CharField()
    account_kind = serializers.ChoiceField(
        choices=["specific", "nemkonto", "given", "none"],
        help_text="The kind of account that would be used; never the account itself",
    )
    failure_handling = serializers.ChoiceField(
        choices=["returned", "cheque", "error_account", "waiting"], allow_null=True
    )
    value_date = serializers.DateField(
        allow_null=True, help_text="For the rows that would leave in a bank file"
    )


class BatchDryRunSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField()
    received = serializers.IntegerField()
    expected_value_date = serializers.DateField()
    cut_off = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Rows per status")
    return_codes = serializers.DictField(child=serializers.IntegerField())
    account_kinds = serializers.DictField(child=serializers.IntegerField())
    payments = _DryRunRowSerializer(many=True)


_DESCRIPTION = f"""
Submit a batch of payments for the client's authority. Three formats, one meaning:

* `application/json` (optionally `Content-Encoding: gzip`): the envelope and `payments` as below.
* `text/csv` (UTF-8, header line `{",".join(CSV_COLUMNS)}`), the envelope as query parameters
  `authority`, `los_unit`, `bank_agreement`, `requested_value_date`.
* `application/xml`: an ISO 20022 pain.001.001.09 document, the envelope as query parameters.

**Test mode**: while the client's connection agreement is in test, every batch it sends is a
test batch (`"test": true` in the answers): processed like any other, but its bank files go only
to the simulated bank and its recipients are never notified. Once the agreement is active, a
batch whose value date is before the agreement's go-live date is refused (422, field
`requested_value_date`, code `before_go_live`) and nothing is stored.

The envelope is checked first: an unknown or inactive agreement (403), another authority, an
unknown or closed LOS unit, a bank agreement number that is not the authority's, a benefit the
authority does not have, a malformed body (400), a body over the size limit (413): each is
refused and **nothing is stored**. Rows with formal errors do not fail the batch: they are stored
rejected with return code 2 (the field is named in `return_text`); a reference the payment
system used before, or twice in the batch, is such a row error.

The answer (202) gives the batch id, the number of payments received and the value date they
will get, with the cut-off they make. `Idempotency-Key`: the same key and body replays the first
answer; the same key with another body gets 422; a request still in progress gets 409.

**Dry run** (`"dry_run": true` in the JSON envelope, `dry_run=true` as a query parameter for CSV
and XML): the same checks, and the same 4xx for a wrong envelope, but the answer is **200** with
the outcome every row would get if the batch were processed now: `status` (`rejected`,
`completed`, `failed`, `waiting`, or `held` for a possible duplicate of an earlier payment), the
return code and text, the kind of account that would be used (`specific`, `nemkonto`, `given`,
`none`: never the account itself), what the failure choice would do, and the value date of the
rows that would be forwarded. Nothing is stored or forwarded (no batch, no payments; the
`Idempotency-Key` is not used); an audit record notes that the dry run took place and its counts.
A dry run of 100,000 rows answers within 5 s (docs/benchmarks.md).
"""


class StreamParser(BaseParser):
    """Accepts any body without reading it: the view streams it itself. (Authentication asks
    DRF for ``request.POST``, which would otherwise parse, and hold, the whole body.) Nothing
    parsed is an empty QueryDict: for a form media type DRF hands it on as ``request.POST``,
    whose ``lists()`` the OAuth2 authentication reads; the view then answers 415."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return QueryDict()


class BatchSubmitApi(APIView):
    permission_classes = [PaymentSystemClient]
    parser_classes = [StreamParser]

    @extend_schema(
        operation_id="batch_submit",
        summary="Submit a batch of payments",
        description=_DESCRIPTION,
        tags=[TAG_BATCHES],
        request={
            "application/json": BatchInputSerializer,
            "text/csv": {"type": "string"},
            "application/xml": {"type": "string"},
        },
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER),
            OpenApiParameter("authority", str, description="CSV and XML only"),
            OpenApiParameter("los_unit", str, description="CSV and XML only"),
            OpenApiParameter("bank_agreement", str, description="CSV and XML only"),
            OpenApiParameter("requested_value_date", str, description="CSV and XML only"),
            OpenApiParameter("dry_run", bool, description="CSV and XML only"),
        ],
        responses={
            202: BatchAcceptedSerializer,
            200: BatchDryRunSerializer,
            **problems(400, 401, 403, 409, 413, 415, 422),
        },
        examples=[
            OpenApiExample(
                "Two payments",
                request_only=True,
                media_type="application/json",
                value={
                    "authority": "0101",
                    "los_unit": "YDELSE",
                    "bank_agreement": "BA-1001",
                    "requested_value_date": "2026-12-01",
                    "payments": [
                        {
                            "reference": "KMD-2026-000001",
                            "recipient": {"type": "CPR", "id": "0101901234"},
                            "benefit": "BOERNECHECK",
                            "amount": "1234.50",
                            "text": "Børnecheck 4. kvartal",
                            "account": None,
                        },
                        {
                            "reference": "KMD-2026-000002",
                            "recipient": {"type": "CVR", "id": "13585628"},
                            "benefit": "BOERNECHECK",
                            "amount": "99.00",
                            "text": "Tilskud",
                            "account": {"reg": "3000", "number": "0001234567"},
                        },
                    ],
                },
            ),
            OpenApiExample(
                "A dry run",
                request_only=True,
                media_type="application/json",
                value={
                    "authority": "0101",
                    "los_unit": "YDELSE",
                    "bank_agreement": "BA-1001",
                    "dry_run": True,
                    "payments": [
                        {
                            "reference": "KMD-2026-000003",
                            "recipient": {"type": "CPR", "id": "0101901234"},
                            "benefit": "BOERNECHECK",
                            "amount": "1234.50",
                        },
                        {
                            "reference": "KMD-2026-000004",
                            "recipient": {"type": "CPR", "id": "0303751234"},
                            "benefit": "BOERNECHECK",
                            "amount": "500.00",
                        },
                    ],
                },
            ),
            OpenApiExample(
                "The dry run's answer",
                response_only=True,
                status_codes=["200"],
                value={
                    "dry_run": True,
                    "received": 2,
                    "expected_value_date": "2026-12-01",
                    "cut_off": "2026-11-30T06:00:00+01:00",
                    "counts": {"completed": 1, "waiting": 1},
                    "return_codes": {"0": 1, "7": 1},
                    "account_kinds": {"nemkonto": 1, "none": 1},
                    "payments": [
                        {
                            "line": 0,
                            "reference": "KMD-2026-000003",
                            "status": "completed",
                            "return_code": 0,
                            "return_text": "Accepted: account attached; waiting for the cut-off "
                            "cycle.",
                            "account_kind": "nemkonto",
                            "failure_handling": None,
                            "value_date": "2026-12-01",
                        },
                        {
                            "line": 1,
                            "reference": "KMD-2026-000004",
                            "status": "waiting",
                            "return_code": 7,
                            "return_text": "No NemKonto or specific account: held on the waiting "
                            "account until the recipient registers an account.",
                            "account_kind": "none",
                            "failure_handling": "waiting",
                            "value_date": None,
                        },
                    ],
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        context = payment_client_context(request)
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise UnsupportedFormat(
                _("Content-Encoding must be gzip or absent."), code="unsupported_encoding"
            )
        source_format = format_for(request.content_type or "")
        length = request.headers.get("Content-Length", "")
        body = spool_body(
            request.stream or io.BytesIO(b""),
            content_length=int(length) if length.isdigit() else None,
            gzipped=encoding == "gzip",
        )
        try:
            result = batch_submit(
                client=context.client,
                agreement=context.agreement,
                body=body,
                source_format=source_format,
                params=request.query_params,
                idempotency_key=request.headers.get("Idempotency-Key", ""),
            )
        finally:
            body.file.close()
        if result.dry_run is not None:
            # Streamed: a dry run of a million rows stays in constant memory.
            return StreamingHttpResponse(
                result.dry_run.chunks(result.answer), content_type="application/json"
            )
        return Response(
            result.answer, status=202, headers={"Location": result.answer["links"]["self"]}
        )
