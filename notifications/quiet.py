"""Volunteers' quiet hours: non-urgent pushes wait for their end (notifications.dispatcher),
and the cascade passes over volunteers who would sleep through an offer (app.needs.cascade)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def quiet_until(row: Any, now: datetime) -> datetime | None:
    """The end of the volunteer's quiet hours if `now` falls in them, else None."""
    start: time | None = row.quiet_hours_start
    end: time | None = row.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(row.time_zone or "Europe/London"))
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1 if start > end and t >= start else 0)
    return datetime.combine(day, end, tzinfo=local.tzinfo).astimezone(UTC)
