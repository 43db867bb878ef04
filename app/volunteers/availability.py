"""Volunteer availability in their own time zone: checked, then expanded to UTC intervals.

Pure: no I/O. Local times in a DST gap move forward; repeated local times take the first one.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Annotated

import msgspec

from app.errors import FieldError, InvalidInput
from app.wire import time_zone_names

MAX_WEEKLY = 50
MAX_EXCEPTIONS = 200
HORIZON = dt.timedelta(days=366)
MIDNIGHT = dt.time(0)
DAY = dt.timedelta(days=1)

Interval = tuple[dt.datetime, dt.datetime]
Span = tuple[dt.timedelta, dt.timedelta]  # offsets from local midnight, end up to 24 h

WallClock = Annotated[
    dt.time,
    msgspec.Meta(
        description="local wall-clock time, HH:MM:SS without a UTC offset",
        examples=["09:00:00"],
    ),
]
WallClockEnd = Annotated[
    dt.time,
    msgspec.Meta(
        description="local wall-clock time, HH:MM:SS without a UTC offset; "
        "00:00:00 means midnight at the end of the day",
        examples=["17:00:00"],
    ),
]


class WeeklyWindow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Available every week on `day`, from `start` to `end` local time."""

    day: Annotated[int, msgspec.Meta(ge=1, le=7, description="ISO weekday, 1 = Monday")]
    start: WallClock
    end: WallClockEnd


class DatedException(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A one-off change on a local date: hours off (or extra hours); no hours = the whole day."""

    date: Annotated[dt.date, msgspec.Meta(description="local date", examples=["2026-12-25"])]
    available: Annotated[
        bool,
        msgspec.Meta(description="false: not available then; true: available in addition"),
    ]
    start: WallClock | None = None
    end: WallClockEnd | None = None


class Availability(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When a volunteer can help, declared in their own local time."""

    time_zone: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=64,
            description="IANA time zone name",
            examples=["Europe/London"],
        ),
    ] = "Europe/London"
    weekly: Annotated[
        list[WeeklyWindow],
        msgspec.Meta(description=f"recurring windows, at most {MAX_WEEKLY}; none may overlap"),
    ] = msgspec.field(default_factory=list)
    exceptions: Annotated[
        list[DatedException],
        msgspec.Meta(description=f"dated changes, at most {MAX_EXCEPTIONS}, up to 366 days ahead"),
    ] = msgspec.field(default_factory=list)
    away_until: Annotated[
        dt.datetime | None,
        msgspec.Meta(
            description="nothing is available before this instant (with a UTC offset)",
            examples=["2026-08-01T00:00:00+01:00"],
        ),
    ] = None


# -- validation ---------------------------------------------------------------------------------
def validate(availability: Availability, *, today: dt.date) -> None:
    """Raise `InvalidInput` listing every problem (by field path), or return if there are none."""
    errors: list[FieldError] = []
    if availability.time_zone not in time_zone_names():
        errors.append(FieldError("time_zone", "is not a known IANA time zone"))
    errors += _weekly_errors(availability.weekly)
    errors += _exception_errors(availability.exceptions, today)
    errors += _away_errors(availability.away_until, today)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}{more}", errors)


def _weekly_errors(weekly: list[WeeklyWindow]) -> list[FieldError]:
    if len(weekly) > MAX_WEEKLY:
        return [FieldError("weekly", f"at most {MAX_WEEKLY} weekly windows")]
    errors: list[FieldError] = []
    seen: dict[int, list[Span]] = {}
    for i, window in enumerate(weekly):
        path = f"weekly[{i}]"
        problems = _range_errors(path, window.start, window.end)
        if not 1 <= window.day <= 7:
            problems.append(FieldError(f"{path}.day", "must be an ISO weekday, 1 (Monday) to 7"))
        errors += problems
        if problems:
            continue
        span = _span(window.start, window.end)
        if _overlaps_any(span, seen.setdefault(window.day, [])):
            errors.append(FieldError(path, "overlaps an earlier window on the same day"))
        seen[window.day].append(span)
    return errors


def _exception_errors(exceptions: list[DatedException], today: dt.date) -> list[FieldError]:
    if len(exceptions) > MAX_EXCEPTIONS:
        return [FieldError("exceptions", f"at most {MAX_EXCEPTIONS} exceptions")]
    errors: list[FieldError] = []
    seen: dict[dt.date, list[Span]] = {}
    for i, exception in enumerate(exceptions):
        path = f"exceptions[{i}]"
        problems = _date_errors(f"{path}.date", exception.date, today)
        if exception.start is None and exception.end is not None:
            problems.append(FieldError(f"{path}.start", "give both start and end, or neither"))
        elif exception.end is None and exception.start is not None:
            problems.append(FieldError(f"{path}.end", "give both start and end, or neither"))
        elif exception.start is not None and exception.end is not None:
            problems += _range_errors(path, exception.start, exception.end)
        errors += problems
        if problems:
            continue
        span = _span(exception.start, exception.end)
        if _overlaps_any(span, seen.setdefault(exception.date, [])):
            errors.append(FieldError(path, "overlaps an earlier exception on the same date"))
        seen[exception.date].append(span)
    return errors


