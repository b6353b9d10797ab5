"""Danish bank days and the NKS cut-off (DOMAIN.md sections 8 and 10).

Bank closing days are Saturdays, Sundays, the public holidays of the ``holidays`` package
(Denmark, PUBLIC category only, which leaves out 1 May and, from 2024, Great Prayer Day),
Constitution Day, Christmas Eve, New Year's Eve, the Friday after Ascension Day, and the ad-hoc
closures in the ``BankClosure`` table.

Cut-off rule: a payment received strictly before 06:00:00 Copenhagen time on a bank day makes
that day's cut-off and gets the following bank day as value date. A payment received at
06:00:00.000 or later, or on a closing day, makes the next bank day's 06:00 cut-off and gets
the bank day after that.

Every public function reads the ``BankClosure`` table at most once per calendar year it touches
(usually one query). Pass ``include_overrides=False`` to use the statutory days only, without
the database.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
CUT_OFF = time(6, 0)
"""Payments must arrive strictly before this local time (Europe/Copenhagen) on a bank day."""

_SATURDAY = 5


@lru_cache(maxsize=256)
def _statutory_closing_days(year: int) -> Mapping[date, str]:
    """All named statutory closing days of ``year``, weekend ones included, with Danish names."""
    days: dict[date, list[str]] = {}

    def add(day: date, name: str) -> None:
        days.setdefault(day, []).append(name)

    # PUBLIC only: the OPTIONAL category holds 1 May, which is not a bank closing day.
    public = holidays.country_holidays(
        "DK", years=year, categories=(holidays.PUBLIC,), language="da"
    )
    for day, names in sorted(public.items()):
        for name in names.split("; "):
            add(day, name)
    add(date(year, 6, 5), "Grundlovsdag")
    add(date(year, 12, 24), "Juleaftensdag")
    add(date(year, 12, 31), "Nytårsaftensdag")
    add(_ascension_day(public, year) + timedelta(days=1), "Fredag efter Kristi himmelfartsdag")
    return MappingProxyType({day: "; ".join(names) for day, names in sorted(days.items())})


def _ascension_day(public: holidays.HolidayBase, year: int) -> date:
    ascension = [day for day, name in public.items() if "Kristi himmelfartsdag" in name]
    if len(ascension) != 1:  # pragma: no cover - guards against a renamed holiday upstream
        raise RuntimeError(f"holidays DK gives no single Ascension Day for {year}")
    return ascension[0]


class _Calendar:
    """Closing weekdays per year, each year read at most once during one public call."""

    def __init__(self, *, include_overrides: bool) -> None:
        self._include_overrides = include_overrides
        self._years: dict[int, dict[date, str]] = {}

    def closing_days(self, year: int) -> dict[date, str]:
        if year not in self._years:
            days = {
                day: name
                for day, name in _statutory_closing_days(year).items()
                if day.weekday() < _SATURDAY
            }
            if self._include_overrides:
                for day, reason in _closures(year):
                    if day.weekday() < _SATURDAY:
                        days[day] = f"{days[day]}; {reason}" if day in days else reason
            self._years[year] = dict(sorted(days.items()))
        return self._years[year]

    def is_bank_day(self, day: date) -> bool:
        return day.weekday() < _SATURDAY and day not in self.closing_days(day.year)

    def step(self, day: date, direction: int) -> date:
        """The first bank day strictly after (``direction`` 1) or before (-1) ``day``."""
        day += timedelta(days=direction)
        while not self.is_bank_day(day):
            day += timedelta(days=direction)
        return day

    def on_or_after(self, day: date) -> date:
        return day if self.is_bank_day(day) else self.step(day, 1)

    def cut_off_day(self, received_at: datetime) -> date:
        local = _local(received_at)
        if self.is_bank_day(local.date()) and local.time() < CUT_OFF:
            return local.date()
        return self.step(local.date(), 1)


def _closures(year: int) -> list[tuple[date, str]]:
    from payments.models import BankClosure

    return list(BankClosure.objects.filter(date__year=year).values_list("date", "reason"))


def _local(received_at: datetime) -> datetime:
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(COPENHAGEN)


def closing_days(year: int, *, include_overrides: bool = True) -> dict[date, str]:
    """The closing days of ``year`` that fall on a weekday, in date order, with Danish names.

    Weekends are closed as well but are not listed. Days with two reasons (Whit Monday on
    5 June, an ad-hoc closure on a holiday) carry both names joined by "; ".
    """
    return dict(_Calendar(include_overrides=include_overrides).closing_days(year))


def is_bank_day(day: date, *, include_overrides: bool = True) -> bool:
    """Whether banks are open on ``day``."""
    return _Calendar(include_overrides=include_overrides).is_bank_day(day)


def next_bank_day(day: date, *, include_overrides: bool = True) -> date:
    """The first bank day strictly after ``day``."""
    return _Calendar(include_overrides=include_overrides).step(day, 1)


def add_bank_days(day: date, n: int, *, include_overrides: bool = True) -> date:
    """The ``n``-th bank day after ``day`` (before it for negative ``n``; ``day`` itself for 0).

    ``day`` need not be a bank day: ``add_bank_days(saturday, 1)`` is the following Monday
    (if that is a bank day).
    """
    calendar = _Calendar(include_overrides=include_overrides)
    direction = 1 if n > 0 else -1
    for _ in range(abs(n)):
        day = calendar.step(day, direction)
    return day


def cut_off_for(received_at: datetime, *, include_overrides: bool = True) -> datetime:
    """The cut-off (06:00 Copenhagen time on a bank day) that a payment received then makes.

    Raises ValueError if ``received_at`` is naive.
    """
    day = _Calendar(include_overrides=include_overrides).cut_off_day(received_at)
    return datetime.combine(day, CUT_OFF, tzinfo=COPENHAGEN)


def value_date_for(received_at: datetime, *, include_overrides: bool = True) -> date:
    """The value date of a payment received at ``received_at``: the bank day after its cut-off.

    Raises ValueError if ``received_at`` is naive.
    """
    calendar = _Calendar(include_overrides=include_overrides)
    return calendar.step(calendar.cut_off_day(received_at), 1)


def earliest_value_date(received_at: datetime, *, include_overrides: bool = True) -> date:
    """The earliest value date a payment received at ``received_at`` can get.

    The same as ``value_date_for``; named for its use as the lower bound of a requested date.
    Raises ValueError if ``received_at`` is naive.
    """
    return value_date_for(received_at, include_overrides=include_overrides)


def value_date_for_request(
    received_at: datetime, requested: date | None, *, include_overrides: bool = True
) -> date:
    """The value date for a payment that asks for ``requested``.

    No date, or one earlier than possible: the earliest value date. A closing day: the next
    bank day. Otherwise the requested date. Raises ValueError if ``received_at`` is naive.
    """
    calendar = _Calendar(include_overrides=include_overrides)
    earliest = calendar.step(calendar.cut_off_day(received_at), 1)
    if requested is None or requested <= earliest:
        return earliest
    return calendar.on_or_after(requested)


def cycle_dates(at: datetime) -> tuple[date, date]:
    """(cut-off day, value date) of a forwarding cycle run at ``at``: the cut-off at or after
    ``at`` (a cycle at 06:00 sharp is that morning's) and the bank day after it. Raises
    ValueError if ``at`` is naive."""
    calendar = _Calendar(include_overrides=True)
    cut_off_day = calendar.cut_off_day(at - timedelta(microseconds=1))
    return cut_off_day, calendar.step(cut_off_day, 1)


def scheduled_cycle_moment(now: datetime) -> datetime | None:
    """This morning's cut-off (06:00) if today is a bank day and it has passed, else None: what
    the scheduled cycle runs as, however late its worker picks it up."""
    local = _local(now)
    if local.time() < CUT_OFF or not _Calendar(include_overrides=True).is_bank_day(local.date()):
        return None
    return datetime.combine(local.date(), CUT_OFF, tzinfo=COPENHAGEN)
