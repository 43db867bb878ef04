"""The candidate prefilter: one set-based statement from a need to its volunteers' facts.

In the eligible mode the database applies every hard constraint (both radii, vetting valid on
the need's last day, skills and languages contained, availability for the duration within a
window, on duty for urgent needs, under capacity, no conflict, no exclusion, never offered
before) while walking the GiST index nearest first, and stops at `limit`: the LATERAL form
keeps the scan index-ordered (`Order By: home <-> location`, docs/traps.md). Remote needs skip
distance. The named mode returns the same facts for given volunteers with no filter, so the
pure core can explain why someone is not a candidate. The many mode (batch plans) runs the
same eligible scan for a whole array of needs in one statement, each row tagged with its need.

Capacity and history come from SECURITY DEFINER functions that count across every
organisation the volunteer serves without exposing their rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from matching.eligibility import MAX_OPEN_MICRO_TASKS, MICRO_TASK_KINDS
from matching.model import LIVE_LOCATION_FRESH, Candidate, History, TravelMode
from matching.vetting import DbsLevel, Vetting, satisfies

# The widest travel radius a volunteer may set (volunteers.travel_range): the constant
# bound that lets the index prune, whatever each volunteer's own radius.
MAX_TRAVEL_M = 200_000.0

# An availability span covering the duration within one of the need's windows.
_AVAILABLE = """EXISTS (SELECT 1 FROM volunteer_availability a
           WHERE a.user_id = v.user_id AND a.span && t.windows
             AND EXISTS (SELECT 1 FROM unnest(multirange(a.span) * t.windows) AS r
                          WHERE upper(r) - lower(r) >= t.duration))"""

# `available` is a scalar subquery, not a bare EXISTS: in a select list PostgreSQL may turn an
# EXISTS into a hashed subplan over every volunteer available in the need's windows, per need
# (docs/traps.md), where the scalar form probes the one volunteer by pk_volunteer_availability.
_FACTS = f"""
  v.user_id, v.travel_mode, v.max_travel_km * 1000 AS max_travel_m, v.skills, v.languages,
  v.on_duty, v.max_hours_per_week, v.max_active_assignments, v.preferred_kinds,
  m.status = 'approved' AS approved,
  CASE WHEN t.location IS NULL THEN NULL ELSE ST_Distance(v.home, t.location) END
    AS distance_m,
  CASE WHEN t.location IS NOT NULL AND v.live_location_at >= t.live_since
       THEN ST_Distance(v.live_location, t.location) END AS live_distance_m,
  vc.level, vc.checked_on, vc.expires_on, vc.id_verified, vc.barred_children, vc.barred_adults,
  (SELECT {_AVAILABLE}) AS available,
  load.active, load.micro_tasks, load.week_minutes, load.conflicting,
  codeliver_is_excluded(t.client_id, v.user_id) AS excluded,
  EXISTS (SELECT 1 FROM offers o WHERE o.need_id = t.id AND o.volunteer_id = v.user_id)
    AS offered_before,
  EXISTS (SELECT 1 FROM assignments s WHERE s.need_id = t.id AND s.volunteer_id = v.user_id)
    AS assigned_before"""

_JOINS = """
  FROM volunteers v
  JOIN memberships m ON m.org_id = t.org_id AND m.user_id = v.user_id AND m.role = 'volunteer'
  LEFT JOIN LATERAL (
    SELECT level, checked_on, expires_on, id_verified, barred_children, barred_adults
      FROM vetting_checks c WHERE c.org_id = t.org_id AND c.user_id = v.user_id
     ORDER BY c.recorded_at DESC LIMIT 1) vc ON true
  CROSS JOIN LATERAL codeliver_volunteer_load(v.user_id, t.week, t.windows, t.series_id,
                                              CAST(:micro_kinds AS text[]),
                                              CAST(:at AS timestamptz)) load"""

_RULES = """
  m.status = 'approved'
  AND v.skills @> t.required_skills AND v.languages @> t.languages
  AND (NOT t.urgent OR v.on_duty)
  AND NOT coalesce(vc.barred_children OR vc.barred_adults, false)
  AND (t.any_vetting OR (vc.level = ANY (t.ok_levels) AND vc.id_verified
                         AND vc.expires_on > t.last_day))
  AND (CASE WHEN t.micro THEN load.micro_tasks < :micro_cap
            ELSE load.active < v.max_active_assignments END)
  AND load.week_minutes + t.duration_minutes <= v.max_hours_per_week * 60
  AND NOT load.conflicting
  AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.need_id = t.id AND o.volunteer_id = v.user_id)
  AND NOT EXISTS (SELECT 1 FROM assignments s
                   WHERE s.need_id = t.id AND s.volunteer_id = v.user_id)
  AND NOT EXISTS (SELECT 1 FROM client_exclusions x
                   WHERE x.client_id = t.client_id AND x.volunteer_id = v.user_id)"""
_ELIGIBLE = f"{_RULES}\n  AND {_AVAILABLE}"

_NEARBY = """
  AND ST_DWithin(v.{at}, t.location, t.radius_m)
  AND ST_DWithin(v.{at}, t.location, v.max_travel_km * 1000)"""

# An on-duty volunteer's live location counts for urgent needs while fresh
# (matching.model.LIVE_LOCATION_FRESH, eligibility.reach_m): coalesce, as NULL is not false.
_LIVE = "coalesce(t.urgent AND v.live_location_at >= t.live_since, false)"

# In person: two index-ordered walks, nearest first, each stopping at `limit`: homes
# (everyone whose live location does not count) and, for urgent needs only, live locations
# (`One-Time Filter: t.urgent`, so a common need never starts the second). The nearest
# `limit` of both by the distance that counts. Each ORDER BY has one key (docs/traps.md).
_IN_PERSON = """
SELECT * FROM (
  (SELECT {facts} {joins} WHERE {where} AND NOT {live} {near_home}
    ORDER BY v.home <-> t.location LIMIT :limit)
  UNION ALL
  (SELECT {facts} {joins} WHERE t.urgent AND {live} AND {where} {near_live}
    ORDER BY v.live_location <-> t.location LIMIT :limit)) AS u
