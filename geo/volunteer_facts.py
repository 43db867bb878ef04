"""The coverage measure's facts per volunteer, kept ahead of the maps (decisions.md, 59).

A map computed on the spot needs, for every volunteer who could reach it, their home and
reach, the hours they could give in the period and what they are eligible for. Built from
the source tables per request (geo/access.py: VOLUNTEERS_SQL) that took 10 s at 1M
volunteers: a vetting lateral, a words subquery, an availability and a commitments probe per
row. `coverage_volunteer_facts` (migration 0033) keeps everything of a volunteer that does
not depend on the period, one row per approved membership that is not barred: home, reach,
weekly cap, duty and its end, the organisation's latest vetting level and until when it
holds, skills and languages as words, the availability spans. What depends on the period
is decided per view from those columns, exactly as the source statement decides it: hours
available (the spans cut to the period), whether the vetting lasts through it, duty at the
instant; hours committed in the period come from one grouped read of the period's
assignments instead of a probe per volunteer.

Never stale: statement triggers on volunteers, memberships, vetting_checks and
volunteer_availability queue the users whose facts changed (`coverage_volunteer_changes`),
in the same transaction as the change. A view reads the facts of the users not queued and
computes the queued ones from the source tables, in one statement (one snapshot), so a
change is in the next map whether or not the job has run. The worker's job
`coverage-volunteer-facts` (`refresh`) rewrites the queued users' rows, and rebuilds every
row when the last rebuild is older than `rebuild_every` or the queue is long (a bulk
import). Before the first rebuild (`coverage_volunteer_facts_state` has no row) views read
the source tables. Homes stay in geo/: what leaves is coarse cells and shares.

`coverage_volunteer_facts_state.version` is a new random id in every transaction that
rewrote any row (never when the queue was empty): API processes keep the decoded rows of a
scope in memory while it is unchanged (geo/kept_facts.py, decisions.md 66).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# The rows of the facts table, from the source tables (the owner's login: every
# organisation). `{only}`: a condition on the volunteer `v`.
_SOURCE_ROWS = """
SELECT m.org_id, v.user_id, v.home,
       ST_X(v.home::geometry) AS lon, ST_Y(v.home::geometry) AS lat,
       v.max_travel_km::float8 AS km, v.max_hours_per_week::float8 AS cap,
       v.on_duty, v.on_duty_until,
       coalesce(vc.level, 'none') AS level,
       CASE WHEN vc.id_verified THEN vc.expires_on END AS level_until,
       v.skills || ARRAY(SELECT 'lang:' || l FROM unnest(v.languages) AS l) AS words,
       coalesce(a.spans, '{{}}') AS spans
  FROM volunteers v
  JOIN memberships m ON m.user_id = v.user_id AND m.role = 'volunteer'
   AND m.status = 'approved'
  LEFT JOIN LATERAL (
    SELECT level, expires_on, id_verified, barred_children OR barred_adults AS barred
      FROM vetting_checks c WHERE c.org_id = m.org_id AND c.user_id = v.user_id
     ORDER BY c.recorded_at DESC LIMIT 1) vc ON true
  LEFT JOIN (SELECT user_id, array_agg(span ORDER BY span) AS spans
               FROM volunteer_availability a WHERE {only_a} GROUP BY user_id) a
    ON a.user_id = v.user_id
 WHERE NOT coalesce(vc.barred, false) AND {only}
"""
_COLUMNS = (
    "org_id, user_id, person, home, lon, lat, km, cap, on_duty, on_duty_until, level,"
    " level_until, words, spans"
)
_FIELDS = (
    "r.org_id, r.user_id, {top} + dense_rank() OVER (ORDER BY r.user_id), r.home, r.lon,"
    " r.lat, r.km, r.cap, r.on_duty, r.on_duty_until, r.level, r.level_until, r.words, r.spans"
)

REBUILD_SQL = [
    text("SELECT pg_advisory_xact_lock(hashtextextended('coverage-volunteer-facts', 0))"),
    text("DELETE FROM coverage_volunteer_changes"),  # every change so far: in the rows below
    text("DELETE FROM coverage_volunteer_facts"),
    text(
        f"INSERT INTO coverage_volunteer_facts ({_COLUMNS})"
        f" SELECT {_FIELDS.format(top=0)}"
        f" FROM ({_SOURCE_ROWS.format(only='true', only_a='true')}) r"
    ),
]

# The queued users' rows, rewritten: the queue taken (changes committed meanwhile stay
# queued), their old rows deleted, their new ones numbered past every person so far.
TAKE_SQL = text("DELETE FROM coverage_volunteer_changes RETURNING user_id")
DROP_SQL = text("DELETE FROM coverage_volunteer_facts WHERE user_id = ANY (CAST(:ids AS uuid[]))")
UPDATE_SQL = text(
    f"""
