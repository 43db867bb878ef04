"""A need's time windows: validation, and a recurring series' windows in local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.errors import FieldError, InvalidInput
from app.needs.recurrence import occurrences
from app.needs.schemas import NeedIn, Window

MAX_WINDOW = timedelta(days=14)
MAX_AHEAD = timedelta(days=366)


def check_windows(windows: list[Window], duration_minutes: int, now: datetime) -> None:
    errors: list[FieldError] = []
    duration = timedelta(minutes=duration_minutes)
    for i, w in enumerate(windows):
        path = f"windows[{i}]"
        if w.start.tzinfo is None or w.end.tzinfo is None:
            errors.append(FieldError(path, "times need a UTC offset"))
            continue
        if w.end <= w.start:
            errors.append(FieldError(f"{path}.end", "must be after the start"))
        elif w.end - w.start < duration:
            errors.append(FieldError(path, "shorter than the need's duration"))
        elif w.end - w.start > MAX_WINDOW:
            errors.append(FieldError(path, "longer than 14 days"))
        elif w.end <= now:
            errors.append(FieldError(f"{path}.end", "is in the past"))
        elif w.start > now + MAX_AHEAD:
            errors.append(FieldError(f"{path}.start", "more than a year ahead"))
        elif any(
            o.start < w.end and w.start < o.end
            for o in windows[:i]
            if o.start.tzinfo and o.end.tzinfo
        ):
            errors.append(FieldError(path, "overlaps an earlier window"))
    if errors:
        raise InvalidInput(errors[0].message, errors)


def _on_local_day(instant: datetime, zone: ZoneInfo, days: timedelta) -> datetime:
    """The same wall-clock time `days` later in `zone` (so across DST too)."""
    wall = instant.astimezone(zone).replace(tzinfo=None) + days
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def occurrence_windows(data: NeedIn, time_zone: str, now: datetime) -> list[list[Window]]:
    """Each occurrence's windows: the declared ones moved by whole local days, so a 10:00
    visit stays at 10:00 local time in every week of the series."""
    if data.recurrence is None:
        return [data.windows]
    zone = ZoneInfo(time_zone)
    first_day = data.windows[0].start.astimezone(zone).date()
    series = [
        [
            Window(_on_local_day(w.start, zone, days), _on_local_day(w.end, zone, days))
            for w in data.windows
        ]
        for days in (
            when.astimezone(zone).date() - first_day
            for when in occurrences(data.recurrence, data.windows[0].start, time_zone)
        )
    ]
    if series and max(w.end for w in series[-1]) > now + MAX_AHEAD:
        raise InvalidInput.field("recurrence", "the series runs more than a year ahead")
    return series
