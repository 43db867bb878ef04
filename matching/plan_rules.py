"""The rules a batch plan must keep for each volunteer as a whole, beyond each pair's own
eligibility: no two of their needs at overlapping times, their weekly hours, their cap of
active assignments. A plan keeping them can be accepted in full; one breaking them makes
the volunteer's later accepts fail (409 "conflict").

The rules are those the candidate search and accept apply to one need at a time
(`geo/candidates.py`, `codeliver_volunteer_load`): two needs clash when any of their windows
overlap (windows are alternatives, half-open `[start, end)`); a need's hours count in every
week its windows touch, and are checked against the week (Monday 00:00 UTC) its first window
starts in. Clashes with assignments already held are the candidate search's `conflicting`
and the commit's re-check: they never reach the plan as edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Generic, TypeVar

from matching.model import Reason

__all__ = ["Ledger", "Room", "Timing", "clash", "week_of"]

K = TypeVar("K", bound=Hashable)
WEEK = timedelta(days=7)
Window = tuple[datetime, datetime]


def week_of(at: datetime) -> date:
    """The Monday (UTC) of the ISO week holding `at`: PostgreSQL's date_trunc('week')."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class Timing:
    """When a need happens, as the clash and hours rules see it."""

    windows: tuple[Window, ...]  # alternatives, each [start, end); never empty
    minutes: int  # how long it takes
    # The week its hours are checked against: that of its first window's start.
    week: date = field(init=False, compare=False)
    # Every week one of its windows touches: its hours count in each.
    weeks: frozenset[date] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        found: set[date] = set()
        for start, end in self.windows:
            monday = week_of(start)
            while datetime.combine(monday, datetime.min.time(), UTC) < end:
                found.add(monday)
                monday += WEEK
        object.__setattr__(self, "week", week_of(min(start for start, _ in self.windows)))
        object.__setattr__(self, "weeks", frozenset(found))


def clash(a: Timing, b: Timing) -> bool:
    """Whether any window of `a` overlaps any window of `b` (tstzmultirange `&&`)."""
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.windows for s2, e2 in b.windows)


@dataclass(frozen=True, slots=True)
class Room:
    """What a volunteer may still take on."""

    assignments: int  # more active assignments allowed: their cap less those they hold
    week_minutes: int  # max_hours_per_week * 60
    committed: Mapping[date, int] = field(default_factory=dict)  # minutes held, per week

    def minutes_left(self, week: date) -> int:
        return self.week_minutes - self.committed.get(week, 0)


@dataclass(slots=True)
class _Held:
    needs: list[Timing] = field(default_factory=list)
    minutes: dict[date, int] = field(default_factory=lambda: defaultdict(int))


class Ledger(Generic[K]):
    """The plan so far, per volunteer: `admit` takes a (need, volunteer) pair only if the
    volunteer keeps every rule with it and all the pairs admitted before."""

    def __init__(self, rooms: Mapping[K, Room]) -> None:
        self._rooms = rooms
        self._held: dict[K, _Held] = defaultdict(_Held)

    def refusal(self, volunteer: K, need: Timing) -> Reason | None:
        """The rule the volunteer would break by taking `need` too, or None."""
        room = self._rooms[volunteer]
        held = self._held[volunteer]
        if len(held.needs) + 1 > room.assignments:
            return Reason.ASSIGNMENTS_CAP
        if any(clash(need, other) for other in held.needs):
            return Reason.CONFLICT
        weeks = need.weeks
        for week in {need.week, *(n.week for n in held.needs)}:
            planned = held.minutes.get(week, 0) + (need.minutes if week in weeks else 0)
            if planned > room.minutes_left(week):
                return Reason.HOURS_CAP
        return None

    def admit(self, volunteer: K, need: Timing) -> Reason | None:
        """Record the pair and answer None, or answer the rule it would break."""
        refusal = self.refusal(volunteer, need)
        if refusal is None:
            held = self._held[volunteer]
            held.needs.append(need)
            for week in need.weeks:
                held.minutes[week] += need.minutes
        return refusal
