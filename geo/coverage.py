"""Supply and demand per hexagon, computed in PostGIS.

Cells come from ST_HexagonGrid in Web Mercator (EPSG:3857), anchored at the projection's
origin, so a cell's (i, j) is the same in every bounding box and every tile. Supply: approved
volunteers of the organisations whose travel disc reaches the cell (each volunteer generates
only the cells inside their disc, clipped to the view, so the work grows with reach, not with
volunteers x cells), weighted by their available hours in the period. Demand: open and
partially filled in-person needs at their coarse locations. A cell whose demand would describe
fewer than k clients carries no demand figures (`suppressed`), and need points are grouped by
coarse location with the same rule: never an exact address, never a lone client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

MERCATOR_HALF = 20_037_508.342789244
MIN_RESOLUTION, MAX_RESOLUTION = 8, 16
MVT_EXTENT = 4096


def hex_size(resolution: int) -> float:
    """Edge length (= circumradius) of a cell, in Web Mercator metres: halves per level."""
    return float(MERCATOR_HALF / 2**resolution)


def hex_area(resolution: int) -> float:
    return 3 * math.sqrt(3) / 2 * hex_size(resolution) ** 2


@dataclass(frozen=True)
class Scope:
    """Whose supply and demand, and when: the period is [start, end)."""

    org_ids: list[UUID]
    programme_id: UUID | None
    start: datetime
    end: datetime
    k_min: int

    def params(self) -> dict[str, Any]:
        return {
            "org_ids": self.org_ids,
            "programme_id": self.programme_id,
            "start": self.start,
            "end": self.end,
            "k": self.k_min,
        }


ENV_BBOX = "ST_Transform(ST_MakeEnvelope(:west, :south, :east, :north, 4326), 3857)"
ENV_TILE = "ST_TileEnvelope(:z, :x, :y)"

# {env}: the view in EPSG:3857. Cells and need points, with the k rule applied.
_SOURCES = """
WITH env AS (SELECT {env} AS g, tstzrange(:start, :end) AS period),
avail AS (
  SELECT a.user_id, sum(extract(epoch FROM upper(a.span * env.period)
                                         - lower(a.span * env.period))) / 3600.0 AS hours
    FROM volunteer_availability a, env
   WHERE a.span && env.period
   GROUP BY a.user_id
),
vols AS MATERIALIZED (
  SELECT ST_Transform(v.home::geometry, 3857) AS p,
         v.max_travel_km * 1000 / cos(radians(ST_Y(v.home::geometry))) AS r,
         v.on_duty AND coalesce(v.on_duty_until > now(), true) AS on_duty,
         coalesce(avail.hours, 0) AS hours
    FROM volunteers v LEFT JOIN avail ON avail.user_id = v.user_id
   WHERE EXISTS (SELECT 1 FROM memberships m
                  WHERE m.user_id = v.user_id AND m.role = 'volunteer'
                    AND m.status = 'approved' AND m.org_id = ANY (CAST(:org_ids AS uuid[])))
),
supply AS (
  SELECT h.i, h.j, count(*) AS volunteers, count(*) FILTER (WHERE vols.on_duty) AS on_duty,
         sum(vols.hours) AS supply_hours
    FROM vols CROSS JOIN env
   CROSS JOIN LATERAL ST_HexagonGrid(
         :size, ST_Intersection(ST_Expand(vols.p, vols.r), env.g)) AS h
   WHERE ST_Expand(vols.p, vols.r) && env.g AND ST_DWithin(h.geom, vols.p, vols.r)
   GROUP BY h.i, h.j
),
needs AS (
  SELECT t.client_id, ST_Transform(t.coarse_location::geometry, 3857) AS p,
         t.slots - t.filled AS open_slots,
         (t.slots - t.filled) * t.duration_minutes / 60.0 AS hours
    FROM tasks t, env
   WHERE t.org_id = ANY (CAST(:org_ids AS uuid[]))
     AND (CAST(:programme_id AS uuid) IS NULL OR t.programme_id = CAST(:programme_id AS uuid))
     AND t.status IN ('open', 'partially_filled') AND t.coarse_location IS NOT NULL
     AND t.windows && env.period
     AND ST_Intersects(ST_Transform(t.coarse_location::geometry, 3857), env.g)
),
demand AS (
  SELECT h.i, h.j, count(*) AS needs, sum(open_slots) AS open_slots,
         sum(needs.hours) AS demand_hours, count(DISTINCT client_id) AS clients
    FROM needs CROSS JOIN LATERAL (
         SELECT g.i, g.j FROM ST_HexagonGrid(:size, needs.p) AS g
          WHERE ST_Intersects(g.geom, needs.p) ORDER BY g.i, g.j LIMIT 1) AS h
   GROUP BY h.i, h.j
),
cells AS (
  SELECT i, j, ST_SetSRID(ST_Hexagon(:size, i, j), 3857) AS geom,
         coalesce(s.volunteers, 0) AS volunteers, coalesce(s.on_duty, 0) AS on_duty,
         round(coalesce(s.supply_hours, 0)::numeric, 1)::float8 AS supply_hours,
         d.clients BETWEEN 1 AND :k - 1 AS suppressed,
         d.needs, d.open_slots, round(d.demand_hours::numeric, 1)::float8 AS demand_hours
    FROM supply s FULL JOIN demand d USING (i, j)
),
shown AS (
  SELECT i, j, geom, volunteers, on_duty, supply_hours, coalesce(suppressed, false) AS suppressed,
         CASE WHEN suppressed THEN NULL ELSE coalesce(needs, 0) END AS needs,
         CASE WHEN suppressed THEN NULL ELSE coalesce(open_slots, 0) END AS open_slots,
         CASE WHEN suppressed THEN NULL ELSE coalesce(demand_hours, 0) END AS demand_hours
    FROM cells
),
need_points AS (
  SELECT p, count(*) AS needs, sum(open_slots) AS open_slots,
         round(sum(hours)::numeric, 1)::float8 AS demand_hours
    FROM needs GROUP BY p
  HAVING count(DISTINCT client_id) = 0 OR count(DISTINCT client_id) >= :k
)
"""

_HEX_COLUMNS = """
  i, j, volunteers, on_duty, supply_hours, suppressed, needs, open_slots, demand_hours,
  CASE WHEN suppressed THEN NULL ELSE demand_hours - supply_hours END AS gap_hours
