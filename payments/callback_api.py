"""``/api/v1/callback``: a payment system registers, reads or removes its callback URL (API.md,
Callbacks). One APIView, each method one service call (``payments.callbacks.callback_set``), so a
refused request changes nothing.
"""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from nemkonto.api_support import StrictInputSerializer, problems
from payments.api_permissions import PaymentSystemClient, payment_client_context
from payments.callbacks import DELIVERY_HEADER, SIGNATURE_HEADER, URL_MAX_LENGTH, callback_set

TAG_CALLBACKS = "Callbacks (payment systems)"

_SIGNATURE_SCHEME = f"""
**What is sent.** After each stage change of one of the client's batches (`processing`,
`completed`, `forwarded`, `closed`) NemKonto `POST`s to the URL:

```json
{{"batch_id": "6f1c...", "status": "completed",
 "counts": {{"completed": 998, "rejected": 2}}, "return_codes": {{"0": 998, "2": 2}}}}
```

**Events** (extensions, each with an `event` field; the batch-status notice above has none):
`payments_updated` when payments of a batch change while the batch's status does not (released
from the waiting account, fallen back after waiting too long, held duplicates confirmed or
rejected), and `missing_accounts` for a client subscribed to the missing-account work list
(`PUT /api/v1/missing-accounts/subscription`):

```json
{{"event": "payments_updated", "reason": "waiting_released", "batch_id": "6f1c...",
 "status": "completed", "payments": [{{"reference": "KMD-2026-000004", "status": "completed",
 "return_code": 0, "failure_handling": null, "value_date": "2026-12-02"}}]}}
```

Every notice is sent with the headers `Content-Type: application/json`,
`{DELIVERY_HEADER}: <delivery id>` (the same id on every retry of one notice: use it to drop
repeats) and
`{SIGNATURE_HEADER}: sha256=<hex>`, where `<hex>` is the HMAC-SHA256 of the **raw request body**
(the bytes as received, before any JSON parsing) keyed with the callback secret.

**How to verify.** Compute `HMAC-SHA256(secret, raw body)` as lower-case hex and compare it with
the header after `sha256=` in constant time; refuse the request when they differ:

```python
import hashlib, hmac

def verified(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)
```

**Retries.** Any answer other than 2xx (redirects are not followed) and any network error or
time-out (5 s) is retried with exponential back-off from 10 s up to 1 hour, with jitter, until a
2xx or the attempts run out. Delivery is at least once; a batch's notices are sent in order, but
a batch that passes several stages between two sends is notified of the one it is in. The batch
status endpoint stays the authority on the current state.
"""


class CallbackUrlSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(allow_null=True, help_text="null when no callback is registered")


class CallbackRegisteredSerializer(serializers.Serializer[Any]):
    url = serializers.URLField()
    secret = serializers.CharField(
        help_text="The HMAC-SHA256 key of the signatures. Shown only in this answer: store it."
    )


class CallbackApi(APIView):
    """The calling payment system's callback URL."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [PaymentSystemClient]

    class InputSerializer(StrictInputSerializer):
        url = serializers.CharField(
            help_text=(
                f"An https URL, at most {URL_MAX_LENGTH} characters, without user name or "
                "password, on a public host."
            )
        )

    @extend_schema(
        operation_id="callback_get",
        summary="The registered callback URL",
        description="The client's callback URL, or `null`. The secret cannot be read back.",
        tags=[TAG_CALLBACKS],
        responses={
            200: CallbackUrlSerializer,
            **problems(401),
        },
        examples=[
            OpenApiExample(
                "Registered",
                response_only=True,
                value={"url": "https://ydelse.example.dk/nemkonto/callback"},
            ),
            OpenApiExample("None", response_only=True, value={"url": None}),
        ],
    )
    def get(self, request: Request) -> Response:
        client = payment_client_context(request).client
        return Response(CallbackUrlSerializer({"url": client.callback_url or None}).data)

    @extend_schema(
        operation_id="callback_set",
        summary="Register or change the callback URL",
        description=(
            "Registers the URL and answers with a **new secret**, shown only here; the previous "
            "secret stops working at once (notices still pending are signed with the new one). "
            "422 when the URL is not https, carries credentials, is too long or points to a "
            "local or private address.\n" + _SIGNATURE_SCHEME
        ),
        tags=[TAG_CALLBACKS],
        request=InputSerializer,
        responses={
            200: CallbackRegisteredSerializer,
            **problems(400, 422, 401),
        },
        examples=[
            OpenApiExample(
                "Register",
                request_only=True,
                value={"url": "https://ydelse.example.dk/nemkonto/callback"},
            ),
            OpenApiExample(
                "Registered",
                response_only=True,
                value={
                    "url": "https://ydelse.example.dk/nemkonto/callback",
                    "secret": "q3Jx0dW6m1vY8kQ2c9TnQb7hZr4Lp5sA1eFgHiJkLmN",
                },
            ),
        ],
    )
    def put(self, request: Request) -> Response:
        client = payment_client_context(request).client
        data = CallbackApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        secret = callback_set(client=client, url=data.validated_data["url"])
        return Response(
            CallbackRegisteredSerializer({"url": client.callback_url, "secret": secret}).data
        )

    @extend_schema(
        operation_id="callback_delete",
        summary="Remove the callback URL",
        description="No more callbacks are sent; notices still pending are given up.",
        tags=[TAG_CALLBACKS],
        request=None,
        responses={
            204: OpenApiResponse(description="Removed (also when none was registered)."),
            **problems(401),
        },
    )
    def delete(self, request: Request) -> Response:
        callback_set(client=payment_client_context(request).client, url=None)
        return Response(status=status.HTTP_204_NO_CONTENT)