ORDER BY CASE WHEN t.urgent THEN coalesce(u.live_distance_m, u.distance_m)
              ELSE u.distance_m END
LIMIT :limit"""

# Remote: no distance to walk by, so a walk of the organisation's members in id order
# (pk_memberships: org_id, user_id) from a point chosen by the need (its own id), round to
# the start: a pool of `limit` that every eligible volunteer is equally likely to be in,
# scored afterwards (fairness, reliability, preference). Ids are random (gen_random_uuid),
# so nobody sits at a favoured place on the ring; a fixed walk from the lowest id sent 179
# demo offers to 45 volunteers (docs/decisions.md, 32). The availability test is a scalar
# subquery here: as a semi-join the planner hashed every available volunteer and sorted
# (~1 s at 100k volunteers) instead of walking the members (~10 ms).
_REMOTE = """
SELECT * FROM (
  (SELECT {facts} {joins} WHERE {where} AND m.user_id >= t.id
    ORDER BY m.user_id LIMIT :limit)
  UNION ALL
  (SELECT {facts} {joins} WHERE {where} AND m.user_id < t.id
    ORDER BY m.user_id LIMIT :limit)
) AS u
LIMIT :limit"""

# The need's row plus its per-need rules (vetting, radius), decided in Python: `p` is one
# row of bind parameters for a single need, or a row per need unnested from arrays.
_NEED = """
  SELECT id, org_id, client_id, series_id, location, windows, required_skills, languages,
         duration_minutes,
         make_interval(mins => duration_minutes) AS duration,
         urgency = 'urgent' AS urgent,
         tstzrange(date_trunc('week', lower(windows)), date_trunc('week', lower(windows))
                   + interval '7 days') AS week,
         p.any_vetting, p.ok_levels, p.last_day, p.radius_m, p.micro,
         CAST(:at AS timestamptz) AS at, CAST(:live_since AS timestamptz) AS live_since
    FROM {params} p JOIN needs ON needs.id = p.need_id"""

_ONE = """(SELECT CAST(:need_id AS uuid) AS need_id, CAST(:any_vetting AS boolean) AS any_vetting,
          CAST(:ok_levels AS text[]) AS ok_levels, CAST(:last_day AS date) AS last_day,
          CAST(:radius_m AS float8) AS radius_m, CAST(:micro AS boolean) AS micro)"""

# Arrays of one element per need; text[][] cannot be ragged, so the levels travel as CSV.
_MANY = """(SELECT need_id, any_vetting, string_to_array(ok_csv, ',') AS ok_levels, last_day,
                radius_m, micro
           FROM unnest(CAST(:need_id AS uuid[]), CAST(:any_vetting AS boolean[]),
                       CAST(:ok_levels AS text[]), CAST(:last_day AS date[]),
                       CAST(:radius_m AS float8[]), CAST(:micro AS boolean[]))
                AS u(need_id, any_vetting, ok_csv, last_day, radius_m, micro))"""

_RECORD = """
SELECT t.id AS need_id, c.*, r.* FROM ({need}) t
CROSS JOIN LATERAL ({inner}) c
CROSS JOIN LATERAL codeliver_volunteer_record(c.user_id, t.client_id, t.at) r"""

# Without the history function: every record column present, as zeros. For large batches,
# where one SECURITY DEFINER call per candidate row would dominate the fetch.
_NO_RECORD = """
SELECT t.id AS need_id, c.*, 0 AS offers_recent, 0 AS assignments_recent, 0 AS offers_total,
       0 AS accepted_total, 0 AS declined_total, 0 AS expired_total, 0 AS completed_total,
       0 AS no_shows_total, 0 AS served_client
  FROM ({need}) t
