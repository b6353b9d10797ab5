"""The missing-account work list (``payments.missing_accounts``): which recipients the authority
is going to pay have no usable account. For the authority's clients (scope ``resolve``) and its
payment systems' clients (scope ``payments``), as JSON (paged) or CSV; and the webhook
subscription (payment systems' clients, which have the callback URL)."""

import base64
import csv
import io
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.urls import reverse
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

from accounts.models import ApiClient, Authority
from nemkonto.api_support import problems
from nemkonto.csv_safe import safe_row
from nemkonto.errors import Conflict, ValidationFailed
from payments.api_permissions import ActivePaymentSystemClient, payment_client_context
from payments.batch_api import AnyAccept
from payments.missing_accounts import (
    MissingAccount,
    missing_accounts_page,
    missing_accounts_subscribe,
)
from payments.models import MissingAccountSubscription
from registry.api_auth import LookupClient, request_client
from registry.identifiers import IdKind
from registry.models import LookupLog
from registry.services.lookups import cpr_hashes, lookup_log_write_many
from registry.services.resolve import (
    benefit_for,
    bulk_resolve,
    client_authority,
    parse_bulk_recipients,
)

TAG_MISSING = "Missing-account work list"
PURPOSE = "missing-account work list"
PAGE_SIZE = 200
CSV_PAGE = 5000
CSV_COLUMNS = (
    "recipient_type",
    "recipient_id",
    "payments",
    "amount",
    "first_value_date",
    "cut_off",
    "benefits",
    "waiting",
)


def _format(request: Request) -> str:
    kind = request.query_params.get("format") or "json"
    if kind not in ("json", "csv"):
        raise ValidationFailed(_("The format must be json or csv."), field="format", code="invalid")
    return kind


def _cursor_decode(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    try:
        kind, number = base64.urlsafe_b64decode(value.encode()).decode().split(":", 1)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            _("The cursor is not valid."), field="cursor", code="invalid"
        ) from None
    if kind not in IdKind.values or not number.isdigit():
        raise ValidationFailed(_("The cursor is not valid."), field="cursor", code="invalid")
    return kind, number


def _cursor_encode(item: MissingAccount) -> str:
    return base64.urlsafe_b64encode(
        f"{item.recipient_type}:{item.recipient_number}".encode()
    ).decode()


def _log(client: ApiClient, authority: Authority, items: list[MissingAccount]) -> None:
    """The CPR numbers listed are look-ups of persons: one log row each, in one statement."""
    cprs = [item.recipient_number for item in items if item.recipient_type == IdKind.CPR]
    lookup_log_write_many(
        channel=LookupLog.Channel.API,
        hashes=cpr_hashes(cprs),
        results=[LookupLog.Result.NO] * len(cprs),
        purpose=PURPOSE,
        api_client=client,
        authority=authority,
    )


def _item(item: MissingAccount) -> dict[str, Any]:
    return {
        "recipient": {"type": item.recipient_type, "id": item.recipient_number},
        "payments": item.payments,
        "amount": item.amount,
        "first_value_date": item.first_value_date.isoformat(),
        "cut_off": item.cut_off.isoformat(),
        "benefits": item.benefits,
        "waiting": item.waiting,
    }


