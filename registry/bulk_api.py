"""Banks' bulk NemKonto reports (API.md, Banks: scope ``bank``).

- ``POST /api/v1/nemkonto/bulk`` with ``{"changes": [{"recipient": {...}, "account": {...}}]}``
  (at most 100,000) answers 202 with the job id; the job is applied by a Celery task.
- ``GET /api/v1/nemkonto/bulk/{job_id}`` gives the job's status, counts and per-row results,
  paged by an opaque cursor.

The body is read and parsed here, not by DRF's JSONParser: a report of 100,000 changes is larger
than Django's in-memory limit for ``request.body``, its bytes are hashed for Idempotency-Key, and
the rows are checked by the service in one pass (DRF's nested serializers cost ~50 us a row).
"""

import base64
import binascii
import json
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from nemkonto.api_support import ProblemSerializer, StrictInputSerializer, problems
from nemkonto.errors import ValidationFailed
from registry.api import TAG_BANKS, AccountSerializer, ClientApi, RecipientSerializer
from registry.api_auth import BankClient, request_client
from registry.bank_bulk import (
    MAX_CHANGES,
    bank_bulk_job_get,
    bank_bulk_submit,
    body_digest,
)
from registry.models import BankBulkJob, BankBulkRow

# 100,000 changes of up to ~300 bytes each, with room for whitespace.
MAX_BODY_BYTES = 48 * 1024 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_PAGE = 1_000
MAX_PAGE = 10_000


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


class _Body(dict[str, Any]):
    """A parsed JSON body (``.data``) with the digest of its bytes; a dict for DRF's sake."""

    def __init__(self, data: Any, digest: str) -> None:
        super().__init__()
        self.data = data
        self.digest = digest


class BulkJSONParser(BaseParser):
    """JSON, read whole from the stream (bounded), keeping the bytes' digest."""

    media_type = "application/json"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> _Body:
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge(
                _("The request body is larger than %(size)d MiB.")
                % {"size": MAX_BODY_BYTES // 2**20}
            )
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise exceptions.ParseError(_("The body is not valid JSON: %s") % error) from None
        except RecursionError:
            raise exceptions.ParseError(_("The JSON is nested too deeply.")) from None
        return _Body(data, body_digest(raw))


# --- Shapes (for the schema; the rows are checked by the service) --------------------------------


@extend_schema_serializer(component_name="BankBulkChange")
class BulkChangeSerializer(serializers.Serializer[Any]):
    recipient = RecipientSerializer()
    account = AccountSerializer()


@extend_schema_serializer(component_name="BankBulkReport")
class BulkInputSerializer(StrictInputSerializer):
    changes = BulkChangeSerializer(many=True, help_text=f"At most {MAX_CHANGES:,} changes")


@extend_schema_serializer(component_name="BankBulkReceived")
class BulkReceivedSerializer(serializers.Serializer[Any]):
    job_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BankBulkJob.Status.choices)
    received = serializers.IntegerField()
    links = serializers.DictField(child=serializers.CharField())


@extend_schema_serializer(component_name="BankBulkError")
class BulkErrorSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


@extend_schema_serializer(component_name="BankBulkResult")
class BulkResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The change's position in `changes`, from 0")
    recipient = RecipientSerializer(allow_null=True, help_text="Null when the ID was malformed")
    result = serializers.ChoiceField(choices=BankBulkRow.Outcome.choices)
    version = serializers.IntegerField(
        allow_null=True, help_text="The NemKonto version written (changed) or kept (unchanged)"
    )
    superseded_by = serializers.IntegerField(
        allow_null=True, help_text="The later change of the same recipient that was applied"
    )
    errors = BulkErrorSerializer(many=True)  # type: ignore[assignment]


@extend_schema_serializer(component_name="BankBulkJob")
class BulkJobSerializer(serializers.Serializer[Any]):
    job_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BankBulkJob.Status.choices)
    received = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    results = BulkResultSerializer(many=True)
    next = serializers.CharField(allow_null=True)


# --- Views ----------------------------------------------------------------------------------------


def _job_url(request: Request, job: BankBulkJob) -> str:
    return request.build_absolute_uri(reverse("registry-bank-bulk-job", args=[job.pk]))


