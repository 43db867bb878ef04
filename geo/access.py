"""The facts behind the coverage measure (matching/coverage.py): the open demand, and the
volunteers who could meet it, with their capped hours and what they are eligible for.

Demand: every open and partially filled need of the organisations with a window in the
period, in person at its coarse location or remote, whatever the view (a volunteer's share of
a need depends on all the demand they could take). Volunteers: one row per approved
membership in those organisations (the vetting is the organisation's), with the hours they
could still give in the period; with a box, only those living within reach of it (a
bounding-box test on the GiST index, widened by the longest reach), their hours times the
share of offers the organisations' volunteers accepted in the weeks before the period
(`expected_acceptance`). Their columns come back
as `array_send` float8 arrays read by numpy: 366k rows one by one held the event loop for
1.5 s (measured).
"""

from __future__ import annotations

import asyncio
import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from geo import kept_facts, volunteer_facts
from geo.coverage import MAX_BOX_DEG, MAX_TRAVEL_M, NO_JIT, Scope, float8_array
from geo.hexgrid import Floats, Volunteers
from matching.coverage import (
    ACCEPTANCE_WEEKS,
    LEVELS,
    Acceptance,
    Demand,
    Supply,
    accepted_levels,
    capped_hours,
    expected_acceptance,
    vocabulary,
    word_bits,
)
from matching.vetting import DbsLevel

_NONE = LEVELS.index(DbsLevel.NONE)  # the level of a volunteer without valid vetting

DEMAND_SQL = text("""
SELECT t.id, array_position(CAST(:org_ids AS uuid[]), t.org_id) - 1 AS org,
       CASE WHEN t.mode = 'remote' THEN NULL ELSE ST_X(t.coarse_location::geometry) END AS lon,
       CASE WHEN t.mode = 'remote' THEN NULL ELSE ST_Y(t.coarse_location::geometry) END AS lat,
       t.min_vetting, t.required_skills, t.languages, t.urgency = 'urgent' AS urgent,
       (t.slots - t.filled) * t.duration_minutes / 60.0 AS hours
  FROM needs t
 WHERE t.org_id = ANY (CAST(:org_ids AS uuid[]))
   AND t.status IN ('open', 'partially_filled') AND t.slots > t.filled
   AND t.windows && tstzrange(:start, :end)
   AND (t.mode = 'remote' OR t.coarse_location IS NOT NULL)
 ORDER BY t.id
""")

# The organisations' answered offers in the weeks before the period (ix_offers_org_created).
ACCEPTANCE_SQL = text("""
SELECT count(*) FILTER (WHERE status = 'accepted') AS accepted, count(*) AS answered
  FROM offers
 WHERE org_id = ANY (CAST(:org_ids AS uuid[]))
   AND created_at >= :since AND created_at < :start
   AND status IN ('accepted', 'declined', 'expired')
""")

_PERIOD = "tstzrange(:start, :end)"
_BOX = (
    "(CAST(:west AS float8) IS NULL"
    " OR {home} && ST_MakeEnvelope(:west, :south, :east, :north, 4326)::geography)"
)
_WORDS = """(SELECT coalesce(sum(power(2::float8, k.n - 1)), 0)
            FROM unnest(CAST(:vocab AS text[])) WITH ORDINALITY AS k(word, n)
           WHERE {test}) AS words"""
