"""Recurring needs: expand a small, strictly checked subset of RFC 5545 RRULE into the start
times of a series, in the local wall-clock time of the need's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, MO, WEEKLY, rrule  # type: ignore[import-untyped]

from app.errors import InvalidInput

MAX_OCCURRENCES = 104
MAX_RULE_LENGTH = 200
MAX_INTERVAL = 52

_PARTS = ("FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL")
_PART = re.compile(r"([A-Z]+)=(.*)")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,4}")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQS = {"DAILY": DAILY, "WEEKLY": WEEKLY}
_UNTIL_DATE = re.compile(r"[0-9]{8}")
_UNTIL_UTC = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_ZONE_KEY = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")


@dataclass(frozen=True)
class _Rule:
    freq: int
    interval: int
    weekdays: tuple[int, ...]  # 0 = Monday; empty means the weekday of the first start
    count: int | None
    until: date | datetime | None  # a date includes that whole local day; a datetime is UTC


def occurrences(rule: str, first_start: datetime, time_zone: str) -> list[datetime]:
    """The start times of the series, sorted, aware in `time_zone`.

    The rule is repeated in local wall-clock time, so a 10:00 visit stays at 10:00 across a
    daylight-saving change; an ambiguous time takes its first instance (fold=0) and a time
    skipped by the clocks going forward moves forward with them. `first_start` is the first
    occurrence when it matches the rule (RFC 5545 counts DTSTART); when it does not (a
    Monday start with BYDAY=TU), the series starts at the first matching time after it.
    Raises InvalidInput on the "recurrence", "first_start" or "time_zone" field.
    """
    parsed = _parse(rule)
    zone = _zone(time_zone)
    if first_start.tzinfo is None or first_start.utcoffset() is None:
        raise InvalidInput.field("first_start", "must include a time zone or UTC offset")
    return _expand(parsed, first_start.astimezone(zone), zone)


def _parse(rule: str) -> _Rule:
    parts = _split(rule)
    if "FREQ" not in parts:
        raise _invalid("FREQ is required")
    freq = _FREQS.get(parts["FREQ"])
    if freq is None:
        raise _invalid("FREQ must be DAILY or WEEKLY")
    if "BYDAY" in parts and freq != WEEKLY:
        raise _invalid("BYDAY is only supported with FREQ=WEEKLY")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise _invalid("give exactly one of COUNT or UNTIL to end the series")
    return _Rule(
        freq=freq,
        interval=_number(parts, "INTERVAL", MAX_INTERVAL) or 1,
        weekdays=_weekdays(parts.get("BYDAY")),
        count=_number(parts, "COUNT", MAX_OCCURRENCES),
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )


def _split(rule: str) -> dict[str, str]:
    if len(rule) > MAX_RULE_LENGTH:
        raise _invalid(f"must be at most {MAX_RULE_LENGTH} characters")
    if not rule:
        raise _invalid("must not be empty")
    if rule.startswith("RRULE:"):
        raise _invalid("give the rule without the 'RRULE:' prefix")
    parts: dict[str, str] = {}
    for part in rule.split(";"):
        match = _PART.fullmatch(part)
        if match is None:
            raise _invalid(f"{part!r} is not an uppercase NAME=VALUE part")
        name, value = match.groups()
        if name not in _PARTS:
            raise _invalid(f"{name} is not supported; use only {', '.join(_PARTS)}")
        if name in parts:
            raise _invalid(f"{name} is given more than once")
        parts[name] = value
    return parts


def _number(parts: dict[str, str], name: str, maximum: int) -> int | None:
    if name not in parts:
        return None
    value = parts[name]
    if _WHOLE_NUMBER.fullmatch(value) is None or not 1 <= int(value) <= maximum:
        raise _invalid(f"{name} must be a whole number from 1 to {maximum}")
    return int(value)


def _weekdays(value: str | None) -> tuple[int, ...]:
    if value is None:
        return ()
    codes = value.split(",")
    if any(code not in _WEEKDAYS for code in codes):
        raise _invalid(f"BYDAY must list plain weekday codes from {','.join(_WEEKDAYS)}")
    if len(set(codes)) != len(codes):
        raise _invalid("BYDAY lists a weekday more than once")
    return tuple(sorted(_WEEKDAYS.index(code) for code in codes))


def _until(value: str) -> date | datetime:
    try:
        if _UNTIL_DATE.fullmatch(value):
            return datetime.strptime(value, "%Y%m%d").date()
        if _UNTIL_UTC.fullmatch(value):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        pass
    raise _invalid("UNTIL must be a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)")


def _zone(time_zone: str) -> ZoneInfo:
    if len(time_zone) <= 64 and _ZONE_KEY.fullmatch(time_zone):
        try:
            return ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise InvalidInput.field("time_zone", "must be an IANA time zone such as Europe/London")


def _expand(rule: _Rule, start: datetime, zone: ZoneInfo) -> list[datetime]:
    start_wall = start.replace(tzinfo=None, fold=0)
    walls = rrule(
        rule.freq,
        dtstart=start_wall,  # dateutil drops the microseconds; they are put back below
        interval=rule.interval,
        wkst=MO,
        byweekday=rule.weekdays or None,
        count=rule.count,
    )
    result: list[datetime] = []
    for found in islice(walls, MAX_OCCURRENCES + 1):
        wall = found.replace(microsecond=start_wall.microsecond)
        local = start if wall == start_wall else _local(wall, zone)
        if _after_until(rule.until, local):
            break
        result.append(local)
    if len(result) > MAX_OCCURRENCES:
        raise _invalid(f"the rule gives more than {MAX_OCCURRENCES} occurrences")
    if not result:
        raise _invalid("the rule gives no occurrences from the first start")
    return result


def _local(wall: datetime, zone: ZoneInfo) -> datetime:
    """The wall-clock time in `zone`: fold=0 when ambiguous, moved forward when skipped."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def _after_until(until: date | datetime | None, local: datetime) -> bool:
    if until is None:
        return False
    if isinstance(until, datetime):
        return local > until
    return local.date() > until


def _invalid(message: str) -> InvalidInput:
    return InvalidInput.field("recurrence", message)


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def describe(rule: str) -> str:
    """A stored rule in words, as a caseworker reads it: `FREQ=WEEKLY;COUNT=8` is "Every
    week, 8 times"; `FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20270331` is "Every 2 weeks
    on Tuesday and Thursday, until 31 March 2027"."""
    parsed = _parse(rule)
    unit = "day" if parsed.freq == DAILY else "week"
    every = f"Every {unit}" if parsed.interval == 1 else f"Every {parsed.interval} {unit}s"
    if parsed.weekdays:
        names = [_DAY_NAMES[d] for d in parsed.weekdays]
        days = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        every = f"{every} on {days}"
    if parsed.count == 1:
        return "Once"
    if parsed.count is not None:
        return f"{every}, {parsed.count} times"
    until = parsed.until
    assert until is not None  # exactly one of COUNT or UNTIL (_parse)
    return f"{every}, until {until.day} {until:%B %Y}"
