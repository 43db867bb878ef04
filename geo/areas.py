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