_ORG = "(array_position(CAST(:org_ids AS uuid[]), {org}) - 1)::float8 AS org"
_LEVEL = "(array_position(CAST(:levels AS text[]), {level}) - 1)::float8 AS level"
# The volunteers from the source tables, `{only}` of them: a probe per row for availability,
# commitments, vetting and words. `person`: 0, 1, ... (or with `{sign}` -1, negative: apart
# from the facts' persons).
_SOURCE_ROWS = f"""
  SELECT ST_X(v.home::geometry) AS lon, ST_Y(v.home::geometry) AS lat,
         v.max_travel_km::float8 AS km,
         (v.on_duty AND coalesce(v.on_duty_until > :now, true))::int::float8 AS on_duty,
         coalesce((SELECT sum(extract(epoch FROM upper(a.span * {_PERIOD})
                                             - lower(a.span * {_PERIOD})))
                     FROM volunteer_availability a
                    WHERE a.user_id = v.user_id AND a.span && {_PERIOD}), 0)
           / 3600.0 AS available,
         v.max_hours_per_week::float8 AS cap,
         coalesce((SELECT sum(t.duration_minutes) FROM assignments s
                     JOIN needs t ON t.id = s.need_id
                    WHERE s.volunteer_id = v.user_id
                      AND s.status IN ('accepted', 'checked_in', 'completed')
                      AND t.windows && {_PERIOD}), 0) / 60.0 AS committed,
         {_ORG.format(org="m.org_id")},
         {
    _LEVEL.format(
        level="CASE WHEN vc.id_verified AND vc.expires_on > :last_day THEN vc.level ELSE 'none' END"
    )
},
         {
    _WORDS.format(
        test="k.word = ANY (v.skills)"
        " OR k.word = ANY (SELECT 'lang:' || l FROM unnest(v.languages) AS l)"
    )
},
         ({{sign}}dense_rank() OVER (ORDER BY v.user_id) - 1)::float8 AS person
    FROM volunteers v
    JOIN memberships m ON m.user_id = v.user_id AND m.role = 'volunteer'
     AND m.status = 'approved' AND m.org_id = ANY (CAST(:org_ids AS uuid[]))
    LEFT JOIN LATERAL (
      SELECT level, expires_on, id_verified, barred_children OR barred_adults AS barred
        FROM vetting_checks c WHERE c.org_id = m.org_id AND c.user_id = v.user_id
       ORDER BY c.recorded_at DESC LIMIT 1) vc ON true
   WHERE NOT coalesce(vc.barred, false) AND {_BOX.format(home="v.home")} AND {{only}}
"""
_QUEUED = "v.user_id IN (SELECT user_id FROM coverage_volunteer_changes)"
# The same columns from the kept facts (geo/volunteer_facts.py) of the users not queued as
# changed, the queued ones from the source tables: the period decided here, as above, the
# period's commitments read once, grouped.
_FACT_ROWS = f"""
  SELECT f.lon, f.lat, f.km,
         (f.on_duty AND coalesce(f.on_duty_until > :now, true))::int::float8 AS on_duty,
         coalesce((SELECT sum(extract(epoch FROM upper(a * {_PERIOD}) - lower(a * {_PERIOD})))
                     FROM unnest(f.spans) AS a WHERE a && {_PERIOD}), 0) / 3600.0 AS available,
         f.cap, coalesce(c.minutes, 0) / 60.0 AS committed,
         {_ORG.format(org="f.org_id")},
         {_LEVEL.format(level="CASE WHEN f.level_until > :last_day THEN f.level ELSE 'none' END")},
         {{words}} AS words,
         f.person::float8 AS person
    FROM coverage_volunteer_facts f
    LEFT JOIN (SELECT s.volunteer_id, sum(t.duration_minutes) AS minutes
                 FROM assignments s JOIN needs t ON t.id = s.need_id
                WHERE s.status IN ('accepted', 'checked_in', 'completed')
                  AND t.windows && {_PERIOD}
                GROUP BY s.volunteer_id) c ON c.volunteer_id = f.user_id
   WHERE f.org_id = ANY (CAST(:org_ids AS uuid[])) AND {_BOX.format(home="f.home")}
     AND NOT EXISTS (SELECT 1 FROM coverage_volunteer_changes q WHERE q.user_id = f.user_id)
  UNION ALL
  {_SOURCE_ROWS.format(sign="-", only=_QUEUED)}
"""