"""

HEXES_SQL = text(
    _SOURCES.format(env=ENV_BBOX)
    + f"""SELECT {_HEX_COLUMNS},
       ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Transform(geom, 4326)), 6) AS geometry
  FROM shown ORDER BY i, j"""
)

NEEDS_SQL = text(
    _SOURCES.format(env=ENV_BBOX)
    + """SELECT needs, open_slots, demand_hours, ST_AsGeoJSON(ST_Transform(p, 4326), 6) AS geometry
  FROM need_points ORDER BY 4"""
)

TILE_SQL = text(
    _SOURCES.format(env=ENV_TILE)
    + f"""
, areas AS (
  SELECT a.id::text AS id, a.name, ST_Transform(a.boundary, 3857) AS g
    FROM service_areas a, env
   WHERE a.org_id = ANY (CAST(:org_ids AS uuid[]))
     AND ST_Intersects(ST_Transform(a.boundary, 3857), env.g)
)
SELECT coalesce((SELECT ST_AsMVT(q, 'hexes', {MVT_EXTENT}, 'geom') FROM (
         SELECT {_HEX_COLUMNS},
                ST_AsMVTGeom(shown.geom, env.g, {MVT_EXTENT}, 64, true) AS geom
           FROM shown, env) AS q WHERE q.geom IS NOT NULL), ''::bytea)
    || coalesce((SELECT ST_AsMVT(q, 'needs', {MVT_EXTENT}, 'geom') FROM (
         SELECT needs, open_slots, demand_hours,
                ST_AsMVTGeom(need_points.p, env.g, {MVT_EXTENT}, 64, true) AS geom
           FROM need_points, env) AS q WHERE q.geom IS NOT NULL), ''::bytea)
    || coalesce((SELECT ST_AsMVT(q, 'service_areas', {MVT_EXTENT}, 'geom') FROM (
         SELECT areas.id, areas.name,
                ST_AsMVTGeom(areas.g, env.g, {MVT_EXTENT}, 64, true) AS geom
           FROM areas, env) AS q WHERE q.geom IS NOT NULL), ''::bytea) AS tile
"""
)


# These statements cost enough in the planner's units to trigger JIT compilation, which
# took ~1 s a query on the demo borough against milliseconds of execution: off, per transaction.
NO_JIT = text("SET LOCAL jit = off")


def _bbox(bbox: tuple[float, float, float, float]) -> dict[str, float]:
    return dict(zip(("west", "south", "east", "north"), bbox, strict=True))


async def hexes(
    conn: AsyncConnection,
    scope: Scope,
    bbox: tuple[float, float, float, float],
    resolution: int,
) -> list[Any]:
    params = scope.params() | _bbox(bbox) | {"size": hex_size(resolution)}
    await conn.execute(NO_JIT)
    return list((await conn.execute(HEXES_SQL, params)).all())


async def need_points(
    conn: AsyncConnection, scope: Scope, bbox: tuple[float, float, float, float]
) -> list[Any]:
    params = scope.params() | _bbox(bbox) | {"size": hex_size(MIN_RESOLUTION)}
    await conn.execute(NO_JIT)
    return list((await conn.execute(NEEDS_SQL, params)).all())


def tile_resolution(z: int) -> int:
    """About 16 cells across a tile, within the grid's levels."""
    return max(MIN_RESOLUTION, min(MAX_RESOLUTION, z + 3))


async def tile(conn: AsyncConnection, scope: Scope, z: int, x: int, y: int) -> bytes:
    params = scope.params() | {"z": z, "x": x, "y": y, "size": hex_size(tile_resolution(z))}
    await conn.execute(NO_JIT)
    return bytes(await conn.scalar(TILE_SQL, params) or b"")