CROSS JOIN LATERAL ({inner}) c"""


def _statement(*, remote: bool, named: bool, many: bool = False, record: bool = True) -> str:
    if named:
        inner = f"SELECT {_FACTS} {_JOINS} WHERE v.user_id = ANY (CAST(:ids AS uuid[]))"
    elif remote:
        where = f"{_RULES}\n  AND (SELECT {_AVAILABLE})"
        inner = _REMOTE.format(facts=_FACTS, joins=_JOINS, where=where)
    else:
        inner = _IN_PERSON.format(
            facts=_FACTS,
            joins=_JOINS,
            where=_ELIGIBLE,
            live=_LIVE,
            near_home=_NEARBY.format(at="home"),
            near_live=_NEARBY.format(at="live_location"),
        )
    need = _NEED.format(params=_MANY if many else _ONE)
    return (_RECORD if record else _NO_RECORD).format(need=need, inner=inner)


# The SQL text per mode, built once: benchmarks run the very statement the endpoint runs.
STATEMENTS = {
    (remote, named): _statement(remote=remote, named=named)
    for remote in (False, True)
    for named in (False, True)
}
# Many needs at once (batch plans): eligible mode only, keyed by (remote, with history).
MANY_STATEMENTS = {
    (remote, record): _statement(remote=remote, named=False, many=True, record=record)
    for remote in (False, True)
    for record in (False, True)
}
# Given volunteers' facts for many needs at once (the open-call feed: one volunteer, a page of
# needs, decided by the rules alone). The named mode does not walk by distance, so remote and
# in person share it; without histories, which no rule reads.
NAMED_MANY_STATEMENT = _statement(remote=False, named=True, many=True, record=False)


# The load function's rule parameters, the same for every need (matching.eligibility).
_LOAD: dict[str, Any] = {
    "micro_kinds": sorted(MICRO_TASK_KINDS),
    "micro_cap": MAX_OPEN_MICRO_TASKS,
}


@dataclass(frozen=True, slots=True)
class Query:
    """What the statement needs besides the need row: the vetting rule and whether it is a
    micro-task, decided in Python, and the deciding instant (load counts open claims then)."""

    need_id: UUID
    remote: bool
    min_vetting: DbsLevel
    last_day: date  # vetting must still be valid then
    at: datetime  # the instant of the decision: histories' windows, live locations' age
    radius_m: float = MAX_TRAVEL_M
    micro: bool = False  # a micro-task: held to MAX_OPEN_MICRO_TASKS, not the active cap

    def params(self) -> dict[str, Any]:
        return (
            _LOAD
            | {
                "need_id": self.need_id,
                "any_vetting": self.min_vetting is DbsLevel.NONE,
                "ok_levels": self.ok_levels(),
                "last_day": self.last_day,
                "radius_m": min(self.radius_m, MAX_TRAVEL_M),
                "micro": self.micro,
            }
            | self.instant()
        )

    def instant(self) -> dict[str, datetime]:
        return {"at": self.at, "live_since": self.at - LIVE_LOCATION_FRESH}

    def ok_levels(self) -> list[str]:
        return [level.value for level in DbsLevel if satisfies(level, self.min_vetting)]


def many_params(queries: Sequence[Query]) -> dict[str, Any]:
    """The parameters of `MANY_STATEMENTS`: one array element per need; one instant (the
    earliest given: all come from one transaction)."""
    return (
        _LOAD
        | min(queries, key=lambda q: q.at).instant()
        | {
            "micro": [q.micro for q in queries],
            "need_id": [q.need_id for q in queries],
            "any_vetting": [q.min_vetting is DbsLevel.NONE for q in queries],
            "ok_levels": [",".join(q.ok_levels()) for q in queries],
            "last_day": [q.last_day for q in queries],
            "radius_m": [min(q.radius_m, MAX_TRAVEL_M) for q in queries],
        }
    )


async def eligible(conn: AsyncConnection, query: Query, limit: int) -> list[Candidate]:
    """Up to `limit` eligible volunteers: the nearest (from a fresh live location for urgent
    needs), or for remote needs an unbiased pool (`_REMOTE`); `matching.scoring` ranks them."""
    statement = text(STATEMENTS[(query.remote, False)])
    rows = await conn.execute(statement, query.params() | {"limit": limit})
    return [to_candidate(row) for row in rows]


async def named(conn: AsyncConnection, query: Query, ids: Sequence[UUID]) -> list[Candidate]:
    """The facts of the given volunteers of the need's organisation, eligible or not."""
    statement = text(STATEMENTS[(query.remote, True)])
    rows = await conn.execute(statement, query.params() | {"ids": list(ids)})
    return [to_candidate(row) for row in rows]


