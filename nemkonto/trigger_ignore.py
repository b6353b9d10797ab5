"""A faster ``_pgtrigger_should_ignore``: the same answer, without a subtransaction.

django-pgtrigger (and django-pghistory, built on it) calls this function at the start of every
trigger. Its own version reads ``pgtrigger.ignore`` inside ``BEGIN ... EXCEPTION`` to survive the
setting being absent, and every such block is a subtransaction: on a set-based UPDATE of 20,000
payments the row trigger took 10 s (0.5 ms a row), and past 64 subtransactions every visibility
check slows down. ``current_setting(name, true)`` answers NULL for an absent setting instead of
raising, so no exception block is needed. pgtrigger writes its version again whenever a
migration installs a trigger, so this one is put back after every ``migrate``.
"""

from typing import Any

from django.db import connections

SHOULD_IGNORE_SQL = """
CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
    SELECT coalesce(
        trigger_name = ANY(nullif(current_setting('pgtrigger.ignore', true), '')::text[]),
        false
    );
$$ LANGUAGE sql STABLE;
"""


def install_fast_should_ignore(*, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: replace pgtrigger's ignore check with the one above."""
    with connections[using].cursor() as cursor:
        cursor.execute(SHOULD_IGNORE_SQL)
