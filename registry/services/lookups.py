"""The look-up log (DOMAIN.md section 11): one append-only row per look-up of a person by CPR.

The CPR number is stored only as a keyed hash: HMAC-SHA256 with ``NEMKONTO_LOOKUP_HASH_KEY``
(falling back to ``SECRET_KEY``). The hash is deterministic, so the person's own login finds
their rows with one indexed query; without the key, the table cannot be turned back into CPR
numbers (a plain hash of 10 digits could be reversed by trying all of them).
"""

import hashlib
import hmac
from collections.abc import Sequence

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import ApiClient, Authority, User
from registry.identifiers import IdKind
from registry.models import LookupLog


def _key() -> bytes:
    key = getattr(settings, "NEMKONTO_LOOKUP_HASH_KEY", "") or settings.SECRET_KEY
    return str(key).encode()


def cpr_hash(number: str) -> str:
    """The keyed hash of a normalised 10-digit CPR number, as stored in the look-up log."""
    return hmac.new(_key(), f"{IdKind.CPR}:{number}".encode(), hashlib.sha256).hexdigest()


def cpr_hashes(numbers: Sequence[str]) -> list[str]:
    """The keyed hashes of many CPR numbers (one HMAC key set-up for all)."""
    base = hmac.new(_key(), digestmod=hashlib.sha256)
    hashes = []
    for number in numbers:
        mac = base.copy()
        mac.update(f"{IdKind.CPR}:{number}".encode())
        hashes.append(mac.hexdigest())
    return hashes


def lookup_label(*, user: User | None = None, api_client: ApiClient | None = None) -> str:
    """Who looked up, as the citizen will read it: a username, or the API client's name."""
    if api_client is not None:
        return f"{api_client.get_kind_display()}: {api_client.application.name}"[:200]
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "anonymous"


def lookup_log_write(
    *,
    channel: LookupLog.Channel,
    cpr: str,
    purpose: str,
    result: LookupLog.Result,
    user: User | None = None,
    api_client: ApiClient | None = None,
    authority: Authority | None = None,
) -> LookupLog:
    """Log one look-up of a person by (normalised) CPR number; call it in the look-up's
    transaction."""
    return LookupLog.objects.create(
        channel=channel,
        actor=user if user is not None and user.is_authenticated else None,
        api_client=api_client,
        actor_label=lookup_label(user=user, api_client=api_client),
        authority=authority,
        id_hash=cpr_hash(cpr),
        purpose=purpose[:200],
        result=result,
    )


def lookup_log_write_many(
    *,
    channel: LookupLog.Channel,
    hashes: Sequence[str],
    results: Sequence[str],
    purpose: str,
    user: User | None = None,
    api_client: ApiClient | None = None,
    authority: Authority | None = None,
) -> int:
    """Log many look-ups (already hashed) in ONE statement: ``INSERT ... SELECT FROM unnest``."""
    if not hashes:
        return 0
    table = LookupLog._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (at, channel, actor_id, api_client_id, actor_label, authority_id, purpose,
                 id_hash, result)
            SELECT %s, %s, %s, %s, %s, %s, %s, h, r
            FROM unnest(%s::text[], %s::text[]) AS t(h, r)
            """,  # noqa: S608 - table name from model metadata
            [
                timezone.now(),
                channel,
                user.pk if user is not None and user.is_authenticated else None,
                api_client.pk if api_client is not None else None,
                lookup_label(user=user, api_client=api_client),
                authority.pk if authority is not None else None,
                purpose[:200],
                list(hashes),
                list(results),
            ],
        )
        return cursor.rowcount