async def named_many(
    conn: AsyncConnection, queries: Sequence[Query], ids: Sequence[UUID]
) -> dict[UUID, list[Candidate]]:
    """The facts of the given volunteers for each need, eligible or not, in one statement:
    `named` for many needs (all decided at one instant, as in one transaction), with empty
    histories: enough for `matching.eligibility`, not for scoring."""
    found: dict[UUID, list[Candidate]] = {q.need_id: [] for q in queries}
    if queries:
        params = many_params(queries) | {"ids": list(ids)}
        for row in await conn.execute(text(NAMED_MANY_STATEMENT), params):
            found[row.need_id].append(to_candidate(row))
    return found


async def eligible_many(
    conn: AsyncConnection, queries: Sequence[Query], limit: int, *, record: bool = True
) -> dict[UUID, list[Candidate]]:
    """Up to `limit` eligible volunteers per need, nearest first, for many needs in one
    statement per mode (in person, remote): the per-need LATERAL scan, driven by an array
    of need ids. Without `record`, histories are left empty (no fairness or reliability
    evidence): the caller says so in its explanations."""
    found: dict[UUID, list[Candidate]] = {q.need_id: [] for q in queries}
    # Under row-level security (the app's login) the planner costs the policies' per-row
    # checks so high that it drops the per-need KNN scan for "every member of the
    # organisation, then sort": 3 s a need at 100k volunteers, instead of ~0.2 s with the
    # index-ordered scan (bench/plan_cycle.py). Steer it, for these statements only.
    await conn.execute(text("SET LOCAL enable_sort = off"))
    await conn.execute(text("SET LOCAL enable_seqscan = off"))
    await _many(conn, queries, limit, record, found)
    # (On an error the transaction is aborted anyway, and SET LOCAL ends with it.)
    await conn.execute(text("RESET enable_sort"))
    await conn.execute(text("RESET enable_seqscan"))
    return found


async def _many(
    conn: AsyncConnection,
    queries: Sequence[Query],
    limit: int,
    record: bool,
    found: dict[UUID, list[Candidate]],
) -> None:
    for remote in (False, True):
        chosen = [q for q in queries if q.remote is remote]
        if not chosen:
            continue
        statement = text(MANY_STATEMENTS[(remote, record)])
        rows = await conn.execute(statement, many_params(chosen) | {"limit": limit})
        for row in rows:
            found[row.need_id].append(to_candidate(row))


def to_candidate(row: Any) -> Candidate:
    vetting = (
        Vetting(
            level=DbsLevel(row.level),
            checked_on=row.checked_on,
            expires_on=row.expires_on,
            id_verified=row.id_verified,
            barred_children=row.barred_children,
            barred_adults=row.barred_adults,
        )
        if row.level is not None
        else None
    )
    return Candidate(
        volunteer_id=row.user_id,
        approved=row.approved,
        distance_m=row.distance_m,
        max_travel_m=row.max_travel_m,
        travel_mode=TravelMode(row.travel_mode),
        vetting=vetting,
        skills=frozenset(row.skills),
        languages=frozenset(row.languages),
        available=row.available,
        on_duty=row.on_duty,
        hours_committed=row.week_minutes / 60,
        max_hours_per_week=row.max_hours_per_week,
        active_assignments=row.active,
        micro_tasks=row.micro_tasks,
        max_active_assignments=row.max_active_assignments,
        conflicting=row.conflicting,
        excluded=row.excluded,
        offered_before=row.offered_before,
        assigned_before=row.assigned_before,
        preferred_kinds=frozenset(row.preferred_kinds),
        live_distance_m=row.live_distance_m,
        history=History(
            offers_recent=row.offers_recent,
            assignments_recent=row.assignments_recent,
            offers_total=row.offers_total,
            accepted_total=row.accepted_total,
            declined_total=row.declined_total,
            expired_total=row.expired_total,
            completed_total=row.completed_total,
            no_shows_total=row.no_shows_total,
            served_client=row.served_client,
        ),
    )


def index_ordered(plan: str) -> bool:
    """Whether EXPLAIN (text format) of the in-person eligible statement walks the
    volunteers' GiST index nearest first (docs/traps.md: a GIN index once silently turned it
    into BitmapAnd + Sort)."""
    lines = plan.splitlines()
    for i, line in enumerate(lines):
        if "Index Scan using idx_volunteers_home on volunteers" in line:
            details = lines[i + 1 : i + 5]
            if any("Order By: (" in d and "home <-> " in d for d in details):
                return True
    return False
