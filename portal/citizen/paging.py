"""Numbered pages for the citizen's lists (a recipient's versions, look-ups, changes and notices
are few: OFFSET paging with a count is cheap here). Each list on a page has its own query
parameter, and the links keep the others."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import QueryDict

PAGE_SIZE = 10


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: the ellipsis between far-apart pages
    query: str
    current: bool


@dataclass(frozen=True)
class Pager:
    page: Page[Any]
    anchor: str  # the id of the list's heading: links jump back to it
    links: list[PageLink]
    previous_query: str | None
    next_query: str | None
    items: list[Any]  # the page's rows, read once


def _query(params: QueryDict, param: str, number: int) -> str:
    query = params.copy()
    if number == 1:
        query.pop(param, None)
    else:
        query[param] = str(number)
    return query.urlencode()


def paginate(
    items: QuerySet[Any] | Sequence[Any],
    params: QueryDict,
    *,
    param: str,
    anchor: str,
    size: int = PAGE_SIZE,
) -> Pager:
    """The page of ``items`` that ``params[param]`` asks for (the first, or the last when the
    number is too high; Django's ``get_page``)."""
    paginator = Paginator(items, size)
    page = paginator.get_page(params.get(param))
    links = [
        PageLink(None, "", False)
        if number == Paginator.ELLIPSIS
        else PageLink(int(number), _query(params, param, int(number)), number == page.number)
        for number in paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1)
    ]
    return Pager(
        page=page,
        anchor=anchor,
        links=links,
        previous_query=(
            _query(params, param, page.previous_page_number()) if page.has_previous() else None
        ),
        next_query=_query(params, param, page.next_page_number()) if page.has_next() else None,
        items=list(page.object_list),
    )
