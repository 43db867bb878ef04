from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.needs.recurrence import MAX_OCCURRENCES, describe, occurrences

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def london(rule: str, first_start: datetime) -> list[datetime]:
    return occurrences(rule, first_start, "Europe/London")


def test_weekly_on_tuesdays_and_thursdays_gives_count_visits() -> None:
    first = datetime(2026, 1, 6, 14, 0, tzinfo=LONDON)  # a Tuesday
    got = london("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10", first)
    assert len(got) == 10
    assert got[0] == first
    assert [d.date() for d in got[:4]] == [
        date(2026, 1, 6),
        date(2026, 1, 8),
        date(2026, 1, 13),
        date(2026, 1, 15),
    ]
    assert {d.strftime("%a %H:%M") for d in got} == {"Tue 14:00", "Thu 14:00"}
    assert got == sorted(got)
    assert all(d.tzinfo == LONDON for d in got)


def test_every_other_week_skips_a_week() -> None:
    first = datetime(2026, 1, 5, 9, 30, tzinfo=LONDON)  # a Monday
    got = london("FREQ=WEEKLY;INTERVAL=2;COUNT=4", first)
    assert [d.date() for d in got] == [
        date(2026, 1, 5),
        date(2026, 1, 19),
        date(2026, 2, 2),
        date(2026, 2, 16),
    ]


def test_every_other_week_on_two_days_counts_weeks_from_monday() -> None:
    first = datetime(2026, 1, 7, 9, 0, tzinfo=LONDON)  # a Wednesday
    got = london("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=4", first)
    assert [d.date() for d in got] == [
        date(2026, 1, 7),
        date(2026, 1, 19),
        date(2026, 1, 21),
        date(2026, 2, 2),
    ]


def test_daily_with_an_interval() -> None:
    got = london("FREQ=DAILY;INTERVAL=3;COUNT=3", datetime(2026, 2, 27, 8, tzinfo=LONDON))
    assert [d.date() for d in got] == [date(2026, 2, 27), date(2026, 3, 2), date(2026, 3, 5)]


def test_until_as_a_date_includes_that_whole_local_day() -> None:
    first = datetime(2026, 6, 2, 18, 0, tzinfo=LONDON)  # a Tuesday
    got = london("FREQ=WEEKLY;UNTIL=20260630", first)
    assert [d.day for d in got] == [2, 9, 16, 23, 30]
    assert got[-1] == datetime(2026, 6, 30, 18, 0, tzinfo=LONDON)


def test_until_as_a_utc_time_is_compared_as_an_instant() -> None:
    first = datetime(2026, 6, 2, 10, 0, tzinfo=LONDON)  # 09:00 UTC
    assert london("FREQ=WEEKLY;UNTIL=20260630T090000Z", first)[-1].day == 30
    assert london("FREQ=WEEKLY;UNTIL=20260630T085959Z", first)[-1].day == 23
    every_other = london("FREQ=WEEKLY;INTERVAL=2;UNTIL=20260630T000000Z", first)
    assert [d.day for d in every_other] == [2, 16]


def test_a_weekly_visit_stays_at_ten_local_when_the_clocks_go_forward() -> None:
    first = datetime(2026, 3, 19, 10, 0, tzinfo=LONDON)  # a Thursday, GMT
    got = london("FREQ=WEEKLY;COUNT=4", first)
    assert [d.astimezone(UTC) for d in got] == [
        utc(2026, 3, 19, 10),
        utc(2026, 3, 26, 10),
        utc(2026, 4, 2, 9),
        utc(2026, 4, 9, 9),
    ]
    assert all((d.hour, d.minute) == (10, 0) for d in got)


def test_a_weekly_visit_stays_at_ten_local_when_the_clocks_go_back() -> None:
    first = datetime(2026, 10, 15, 10, 0, tzinfo=LONDON)  # a Thursday, BST
    got = london("FREQ=WEEKLY;COUNT=4", first)
    assert [d.astimezone(UTC) for d in got] == [
        utc(2026, 10, 15, 9),
        utc(2026, 10, 22, 9),
        utc(2026, 10, 29, 10),
        utc(2026, 11, 5, 10),
    ]
    assert all((d.hour, d.minute) == (10, 0) for d in got)


def test_a_first_start_given_in_utc_is_expanded_in_the_local_zone() -> None:
    got = london("FREQ=WEEKLY;COUNT=3", utc(2026, 3, 19, 10))
    assert got[0] == utc(2026, 3, 19, 10)
    assert got[2].astimezone(UTC) == utc(2026, 4, 2, 9)
    assert got[2].tzinfo == LONDON


