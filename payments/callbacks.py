"""Signed callbacks to payment systems (API.md, Callbacks; ARCHITECTURE.md section 4, step 5).

A payment system's API client registers an https URL (``callback_set``) and is given an HMAC key
once. After each stage change of one of its batches the system POSTs
``{"batch_id", "status", "counts", "return_codes", "test"}`` there, signed
``X-NemKonto-Signature: sha256=<hex HMAC-SHA256 of the body>``, and retries with back-off until a
2xx answer.

The extensions' events (``payments_updated``, ``missing_accounts``: ``payments.callback_events``)
are written by the changes they report and delivered by the same ``callbacks_deliver``.

Two steps, both safe to run at any time and in parallel (``payments.callback_tasks``):

- ``callbacks_enqueue``: one ``INSERT ... SELECT`` writes a delivery for every recently touched
  batch whose current status has not been notified yet, with its counts, whatever the number of
  batches. The unique (batch, status) makes each status be notified once. A batch that passes
  through several statuses between two runs is notified of the one it is in.
- ``callbacks_deliver``: claims due deliveries (``FOR UPDATE SKIP LOCKED``) by leasing them, sends
  them outside any transaction, and records each outcome as soon as it is known. Delivery is at
  least once: a worker that dies mid-run leaves its lease to expire and the delivery is resent with
  the same ``X-NemKonto-Delivery`` id, by which the receiver can drop repeats.
"""

import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import random
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import ApiClient
from nemkonto.errors import PermissionDenied, ValidationFailed
from payments.models import Batch, CallbackDelivery, Payment

URL_MAX_LENGTH = 500
TIMEOUT_SECONDS = 5
BACKOFF_FIRST_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600
DEFAULT_MAX_ATTEMPTS = 15
# Batches touched longer ago than this are not looked at: their stage changes were enqueued then.
ENQUEUE_WINDOW = datetime.timedelta(days=1)
# "received" is not a stage change: the 202 answer to the submission already said so.
NOTIFIED_STATUSES = (
    Batch.Status.PROCESSING,
    Batch.Status.COMPLETED,
    Batch.Status.FORWARDED,
    Batch.Status.CLOSED,
)
SIGNATURE_HEADER = "X-NemKonto-Signature"
DELIVERY_HEADER = "X-NemKonto-Delivery"
ERROR_MAX_LENGTH = CallbackDelivery._meta.get_field("last_error").max_length or 300


def _allow_http() -> bool:
    """Development and tests: http, localhost and private addresses are allowed."""
    return bool(getattr(settings, "NEMKONTO_CALLBACK_ALLOW_HTTP", False))


