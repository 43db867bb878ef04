from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.volunteers.availability import (
    Availability,
    DatedException,
    WeeklyWindow,
    expand,
    validate,
)

UTC = dt.UTC
LONDON = zoneinfo.ZoneInfo("Europe/London")
TODAY = dt.date(2026, 3, 1)
MON, TUE, SAT, SUN = 1, 2, 6, 7
EVERY_DAY = range(1, 8)


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _utc(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _weekly(*windows: tuple[int, str, str], zone: str = "Europe/London") -> Availability:
    return Availability(
        time_zone=zone, weekly=[WeeklyWindow(d, _t(s), _t(e)) for d, s, e in windows]
    )


def _days(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From London midnight starting `first` to London midnight ending `last`."""
    start = dt.datetime.combine(first, dt.time(0), tzinfo=LONDON)
    return start, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=LONDON)


def _hours(intervals: list[tuple[dt.datetime, dt.datetime]]) -> list[float]:
    return [(end - start) / dt.timedelta(hours=1) for start, end in intervals]


def _errors(availability: Availability, today: dt.date = TODAY) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        validate(availability, today=today)
    return [error.field for error in caught.value.errors]


SPRING, AUTUMN = dt.date(2026, 3, 29), dt.date(2026, 10, 25)


# -- Europe/London across the changes ------------------------------------------------------------
def test_a_window_spanning_the_spring_change_is_three_hours_long() -> None:
    got = expand(_weekly((SUN, "00:00", "04:00")), *_days(SPRING, SPRING))
    assert got == [(_utc(3, 29, 0), _utc(3, 29, 3))]


def test_a_window_spanning_the_autumn_change_is_five_hours_long() -> None:
    got = expand(_weekly((SUN, "00:00", "04:00")), *_days(AUTUMN, AUTUMN))
    assert got == [(_utc(10, 24, 23), _utc(10, 25, 4))]


def test_the_whole_spring_change_day_is_23_hours_and_the_autumn_one_25() -> None:
    whole_sunday = _weekly((SUN, "00:00", "00:00"))
    assert _hours(expand(whole_sunday, *_days(SPRING, SPRING))) == [23]
    assert _hours(expand(whole_sunday, *_days(AUTUMN, AUTUMN))) == [25]


def test_a_daytime_window_keeps_its_wall_clock_hours_either_side_of_the_spring_change() -> None:
    availability = _weekly(*[(day, "09:00", "17:00") for day in EVERY_DAY])
    got = expand(availability, *_days(dt.date(2026, 3, 28), dt.date(2026, 3, 30)))
    assert got == [
        (_utc(3, 28, 9), _utc(3, 28, 17)),
        (_utc(3, 29, 8), _utc(3, 29, 16)),
        (_utc(3, 30, 8), _utc(3, 30, 16)),
    ]


def test_a_daytime_window_keeps_its_wall_clock_hours_either_side_of_the_autumn_change() -> None:
    availability = _weekly(*[(day, "09:00", "17:00") for day in EVERY_DAY])
    got = expand(availability, *_days(dt.date(2026, 10, 24), dt.date(2026, 10, 26)))
    assert got == [
        (_utc(10, 24, 8), _utc(10, 24, 16)),
        (_utc(10, 25, 9), _utc(10, 25, 17)),
        (_utc(10, 26, 9), _utc(10, 26, 17)),
    ]


def test_a_time_skipped_in_spring_moves_forward_by_the_gap() -> None:
    got = expand(_weekly((SUN, "01:30", "03:00")), *_days(SPRING, SPRING))
    assert got == [(_utc(3, 29, 1, 30), _utc(3, 29, 2))]  # 02:30-03:00 BST


def test_a_window_inside_the_spring_gap_that_ends_before_it_begins_is_empty() -> None:
    # 01:30 is skipped and becomes 02:30 BST, later than 02:10 BST: nothing is left.
    assert expand(_weekly((SUN, "01:30", "02:10")), *_days(SPRING, SPRING)) == []


def test_a_time_repeated_in_autumn_takes_its_first_occurrence() -> None:
    got = expand(_weekly((SUN, "01:30", "03:00")), *_days(AUTUMN, AUTUMN))
    assert got == [(_utc(10, 25, 0, 30), _utc(10, 25, 3))]  # from 01:30 BST


def test_a_window_to_midnight_joins_one_from_midnight_across_the_autumn_change() -> None:
    availability = _weekly((SAT, "22:00", "00:00"), (SUN, "00:00", "02:00"))
    got = expand(availability, *_days(dt.date(2026, 10, 24), AUTUMN))
    assert got == [(_utc(10, 24, 21), _utc(10, 25, 2))]


def test_a_day_off_on_the_spring_change_removes_exactly_that_local_day() -> None:
    availability = Availability(
        weekly=[WeeklyWindow(day, _t("00:00"), _t("00:00")) for day in EVERY_DAY],
        exceptions=[DatedException(SPRING, available=False)],
    )
    got = expand(availability, _utc(3, 28, 0), _utc(3, 31, 0))
    assert got == [(_utc(3, 28, 0), _utc(3, 29, 0)), (_utc(3, 29, 23), _utc(3, 31, 0))]


def test_hours_off_on_the_autumn_change_day_are_cut_out_of_the_window() -> None:
    availability = Availability(
        weekly=[WeeklyWindow(SUN, _t("00:00"), _t("04:00"))],
        exceptions=[DatedException(AUTUMN, False, _t("01:00"), _t("02:00"))],
    )
    got = expand(availability, *_days(AUTUMN, AUTUMN))
    # 01:00 is its first (BST) occurrence, 00:00 UTC; 02:00 GMT is 02:00 UTC.
    assert got == [(_utc(10, 24, 23), _utc(10, 25, 0)), (_utc(10, 25, 2), _utc(10, 25, 4))]


def test_extra_hours_on_the_spring_change_day_are_local_time() -> None:
    availability = Availability(exceptions=[DatedException(SPRING, True, _t("10:00"), _t("12:00"))])
    assert expand(availability, *_days(SPRING, SPRING)) == [(_utc(3, 29, 9), _utc(3, 29, 11))]


def test_an_extra_whole_day_on_the_autumn_change_lasts_25_hours() -> None:
    availability = Availability(exceptions=[DatedException(AUTUMN, available=True)])
    assert expand(availability, *_days(AUTUMN, AUTUMN)) == [(_utc(10, 24, 23), _utc(10, 26, 0))]


def test_extra_hours_touching_a_weekly_window_are_merged_into_it() -> None:
    availability = Availability(
        weekly=[WeeklyWindow(SUN, _t("09:00"), _t("12:00"))],
        exceptions=[DatedException(SPRING, True, _t("12:00"), _t("14:00"))],
    )
    assert expand(availability, *_days(SPRING, SPRING)) == [(_utc(3, 29, 8), _utc(3, 29, 13))]


# -- merging, clipping, away_until ---------------------------------------------------------------
def test_adjacent_windows_are_merged() -> None:
    availability = _weekly((MON, "09:00", "12:00"), (MON, "12:00", "15:00"))
    got = expand(availability, _utc(1, 5, 0), _utc(1, 6, 0))
    assert got == [(_utc(1, 5, 9), _utc(1, 5, 15))]


def test_intervals_are_clipped_to_the_requested_range() -> None:
    availability = _weekly((MON, "09:00", "17:00"))
    assert expand(availability, _utc(1, 5, 10), _utc(1, 5, 12)) == [
        (_utc(1, 5, 10), _utc(1, 5, 12))
    ]
    assert expand(availability, _utc(1, 5, 17), _utc(1, 12, 9)) == []


def test_nothing_is_available_before_away_until() -> None:
    away = dt.datetime(2026, 3, 30, 10, 0, tzinfo=LONDON)
    availability = msgspec.structs.replace(
        _weekly(*[(day, "09:00", "17:00") for day in EVERY_DAY]), away_until=away
    )
    got = expand(availability, _utc(3, 28, 0), _utc(3, 31, 20))
    assert got == [(_utc(3, 30, 9), _utc(3, 30, 16)), (_utc(3, 31, 8), _utc(3, 31, 16))]


def test_away_until_after_the_range_leaves_nothing() -> None:
    availability = msgspec.structs.replace(
        _weekly((MON, "09:00", "17:00")), away_until=_utc(2, 1, 0)
    )
    assert expand(availability, _utc(1, 5, 0), _utc(1, 12, 0)) == []


def test_results_are_utc_whatever_zone_the_range_is_given_in() -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    got = expand(
        _weekly((MON, "09:00", "17:00")),
        dt.datetime(2026, 1, 5, tzinfo=paris),
        dt.datetime(2026, 1, 6, tzinfo=paris),
    )
    assert got == [(_utc(1, 5, 9), _utc(1, 5, 17))]
    assert all(point.tzinfo is UTC for interval in got for point in interval)


def test_an_empty_or_naive_range_is_refused_or_empty() -> None:
    assert expand(_weekly((MON, "09:00", "17:00")), _utc(1, 6, 0), _utc(1, 5, 0)) == []
    with pytest.raises(ValueError, match="aware"):
        expand(Availability(), dt.datetime(2026, 1, 5), _utc(1, 6, 0))


# -- America/New_York changes on its own dates ---------------------------------------------------
def test_new_york_springs_forward_on_its_own_date() -> None:
    availability = _weekly(*[(day, "09:00", "17:00") for day in EVERY_DAY], zone="America/New_York")
    got = expand(availability, _utc(3, 7, 12), _utc(3, 9, 12))
    assert got == [(_utc(3, 7, 14), _utc(3, 7, 22)), (_utc(3, 8, 13), _utc(3, 8, 21))]
    # London's change three weeks later does not move New York's hours.
    assert expand(availability, _utc(3, 29, 12), _utc(3, 30, 0)) == [
        (_utc(3, 29, 13), _utc(3, 29, 21))
    ]


def test_new_york_windows_spanning_its_changes_are_three_and_five_hours() -> None:
    availability = _weekly((SUN, "00:00", "04:00"), zone="America/New_York")
    assert expand(availability, _utc(3, 8, 0), _utc(3, 9, 0)) == [(_utc(3, 8, 5), _utc(3, 8, 8))]
    assert expand(availability, _utc(11, 1, 0), _utc(11, 2, 0)) == [
        (_utc(11, 1, 4), _utc(11, 1, 9))
    ]


def test_new_york_skipped_time_moves_forward() -> None:
    availability = _weekly((SUN, "02:30", "05:00"), zone="America/New_York")
    got = expand(availability, _utc(3, 8, 0), _utc(3, 9, 0))
    assert got == [(_utc(3, 8, 7, 30), _utc(3, 8, 9))]  # 03:30-05:00 EDT


# -- validation ----------------------------------------------------------------------------------
def _exception(days_ahead: int, available: bool = False, *hours: str) -> DatedException:
    start, end = (_t(h) for h in hours) if hours else (None, None)
    return DatedException(TODAY + dt.timedelta(days=days_ahead), available, start, end)


def test_a_valid_availability_passes() -> None:
    availability = Availability(
        time_zone="America/New_York",
        weekly=[
            WeeklyWindow(MON, _t("09:00"), _t("12:00")),
            WeeklyWindow(MON, _t("12:00"), _t("15:00")),
            WeeklyWindow(MON, _t("22:00"), _t("00:00")),
            WeeklyWindow(SUN, _t("00:00"), _t("00:00")),
        ],
        exceptions=[
            _exception(0),
            _exception(366, True, "10:00", "12:00"),
            _exception(366, False, "12:00", "00:00"),
        ],
        away_until=dt.datetime(2027, 3, 2, 23, 0, tzinfo=UTC),
    )
    validate(availability, today=TODAY)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "", "Europe", "europe/london", "../etc/passwd", "localtime"]
)
def test_an_unknown_time_zone_is_refused(zone: str) -> None:
    assert _errors(Availability(time_zone=zone)) == ["time_zone"]


@pytest.mark.parametrize(("start", "end"), [("17:00", "09:00"), ("09:00", "09:00")])
def test_a_window_ending_at_or_before_its_start_is_refused(start: str, end: str) -> None:
    assert _errors(_weekly((MON, "09:00", "17:00"), (MON, start, end))) == ["weekly[1].end"]


def test_a_window_ending_at_midnight_or_lasting_all_day_is_accepted() -> None:
    validate(_weekly((MON, "18:00", "00:00"), (TUE, "00:00", "00:00")), today=TODAY)


@pytest.mark.parametrize(
    ("windows", "later"),
    [
        ([(MON, "09:00", "12:00"), (TUE, "09:00", "12:00"), (MON, "11:00", "13:00")], 2),
        ([(MON, "09:00", "12:00"), (MON, "10:00", "11:00"), (TUE, "09:00", "12:00")], 1),
        ([(MON, "09:00", "12:00"), (MON, "09:00", "12:00"), (TUE, "09:00", "12:00")], 1),
        ([(MON, "00:00", "00:00"), (TUE, "23:00", "00:00"), (TUE, "23:30", "00:00")], 2),
    ],
)
def test_overlapping_windows_on_one_day_name_the_later_one(
    windows: list[tuple[int, str, str]], later: int
) -> None:
    assert _errors(_weekly(*windows)) == [f"weekly[{later}]"]


def test_more_than_50_weekly_windows_are_refused() -> None:
    windows = [(i % 7 + 1, f"{i // 7:02}:00", f"{i // 7:02}:30") for i in range(51)]
    validate(_weekly(*windows[:50]), today=TODAY)
    assert _errors(_weekly(*windows)) == ["weekly"]


def test_more_than_200_exceptions_are_refused() -> None:
    exceptions = [_exception(i) for i in range(201)]
    validate(Availability(exceptions=exceptions[:200]), today=TODAY)
    assert _errors(Availability(exceptions=exceptions)) == ["exceptions"]


@pytest.mark.parametrize("days_ahead", [-1, 367])
def test_an_exception_in_the_past_or_over_366_days_ahead_is_refused(days_ahead: int) -> None:
    exceptions = [_exception(1), _exception(days_ahead)]
    assert _errors(Availability(exceptions=exceptions)) == ["exceptions[1].date"]


def test_an_exception_with_only_one_of_start_and_end_names_the_missing_one() -> None:
    date = TODAY + dt.timedelta(days=3)
    exceptions = [
        DatedException(date, False, start=_t("09:00")),
        DatedException(date + dt.timedelta(days=1), False, end=_t("09:00")),
    ]
    assert _errors(Availability(exceptions=exceptions)) == [
        "exceptions[0].end",
        "exceptions[1].start",
    ]


def test_an_exception_ending_before_it_starts_is_refused() -> None:
    availability = Availability(exceptions=[_exception(3, True, "15:00", "14:00")])
    assert _errors(availability) == ["exceptions[0].end"]


@pytest.mark.parametrize(
    "second",
    [
        _exception(5, True, "10:00", "12:00"),  # inside the whole day off
        _exception(5, False),  # the same whole day again
    ],
)
def test_overlapping_exceptions_on_one_date_name_the_later_one(second: DatedException) -> None:
    exceptions = [_exception(5), _exception(6, True, "10:00", "12:00"), second]
    assert _errors(Availability(exceptions=exceptions)) == ["exceptions[2]"]


def test_exceptions_on_one_date_with_separate_hours_are_accepted() -> None:
    exceptions = [_exception(5, False, "09:00", "12:00"), _exception(5, True, "12:00", "14:00")]
    validate(Availability(exceptions=exceptions), today=TODAY)
    clash = [_exception(5, False, "09:00", "12:00"), _exception(5, True, "11:00", "14:00")]
    assert _errors(Availability(exceptions=clash)) == ["exceptions[1]"]


def test_away_until_without_an_offset_is_refused() -> None:
    assert _errors(Availability(away_until=dt.datetime(2026, 4, 1, 9))) == ["away_until"]


def test_away_until_over_366_days_ahead_is_refused() -> None:
    assert _errors(Availability(away_until=dt.datetime(2027, 3, 3, tzinfo=UTC))) == ["away_until"]


def test_wall_clock_times_with_a_utc_offset_are_refused() -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    availability = Availability(
        weekly=[WeeklyWindow(MON, dt.time(9, tzinfo=plus_one), _t("17:00"))],
        exceptions=[DatedException(TODAY, True, _t("09:00"), dt.time(10, tzinfo=plus_one))],
    )
    assert _errors(availability) == ["weekly[0].start", "exceptions[0].end"]


def test_a_day_outside_the_week_is_refused_even_when_built_in_code() -> None:
    assert _errors(_weekly((8, "09:00", "17:00"))) == ["weekly[0].day"]


def test_every_problem_is_reported_at_once() -> None:
    availability = Availability(
        time_zone="Nowhere/Special",
        weekly=[WeeklyWindow(MON, _t("10:00"), _t("09:00"))],
        exceptions=[_exception(-3)],
        away_until=dt.datetime(2026, 4, 1, 9),
    )
    with pytest.raises(InvalidInput) as caught:
        validate(availability, today=TODAY)
    assert [e.field for e in caught.value.errors] == [
        "time_zone",
        "weekly[0].end",
        "exceptions[0].date",
        "away_until",
    ]
    assert caught.value.detail.startswith("time_zone: ")
    assert "3 more" in caught.value.detail


# -- the wire shape ------------------------------------------------------------------------------
def test_the_wire_shape_decodes_from_json() -> None:
    body = b"""{"time_zone": "Europe/London",
        "weekly": [{"day": 1, "start": "09:00:00", "end": "00:00:00"}],
        "exceptions": [{"date": "2026-12-25", "available": false}],
        "away_until": "2026-08-01T00:00:00+01:00"}"""
    decoded = msgspec.json.decode(body, type=Availability)
    assert decoded.weekly == [WeeklyWindow(MON, _t("09:00"), _t("00:00"))]
    assert decoded.exceptions == [DatedException(dt.date(2026, 12, 25), False)]
    assert msgspec.json.decode(b"{}", type=Availability) == Availability()


@pytest.mark.parametrize(
    "body",
    [
        b'{"weekly": [{"day": 8, "start": "09:00:00", "end": "10:00:00"}]}',
        b'{"weekly": [{"day": 1, "start": "09:00:00", "end": "10:00:00", "note": "x"}]}',
        b'{"exceptions": [{"date": "2026-12-25", "available": false, "why": "x"}]}',
        b'{"timezone": "Europe/London"}',
    ],
)
def test_out_of_range_days_and_unknown_fields_are_refused_on_decode(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=Availability)


# -- properties ----------------------------------------------------------------------------------
ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kolkata",
]
EPOCH = dt.datetime(2026, 1, 1, tzinfo=UTC)


def _minute(n: int) -> dt.time:
    return dt.time((n // 60) % 24, n % 60)


@st.composite
def weekly_windows(draw: st.DrawFn) -> list[WeeklyWindow]:
    """Per day, sorted distinct minute marks paired up: windows that never overlap."""
    windows: list[WeeklyWindow] = []
    for day in EVERY_DAY:
        marks = sorted(draw(st.lists(st.integers(0, 1440), unique=True, max_size=6)))
        pairs = zip(marks[::2], marks[1::2], strict=False)
        windows += [WeeklyWindow(day, _minute(a), _minute(b)) for a, b in pairs]
    return draw(st.permutations(windows))


ranges = st.tuples(st.integers(0, 2 * 365 * 1440), st.integers(0, 21 * 1440)).map(
    lambda r: (EPOCH + dt.timedelta(minutes=r[0]), EPOCH + dt.timedelta(minutes=r[0] + r[1]))
)


def _readings(zone: zoneinfo.ZoneInfo, instant: dt.datetime) -> list[dt.datetime]:
    """Local wall-clock readings of `instant`; just after clocks go forward, also the reading in
    the old offset, which is how a skipped (gap) time that moved forward was declared."""
    now, before = instant.astimezone(zone), (instant - dt.timedelta(hours=3)).astimezone(zone)
    readings = [now.replace(tzinfo=None)]
    old_offset, new_offset = before.utcoffset(), now.utcoffset()
    assert old_offset is not None
    assert new_offset is not None
    if old_offset < new_offset:
        readings.append(before.replace(tzinfo=None) + dt.timedelta(hours=3))
    return readings


def _declared(windows: list[WeeklyWindow], reading: dt.datetime) -> bool:
    midnight = reading.replace(hour=0, minute=0, second=0, microsecond=0)
    spots = [(reading.isoweekday(), reading - midnight)]
    if reading == midnight:  # also the end of the previous day
        spots.append(((reading - dt.timedelta(days=1)).isoweekday(), dt.timedelta(days=1)))
    return any(
        w.day == day and _since_midnight(w.start) <= at <= _since_midnight(w.end, end=True)
        for day, at in spots
        for w in windows
    )


def _since_midnight(t: dt.time, *, end: bool = False) -> dt.timedelta:
    if end and t == dt.time(0):
        return dt.timedelta(days=1)
    return dt.timedelta(hours=t.hour, minutes=t.minute)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), weekly_windows(), ranges)
def test_expanded_intervals_are_sorted_disjoint_in_range_and_inside_declared_windows(
    zone_name: str, windows: list[WeeklyWindow], span: tuple[dt.datetime, dt.datetime]
) -> None:
    availability = Availability(time_zone=zone_name, weekly=windows)
    validate(availability, today=dt.date(2026, 1, 1))
    start, end = span
    got = expand(availability, start, end)
    zone = zoneinfo.ZoneInfo(zone_name)
    for low, high in got:
        assert start <= low < high <= end
        assert low.tzinfo is UTC
        assert high.tzinfo is UTC
        assert any(_declared(windows, r) for r in _readings(zone, low)), (low, high)
        assert any(_declared(windows, r) for r in _readings(zone, high)), (low, high)
    for (_, previous_end), (next_start, _) in itertools.pairwise(got):
        assert previous_end < next_start


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), weekly_windows(), ranges, st.integers(0, 999_999))
def test_an_instant_away_from_clock_changes_is_available_exactly_when_declared(
    zone_name: str,
    windows: list[WeeklyWindow],
    span: tuple[dt.datetime, dt.datetime],
    millionths: int,
) -> None:
    start, end = span
    instant = start + (end - start) * millionths // 1_000_000  # always before end
    zone = zoneinfo.ZoneInfo(zone_name)
    near = [instant + dt.timedelta(hours=h) for h in (-3, 3)]
    if len({p.astimezone(zone).utcoffset() for p in near}) > 1 or end == start:
        return  # within hours of a change: wall-clock readings are not the whole story
    got = expand(Availability(time_zone=zone_name, weekly=windows), start, end)
    reading = instant.astimezone(zone).replace(tzinfo=None)
    midnight = reading.replace(hour=0, minute=0, second=0, microsecond=0)
    declared = any(
        w.day == reading.isoweekday()
        and _since_midnight(w.start) <= reading - midnight < _since_midnight(w.end, end=True)
        for w in windows
    )
    assert any(low <= instant < high for low, high in got) == declared
