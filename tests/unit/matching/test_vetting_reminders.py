"""When a volunteer is reminded that their DBS check lapses, and when coordinators hear."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from matching.vetting import (
    REMINDER_DAYS,
    DbsLevel,
    Vetting,
    days_left,
    lapsed_lately,
    lapsing,
    reminder_due,
    summary_week,
)

TODAY = date(2027, 3, 10)


def test_the_nearest_reminder_reached_goes_once_and_none_once_lapsed() -> None:
    assert REMINDER_DAYS == (30, 7)
    due = {
        left: reminder_due(TODAY + timedelta(days=left), TODAY, frozenset())
        for left in range(-2, 40)
    }
    assert {left for left, d in due.items() if d == 30} == set(range(8, 31))
    assert {left for left, d in due.items() if d == 7} == set(range(1, 8))
    assert {left for left, d in due.items() if d is None} == {-2, -1, 0, *range(31, 40)}
    in_20 = TODAY + timedelta(days=20)
    assert reminder_due(in_20, TODAY, frozenset({30})) is None
    in_5 = TODAY + timedelta(days=5)
    assert reminder_due(in_5, TODAY, frozenset({30})) == 7  # the next one still goes
    assert reminder_due(in_5, TODAY, frozenset({7})) is None


def test_a_check_stops_counting_on_its_expiry_day_as_matching_says() -> None:
    expires = TODAY + timedelta(days=1)
    check = Vetting(DbsLevel.ENHANCED, TODAY - timedelta(days=900), expires, id_verified=True)
    assert check.valid_on(TODAY)
    assert days_left(expires, TODAY) == 1
    assert lapsing(1)
    assert not check.valid_on(expires)  # lapsed on the day: counted as lapsed, not lapsing
    assert days_left(expires, expires) == 0
    assert [left for left in range(-10, 40) if lapsed_lately(left)] == list(range(-6, 1))
    assert [left for left in range(-10, 40) if lapsing(left)] == list(range(1, 31))


def test_the_weekly_summary_is_due_from_monday_eight_local() -> None:
    monday = datetime(2027, 3, 8, 7, 59)
    assert summary_week(monday) is None
    assert summary_week(monday.replace(hour=8)) == date(2027, 3, 8)
    assert summary_week(datetime(2027, 3, 14, 23, 59)) == date(2027, 3, 8)  # Sunday
    assert summary_week(datetime(2027, 3, 9, 0, 5)) == date(2027, 3, 8)
