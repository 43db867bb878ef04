"""The rules no policy may break, checked after every step of every policy.

Two kinds of check. Load rules (slots, weekly hours, active cap, overlaps) are SQL over the
simulation database, on the system login. Eligibility, quiet hours and privacy are pure
checks against the world model itself (`eligibility_breaks`, `push_breaks`): the oracle
does not share the product's SQL, so a path that forgets a rule shows up here.
A violation names the rule, the need and the volunteer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.simulation.world import (
    EARTH_RADIUS_KM,
    PATTERNS,
    PROGRAMMES,
    Kind,
    NeedSpec,
    VolunteerSpec,
)
from app.simulation.world import distance_km as km_between
from matching.eligibility import MAX_OPEN_MICRO_TASKS, MICRO_TASK_KINDS
from matching.vetting import DbsLevel, satisfies, stricter

RULES = (
    "over_filled",
    "weekly_hours",
    "active_cap",
    "micro_task_cap",
    "overlapping_assignments",
    "ineligible_offer",
    "ineligible_assignment",
    "quiet_hours_push",
    "personal_data_in_push",
)
# Slack for the oracle's own arithmetic (haversine against PostGIS's spheroid).
RADIUS_SLACK_KM = 0.05
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180  # of the haversine's sphere


@dataclass(frozen=True)
class Violation:
    rule: str
    need_id: UUID | None
    volunteer_id: UUID | None
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: need {self.need_id} volunteer {self.volunteer_id}: {self.detail}"


_ACTIVE = "('accepted', 'checked_in')"
_MICRO = "(" + ", ".join(f"'{kind}'" for kind in sorted(MICRO_TASK_KINDS)) + ")"
_LOAD_SQL: dict[str, str] = {
    "over_filled": f"""
        SELECT n.id AS need_id, NULL::uuid AS volunteer_id,
               format('%s active assignments, filled %s, slots %s', count(a.id), n.filled, n.slots)
          FROM needs n LEFT JOIN assignments a ON a.need_id = n.id AND a.status IN {_ACTIVE}
         WHERE TRUE {{needs}}
         GROUP BY n.id HAVING count(a.id) > n.slots OR n.filled > n.slots""",
    "weekly_hours": """
        SELECT (array_agg(a.need_id ORDER BY a.accepted_at DESC))[1], a.volunteer_id,
               format('%s minutes in the week of %s, cap %s h', sum(n.duration_minutes),
                      date_trunc('week', lower(n.windows))::date, v.max_hours_per_week)
          FROM assignments a JOIN needs n ON n.id = a.need_id
          JOIN volunteers v ON v.user_id = a.volunteer_id
         WHERE a.status IN ('accepted', 'checked_in', 'completed') {volunteers}
         GROUP BY a.volunteer_id, v.max_hours_per_week, date_trunc('week', lower(n.windows))
        HAVING sum(n.duration_minutes) > 60 * v.max_hours_per_week""",
    # A series is one commitment and micro-tasks have their own limit (docs/decisions.md, 30).
    "active_cap": f"""
        SELECT (array_agg(a.need_id ORDER BY a.accepted_at DESC))[1], a.volunteer_id,
               format('%s active commitments, cap %s',
                      count(DISTINCT coalesce(n.series_id, n.id)), v.max_active_assignments)
          FROM assignments a JOIN needs n ON n.id = a.need_id
          JOIN programmes p ON p.id = n.programme_id
          JOIN volunteers v ON v.user_id = a.volunteer_id
         WHERE a.status IN {_ACTIVE} AND p.kind NOT IN {_MICRO} {{volunteers}}
         GROUP BY a.volunteer_id, v.max_active_assignments
        HAVING count(DISTINCT coalesce(n.series_id, n.id)) > v.max_active_assignments""",
    "micro_task_cap": f"""
        SELECT (array_agg(a.need_id ORDER BY a.accepted_at DESC))[1], a.volunteer_id,
               format('%s open micro-tasks, limit %s', count(*), {MAX_OPEN_MICRO_TASKS})
          FROM assignments a JOIN needs n ON n.id = a.need_id
          JOIN programmes p ON p.id = n.programme_id
         WHERE a.status IN {_ACTIVE} AND p.kind IN {_MICRO} {{volunteers}}
         GROUP BY a.volunteer_id
        HAVING count(*) > {MAX_OPEN_MICRO_TASKS}""",
    "overlapping_assignments": f"""
        SELECT b.need_id, a.volunteer_id, format('overlaps need %s', a.need_id)
          FROM assignments a JOIN needs n ON n.id = a.need_id
          JOIN assignments b ON b.volunteer_id = a.volunteer_id AND b.id > a.id
          JOIN needs m ON m.id = b.need_id
         WHERE a.status IN {_ACTIVE} AND b.status IN {_ACTIVE} AND n.windows && m.windows
               {{volunteers}}""",
}


def _every_rule(needs: str, people: str) -> str:
    """Every load rule in one round trip, each restricted by the given filters."""
    return " UNION ALL ".join(
        f"SELECT '{rule}' AS rule, q.* FROM ({sql.format(needs=needs, volunteers=people)})"
        " AS q(need_id, volunteer_id, detail)"
        for rule, sql in _LOAD_SQL.items()
    )


# The full check, over every need and volunteer: the backstop at the end of a run.
LOAD_BREAKS = text(_every_rule("", ""))

# The check after a step: only the needs and volunteers whose rows the step wrote. A load
# rule can only break where a row was written since the last look (`:since`, the snapshot's
# xmax then: the run's transactions on a copy commit one at a time): an assignment
# (`sync_xid`, migration 0011), a need (its windows, duration, slots or filled) or a
# volunteer (their caps), by the row's `xmin`, the 32-bit id of the transaction that wrote
# it (`:since32`; a copy lives far fewer than 2^32 transactions). The volunteers holding a
# touched need are touched too (its hours and window count against them).
_TOUCHED = f"""
WITH written AS (SELECT need_id, volunteer_id FROM assignments WHERE sync_xid >= :since),
     touched_needs AS (SELECT need_id AS id FROM written
                       UNION SELECT id FROM needs WHERE xmin::text::bigint >= :since32),
     touched_volunteers AS (
       SELECT volunteer_id AS id FROM written
       UNION SELECT volunteer_id FROM assignments
              WHERE need_id IN (SELECT id FROM touched_needs)
       UNION SELECT user_id FROM volunteers WHERE xmin::text::bigint >= :since32)
{
    _every_rule(
        "AND n.id IN (SELECT id FROM touched_needs)",
        "AND a.volunteer_id IN (SELECT id FROM touched_volunteers)",
    )
}"""
TOUCHED_BREAKS = text(_TOUCHED)
# Where the next look starts: every transaction committed so far is below it.
WATERMARK = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")


async def load_breaks(conn: AsyncConnection, since: int | None = None) -> list[Violation]:
    """The load rules broken: everywhere, or (`since`, a `WATERMARK`) only where rows were
    written since then."""
    if since is None:
        rows = await conn.execute(LOAD_BREAKS)
    else:
        rows = await conn.execute(TOUCHED_BREAKS, {"since": since, "since32": since % 2**32})
    return [Violation(r.rule, r.need_id, r.volunteer_id, str(r.detail)) for r in rows]


@dataclass(frozen=True)
class Occurrence:
    """A need row as the world model posted it: the spec and its window."""

    spec: NeedSpec
    kind: Kind
    start: datetime
    end: datetime
    minutes: int
    index: int = 0  # which occurrence of a series


@cache
def required_vetting(kind: Kind) -> DbsLevel:
    return stricter(DbsLevel(kind.vetting), DbsLevel(PROGRAMMES[kind.programme][1]))


@cache
def _satisfies(held: str, needed: DbsLevel) -> bool:
    return satisfies(DbsLevel(held), needed)


def _covered(v: VolunteerSpec, start: datetime, end: datetime, minutes: int) -> bool:
    """Whether the weekly pattern gives `minutes` in a row inside [start, end) (UTC is
    London time in winter: the simulated week's time zone offset is 0)."""
    days, first, last = PATTERNS[v.pattern]
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        if day.isoweekday() in days:
            lo = max(start, day + timedelta(hours=first))
            hi = min(end, day + timedelta(hours=last))
            if hi - lo >= timedelta(minutes=minutes):
                return True
        day += timedelta(days=1)
    return False


def eligibility_breaks(v: VolunteerSpec, occ: Occurrence, *, on_duty_rule: bool) -> list[str]:
    """The hard rules a volunteer breaks for this occurrence, judged by the world model."""
    return list(_broken(v, occ, on_duty_rule=on_duty_rule))


def could_take(v: VolunteerSpec, occ: Occurrence) -> bool:
    """Whether the volunteer breaks none of the hard rules (on duty included), stopping at
    the first broken one: the feasibility of a week judges every pair."""
    return next(_broken(v, occ, on_duty_rule=True), None) is None


def _broken(v: VolunteerSpec, occ: Occurrence, *, on_duty_rule: bool) -> Iterator[str]:
    """`eligibility_breaks`, lazily, in its order: distance settles most pairs first."""
    spec, kind = occ.spec, occ.kind
    reach = v.radius_km + RADIUS_SLACK_KM
    # No trip is shorter than its north-south part: most pairs are settled by it alone.
    if not kind.remote and (
        abs(v.lat - spec.lat) * KM_PER_DEGREE_LAT > reach
        or km_between(v.lat, v.lon, spec.lat, spec.lon) > reach
    ):
        yield "too_far"
    needed = required_vetting(kind)
    if not _satisfies(v.vetting, needed):
        yield "vetting_level"
    elif needed is not DbsLevel.NONE and v.vetting_lapsed:
        yield "vetting_expired"
    if not set(kind.skills) <= set(v.skills):
        yield "skills"
    if not set(spec.languages) <= set(v.languages):
        yield "languages"
    if not _covered(v, occ.start, occ.end, occ.minutes):
        yield "unavailable"
    if on_duty_rule and spec.urgency == "urgent" and not v.on_duty:
        yield "off_duty"


def in_quiet_hours(v: VolunteerSpec, at: datetime) -> bool:
    return v.quiet and (at.hour >= 22 or at.hour < 7)


def push_breaks(
    v: VolunteerSpec | None, at: datetime, urgent: bool, data: dict[str, str], words: Sequence[str]
) -> list[str]:
    """A push to `v` at virtual instant `at`: sent in quiet hours, or carrying client words."""
    broken = []
    if v is not None and not urgent and in_quiet_hours(v, at):
        broken.append("quiet_hours_push")
    values = " ".join(str(x) for x in data.values()).lower()
    if any(w.lower() in values for w in words):
        broken.append("personal_data_in_push")
    return broken


def summarise(violations: Sequence[Violation]) -> dict[str, Any]:
    """Counts per rule, and the first violation of each as an example."""
    out: dict[str, Any] = {}
    for v in violations:
        entry = out.setdefault(v.rule, {"count": 0, "first": str(v)})
        entry["count"] += 1
    return out