def test_a_time_skipped_by_the_clocks_moves_forward_with_them() -> None:
    got = london("FREQ=DAILY;COUNT=3", datetime(2026, 3, 28, 1, 30, tzinfo=LONDON))
    assert [(d.date(), d.hour, d.minute) for d in got] == [
        (date(2026, 3, 28), 1, 30),
        (date(2026, 3, 29), 2, 30),
        (date(2026, 3, 30), 1, 30),
    ]
    assert got[1].astimezone(UTC) == utc(2026, 3, 29, 1, 30)


def test_an_ambiguous_time_takes_its_first_instance() -> None:
    got = london("FREQ=DAILY;COUNT=3", datetime(2026, 10, 24, 1, 30, tzinfo=LONDON))
    assert got[1].fold == 0
    assert got[1].astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert got[2].astimezone(UTC) == utc(2026, 10, 26, 1, 30)


def test_an_ambiguous_first_start_is_kept_exactly() -> None:
    second_half_past_one = utc(2026, 10, 25, 1, 30)  # 01:30 GMT, after the clocks went back
    got = london("FREQ=DAILY;COUNT=2", second_half_past_one)
    # PEP 495: a fold=1 time never compares equal across zones, so compare the instants.
    assert got[0].astimezone(UTC) == second_half_past_one
    assert (got[0].fold, got[0].hour, got[0].utcoffset()) == (1, 1, timedelta(0))
    assert got[1].astimezone(UTC) == utc(2026, 10, 26, 1, 30)


def test_a_first_start_off_the_rule_starts_at_the_next_matching_day() -> None:
    first = datetime(2026, 1, 5, 10, 0, tzinfo=LONDON)  # a Monday
    got = london("FREQ=WEEKLY;BYDAY=TU;COUNT=2", first)
    assert got == [
        datetime(2026, 1, 6, 10, 0, tzinfo=LONDON),
        datetime(2026, 1, 13, 10, 0, tzinfo=LONDON),
    ]


def test_seconds_and_microseconds_of_the_first_start_are_kept() -> None:
    first = datetime(2026, 1, 5, 10, 0, 15, 250_000, tzinfo=LONDON)
    got = london("FREQ=DAILY;COUNT=2", first)
    assert got == [first, first + timedelta(days=1)]


def test_exactly_the_maximum_number_of_occurrences_is_allowed() -> None:
    first = datetime(2026, 1, 5, 10, 0, tzinfo=LONDON)
    assert len(london(f"FREQ=WEEKLY;COUNT={MAX_OCCURRENCES}", first)) == MAX_OCCURRENCES
    two_years = london("FREQ=WEEKLY;UNTIL=20271227", first)
    assert len(two_years) == MAX_OCCURRENCES


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=MONTHLY;COUNT=3", "FREQ must be DAILY or WEEKLY"),
        ("FREQ=YEARLY;COUNT=3", "FREQ must be DAILY or WEEKLY"),
        ("FREQ=HOURLY;COUNT=3", "FREQ must be DAILY or WEEKLY"),
        ("COUNT=3", "FREQ is required"),
        ("FREQ=WEEKLY;BYMONTH=1;COUNT=3", "BYMONTH is not supported"),
        ("FREQ=WEEKLY;BYDAY=TU;BYSETPOS=1;COUNT=3", "BYSETPOS is not supported"),
        ("FREQ=WEEKLY;WKST=SU;COUNT=3", "WKST is not supported"),
        ("FREQ=WEEKLY", "exactly one of COUNT or UNTIL"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20260630", "exactly one of COUNT or UNTIL"),
        ("freq=weekly;count=3", "uppercase NAME=VALUE"),
        ("FREQ=weekly;COUNT=3", "FREQ must be DAILY or WEEKLY"),
        ("FREQ=WEEKLY;BYDAY=tu;COUNT=3", "BYDAY must list plain weekday codes"),
        ("FREQ=WEEKLY;COUNT=3;", "uppercase NAME=VALUE"),
        ("FREQ=WEEKLY; COUNT=3", "uppercase NAME=VALUE"),
        ("FREQ=WEEKLY;COUNT", "uppercase NAME=VALUE"),
        ("FREQ=WEEKLY;FREQ=DAILY;COUNT=3", "FREQ is given more than once"),
        ("FREQ=WEEKLY;COUNT=3;COUNT=4", "COUNT is given more than once"),
        ("FREQ=WEEKLY;BYDAY=1MO;COUNT=3", "BYDAY must list plain weekday codes"),
        ("FREQ=WEEKLY;BYDAY=-1FR;COUNT=3", "BYDAY must list plain weekday codes"),
        ("FREQ=WEEKLY;BYDAY=MO,,WE;COUNT=3", "BYDAY must list plain weekday codes"),
        ("FREQ=WEEKLY;BYDAY=MO,MO;COUNT=3", "more than once"),
        ("FREQ=DAILY;BYDAY=MO;COUNT=3", "only supported with FREQ=WEEKLY"),
        ("FREQ=WEEKLY;INTERVAL=0;COUNT=3", "INTERVAL must be a whole number from 1 to 52"),
        ("FREQ=WEEKLY;INTERVAL=53;COUNT=3", "INTERVAL must be a whole number from 1 to 52"),
        ("FREQ=WEEKLY;INTERVAL=-1;COUNT=3", "INTERVAL must be a whole number"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be a whole number from 1 to 104"),
        ("FREQ=WEEKLY;COUNT=105", "COUNT must be a whole number from 1 to 104"),
        ("FREQ=WEEKLY;COUNT=1.5", "COUNT must be a whole number"),
        ("FREQ=DAILY;UNTIL=20270101", "more than 104 occurrences"),
        ("FREQ=WEEKLY;UNTIL=20260630T000000", "UNTIL must be a date"),
        ("FREQ=WEEKLY;UNTIL=2026-06-30", "UNTIL must be a date"),
        ("FREQ=WEEKLY;UNTIL=20260231", "UNTIL must be a date"),
        ("FREQ=WEEKLY;UNTIL=20251231", "no occurrences"),
        ("RRULE:FREQ=WEEKLY;COUNT=3", "without the 'RRULE:' prefix"),
        ("", "must not be empty"),
        ("FREQ=WEEKLY;COUNT=3;" + "BYDAY=MO;" * 25, "at most 200 characters"),
    ],
)
def test_rules_outside_the_supported_subset_are_rejected(rule: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        london(rule, datetime(2026, 1, 5, 10, 0, tzinfo=LONDON))
    assert caught.value.errors[0].field == "recurrence"
    assert message in caught.value.errors[0].message


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "Europe", "../etc/passwd", "/etc/localtime", "UTC\0"]
)
def test_an_unknown_time_zone_is_rejected(zone: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        occurrences("FREQ=WEEKLY;COUNT=3", utc(2026, 1, 5, 10), zone)
    assert caught.value.errors[0].field == "time_zone"


def test_a_naive_first_start_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        london("FREQ=WEEKLY;COUNT=3", datetime(2026, 1, 5, 10, 0))
    assert caught.value.errors[0].field == "first_start"


ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]