def _range_errors(path: str, start: dt.time, end: dt.time) -> list[FieldError]:
    errors = [
        FieldError(f"{path}.{name}", "must be a wall-clock time without a UTC offset")
        for name, value in (("start", start), ("end", end))
        if value.tzinfo is not None
    ]
    if not errors and end != MIDNIGHT and end <= start:
        errors.append(
            FieldError(f"{path}.end", "must be after start (00:00:00 means the end of the day)")
        )
    return errors


def _date_errors(path: str, date: dt.date, today: dt.date) -> list[FieldError]:
    if date < today:
        return [FieldError(path, "is in the past")]
    if date > today + HORIZON:
        return [FieldError(path, "is more than 366 days ahead")]
    return []


def _away_errors(away_until: dt.datetime | None, today: dt.date) -> list[FieldError]:
    if away_until is None:
        return []
    if away_until.utcoffset() is None:
        return [FieldError("away_until", "must include a UTC offset")]
    if away_until.date() > today + HORIZON:
        return [FieldError("away_until", "is more than 366 days ahead")]
    if away_until.date() < today - HORIZON:
        return [FieldError("away_until", "is more than a year in the past")]
    return []


def _span(start: dt.time | None, end: dt.time | None) -> Span:
    """Offsets from local midnight; no times is the whole day, and an end of 00:00 is 24:00."""

    def offset(t: dt.time) -> dt.timedelta:
        return dt.timedelta(
            hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond
        )

    begin = offset(start) if start is not None else dt.timedelta(0)
    finish = offset(end) if end is not None and end != MIDNIGHT else DAY
    return begin, finish


def _overlaps_any(span: Span, others: Iterable[Span]) -> bool:
    return any(span[0] < other[1] and other[0] < span[1] for other in others)


# -- expansion ----------------------------------------------------------------------------------
def expand(availability: Availability, start: dt.datetime, end: dt.datetime) -> list[Interval]:
    """Available intervals within [start, end), in UTC, sorted and merged.

    Expects a validated `availability`. Windows whose local start falls in a DST gap and whose
    end lands before it in real time (e.g. 01:30-01:50 when 01:00-02:00 is skipped) are empty.
    """
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("start and end must be aware datetimes")
    lower, upper = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if availability.away_until is not None:
        lower = max(lower, availability.away_until.astimezone(dt.UTC))
    if upper <= lower:
        return []
    zone = zoneinfo.ZoneInfo(availability.time_zone)
    first = lower.astimezone(zone).date() - DAY  # a day's margin: nothing rides on the edge case
    last = upper.astimezone(zone).date()
    added, removed = _local_intervals(availability, zone, first, last)
    kept = _subtract(_merge(added), _merge(removed))
    return [(max(s, lower), min(e, upper)) for s, e in kept if s < upper and e > lower]


def _local_intervals(
    availability: Availability, zone: zoneinfo.ZoneInfo, first: dt.date, last: dt.date
) -> tuple[list[Interval], list[Interval]]:
    """What the windows and exceptions add, and what exceptions take away, on first..last."""
    by_day: dict[int, list[WeeklyWindow]] = {}
    for window in availability.weekly:
        by_day.setdefault(window.day, []).append(window)
    added: list[Interval] = []
    removed: list[Interval] = []
    day = first
    while day <= last:
        added += [_interval(zone, day, w.start, w.end) for w in by_day.get(day.isoweekday(), [])]
        day += DAY
    for exception in availability.exceptions:
        if first <= exception.date <= last:
            interval = _interval(zone, exception.date, exception.start, exception.end)
            (added if exception.available else removed).append(interval)
    return added, removed


def _interval(
    zone: zoneinfo.ZoneInfo, day: dt.date, start: dt.time | None, end: dt.time | None
) -> Interval:
    """Local `start`..`end` on `day` as UTC instants; no times is the whole day."""
    begin = _instant(zone, day, start if start is not None else MIDNIGHT)
    if end is None or end.replace(tzinfo=None) == MIDNIGHT:
        return begin, _instant(zone, day + DAY, MIDNIGHT)
    return begin, _instant(zone, day, end)


def _instant(zone: zoneinfo.ZoneInfo, day: dt.date, wall: dt.time) -> dt.datetime:
    # fold=0: a repeated time is its first occurrence; a skipped time keeps the offset from
    # before the change, which lands it that much later (01:30 in a 01:00-02:00 gap is 02:30).
    local = dt.datetime.combine(day, wall.replace(tzinfo=None, fold=0), tzinfo=zone)
    return local.astimezone(dt.UTC)


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, with empty intervals dropped and overlapping or touching ones joined."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """`intervals` minus `holes`; both sorted and merged."""
    out: list[Interval] = []
    first_hole = 0
    for start, end in intervals:
        while first_hole < len(holes) and holes[first_hole][1] <= start:
            first_hole += 1
        begin = start
        for hole_start, hole_end in holes[first_hole:]:
            if hole_start >= end:
                break
            if hole_start > begin:
                out.append((begin, hole_start))
            begin = max(begin, hole_end)
        if begin < end:
            out.append((begin, end))
    return out
