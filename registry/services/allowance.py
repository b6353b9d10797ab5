"""Abuse limits on look-ups of recipients: a token bucket per caseworker and per API client.

Each look-up takes one token; a look-up of an ID that is not in the register also takes
``NEMKONTO_LOOKUP_MISS_PENALTY`` tokens (anti-enumeration), down to minus the capacity. The bucket
refills by ``NEMKONTO_LOOKUP_REFILL_PER_MINUTE`` up to ``NEMKONTO_LOOKUP_ALLOWANCE``. A caller
without a token is refused with 429 and Retry-After before anything is looked up or logged.

Each call is one statement in its own transaction (autocommit), outside the look-up's
transaction, so concurrent look-ups of one caller hold the bucket's row lock only for an instant.
"""

import datetime
import math
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import ApiClient, User
from accounts.selectors import is_operator
from nemkonto.errors import PermissionDenied, TooManyRequests
from registry.models import LookupAllowance

_TABLE = LookupAllowance._meta.db_table
# The balance now: what was left, plus the refill since, up to the capacity.
_REFILLED = (
    "LEAST(%(capacity)s, a.tokens"
    " + GREATEST(0, EXTRACT(EPOCH FROM %(now)s - a.updated_at)) * %(per_second)s)"
)

_TAKE_SQL = f"""
INSERT INTO {_TABLE} AS a (key, label, tokens, updated_at, refused, misses, allowed)
VALUES (%(key)s, %(label)s, %(capacity)s - 1, %(now)s, 0, 0, true)
ON CONFLICT (key) DO UPDATE SET
    label = EXCLUDED.label,
    tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
    refused = a.refused + CASE WHEN {_REFILLED} >= 1 THEN 0 ELSE 1 END,
    allowed = {_REFILLED} >= 1,
    updated_at = %(now)s
RETURNING allowed, tokens
"""  # noqa: S608 - the table name comes from model metadata

_PENALISE_SQL = f"""
UPDATE {_TABLE} AS a
SET tokens = GREATEST(-%(capacity)s, {_REFILLED} - %(penalty)s),
    misses = a.misses + 1,
    updated_at = %(now)s
WHERE a.key = %(key)s
"""  # noqa: S608 - the table name comes from model metadata


def _caller(caller: User | ApiClient) -> tuple[str, str]:
    if isinstance(caller, ApiClient):
        return f"client:{caller.pk}", f"{caller} (API)"
    return f"user:{caller.pk}", caller.get_username()


def _params(caller: User | ApiClient, now: datetime.datetime | None) -> dict[str, Any]:
    key, label = _caller(caller)
    return {
        "key": key,
        "label": label,
        "now": now or timezone.now(),
        "capacity": float(settings.NEMKONTO_LOOKUP_ALLOWANCE),
        "per_second": settings.NEMKONTO_LOOKUP_REFILL_PER_MINUTE / 60,
        "penalty": float(settings.NEMKONTO_LOOKUP_MISS_PENALTY),
    }


def lookup_allowance_take(
    *, caller: User | ApiClient, now: datetime.datetime | None = None
) -> None:
    """Take one look-up from the caller's allowance; raises TooManyRequests when none is left."""
    params = _params(caller, now)
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, params)
        allowed, tokens = cursor.fetchone()
    if not allowed:
        wait = math.ceil((1 - tokens) / params["per_second"])
        raise TooManyRequests(
            _(
                "Too many look-ups in a short time, or of numbers that are not in the register. "
                "Try again in %(seconds)s seconds."
            )
            % {"seconds": wait},
            retry_after=wait,
        )


def lookup_allowance_penalise(
    *, caller: User | ApiClient, now: datetime.datetime | None = None
) -> None:
    """Charge the penalty for a look-up of an ID that is not in the register."""
    with connection.cursor() as cursor:
        cursor.execute(_PENALISE_SQL, _params(caller, now))


def lookup_allowances_reset(*, actor: User, keys: list[str]) -> int:
    """An operator gives callers their full allowance back (after checking them); audited."""
    if not is_operator(actor):
        raise PermissionDenied(
            _("Only operators of the NemKonto service may do this."), code="operator_only"
        )
    with transaction.atomic():
        allowances = list(LookupAllowance.objects.select_for_update().filter(key__in=keys))
        for allowance in allowances:
            audit_record(
                actor=actor,
                action="lookup_allowance.reset",
                target=allowance,
                data={"tokens": allowance.tokens, "misses": allowance.misses},
            )
        LookupAllowance.objects.filter(key__in=[a.key for a in allowances]).delete()
    return len(allowances)