@st.composite
def count_rules(draw: st.DrawFn) -> tuple[str, datetime, str, frozenset[int]]:
    zone = draw(st.sampled_from(ZONES))
    weekly = draw(st.booleans())
    days = frozenset(draw(st.sets(st.integers(0, 6), max_size=7))) if weekly else frozenset()
    interval, count = draw(st.integers(1, 52)), draw(st.integers(1, MAX_OCCURRENCES))
    start_day = draw(st.dates(date(2000, 1, 1), date(2090, 12, 31)))
    if days:  # start on a listed day, so the first start is the first occurrence
        start_day += timedelta(days=min((d - start_day.weekday()) % 7 for d in days))
    # Hours clear of every daylight-saving jump in these zones, so no time is skipped.
    hour, minute = draw(st.integers(4, 22)), draw(st.sampled_from([0, 15, 30, 45]))
    first = datetime(start_day.year, start_day.month, start_day.day, hour, minute)
    parts = ["FREQ=WEEKLY" if weekly else "FREQ=DAILY", f"COUNT={count}"]
    if interval > 1:
        parts.insert(1, f"INTERVAL={interval}")
    if days:
        parts.insert(1, "BYDAY=" + ",".join(WEEKDAYS[d] for d in sorted(days)))
    return ";".join(parts), first.replace(tzinfo=ZoneInfo(zone)), zone, days


@given(count_rules())
def test_a_count_rule_gives_count_visits_on_the_local_pattern(
    case: tuple[str, datetime, str, frozenset[int]],
) -> None:
    rule, first, zone, days = case
    got = occurrences(rule, first, zone)
    parts = dict(part.split("=") for part in rule.split(";"))
    interval = int(parts.get("INTERVAL", "1"))
    assert len(got) == int(parts["COUNT"])
    assert got[0] == first
    assert all(a < b for a, b in pairwise(got))
    for when in got:
        assert when.tzinfo == ZoneInfo(zone)
        assert when.time() == first.time()
        elapsed = (when.date() - first.date()).days
        if parts["FREQ"] == "DAILY":
            assert elapsed % interval == 0
        else:
            assert when.weekday() in (days or {first.weekday()})
            weeks = (elapsed + first.weekday() - when.weekday()) // 7
            assert weeks % interval == 0


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY;COUNT=8", "Every week, 8 times"),
        ("FREQ=DAILY;INTERVAL=3;COUNT=4", "Every 3 days, 4 times"),
        ("FREQ=WEEKLY;BYDAY=TU;COUNT=1", "Once"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH,TU;UNTIL=20270331",
            "Every 2 weeks on Tuesday and Thursday, until 31 March 2027",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270301T120000Z",
            "Every week on Monday, Wednesday and Friday, until 1 March 2027",
        ),
    ],
)
def test_a_rule_in_words(rule: str, words: str) -> None:
    assert describe(rule) == words
