"""Keyset paging of a list newest first, by (``key``, id) descending: "older" pages continue
below the last row shown, "newer" ones above the first. No OFFSET and no COUNT(*): each page is
one index range read, however many payments the authority has (issue 7, acceptance 4). The
address names a row by its id (``before=<id>``, ``after=<id>``); its key is read back from the
same scoped query, so a row the user may not see is no cursor (the first page is shown)."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import QueryDict

PAGE_SIZE = 25


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    newer_query: str | None
    older_query: str | None
    first_query: str | None


def _id(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def _query(params: QueryDict, **cursor: int) -> str:
    query = params.copy()
    for name in ("before", "after"):
        query.pop(name, None)
    for name, value in cursor.items():
        query[name] = str(value)
    return query.urlencode()


def _beyond[M: Model](
    queryset: QuerySet[M], key: str, value: Any, pk: int, *, older: bool
) -> QuerySet[M]:
    """The rows after (key, pk) in the list's order: older (smaller) or newer (larger)."""
    op = "lt" if older else "gt"
    return queryset.filter(**{f"{key}__{op}e": value}).filter(
        Q(**{f"{key}__{op}": value}) | Q(**{key: value, f"pk__{op}": pk})
    )


def keyset_page[M: Model](
    queryset: QuerySet[M], params: QueryDict, *, key: str, size: int = PAGE_SIZE
) -> Page[M]:
    """The page of ``queryset``, ordered here by (``key``, id) descending, that ``params`` point
    at with ``before=<id>`` or ``after=<id>``; the first page without either."""
    before, after = _id(params.get("before")), _id(params.get("after"))
    cursor = before or after
    value = queryset.filter(pk=cursor).values_list(key, flat=True).first() if cursor else None
    newest_first = queryset.order_by(f"-{key}", "-pk")
    if value is not None and after is not None:
        rows = list(
            _beyond(queryset, key, value, after, older=False).order_by(key, "pk")[: size + 1]
        )
        has_newer, has_older = len(rows) > size, True
        rows = rows[:size][::-1]
    elif value is not None and before is not None:
        rows = list(_beyond(newest_first, key, value, before, older=True)[: size + 1])
        has_newer, has_older = True, len(rows) > size
        rows = rows[:size]
    else:
        rows = list(newest_first[: size + 1])
        has_newer, has_older = False, len(rows) > size
        rows = rows[:size]
    return Page(
        items=rows,
        newer_query=_query(params, after=rows[0].pk) if rows and has_newer else None,
        older_query=_query(params, before=rows[-1].pk) if rows and has_older else None,
        first_query=_query(params) if value is not None else None,
    )
