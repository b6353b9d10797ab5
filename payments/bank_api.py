"""Banks' side of the pipeline (API.md, Banks): fetch the pain.001 files, deliver the answers.

The same files the file-drop adapter puts in a bank's outbox; a bank may take them either way.
An uploaded answer is applied at once, exactly once per message id.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Bank
from nemkonto.api_support import cursor_pagination, paginated, problems
from nemkonto.errors import NotFound, ValidationFailed
from payments import pipeline
from payments.bank_adapters import bank_dir
from payments.intake import MalformedBody, spool_body
from payments.intake_api import StreamParser
from payments.models import BankFile
from registry.api_auth import BankClient, request_client

TAG_BANK_FILES = "Banks: payment files"
_STATUS_FILTERS = {
    "new": [BankFile.Status.WRITTEN],
    "fetched": [BankFile.Status.FETCHED],
    "answered": [BankFile.Status.ANSWERED],
    "all": [BankFile.Status.WRITTEN, BankFile.Status.FETCHED, BankFile.Status.ANSWERED],
}


def _bank(request: Request) -> Bank:
    client = request_client(request)
    assert client.bank is not None, "bank clients are bound to a bank"
    return client.bank


def bank_files(*, bank: Bank, status: str) -> QuerySet[BankFile]:
    """The bank's files that have been written (claimed ones are not ready); never a test
    file (those go to the simulated bank only)."""
    if status not in _STATUS_FILTERS:
        raise ValidationFailed(
            _("status must be one of: %(values)s") % {"values": ", ".join(_STATUS_FILTERS)},
            field="status",
            code="invalid_choice",
        )
    return BankFile.objects.filter(bank=bank, is_test=False, status__in=_STATUS_FILTERS[status])


class BankFileSerializer(serializers.ModelSerializer[BankFile]):
    file_id = serializers.IntegerField(source="pk")
    control_sum = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = BankFile
        fields = [
            "file_id",
            "message_id",
            "value_date",
            "status",
            "transaction_count",
            "control_sum",
            "size",
            "sha256",
            "written_at",
            "download",
        ]

    def get_control_sum(self, file: BankFile) -> str:
        return f"{file.control_sum_ore // 100}.{file.control_sum_ore % 100:02d}"

    def get_download(self, file: BankFile) -> str:
        return f"/api/v1/bank/files/{file.pk}"


class AnswerResultSerializer(serializers.Serializer[Any]):
    message_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["pain002", "camt054"])
    applied = serializers.BooleanField(help_text="False: this message id was applied before.")
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    unmatched = serializers.IntegerField()


class BankFilesApi(APIView):
    permission_classes = [BankClient]
    parser_classes = [StreamParser]
    pagination_class = cursor_pagination("-id")

    @extend_schema(
        operation_id="bank_files_list",
        summary="List the bank's payment files",
        description=(
            "The pain.001.001.09 files NemKonto has written for this bank, newest first. "
            "`status=new` (default): not yet fetched; `fetched`, `answered` or `all`."
        ),
        tags=[TAG_BANK_FILES],
        parameters=[OpenApiParameter("status", str, enum=list(_STATUS_FILTERS))],
        responses={200: BankFileSerializer(many=True), **problems(401, 422)},
    )
    def get(self, request: Request) -> Response:
        files = bank_files(bank=_bank(request), status=request.query_params.get("status", "new"))
        return paginated(self, request, files, BankFileSerializer)

    @extend_schema(
        operation_id="bank_answer_upload",
        summary="Deliver a pain.002 or camt.054 answer",
        description=(
            "Upload the bank's answer to a payment file as `application/xml`: a pain.002 "
            "(accepted or rejected per transaction; rejected ones get return code 9 with the "
            "ISO reason, accepted ones code 8) or a camt.054 (booked). Applied at once and "
            "exactly once per message id: the same message again answers `applied: false`."
        ),
        tags=[TAG_BANK_FILES],
        request={"application/xml": {"type": "string"}},
        responses={
            201: AnswerResultSerializer,
            200: AnswerResultSerializer,
            **problems(400, 401, 413),
        },
    )
    def post(self, request: Request) -> Response:
        from payments.iso20022.errors import InvalidXml

        bank = _bank(request)
        length = request.headers.get("Content-Length", "")
        body = spool_body(
            request.stream or open(os.devnull, "rb"),  # noqa: SIM115 - closed with the body
            content_length=int(length) if length.isdigit() else None,
            gzipped=False,
        )
        folder = bank_dir(bank) / "uploaded"
        folder.mkdir(parents=True, exist_ok=True)
        with (
            body.file,
            tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".xml", delete=False) as temp,
        ):
            while chunk := body.file.read(1 << 20):
                temp.write(chunk)
        path = Path(temp.name)
        try:
            result = pipeline.bank_answer_apply(bank=bank, path=path)
        except InvalidXml as error:
            path.unlink(missing_ok=True)
            raise MalformedBody(
                _("The answer is not a valid pain.002 or camt.054: %(error)s") % {"error": error},
                code="malformed_xml",
            ) from None
        os.replace(path, folder / f"{timezone.now():%Y%m%dT%H%M%S}-{result.message_id}.xml")
        answer = {
            "message_id": result.message_id,
            "kind": result.kind,
            "applied": result.applied,
            "accepted": result.accepted,
            "rejected": result.rejected,
            "unmatched": result.unmatched,
        }
        return Response(answer, status=201 if result.applied else 200)


class BankFileApi(APIView):
    permission_classes = [BankClient]

    @extend_schema(
        operation_id="bank_file_fetch",
        summary="Fetch one payment file",
        description="The pain.001.001.09 document; the first fetch marks the file fetched.",
        tags=[TAG_BANK_FILES],
        responses={
            (200, "application/xml"): {"type": "string"},
            **problems(401, 404),
        },
    )
    def get(self, request: Request, file_id: int) -> FileResponse:
        file = bank_files(bank=_bank(request), status="all").filter(pk=file_id).first()
        if file is None or not file.path or not Path(file.path).is_file():
            raise NotFound(_("No such file for this bank."), code="not_found")
        BankFile.objects.filter(pk=file.pk, status=BankFile.Status.WRITTEN).update(
            status=BankFile.Status.FETCHED, fetched_at=timezone.now()
        )
        return FileResponse(
            Path(file.path).open("rb"),
            content_type="application/xml",
            as_attachment=True,
            filename=f"{file.message_id}.xml",
        )
