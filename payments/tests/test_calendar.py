"""Bank days, closing days and the 06:00 cut-off (DOMAIN.md sections 8 and 10)."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from payments.calendar import (
    COPENHAGEN,
    CUT_OFF,
    add_bank_days,
    closing_days,
    cut_off_for,
    earliest_value_date,
    is_bank_day,
    next_bank_day,
    value_date_for,
    value_date_for_request,
)
from payments.models import BankClosure

D = date

# Every named closing day of 2026 and 2027, written out by hand (weekend ones included, marked
# so; those add nothing to the plain weekend rule and closing_days() leaves them out).
NAMED_CLOSING_DAYS = {
    2026: {
        D(2026, 1, 1): "Nytårsdag",  # Thursday
        D(2026, 4, 2): "Skærtorsdag",
        D(2026, 4, 3): "Langfredag",
        D(2026, 4, 5): "Påskedag",  # Sunday
        D(2026, 4, 6): "Anden påskedag",
        D(2026, 5, 14): "Kristi himmelfartsdag",
        D(2026, 5, 15): "Fredag efter Kristi himmelfartsdag",
        D(2026, 5, 24): "Pinsedag",  # Sunday
        D(2026, 5, 25): "Anden pinsedag",
        D(2026, 6, 5): "Grundlovsdag",  # Friday
        D(2026, 12, 24): "Juleaftensdag",  # Thursday
        D(2026, 12, 25): "Juledag",
        D(2026, 12, 26): "Anden juledag",  # Saturday
        D(2026, 12, 31): "Nytårsaftensdag",  # Thursday
    },
    2027: {
        D(2027, 1, 1): "Nytårsdag",  # Friday
        D(2027, 3, 25): "Skærtorsdag",
        D(2027, 3, 26): "Langfredag",
        D(2027, 3, 28): "Påskedag",  # Sunday
        D(2027, 3, 29): "Anden påskedag",
        D(2027, 5, 6): "Kristi himmelfartsdag",
        D(2027, 5, 7): "Fredag efter Kristi himmelfartsdag",
        D(2027, 5, 16): "Pinsedag",  # Sunday
        D(2027, 5, 17): "Anden pinsedag",
        D(2027, 6, 5): "Grundlovsdag",  # Saturday
        D(2027, 12, 24): "Juleaftensdag",  # Friday
        D(2027, 12, 25): "Juledag",  # Saturday
        D(2027, 12, 26): "Anden juledag",  # Sunday
        D(2027, 12, 31): "Nytårsaftensdag",  # Friday
    },
}


def cph(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=COPENHAGEN)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def days_of(year: int) -> list[date]:
    first = D(year, 1, 1)
    return [first + timedelta(days=i) for i in range((D(year + 1, 1, 1) - first).days)]


# --- Closing days -------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2026, 2027])
def test_closing_days_are_exactly_the_named_weekdays(year):
    expected = {d: name for d, name in NAMED_CLOSING_DAYS[year].items() if d.weekday() < 5}
    assert closing_days(year, include_overrides=False) == expected


@pytest.mark.parametrize("year", [2026, 2027])
def test_bank_days_are_weekdays_that_are_not_named_closing_days(year):
    for day in days_of(year):
        expected = day.weekday() < 5 and day not in NAMED_CLOSING_DAYS[year]
        assert is_bank_day(day, include_overrides=False) is expected, day


@pytest.mark.parametrize(("year", "bank_days"), [(2026, 250), (2027, 252)])
def test_number_of_bank_days_in_the_year(year, bank_days):
    # 2026: 365 days, 104 weekend days, 11 weekday closings. 2027: 104 and 9.
    assert sum(is_bank_day(d, include_overrides=False) for d in days_of(year)) == bank_days


@pytest.mark.parametrize("year", [2026, 2027])
def test_every_weekend_day_is_closed(year):
    weekend = [d for d in days_of(year) if d.weekday() >= 5]
    assert len(weekend) == 104
    assert not any(is_bank_day(d, include_overrides=False) for d in weekend)


def test_labour_day_is_a_bank_day():
    assert D(2026, 5, 1).weekday() == 4
    assert is_bank_day(D(2026, 5, 1), include_overrides=False)
    assert D(2026, 5, 1) not in closing_days(2026, include_overrides=False)
    # 1 May closes banks only when a moveable holiday falls on it.
    closed_on_may_day = {
        year: closing_days(year, include_overrides=False).get(D(year, 5, 1))
        for year in range(2000, 2100)
    }
    assert {year: name for year, name in closed_on_may_day.items() if name} == {
        2008: "Kristi himmelfartsdag",
        2015: "Store bededag",
    }


def test_great_prayer_day_is_a_bank_day_from_2024():
    # Store bededag, the 4th Friday after Easter, was abolished from 2024.
    assert is_bank_day(D(2026, 5, 1), include_overrides=False)  # Easter 5 April + 26 days
    assert is_bank_day(D(2027, 4, 23), include_overrides=False)  # Easter 28 March + 26 days
    assert is_bank_day(D(2024, 4, 26), include_overrides=False)
    # ...but it was a closing day up to and including 2023.
    assert closing_days(2023, include_overrides=False)[D(2023, 5, 5)] == "Store bededag"


def test_two_holidays_on_one_day_keep_both_names():
    # 2017: Whit Monday fell on Constitution Day.
    assert closing_days(2017, include_overrides=False)[D(2017, 6, 5)] == (
        "Anden pinsedag; Grundlovsdag"
    )


# --- Stepping through bank days -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 4, 1), D(2026, 4, 7)),  # Wednesday before Easter
        (D(2026, 4, 4), D(2026, 4, 7)),  # Easter Saturday
        (D(2026, 5, 13), D(2026, 5, 18)),  # before Ascension and its Friday
        (D(2026, 6, 4), D(2026, 6, 8)),  # before Constitution Day (a Friday)
        (D(2026, 12, 23), D(2026, 12, 28)),
        (D(2026, 12, 30), D(2027, 1, 4)),
        (D(2027, 12, 23), D(2027, 12, 27)),
        (D(2027, 12, 30), D(2028, 1, 3)),
        (D(2026, 4, 30), D(2026, 5, 1)),  # 1 May is a bank day
    ],
)
def test_next_bank_day(day, expected):
    assert next_bank_day(day, include_overrides=False) == expected


def test_add_bank_days():
    assert add_bank_days(D(2026, 4, 1), 0, include_overrides=False) == D(2026, 4, 1)
    assert add_bank_days(D(2026, 4, 1), 1, include_overrides=False) == D(2026, 4, 7)
    assert add_bank_days(D(2026, 4, 1), 2, include_overrides=False) == D(2026, 4, 8)
    assert add_bank_days(D(2026, 12, 23), 3, include_overrides=False) == D(2026, 12, 30)
    assert add_bank_days(D(2026, 12, 23), 4, include_overrides=False) == D(2027, 1, 4)
    assert add_bank_days(D(2026, 4, 7), -1, include_overrides=False) == D(2026, 4, 1)
    assert add_bank_days(D(2027, 1, 2), -2, include_overrides=False) == D(2026, 12, 29)


# --- Cut-off and value date ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_at", "cut_off_day", "value_date"),
    [
        # Easter 2026: Thu 2, Fri 3 and Mon 6 April are closed.
        (cph(2026, 4, 1, 5, 59), D(2026, 4, 1), D(2026, 4, 7)),
        (cph(2026, 4, 1, 6, 1), D(2026, 4, 7), D(2026, 4, 8)),
        (cph(2026, 4, 2, 5, 0), D(2026, 4, 7), D(2026, 4, 8)),  # Maundy Thursday: closed
        (cph(2026, 4, 6, 23, 59), D(2026, 4, 7), D(2026, 4, 8)),
        (cph(2026, 4, 7, 5, 59), D(2026, 4, 7), D(2026, 4, 8)),
        (cph(2026, 4, 7, 6, 0), D(2026, 4, 8), D(2026, 4, 9)),
        (cph(2026, 3, 31, 6, 30), D(2026, 4, 1), D(2026, 4, 7)),
        # Easter 2027: Thu 25, Fri 26 and Mon 29 March are closed.
        (cph(2027, 3, 24, 5, 59), D(2027, 3, 24), D(2027, 3, 30)),
        (cph(2027, 3, 24, 6, 0), D(2027, 3, 30), D(2027, 3, 31)),
        (cph(2027, 3, 28, 12, 0), D(2027, 3, 30), D(2027, 3, 31)),
        # Christmas 2026: Thu 24, Fri 25, Thu 31 December and Fri 1 January are closed.
        (cph(2026, 12, 23, 5, 59), D(2026, 12, 23), D(2026, 12, 28)),
        (cph(2026, 12, 23, 6, 0), D(2026, 12, 28), D(2026, 12, 29)),
        (cph(2026, 12, 24, 3, 0), D(2026, 12, 28), D(2026, 12, 29)),
        (cph(2026, 12, 29, 5, 59), D(2026, 12, 29), D(2026, 12, 30)),
        (cph(2026, 12, 30, 5, 59), D(2026, 12, 30), D(2027, 1, 4)),
        (cph(2026, 12, 30, 6, 0), D(2027, 1, 4), D(2027, 1, 5)),
        (cph(2026, 12, 31, 5, 0), D(2027, 1, 4), D(2027, 1, 5)),
        # Christmas 2027: Fri 24 and Fri 31 December are closed, 25/26 are a weekend.
        (cph(2027, 12, 23, 5, 59), D(2027, 12, 23), D(2027, 12, 27)),
        (cph(2027, 12, 23, 6, 0), D(2027, 12, 27), D(2027, 12, 28)),
        (cph(2027, 12, 30, 5, 59), D(2027, 12, 30), D(2028, 1, 3)),
        (cph(2027, 12, 30, 6, 0), D(2028, 1, 3), D(2028, 1, 4)),
        # Ascension 2026: Thu 14 and Fri 15 May are closed.
        (cph(2026, 5, 13, 5, 59), D(2026, 5, 13), D(2026, 5, 18)),
        (cph(2026, 5, 13, 6, 0), D(2026, 5, 18), D(2026, 5, 19)),
        # 1 May 2026 is an ordinary Friday.
        (cph(2026, 4, 30, 5, 59), D(2026, 4, 30), D(2026, 5, 1)),
        (cph(2026, 5, 1, 5, 59), D(2026, 5, 1), D(2026, 5, 4)),
    ],
)
def test_cut_off_and_value_date(received_at, cut_off_day, value_date):
    assert cut_off_for(received_at, include_overrides=False) == datetime.combine(
        cut_off_day, CUT_OFF, tzinfo=COPENHAGEN
    )
    assert value_date_for(received_at, include_overrides=False) == value_date
    assert earliest_value_date(received_at, include_overrides=False) == value_date


def test_cut_off_is_strictly_before_six():
    last_in_time = datetime(2026, 4, 1, 5, 59, 59, 999999, tzinfo=COPENHAGEN)
    assert value_date_for(last_in_time, include_overrides=False) == D(2026, 4, 7)
    assert value_date_for(cph(2026, 4, 1, 6, 0), include_overrides=False) == D(2026, 4, 8)


@pytest.mark.parametrize(
    ("received_at", "value_date"),
    [
        # Spring forward on Sunday 29 March 2026: UTC+1 before, UTC+2 after.
        (utc(2026, 3, 27, 4, 59), D(2026, 3, 30)),  # Fri 05:59 CET: in time
        (utc(2026, 3, 27, 5, 0), D(2026, 3, 31)),  # Fri 06:00 CET: late
        (utc(2026, 3, 30, 3, 59), D(2026, 3, 31)),  # Mon 05:59 CEST: in time
        (utc(2026, 3, 30, 4, 0), D(2026, 4, 1)),  # Mon 06:00 CEST: late
        (utc(2026, 3, 30, 4, 59), D(2026, 4, 1)),  # Mon 06:59 CEST: late
        # Fall back on Sunday 25 October 2026: UTC+2 before, UTC+1 after.
        (utc(2026, 10, 23, 3, 59), D(2026, 10, 26)),  # Fri 05:59 CEST: in time
        (utc(2026, 10, 23, 4, 59), D(2026, 10, 27)),  # Fri 06:59 CEST: late
        (utc(2026, 10, 26, 4, 59), D(2026, 10, 27)),  # Mon 05:59 CET: in time
        (utc(2026, 10, 26, 5, 0), D(2026, 10, 28)),  # Mon 06:00 CET: late
        # Late on the previous evening in UTC is already the bank day in Copenhagen.
        (utc(2026, 4, 6, 22, 30), D(2026, 4, 8)),  # Tue 7 April 00:30 CEST: in time
    ],
)
def test_value_date_around_daylight_saving_changes(received_at, value_date):
    assert value_date_for(received_at, include_overrides=False) == value_date


@pytest.mark.parametrize(
    ("received_at", "cut_off_utc"),
    [
        # Around the switch hours, both Sundays: the cut-off is Monday 06:00 local time.
        (utc(2026, 3, 29, 0, 59), utc(2026, 3, 30, 4, 0)),  # 01:59 CET
        (utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 4, 0)),  # 03:00 CEST
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 5, 0)),  # 02:30 CEST (first)
        (utc(2026, 10, 25, 1, 30), utc(2026, 10, 26, 5, 0)),  # 02:30 CET (second)
    ],
)
def test_cut_off_on_daylight_saving_change_days(received_at, cut_off_utc):
    assert cut_off_for(received_at, include_overrides=False) == cut_off_utc
    assert cut_off_for(received_at, include_overrides=False).tzinfo == COPENHAGEN


def test_received_at_in_another_time_zone():
    new_york = datetime(2026, 3, 31, 23, 59, tzinfo=ZoneInfo("America/New_York"))  # 05:59 CEST
    assert value_date_for(new_york, include_overrides=False) == D(2026, 4, 7)
    fixed = datetime(2026, 4, 1, 5, 0, tzinfo=timezone(timedelta(hours=1)))  # 06:00 CEST
    assert value_date_for(fixed, include_overrides=False) == D(2026, 4, 8)


@pytest.mark.parametrize("function", [cut_off_for, value_date_for, earliest_value_date])
def test_naive_received_at_is_refused(function):
    with pytest.raises(ValueError, match="timezone-aware"):
        function(datetime(2026, 4, 1, 5, 0), include_overrides=False)


def test_naive_received_at_is_refused_with_a_requested_date():
    with pytest.raises(ValueError, match="timezone-aware"):
        value_date_for_request(datetime(2026, 4, 1, 5, 0), None, include_overrides=False)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, D(2026, 4, 7)),  # the earliest
        (D(2026, 3, 20), D(2026, 4, 7)),  # in the past: the earliest
        (D(2026, 4, 1), D(2026, 4, 7)),  # the arrival day itself: the earliest
        (D(2026, 4, 3), D(2026, 4, 7)),  # Good Friday, before the earliest: the earliest
        (D(2026, 4, 7), D(2026, 4, 7)),  # exactly the earliest
        (D(2026, 4, 8), D(2026, 4, 8)),  # a later bank day: as requested
        (D(2026, 5, 15), D(2026, 5, 18)),  # Friday after Ascension: the next bank day
        (D(2026, 5, 16), D(2026, 5, 18)),  # a Saturday: the next bank day
        (D(2026, 12, 24), D(2026, 12, 28)),
    ],
)
def test_value_date_for_request(requested, expected):
    received_at = cph(2026, 4, 1, 5, 59)
    assert value_date_for_request(received_at, requested, include_overrides=False) == expected


def test_requested_date_one_bank_day_too_early_gets_the_earliest():
    # Received in time on Tuesday 7 April: the earliest is Wednesday, not the arrival day.
    received_at = cph(2026, 4, 7, 5, 59)
    assert value_date_for_request(received_at, D(2026, 4, 7), include_overrides=False) == D(
        2026, 4, 8
    )


# --- Ad-hoc closures (database) ------------------------------------------------------------


@pytest.mark.django_db
def test_bank_closure_closes_the_day_and_moves_the_value_date(django_assert_num_queries):
    received_at = cph(2026, 6, 3, 5, 59)  # Wednesday before Constitution Day
    assert value_date_for(received_at) == D(2026, 6, 4)

    BankClosure.objects.create(date=D(2026, 6, 4), reason="Nødlukning af betalingssystemet")

    assert not is_bank_day(D(2026, 6, 4))
    assert is_bank_day(D(2026, 6, 4), include_overrides=False)
    assert closing_days(2026)[D(2026, 6, 4)] == "Nødlukning af betalingssystemet"
    assert D(2026, 6, 4) not in closing_days(2026, include_overrides=False)
    # 4 June closed, 5 June Constitution Day, then the weekend.
    with django_assert_num_queries(1):
        assert value_date_for(received_at) == D(2026, 6, 8)
    assert cut_off_for(cph(2026, 6, 3, 6, 0)) == cph(2026, 6, 8, 6, 0)
    assert value_date_for_request(received_at, D(2026, 6, 4)) == D(2026, 6, 8)
    assert add_bank_days(D(2026, 6, 3), 1) == D(2026, 6, 8)


@pytest.mark.django_db
def test_bank_closures_are_read_once_per_year(django_assert_num_queries):
    BankClosure.objects.create(date=D(2027, 1, 4), reason="Systemskifte")
    with django_assert_num_queries(2):  # 2026 and 2027
        assert value_date_for(cph(2026, 12, 30, 5, 59)) == D(2027, 1, 5)
    with django_assert_num_queries(0):
        assert value_date_for(cph(2026, 12, 30, 5, 59), include_overrides=False) == D(2027, 1, 4)
    with django_assert_num_queries(0):  # weekends need no lookup
        assert not is_bank_day(D(2026, 12, 27))


@pytest.mark.django_db
def test_bank_closure_on_a_holiday_keeps_both_names():
    BankClosure.objects.create(date=D(2026, 12, 24), reason="Lukket")
    assert closing_days(2026)[D(2026, 12, 24)] == "Juleaftensdag; Lukket"


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (D(2026, 6, 6), "lørdag"),
        (D(2026, 6, 5), "Grundlovsdag"),
    ],
)
def test_bank_closure_on_a_closed_day_is_refused(day, message):
    closure = BankClosure(date=day, reason="Lukket")
    with pytest.raises(ValidationError) as excinfo:
        closure.clean()
    assert message in str(excinfo.value.message_dict["date"])


def test_bank_closure_on_a_bank_day_is_valid():
    BankClosure(date=D(2026, 6, 4), reason="Lukket").clean()


@pytest.mark.django_db
def test_admin_records_who_created_the_closure(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:payments_bankclosure_add"), {"date": "2026-06-04", "reason": "Lukket"}
    )
    assert response.status_code == 302, response.content
    closure = BankClosure.objects.get()
    assert closure.created_by == admin_user
    assert closure.date == D(2026, 6, 4)

    changelist = admin_client.get(reverse("admin:payments_bankclosure_changelist"), {"q": "Luk"})
    assert changelist.status_code == 200
    assert "Lukket" in changelist.content.decode()


# --- Properties ----------------------------------------------------------------------------

received = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 1),
    timezones=st.sampled_from([UTC, COPENHAGEN, ZoneInfo("America/New_York")]),
)
days = st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 1))


@given(received_at=received)
def test_value_date_is_a_bank_day_after_the_arrival_day(received_at):
    value_date = value_date_for(received_at, include_overrides=False)
    assert is_bank_day(value_date, include_overrides=False)
    assert value_date > received_at.astimezone(COPENHAGEN).date()


@given(received_at=received)
def test_cut_off_is_after_arrival_on_a_bank_day_and_precedes_the_value_date(received_at):
    cut_off = cut_off_for(received_at, include_overrides=False)
    assert cut_off > received_at
    assert cut_off.time() == time(6, 0)
    assert is_bank_day(cut_off.date(), include_overrides=False)
    assert next_bank_day(cut_off.date(), include_overrides=False) == value_date_for(
        received_at, include_overrides=False
    )
    # The cut-off made is the first one still ahead: the previous bank day's has passed.
    previous = add_bank_days(cut_off.date(), -1, include_overrides=False)
    assert datetime.combine(previous, CUT_OFF, tzinfo=COPENHAGEN) <= received_at


@given(first=received, second=received)
def test_value_date_is_monotonic_in_arrival_time(first, second):
    earlier, later = sorted([first, second])
    assert value_date_for(earlier, include_overrides=False) <= value_date_for(
        later, include_overrides=False
    )


@given(day=days, n=st.integers(min_value=1, max_value=60))
def test_add_bank_days_lands_on_a_bank_day_n_bank_days_ahead(day, n):
    result = add_bank_days(day, n, include_overrides=False)
    assert is_bank_day(result, include_overrides=False)
    between = [day + timedelta(days=i) for i in range(1, (result - day).days + 1)]
    assert sum(is_bank_day(d, include_overrides=False) for d in between) == n
    if is_bank_day(day, include_overrides=False):
        assert add_bank_days(result, -n, include_overrides=False) == day


@given(received_at=received, offset=st.none() | st.integers(min_value=-10, max_value=40))
def test_value_date_for_request_is_a_bank_day_no_earlier_than_possible(received_at, offset):
    arrival_day = received_at.astimezone(COPENHAGEN).date()
    requested = None if offset is None else arrival_day + timedelta(days=offset)
    result = value_date_for_request(received_at, requested, include_overrides=False)
    earliest = earliest_value_date(received_at, include_overrides=False)
    assert is_bank_day(result, include_overrides=False)
    assert result >= earliest
    if requested is not None and requested >= earliest:
        assert result >= requested
        if is_bank_day(requested, include_overrides=False):
            assert result == requested