_COLUMNS = (
    *("lon", "lat", "km", "on_duty", "available", "cap"),
    *("committed", "org", "level", "words", "person"),
)
_ARRAYS = ", ".join(
    f"array_send(coalesce(array_agg({c}::float8), '{{}}')) AS {c}" for c in _COLUMNS
)
# What a view adds to an in-process copy of the kept facts (geo/kept_facts.py), in one
# snapshot: the facts' version, the queued users (and their rows from the source tables),
# the period's commitments per volunteer.
VIEW_SQL = text(f"""
WITH commits AS (
  SELECT s.volunteer_id, sum(t.duration_minutes)::float8 AS minutes
    FROM assignments s JOIN needs t ON t.id = s.need_id
   WHERE s.status IN ('accepted', 'checked_in', 'completed') AND t.windows && {_PERIOD}
   GROUP BY s.volunteer_id
),
rows AS ({_SOURCE_ROWS.format(sign="-", only=_QUEUED)})
SELECT (SELECT version FROM coverage_volunteer_facts_state) AS version,
       (SELECT array_send(coalesce(array_agg(user_id), '{{}}'))
          FROM coverage_volunteer_changes) AS queued,
       c.users AS committed_users, c.minutes AS committed_minutes, r.*
  FROM (SELECT array_send(coalesce(array_agg(volunteer_id), '{{}}')) AS users,
               array_send(coalesce(array_agg(minutes), '{{}}')) AS minutes FROM commits) c,
       (SELECT {_ARRAYS} FROM rows) r
""")
VOLUNTEERS_SQL = text(
    f"WITH rows AS ({_SOURCE_ROWS.format(sign='', only='true')}) SELECT {_ARRAYS} FROM rows"
)


@functools.cache
def facts_sql(words: int) -> TextClause:
    """The kept facts' statement for a vocabulary of `words` words: each word's bit tested
    in line (a subquery per row cost as much as the rest of the row)."""
    bits = " + ".join(
        f"CASE WHEN (CAST(:vocab AS text[]))[{n}] = ANY (f.words) THEN {2.0 ** (n - 1)!r}"
        " ELSE 0::float8 END"
        for n in range(1, words + 1)
    )
    rows = _FACT_ROWS.replace("{words}", f"({bits or '0::float8'})")
    return text(f"WITH rows AS ({rows}) SELECT {_ARRAYS} FROM rows")


