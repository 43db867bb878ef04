"""Service areas in PostGIS: storing boundaries, their coverage summary, unfilled demand."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from shapely import to_wkb
from shapely.geometry import MultiPolygon
from sqlalchemy import ColumnElement, func, text
from sqlalchemy.ext.asyncio import AsyncConnection


def boundary_value(geometry: MultiPolygon) -> ColumnElement[Any]:
    return func.ST_GeomFromWKB(to_wkb(geometry), 4326)


def boundary_geojson(boundary: ColumnElement[Any]) -> ColumnElement[Any]:
    """A boundary column as GeoJSON text, to 6 decimals (~0.1 m)."""
    return func.ST_AsGeoJSON(boundary, 6).label("boundary_geojson")


# Open and partially filled needs of an area's organisation at a coarse location inside it,
# with a window in the period: the demand both the summary and the gap alert watch.
_AREA_NEEDS = """
  FROM needs t
 WHERE t.org_id = a.org_id AND t.status IN ('open', 'partially_filled')
   AND t.coarse_location IS NOT NULL AND t.windows && tstzrange(:start, :end)
   AND ST_Intersects(t.coarse_location::geometry, a.boundary)
"""
UNFILLED_HOURS = (
    f"coalesce((SELECT sum((t.slots - t.filled) * t.duration_minutes / 60.0) {_AREA_NEEDS}), 0)"
)

SUMMARY_SQL = text(f"""
SELECT (SELECT count(*) FROM volunteers v
         WHERE EXISTS (SELECT 1 FROM memberships m
                        WHERE m.user_id = v.user_id AND m.org_id = a.org_id
                          AND m.role = 'volunteer' AND m.status = 'approved')
           AND ST_DWithin(v.home, a.boundary::geography, v.max_travel_km * 1000)) AS volunteers,
       (SELECT count(*) FROM volunteers v
         WHERE v.on_duty AND EXISTS (SELECT 1 FROM memberships m
                        WHERE m.user_id = v.user_id AND m.org_id = a.org_id
                          AND m.role = 'volunteer' AND m.status = 'approved')
           AND ST_DWithin(v.home, a.boundary::geography, v.max_travel_km * 1000)) AS on_duty,
       (SELECT count(*) {_AREA_NEEDS}) AS needs,
       (SELECT coalesce(sum(t.slots - t.filled), 0) {_AREA_NEEDS}) AS open_slots,
       {UNFILLED_HOURS}::float8 AS demand_hours,
       (SELECT count(DISTINCT t.client_id) {_AREA_NEEDS}) AS clients,
       ST_Area(a.boundary::geography) / 1e6 AS area_km2
  FROM service_areas a WHERE a.id = :area_id
""")

# Every area, locked for this run (other workers skip it), with its unfilled demand now.
ALERT_CANDIDATES_SQL = text(f"""
SELECT a.id, a.org_id, a.name, a.alert_threshold_hours, a.alert_after_minutes,
       a.gap_since, a.alerted_at, {UNFILLED_HOURS}::float8 AS demand_hours,
       (SELECT count(DISTINCT t.client_id) {_AREA_NEEDS}) AS clients
  FROM service_areas a ORDER BY a.id FOR UPDATE OF a SKIP LOCKED
""")


async def summary(conn: AsyncConnection, area_id: UUID, start: datetime, end: datetime) -> Any:
    params = {"area_id": area_id, "start": start, "end": end}
    return (await conn.execute(SUMMARY_SQL, params)).one()


async def alert_candidates(conn: AsyncConnection, start: datetime, end: datetime) -> list[Any]:
    return list((await conn.execute(ALERT_CANDIDATES_SQL, {"start": start, "end": end})).all())


# The needs a report counts (as app/coverage/metrics.py: created in [start, end), neither
# draft nor cancelled), per service area of those organisations their coarse location lies
# in. `clients` decides suppression (fewer than k).
REPORT_SQL = text("""
WITH t AS (
  SELECT n.id, n.org_id, n.client_id, n.filled, n.filled_at, n.outcome, n.coarse_location
    FROM needs n
   WHERE n.org_id = ANY (CAST(:org_ids AS uuid[]))
     AND (CAST(:programme_id AS uuid) IS NULL OR n.programme_id = CAST(:programme_id AS uuid))
     AND n.created_at >= :start AND n.created_at < :end
     AND n.status NOT IN ('draft', 'cancelled') AND n.coarse_location IS NOT NULL
),
hit AS (
  SELECT a.id AS area_id, t.* FROM service_areas a
    JOIN t ON t.org_id = a.org_id AND ST_Intersects(t.coarse_location::geometry, a.boundary)
)
SELECT a.id, a.name,
       count(h.id) AS needs,
       count(h.filled_at) AS filled,
       coalesce(sum(h.filled), 0) AS filled_slots,
       count(h.outcome) AS outcomes_recorded,
       count(DISTINCT h.client_id) AS clients,
       coalesce((SELECT sum(s.minutes) FROM assignments s JOIN hit x ON x.id = s.need_id
                  WHERE x.area_id = a.id AND s.status = 'completed'), 0) AS completed_minutes
  FROM service_areas a LEFT JOIN hit h ON h.area_id = a.id
 WHERE a.org_id = ANY (CAST(:org_ids AS uuid[]))
 GROUP BY a.id, a.name ORDER BY a.name, a.id
""")

# Each counted need's service areas (ids, by area name), for one row per need in a report.
NEED_AREAS_SQL = text("""
SELECT n.id AS need_id, array_agg(a.id ORDER BY a.name, a.id) AS area_ids
  FROM needs n JOIN service_areas a
    ON a.org_id = n.org_id AND ST_Intersects(n.coarse_location::geometry, a.boundary)
 WHERE n.org_id = ANY (CAST(:org_ids AS uuid[]))
   AND (CAST(:programme_id AS uuid) IS NULL OR n.programme_id = CAST(:programme_id AS uuid))
   AND n.created_at >= :start AND n.created_at < :end
   AND n.status NOT IN ('draft', 'cancelled') AND n.coarse_location IS NOT NULL
 GROUP BY n.id
""")


async def report(
    conn: AsyncConnection,
    org_ids: list[UUID],
    programme_id: UUID | None,
    start: datetime,
    end: datetime,
) -> list[Any]:
    params = {"org_ids": org_ids, "programme_id": programme_id, "start": start, "end": end}
    return list((await conn.execute(REPORT_SQL, params)).all())


async def need_areas(
    conn: AsyncConnection,
    org_ids: list[UUID],
    programme_id: UUID | None,
    start: datetime,
    end: datetime,
) -> dict[UUID, list[UUID]]:
    params = {"org_ids": org_ids, "programme_id": programme_id, "start": start, "end": end}
    return {r.need_id: list(r.area_ids) for r in await conn.execute(NEED_AREAS_SQL, params)}
