"""The staff's daily digest, pure (no I/O): when it is due, and what it says.

A person who chose a digest names a local hour (08:00 by default) and a time zone. The
digest is due once the latest such hour has passed and none was sent for it (a worker
down at 08:00 sends it when it is back, once). It carries counts per kind, never a need's
words: the console's work queue has the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# the staff kinds a digest counts, and the word each count goes by
COUNTED = {
    "need.escalated": "escalated",
    "need.volunteer_left": "volunteer_left",
    "need.filled": "filled",
    "need.completed": "completed",
    "coverage.gap_alert": "gap_alerts",
}


def last_due(now: datetime, zone: str, hour: int) -> date:
    """The local day of the latest digest hour at or before `now`."""
    local = now.astimezone(ZoneInfo(zone))
    return local.date() if local.hour >= hour else local.date() - timedelta(days=1)


def is_due(now: datetime, zone: str, hour: int, last_sent_on: date | None) -> bool:
    return last_sent_on is None or last_sent_on < last_due(now, zone, hour)


def next_at(now: datetime, zone: str, hour: int, last_sent_on: date | None) -> datetime:
    """When the next digest goes (if anything is held by then): now, if one is due."""
    if is_due(now, zone, hour, last_sent_on):
        return now
    day = last_due(now, zone, hour) + timedelta(days=1)
    return datetime.combine(day, time(hour), ZoneInfo(zone))


def counts(kinds: Iterable[str]) -> dict[str, int]:
    """How many of each counted kind, every word present (a template may use any)."""
    out = dict.fromkeys(COUNTED.values(), 0)
    for kind in kinds:
        if kind in COUNTED:
            out[COUNTED[kind]] += 1
    return out