def _max_attempts() -> int:
    return int(getattr(settings, "NEMKONTO_CALLBACK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


# --- Registering the URL ------------------------------------------------------------------------


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _host_is_local(host: str) -> bool:
    """Loopback, private, link-local or otherwise non-public, written as an address or
    ``localhost``. (Names are resolved again before every delivery, see ``_refusal``.)"""
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not _address_is_public(host)
    except ValueError:
        return False


def _invalid(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field="url", code=code)


def callback_url_clean(url: str) -> str:
    """The URL as stored, or ValidationFailed naming the rule it breaks."""
    url = (url or "").strip()
    allow_http = _allow_http()
    if not url:
        raise _invalid(_("The callback URL is missing."), "required")
    if len(url) > URL_MAX_LENGTH:
        raise _invalid(
            _("The callback URL is longer than %(max)d characters.") % {"max": URL_MAX_LENGTH},
            "too_long",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range (https://x:99999/)
    except ValueError:
        raise _invalid(_("The callback URL is not a valid URL."), "invalid_url") from None
    schemes = ["https", "http"] if allow_http else ["https"]
    if parts.scheme.lower() not in schemes:
        raise _invalid(_("The callback URL must use https."), "https_required")
    if "@" in parts.netloc:
        raise _invalid(
            _("The callback URL must not contain a user name or password."),
            "credentials_not_allowed",
        )
    try:
        URLValidator(schemes=schemes)(url)
    except ValidationError:
        raise _invalid(_("The callback URL is not a valid URL."), "invalid_url") from None
    if not allow_http and _host_is_local(parts.hostname or ""):
        raise _invalid(
            _("The callback URL must point to a public host, not a local or private address."),
            "private_host",
        )
    return url


@transaction.atomic
def callback_set(*, client: ApiClient, url: str | None) -> str | None:
    """Register the client's callback URL with a new signing secret, returned once; ``url=None``
    removes both (and gives up the deliveries still pending).

    Raises PermissionDenied (not an active payment system's client), ValidationFailed (the URL:
    not https, credentials in it, too long, a local or private host).
    """
    if client.kind != ApiClient.Kind.PAYMENT_SYSTEM or not client.is_active:
        raise PermissionDenied(
            _("Only an active payment system's API client has callbacks."),
            code="payment_client_required",
        )
    cleaned = None if url is None else callback_url_clean(url)
    locked = (
        ApiClient.objects.select_for_update(of=("self",))
        .select_related("application")
        .get(pk=client.pk)
    )
    secret = secrets.token_urlsafe(32) if cleaned is not None else None
    locked.callback_url = cleaned or ""
    locked.callback_secret = secret or ""
    locked.save(update_fields=["callback_url", "callback_secret"])
    given_up = 0
    if cleaned is None:
        given_up = CallbackDelivery.objects.filter(
            api_client=locked, state=CallbackDelivery.State.PENDING
        ).update(state=CallbackDelivery.State.FAILED, last_error="callback removed by the client")
    audit_record(
        actor=None,
        action="api_client.callback_set" if cleaned else "api_client.callback_remove",
        target=locked,
        authority=locked.authority,
        # Never the secret.
        data={
            "client_id": locked.application.client_id,
            "url": cleaned,
            "pending_given_up": given_up,
        },
    )
    client.callback_url = locked.callback_url
    client.callback_secret = locked.callback_secret
    return secret


# --- Enqueueing ---------------------------------------------------------------------------------


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


_ENQUEUE_SQL = """
    WITH due AS MATERIALIZED (
        SELECT b.id, b.status, b.api_client_id, b.is_test
        FROM {batch} b
        JOIN {client} c ON c.id = b.api_client_id
        WHERE b.touched_at >= %(since)s
          AND b.status = ANY(%(statuses)s)
          AND c.is_active AND c.callback_url <> ''
          AND NOT EXISTS (
              SELECT 1 FROM {delivery} d
              WHERE d.batch_id = b.id AND d.status = b.status AND d.event = 'batch_status'
          )
    )
    INSERT INTO {delivery}
        (api_client_id, batch_id, event, status, payload, state, attempts, next_attempt_at,
         last_error, created_at)
    SELECT due.api_client_id, due.id, 'batch_status', due.status,
           jsonb_build_object(
               'batch_id', due.id::text,
               'status', due.status,
               'counts', agg.counts,
               'return_codes', agg.return_codes,
               'test', due.is_test
           ),
           'pending', 0, %(now)s, '', %(now)s
    FROM due
    -- One pass over the batch's payments (the (batch, status) index) for both tallies; only for
    -- the batches that get a delivery now, thanks to the materialised list above.
    CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_object_agg(g.status, g.n) FILTER (WHERE g.by_status), '{{}}')
                   AS counts,
               coalesce(
                   jsonb_object_agg(g.return_code::text, g.n)
                       FILTER (WHERE NOT g.by_status AND g.return_code IS NOT NULL),
                   '{{}}'
               ) AS return_codes
        FROM (
            SELECT p.status, p.return_code, count(*) AS n,
                   GROUPING(p.return_code) = 1 AS by_status
            FROM {payment} p
            WHERE p.batch_id = due.id
            GROUP BY GROUPING SETS ((p.status), (p.return_code))
        ) g
    ) agg
    ON CONFLICT (batch_id, status) WHERE event = 'batch_status' DO NOTHING
"""


def callbacks_enqueue(*, now: datetime.datetime | None = None) -> int:
    """Write a pending delivery for the current status of every batch touched in the last day
    whose client has a callback URL and was not told of that status yet; returns how many.

    One statement, whatever the number of batches. Raises nothing of its own.
    """
    now = now or timezone.now()
    sql = _ENQUEUE_SQL.format(
        batch=_table(Batch),
        client=_table(ApiClient),
        delivery=_table(CallbackDelivery),
        payment=_table(Payment),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "since": now - ENQUEUE_WINDOW,
                "statuses": [str(status) for status in NOTIFIED_STATUSES],
                "now": now,
            },
        )
        return max(cursor.rowcount, 0)


# --- Delivering ---------------------------------------------------------------------------------


def callback_backoff(
    attempts: int, *, rand: Callable[[], float] = random.random
) -> datetime.timedelta:
    """The wait after the ``attempts``-th failed try: 10 s doubling up to 1 h, with +-20 % jitter
    so that deliveries failing together (a receiver that was down) do not retry in step."""
    base = min(BACKOFF_FIRST_SECONDS * 2 ** (max(min(attempts, 20), 1) - 1), BACKOFF_CAP_SECONDS)
    seconds = min(base * (0.8 + 0.4 * rand()), BACKOFF_CAP_SECONDS)
    return datetime.timedelta(seconds=seconds)


def callback_signature(secret: str, body: bytes) -> str:
    """The ``X-NemKonto-Signature`` value of a body: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    payload: dict[str, Any]
    url: str
    secret: str


_CLAIM_SQL = """
    WITH due AS (
        SELECT d.id
        FROM {delivery} d
        WHERE d.state = 'pending' AND d.next_attempt_at <= %(now)s
          -- A batch's notices go out in order: a later status waits for an earlier one.
          AND NOT EXISTS (
              SELECT 1 FROM {delivery} o
              WHERE o.batch_id = d.batch_id AND o.state = 'pending' AND o.id < d.id
          )
        ORDER BY d.next_attempt_at, d.id
        LIMIT %(limit)s
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE {delivery} d SET next_attempt_at = %(lease_until)s
    FROM due, {client} c
    WHERE d.id = due.id AND c.id = d.api_client_id
    RETURNING d.id, d.attempts, d.payload::text, c.callback_url, c.callback_secret
"""


def _claim(*, limit: int, now: datetime.datetime) -> list[_Claimed]:
    """Lease up to ``limit`` due deliveries: pushed past the time this run can take, so another
    run skips them, and resent by a later run should this one die."""
    lease = datetime.timedelta(seconds=limit * TIMEOUT_SECONDS * 2 + 60)
    sql = _CLAIM_SQL.format(delivery=_table(CallbackDelivery), client=_table(ApiClient))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "limit": limit, "lease_until": now + lease})
        rows = cursor.fetchall()
    return [
        _Claimed(id=row[0], attempts=row[1], payload=json.loads(row[2]), url=row[3], secret=row[4])
        for row in sorted(rows)
    ]


def _give_up_orphans(now: datetime.datetime) -> int:
    """Due deliveries whose client was deactivated or removed its URL are not sent."""
    return (
        CallbackDelivery.objects.filter(
            state=CallbackDelivery.State.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(api_client__is_active=False) | Q(api_client__callback_url=""))
        .update(state=CallbackDelivery.State.FAILED, last_error="no callback URL")
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: following it could lead the signed body
    (and our network position) anywhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _refusal(url: str) -> str | None:
    """Why the URL may not be called now (production rules), or None.

    The host name is resolved here, so that a name registered as public but pointing at a local
    or private address is refused too.
    """
    if _allow_http():
        return None
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "refused: not https"
    try:
        port = parts.port or 443
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port)}
    except (OSError, ValueError) as error:
        return f"cannot resolve the host: {error}"
    if not addresses or not all(_address_is_public(str(address)) for address in addresses):
        return "refused: the host resolves to a local or private address"
    return None


def _post(claimed: _Claimed) -> str | None:
    """Send one delivery; None when the receiver answered 2xx, else what went wrong."""
    if not claimed.url or not claimed.secret:
        return "no callback URL"
    refusal = _refusal(claimed.url)
    if refusal is not None:
        return refusal
    body = callback_body(claimed.payload)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by callback_url_clean
        claimed.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "NemKonto-Callback/1",
            SIGNATURE_HEADER: callback_signature(claimed.secret, body),
            DELIVERY_HEADER: str(claimed.id),
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        error.close()
        return f"HTTP {error.code}"
    except (OSError, http.client.HTTPException, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def _record(claimed: _Claimed, error: str | None, now: datetime.datetime) -> str:
    """Store one outcome at once (a crash later in the run then resends only what was not
    recorded); returns ``delivered``, ``retrying`` or ``failed``."""
    attempts = claimed.attempts + 1
    rows = CallbackDelivery.objects.filter(pk=claimed.id, state=CallbackDelivery.State.PENDING)
    if error is None:
        rows.update(
            state=CallbackDelivery.State.DELIVERED,
            attempts=attempts,
            delivered_at=now,
            last_error="",
        )
        return "delivered"
    final = attempts >= _max_attempts()
    rows.update(
        state=CallbackDelivery.State.FAILED if final else CallbackDelivery.State.PENDING,
        attempts=attempts,
        next_attempt_at=now if final else now + callback_backoff(attempts),
        last_error=error[:ERROR_MAX_LENGTH],
    )
    return "failed" if final else "retrying"


def callbacks_deliver(*, limit: int = 100, now: datetime.datetime | None = None) -> dict[str, int]:
    """Send up to ``limit`` due deliveries; returns how many were delivered, will be retried,
    and were given up. Raises nothing for a receiver's failure (it is recorded and retried).
    """
    now = now or timezone.now()
    counts = {"delivered": 0, "retrying": 0, "failed": _give_up_orphans(now)}
    for claimed in _claim(limit=limit, now=now):
        counts[_record(claimed, _post(claimed), now)] += 1
    return counts