INSERT INTO coverage_volunteer_facts ({_COLUMNS})
SELECT {_FIELDS.format(top="(SELECT coalesce(max(person), 0) FROM coverage_volunteer_facts)")}
  FROM ({
        _SOURCE_ROWS.format(
            only="v.user_id = ANY (CAST(:ids AS uuid[]))",
            only_a="a.user_id = ANY (CAST(:ids AS uuid[]))",
        )
    }) r
"""
)

QUEUED_SQL = text("SELECT count(*) FROM coverage_volunteer_changes")
STATE_SQL = text("SELECT refreshed_at, rebuilt_at FROM coverage_volunteer_facts_state")
SAVE_STATE_SQL = text("""
INSERT INTO coverage_volunteer_facts_state AS s
       (id, refreshed_at, rebuilt_at, rows, seconds, version)
SELECT 1, :now, coalesce(CAST(:rebuilt_at AS timestamptz), :now), count(*), :seconds,
       gen_random_uuid()
  FROM coverage_volunteer_facts
ON CONFLICT (id) DO UPDATE
   SET refreshed_at = excluded.refreshed_at, rows = excluded.rows, seconds = excluded.seconds,
       version = CASE WHEN :changed THEN excluded.version ELSE s.version END,
       rebuilt_at = CASE WHEN CAST(:rebuilt_at AS timestamptz) IS NULL THEN excluded.rebuilt_at
                         ELSE s.rebuilt_at END
""")

REBUILD_EVERY = timedelta(hours=1)
MAX_QUEUED = 50_000  # more changes than this (a bulk import): rebuild whole instead


@dataclass(frozen=True)
class Refreshed:
    rebuilt: bool  # every row, or only the queued users'
    users: int  # users queued before it (all of them when rebuilt)
    seconds: float


async def ready(conn: AsyncConnection) -> bool:
    """Whether the facts were ever built (else views read the source tables)."""
    return (await conn.execute(STATE_SQL)).first() is not None


async def rebuild(engine: AsyncEngine, now: datetime) -> Refreshed:
    """Every row again, from the source tables (the owner's login)."""
    began = time.perf_counter()
    async with engine.begin() as conn:
        for statement in REBUILD_SQL:
            await conn.execute(statement)
        seconds = time.perf_counter() - began
        await conn.execute(
            SAVE_STATE_SQL,
            {"now": now, "rebuilt_at": None, "seconds": seconds, "changed": True},
        )
        users = await conn.scalar(
            text("SELECT count(DISTINCT user_id) FROM coverage_volunteer_facts")
        )
    async with engine.connect() as conn:  # the planner's figures for the new rows
        await conn.execute(text("ANALYZE coverage_volunteer_facts, coverage_volunteer_changes"))
        await conn.commit()
    return Refreshed(True, users or 0, round(time.perf_counter() - began, 3))


async def refresh(
    engine: AsyncEngine,
    now: datetime,
    rebuild_every: timedelta = REBUILD_EVERY,
    max_queued: int = MAX_QUEUED,
) -> Refreshed:
    """The worker's job: the queued users' rows, or every row when due (see the module)."""
    async with engine.connect() as conn:
        state = (await conn.execute(STATE_SQL)).first()
        queued = await conn.scalar(QUEUED_SQL) or 0
    if state is None or state.rebuilt_at <= now - rebuild_every or queued > max_queued:
        return await rebuild(engine, now)
    began = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(REBUILD_SQL[0])  # one worker at a time
        ids = list((await conn.scalars(TAKE_SQL)).all())
        await conn.execute(DROP_SQL, {"ids": ids})
        await conn.execute(UPDATE_SQL, {"ids": ids})
        seconds = time.perf_counter() - began
        await conn.execute(
            SAVE_STATE_SQL,
            {"now": now, "rebuilt_at": state.rebuilt_at, "seconds": seconds, "changed": bool(ids)},
        )
    return Refreshed(False, len(ids), round(time.perf_counter() - began, 3))