def within_reach(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A lon/lat box widened by the longest travel radius (and a tenth more: the index's
    boxes are geocentric), clamped to the globe: whoever could reach the box lives in it."""
    west, south, east, north = box
    margin = MAX_TRAVEL_M * 1.1 / 111_320  # degrees of latitude
    south, north = max(-90.0, south - margin), min(90.0, north + margin)
    widest = max(abs(south), abs(north))
    lon_margin = margin / max(math.cos(math.radians(widest)), 0.01)
    return max(-180.0, west - lon_margin), south, min(180.0, east + lon_margin), north


async def acceptance(conn: AsyncConnection, scope: Scope) -> Acceptance:
    since = scope.start - timedelta(weeks=ACCEPTANCE_WEEKS)
    params = {"org_ids": scope.org_ids, "since": since, "start": scope.start}
    row = (await conn.execute(ACCEPTANCE_SQL, params)).one()
    return expected_acceptance(row.accepted, row.answered)


@dataclass(frozen=True)
class Facts:
    """The measure's inputs: the needs (ids in `need_ids` order) and the volunteers, both as
    the arithmetic takes them, and the volunteers once each for the reach counts."""

    need_ids: list[UUID]
    demand: Demand
    supply: Supply
    reach: Volunteers  # one row per person: counts and on duty per cell (geo.hexgrid)
    acceptance: Acceptance  # the supply's hours are the capped hours times its share


async def demand(conn: AsyncConnection, scope: Scope) -> tuple[list[UUID], list[Any]]:
    rows = list((await conn.execute(DEMAND_SQL, scope.params())).all())
    return [r.id for r in rows], rows


def _demand(rows: list[Any], words: dict[str, int]) -> Demand:
    levels = {level: accepted_levels(level) for level in LEVELS}
    wanted = [
        float(word_bits([*r.required_skills, *(f"lang:{x}" for x in r.languages)], words))
        for r in rows
    ]
    return Demand(
        org=np.array([r.org for r in rows], dtype=np.int64),
        lon=np.array([math.nan if r.lon is None else r.lon for r in rows], dtype=np.float64),
        lat=np.array([math.nan if r.lat is None else r.lat for r in rows], dtype=np.float64),
        levels=np.array([levels[DbsLevel(r.min_vetting)] for r in rows], dtype=np.int64),
        words=np.array(wanted, dtype=np.float64),
        hours=np.array([float(r.hours) for r in rows], dtype=np.float64),
        urgent=np.array([r.urgent for r in rows], dtype=np.bool_),
    )


async def facts(
    conn: AsyncConnection,
    scope: Scope,
    near: tuple[float, float, float, float] | None,
    now: datetime,
    *,
    kept: bool = True,
    copy: bool = True,
) -> Facts:
    """`near`: a lon/lat box whose reachers are wanted, or None for all of the volunteers;
    `now`: the instant whose on-duty volunteers count as on duty; `kept`: read the kept
    facts when there are any (geo/volunteer_facts.py; the same answer), else the tables;
    `copy`: through this process's copy of them (geo/kept_facts.py; the same answer)."""
    await conn.execute(NO_JIT)
    need_ids, rows = await demand(conn, scope)
    accepts = await acceptance(conn, scope)
    words = vocabulary([[*r.required_skills, *(f"lang:{x}" for x in r.languages)] for r in rows])
    box: tuple[float | None, ...] = (None,) * 4
    if near is not None:
        west, south, east, north = within_reach(near)
        if max(east - west, north - south) <= MAX_BOX_DEG:  # wider: no safe geocentric box
            box = (west, south, east, north)
    params = scope.params() | dict(zip(("west", "south", "east", "north"), box, strict=True))
    params |= {
        "now": now,
        "levels": [level.value for level in LEVELS],
        "vocab": list(words),
        "last_day": (scope.end - timedelta(microseconds=1)).date(),
    }
    kept = kept and await volunteer_facts.ready(conn)
    a = await _from_copy(conn, scope, params, box, now) if kept and copy else None
    if a is None:
        statement = facts_sql(len(words)) if kept else VOLUNTEERS_SQL
        got = (await conn.execute(statement, params)).one()
        a = {c: float8_array(bytes(getattr(got, c))) for c in _COLUMNS}
    days = (scope.end - scope.start) / timedelta(days=1)
    hours = capped_hours(a["available"], a["cap"], days, a["committed"])
    _, person = np.unique(a["person"], return_inverse=True)  # 0, 1, ... (the facts': any)
    person = person.reshape(-1).astype(np.int64)
    supply = Supply(
        person=person,
        org=a["org"].astype(np.int64),
        lon=a["lon"],
        lat=a["lat"],
        radius_m=a["km"] * 1000.0,
        hours=hours * accepts.share,
        level=np.left_shift(1, a["level"].astype(np.int64)),
        words=a["words"],
        on_duty=a["on_duty"] > 0,
    )
    _, first = np.unique(person, return_index=True)
    once = first[hours[first] > 0]  # who could give any time, once each
    reach = Volunteers.from_degrees(
        a["lon"][once],
        a["lat"][once],
        a["km"][once],
        a["on_duty"][once].astype(np.int64),
        hours[once],
    )
    return Facts(need_ids, _demand(rows, words), supply, reach, accepts)


async def _from_copy(
    conn: AsyncConnection,
    scope: Scope,
    params: dict[str, Any],
    box: tuple[float | None, ...],
    now: datetime,
) -> dict[str, Floats] | None:
    """The kept-facts statement's columns from this process's copy of the scope's facts,
    read again when the table's version is not the copy's (decisions.md, 66); None when no
    copy matches the version (the worker rewriting meanwhile): the statement answers."""
    for _ in range(3):
        got = (await conn.execute(VIEW_SQL, params)).one()
        view = kept_facts.View(
            got.version,
            kept_facts.uuid_array(bytes(got.queued)),
            kept_facts.uuid_array(bytes(got.committed_users)),
            float8_array(bytes(got.committed_minutes)),
        )
        copy = kept_facts.COPIES.get(scope.org_ids, view.version)
        if copy is None:
            copy = await kept_facts.load(conn, scope.org_ids, params["levels"])
            if copy is None:
                return None
            kept_facts.COPIES.put(scope.org_ids, copy)
            if copy.version != view.version:
                continue  # rewritten between the two reads: the view again
        mine = await asyncio.to_thread(  # ~0.1 s of numpy at 366k rows: off the event loop
            kept_facts.columns, copy, view, scope, box, now, params["vocab"], _NONE
        )
        queued = {c: float8_array(bytes(getattr(got, c))) for c in _COLUMNS}
        return {c: np.concatenate([mine[c], queued[c]]) for c in _COLUMNS}
    return None