class BankBulkApi(ClientApi):
    permission_classes = [BankClient]
    parser_classes = [BulkJSONParser]

    @extend_schema(
        operation_id="bank_nemkonto_bulk",
        summary="Report many customers' NemKonti (up to 100,000)",
        description=(
            "Stored at once and applied by a background job in one pass; poll the `self` link "
            "for the per-row results. Each change is checked as a single report would be: the "
            "account must be one the bank holds, a reported account that is already the "
            "NemKonto changes nothing, and a change waiting for activation is cancelled. Row "
            "errors reject only their row (`changes[12].account.iban`); when one recipient "
            "appears more than once, the last valid change wins and the earlier ones are "
            "`superseded`. Envelope errors (not JSON, more than 100,000 changes, body over 48 "
            "MiB) answer 4xx and store nothing. Idempotency-Key: the same key and body replay "
            "the first answer; another body is 422; a request still in progress is 409."
        ),
        tags=[TAG_BANKS],
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, description="Optional"
            )
        ],
        request=BulkInputSerializer,
        responses={
            202: BulkReceivedSerializer,
            **problems(400, 401, 409, 422),
            (413, "application/problem+json"): OpenApiResponse(
                ProblemSerializer, gettext_lazy("The body is larger than 48 MiB.")
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, _Body) or not isinstance(body.data, dict):
            raise ValidationFailed(
                _('The body must be a JSON object {"changes": [...]}.'), field="", code="invalid"
            )
        unknown = sorted(set(body.data) - {"changes"})
        if unknown:
            raise ValidationFailed(_("Unknown field."), field=unknown[0], code="unknown_field")
        if "changes" not in body.data:
            raise ValidationFailed(_("This field is required."), field="changes", code="required")
        submission = bank_bulk_submit(
            actor=request_client(request),
            changes=body.data["changes"],
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
            body_hash=body.digest,
        )
        job = submission.job
        url = _job_url(request, job)
        return Response(
            {
                "job_id": job.pk,
                "status": BankBulkJob.Status.RECEIVED if not submission.replayed else job.status,
                "received": job.received,
                "links": {"self": url},
            },
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


def _decode_cursor(raw: str | None) -> int:
    if not raw:
        return -1
    try:
        text = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
        if not text.startswith("i"):
            raise ValueError(text)
        return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(_("Invalid cursor."), field="cursor", code="invalid") from None


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i{index}".encode()).decode().rstrip("=")


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE:
        raise ValidationFailed(
            _("page_size must be a number from 1 to %(max)d.") % {"max": MAX_PAGE},
            field="page_size",
            code="invalid",
        )
    return size


def _counts(job: BankBulkJob) -> dict[str, int]:
    names = ("changed", "unchanged", "superseded", "rejected")
    if job.status == BankBulkJob.Status.DONE:
        return {name: getattr(job, name) for name in names}
    found = dict(
        BankBulkRow.objects.filter(job=job)
        .values_list("outcome")
        .annotate(n=Count("index"))
        .values_list("outcome", "n")
    )
    return {name: int(found.get(name, 0)) for name in ("received", *names)}


class BankBulkJobApi(ClientApi):
    permission_classes = [BankClient]

    @extend_schema(
        operation_id="bank_nemkonto_bulk_get",
        summary="A bulk report's status and per-row results",
        description=(
            "Only the reporting bank's clients see a report (404 otherwise). `result` per row: "
            "`received` (not applied yet), `changed`, `unchanged`, `superseded` or `rejected` "
            "(with `errors`; the first is the error a single report would answer). Messages "
            "are in the language of the request that submitted the report. Filter with "
            f"`result`; pages of `page_size` rows (default {DEFAULT_PAGE:,}, at most "
            f"{MAX_PAGE:,}), follow `next`."
        ),
        tags=[TAG_BANKS],
        parameters=[
            OpenApiParameter("result", str, enum=[c for c, _l in BankBulkRow.Outcome.choices]),
            OpenApiParameter("cursor", str, description="The opaque cursor of the page"),
            OpenApiParameter("page_size", int),
        ],
        responses={200: BulkJobSerializer, **problems(400, 401, 404, 422)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = bank_bulk_job_get(client=request_client(request), job_id=job_id)
        after = _decode_cursor(request.query_params.get("cursor"))
        size = _page_size(request.query_params.get("page_size"))
        rows = BankBulkRow.objects.filter(job=job, index__gt=after).order_by("index")
        wanted = request.query_params.get("result")
        if wanted:
            if wanted not in BankBulkRow.Outcome.values:
                raise ValidationFailed(_("Unknown result."), field="result", code="invalid")
            rows = rows.filter(outcome=wanted)
        page = list(
            rows.values_list(
                "index",
                "id_type",
                "id_number",
                "outcome",
                "version_id",
                "superseded_by",
                "errors",
            )[: size + 1]
        )
        next_url = None
        if len(page) > size:
            page = page[:size]
            query = request.query_params.copy()
            query["cursor"] = _encode_cursor(page[-1][0])
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(
            {
                "job_id": job.pk,
                "status": job.status,
                "received": job.received,
                "counts": _counts(job),
                "created_at": job.created_at,
                "finished_at": job.finished_at,
                "results": [
                    {
                        "index": index,
                        "recipient": {"type": id_type, "id": id_number} if id_type else None,
                        "result": outcome,
                        "version": version,
                        "superseded_by": superseded_by,
                        "errors": errors or [],
                    }
                    for index, id_type, id_number, outcome, version, superseded_by, errors in page
                ],
                "next": next_url,
            }
        )