def _csv_line(values: list[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(safe_row(values))
    return out.getvalue().encode()


def _csv_response(rows: Iterator[list[Any]], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (_csv_line(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@extend_schema_serializer(component_name="MissingAccount")
class MissingAccountSerializer(serializers.Serializer[Any]):
    recipient = serializers.DictField(child=serializers.CharField(), help_text="{type, id}")
    payments = serializers.IntegerField(help_text="Pending payments to the recipient")
    amount = serializers.CharField(help_text='Their total in kroner: "1234.50"')
    first_value_date = serializers.DateField()
    cut_off = serializers.DateTimeField(
        help_text="The recipient needs an account before this moment for the earliest payment "
        "to leave on time"
    )
    benefits = serializers.ListField(child=serializers.CharField())
    waiting = serializers.BooleanField(help_text="A payment already waits on the waiting account")


class MissingAccountPageSerializer(serializers.Serializer[Any]):
    next = serializers.URLField(allow_null=True)
    results = MissingAccountSerializer(many=True)


class MissingAccountCheckSerializer(serializers.Serializer[Any]):
    benefit = serializers.CharField(required=False, allow_null=True)
    purpose = serializers.CharField(required=False, max_length=200)
    recipients = serializers.ListField(
        child=serializers.DictField(), help_text='At most 10,000 {"type", "id"}'
    )


class MissingAccountCheckAnswerSerializer(serializers.Serializer[Any]):
    checked = serializers.IntegerField()
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text='Only the IDs without a usable account: {"type", "id", "result": "no" or '
        '"unknown_id"}, in the order given',
    )


_WHAT = (
    "A recipient is on the list when a payment to them would find neither a live specific "
    "account for its benefit nor an active NemKonto now. Every CPR number answered is written "
    "to the look-up log (purpose `missing-account work list`). "
)
_EXAMPLE = OpenApiExample(
    "Two recipients to contact",
    value={
        "next": None,
        "results": [
            {
                "recipient": {"type": "CPR", "id": "0303751234"},
                "payments": 2,
                "amount": "2469.00",
                "first_value_date": "2026-12-01",
                "cut_off": "2026-11-30T06:00:00+01:00",
                "benefits": ["BOERNECHECK"],
                "waiting": True,
            },
            {
                "recipient": {"type": "CVR", "id": "13585628"},
                "payments": 1,
                "amount": "99.00",
                "first_value_date": "2026-12-02",
                "cut_off": "2026-12-01T06:00:00+01:00",
                "benefits": ["TILSKUD"],
                "waiting": False,
            },
        ],
    },
    response_only=True,
)


class MissingAccountsApi(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [LookupClient]
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="missing_accounts_list",
        summary="Recipients of pending payments without a usable account",
        description=(
            "The recipients of the authority's pending payments (`received`, `held`, "
            "`completed`, `waiting`; not complete payments) who have no usable account, in ID "
            "order, with how many payments wait for them, their total, the earliest value date "
            "and the cut-off by which they need an account. JSON paged by `cursor` (follow "
            f"`next`, {PAGE_SIZE} a page), or the whole list as CSV with `format=csv` "
            f"(columns {', '.join(CSV_COLUMNS)}). {_WHAT}Subscribe to be told when recipients "
            "appear on (or leave) the list: `PUT /api/v1/missing-accounts/subscription`."
        ),
        tags=[TAG_MISSING],
        parameters=[
            OpenApiParameter("format", str, enum=["json", "csv"]),
            OpenApiParameter("cursor", str, description="From `next`"),
        ],
        responses={
            200: MissingAccountPageSerializer,
            (200, "text/csv"): {"type": "string"},
            **problems(401, 422),
        },
        examples=[_EXAMPLE],
    )
    def get(self, request: Request) -> Any:
        client = request_client(request)
        authority = client_authority(client)
        kind = _format(request)
        after = _cursor_decode(request.query_params.get("cursor"))
        if kind == "csv":
            return _csv_response(self._csv_rows(client, authority, after), "missing-accounts.csv")
        items = missing_accounts_page(authority=authority, after=after, limit=PAGE_SIZE + 1)
        page, more = items[:PAGE_SIZE], len(items) > PAGE_SIZE
        _log(client, authority, page)
        url = request.build_absolute_uri(reverse("payments-missing-accounts"))
        return Response(
            {
                "next": f"{url}?cursor={_cursor_encode(page[-1])}" if more else None,
                "results": [_item(item) for item in page],
            }
        )

    @staticmethod
    def _csv_rows(
        client: ApiClient, authority: Authority, after: tuple[str, str] | None
    ) -> Iterator[list[Any]]:
        yield list(CSV_COLUMNS)
        while True:
            items = missing_accounts_page(authority=authority, after=after, limit=CSV_PAGE)
            _log(client, authority, items)
            for item in items:
                row = _item(item)
                yield [
                    item.recipient_type,
                    item.recipient_number,
                    row["payments"],
                    row["amount"],
                    row["first_value_date"],
                    row["cut_off"],
                    " ".join(item.benefits),
                    "yes" if item.waiting else "no",
                ]
            if len(items) < CSV_PAGE:
                return
            after = (items[-1].recipient_type, items[-1].recipient_number)

    @extend_schema(
        operation_id="missing_accounts_check",
        summary="Which of these recipients have no usable account?",
        description=(
            "Up to 10,000 IDs the authority is going to pay (for `benefit` if given); the "
            "answer lists only those a payment would find no account for (`no`) or that are "
            "not in the register (`unknown_id`), in the order given. JSON, or CSV with "
            f"`format=csv` (columns recipient_type, recipient_id, result). {_WHAT}A malformed ID "
            "fails the request (422, each named `recipients[i].id`), nothing logged."
        ),
        tags=[TAG_MISSING],
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        request=MissingAccountCheckSerializer,
        responses={
            200: MissingAccountCheckAnswerSerializer,
            (200, "text/csv"): {"type": "string"},
            **problems(400, 401, 422),
        },
        examples=[
            OpenApiExample(
                "Three recipients to check",
                value={
                    "benefit": "BOERNECHECK",
                    "recipients": [
                        {"type": "CPR", "id": "0101901234"},
                        {"type": "CPR", "id": "0303751234"},
                        {"type": "CPR", "id": "0505551234"},
                    ],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Two without a usable account",
                value={
                    "checked": 3,
                    "results": [
                        {"type": "CPR", "id": "0303751234", "result": "no"},
                        {"type": "CPR", "id": "0505551234", "result": "unknown_id"},
                    ],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Any:
        client = request_client(request)
        kind = _format(request)
        data = request.data
        if not isinstance(data, dict):
            raise ValidationFailed(_("The body must be a JSON object."), field="", code="invalid")
        unknown = sorted(set(data) - {"benefit", "purpose", "recipients"})
        if unknown:
            raise ValidationFailed(_("Unknown field."), field=unknown[0], code="unknown_field")
        if "recipients" not in data:
            raise ValidationFailed(
                _("This field is required."), field="recipients", code="required"
            )
        benefit_code = data.get("benefit")
        if benefit_code is not None and not isinstance(benefit_code, str):
            raise ValidationFailed(_("Give a benefit code."), field="benefit", code="invalid")
        ids = parse_bulk_recipients(data["recipients"])
        benefit = benefit_for(client_authority(client), benefit_code)
        answers = bulk_resolve(client=client, recipients=ids, benefit=benefit, purpose=PURPOSE)
        results = [
            {"type": kind_, "id": number, "result": answer.result}
            for (kind_, number), answer in zip(ids, answers, strict=True)
            if answer.result != "yes"
        ]
        if kind == "csv":
            rows = iter(
                [["recipient_type", "recipient_id", "result"]]
                + [[row["type"], row["id"], row["result"]] for row in results]
            )
            return _csv_response(rows, "missing-accounts-check.csv")
        return Response({"checked": len(ids), "results": results})


class SubscriptionSerializer(serializers.Serializer[Any]):
    subscribed = serializers.BooleanField()
    callback_url = serializers.URLField(allow_blank=True)


_EVENT_EXAMPLE = """
The event is POSTed to the client's callback URL, signed like every callback
(`X-NemKonto-Signature`), when recipients appear on the list or leave it (they registered an
account, or are no longer to be paid): after each batch is processed, when accounts change, and
hourly. The first event after subscribing gives the whole list.

```json
{"event": "missing_accounts", "authority": "kbh",
 "missing": [{"recipient": {"type": "CPR", "id": "0303751234"}, "payments": 1,
              "amount": "1234.50", "first_value_date": "2026-12-01",
              "benefits": ["BOERNECHECK"], "waiting": true}],
 "resolved": [{"recipient": {"type": "CPR", "id": "0202851234"}}]}
```
"""


class MissingAccountsSubscriptionApi(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [ActivePaymentSystemClient]

    def _answer(self, client: ApiClient) -> Response:
        subscribed = MissingAccountSubscription.objects.filter(api_client=client).exists()
        return Response({"subscribed": subscribed, "callback_url": client.callback_url})

    @extend_schema(
        operation_id="missing_accounts_subscription_get",
        summary="Is the client subscribed to missing-account events?",
        tags=[TAG_MISSING],
        responses={200: SubscriptionSerializer, **problems(401)},
    )
    def get(self, request: Request) -> Response:
        return self._answer(payment_client_context(request).client)

    @extend_schema(
        operation_id="missing_accounts_subscribe",
        summary="Subscribe to missing-account events",
        description="Needs a callback URL (`PUT /api/v1/callback`), else 409." + _EVENT_EXAMPLE,
        tags=[TAG_MISSING],
        request=None,
        responses={200: SubscriptionSerializer, **problems(401, 409)},
    )
    def put(self, request: Request) -> Response:
        client = payment_client_context(request).client
        if not client.callback_url:
            raise Conflict(
                _("Register a callback URL first (PUT /api/v1/callback): the events go there."),
                field="callback_url",
                code="callback_url_required",
            )
        missing_accounts_subscribe(client=client, subscribe=True)
        return self._answer(client)

    @extend_schema(
        operation_id="missing_accounts_unsubscribe",
        summary="Stop the missing-account events",
        tags=[TAG_MISSING],
        request=None,
        responses={200: SubscriptionSerializer, **problems(401)},
    )
    def delete(self, request: Request) -> Response:
        client = payment_client_context(request).client
        missing_accounts_subscribe(client=client, subscribe=False)
        return self._answer(client)
