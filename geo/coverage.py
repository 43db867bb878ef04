"""Supply and demand per hexagon: the SQL half (the arithmetic is geo.hexgrid and
matching/coverage.py, the facts geo/access.py).

Cells are PostGIS's ST_HexagonGrid in Web Mercator (EPSG:3857), anchored at the projection's
origin, so a cell's (i, j) is the same in every bounding box and every tile. Two figures
reach the statements below as arrays, computed on the spot or read from the worker's
snapshot: per cell, the volunteers with hours to give whose travel radius reaches its centre
(geo.hexgrid); per need, its accessible supply hours (E2SFCA, matching/coverage.py). Demand:
open and partially filled in-person needs at their coarse locations; a cell's supply is the
sum of its needs' accessible supply, its gap the sum of their unmet hours. A cell whose
demand would describe fewer than k clients carries no demand, supply or gap figures
(`suppressed`: the supply shares follow the demand), and need points are grouped by coarse
location with the same rule: never an exact address, never a lone client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from geo.hexgrid import MERCATOR_HALF, Supply, Window, hex_size
from matching.coverage import Acceptance

MIN_RESOLUTION, MAX_RESOLUTION = 8, 16
MVT_EXTENT = 4096
MAX_TRAVEL_M = 200_000  # volunteers' travel radius is capped at 200 km
MAX_BOX_DEG = 10.0  # wider views fetch all of the organisations' volunteers


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


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's west, south, east, north in EPSG:3857 metres (ST_TileEnvelope's)."""
    step = 2 * MERCATOR_HALF / 2**z
    west, north = -MERCATOR_HALF + x * step, MERCATOR_HALF - y * step
    return west, north - step, west + step, north


def to_degrees(x: float, y: float) -> tuple[float, float]:
    lon = math.degrees(x / MERCATOR_HALF * math.pi)
    lat = math.degrees(2 * math.atan(math.exp(y / MERCATOR_HALF * math.pi)) - math.pi / 2)
    return lon, lat


def float8_array(sent: bytes) -> NDArray[np.float64]:
    """A one-dimensional float8[] without NULLs as `array_send` writes it: a header (number
    of dimensions, has-nulls flag, element type; then length and lower bound per dimension),
    then each element as a 4-byte length and 8 big-endian bytes."""
    ndim = int.from_bytes(sent[0:4], "big")
    if ndim == 0:
        return np.zeros(0, dtype=np.float64)
    if ndim != 1 or int.from_bytes(sent[4:8], "big") != 0:
        raise ValueError("expected a one-dimensional float8 array without NULLs")
    items = np.frombuffer(sent, dtype=np.dtype([("size", ">i4"), ("value", ">f8")]), offset=20)
    return items["value"].astype(np.float64)


# The snapshot's time and the window's cells in one round trip (a tile's hot path): no row
# when there is no snapshot refreshed since `fresh_after`, one row of NULL cells when the
# snapshot has none in the window.
READ_SNAPSHOT_SQL = text("""
SELECT s.refreshed_at, s.acceptance, s.acceptance_offers,
       c.i, c.j, c.volunteers, c.on_duty, c.supply_hours
  FROM coverage_snapshots s
  LEFT JOIN coverage_supply c
    ON c.scope_id = s.scope_id AND c.resolution = :resolution
   AND c.i BETWEEN :i0 AND :i1 AND c.j BETWEEN :j0 AND :j1
 WHERE s.scope_id = :scope_id AND s.refreshed_at >= :fresh_after
""")


@dataclass(frozen=True)
class Snapshot:
    """What a view reads of a snapshot: when it was computed and with what acceptance, and
    its cells in the view's window."""

    refreshed_at: datetime
    acceptance: Acceptance
    cells: Supply


async def read_snapshot(
    conn: AsyncConnection, scope_id: UUID, resolution: int, window: Window, fresh_after: datetime
) -> Snapshot | None:
    """None without a snapshot refreshed since `fresh_after`."""
    params = {"scope_id": scope_id, "resolution": resolution, "fresh_after": fresh_after}
    rows = (await conn.execute(READ_SNAPSHOT_SQL, params | window.__dict__)).all()
    if not rows:
        return None
    first = rows[0]
    accepts = Acceptance(first.acceptance, first.acceptance_offers)
    cells = [r[3:] for r in rows if r.i is not None]
    if not cells:
        return Snapshot(first.refreshed_at, accepts, Supply.empty())
    i, j, vols, duty, hours = (np.array(c) for c in zip(*cells, strict=True))
    as_int = np.int64
    supply = Supply(
        i.astype(as_int),
        j.astype(as_int),
        vols.astype(as_int),
        duty.astype(as_int),
        hours.astype(np.float64),
    )
    return Snapshot(first.refreshed_at, accepts, supply)


async def write_snapshot(
    conn: AsyncConnection, scope_id: UUID, resolution: int, cells: Supply
) -> None:
    """COPY, in the caller's transaction: ~4x faster than INSERT for the ~30k cells of r16."""
    raw = await conn.get_raw_connection()
    records = zip(
        [scope_id] * len(cells),
        [resolution] * len(cells),
        cells.i.tolist(),
        cells.j.tolist(),
        cells.volunteers.tolist(),
        cells.on_duty.tolist(),
        np.round(cells.hours, 3).tolist(),
        strict=True,
    )
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        "coverage_supply",
        records=records,
        columns=["scope_id", "resolution", "i", "j", "volunteers", "on_duty", "supply_hours"],
    )


# Each open need's accessible supply hours at the last refresh (a need posted since has none
# until the next: it shows as unmet, never as covered).
READ_NEED_SUPPLY_SQL = text("""
SELECT coalesce(array_agg(need_id), '{}') AS ids, coalesce(array_agg(supply_hours), '{}') AS hours
  FROM coverage_need_supply WHERE scope_id = :scope_id
""")


async def read_need_supply(
    conn: AsyncConnection, scope_id: UUID
) -> tuple[list[UUID], NDArray[np.float64]]:
    row = (await conn.execute(READ_NEED_SUPPLY_SQL, {"scope_id": scope_id})).one()
    return list(row.ids), np.array(row.hours, dtype=np.float64)


async def write_need_supply(
    conn: AsyncConnection, scope_id: UUID, need_ids: list[UUID], hours: NDArray[np.float64]
) -> None:
    """COPY, in the caller's transaction (which has emptied the organisation's rows)."""
    raw = await conn.get_raw_connection()
    records = zip([scope_id] * len(need_ids), need_ids, np.round(hours, 4).tolist(), strict=True)
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        "coverage_need_supply", records=records, columns=["scope_id", "need_id", "supply_hours"]
    )


@dataclass(frozen=True)
class Access:
    """A view's supply: volunteers in reach per cell, accessible hours per need."""

    cells: Supply
    need_ids: list[UUID]
    need_hours: NDArray[np.float64]

    @classmethod
    def empty(cls) -> Access:
        return cls(Supply.empty(), [], np.zeros(0, dtype=np.float64))


def _supply_params(found: Access) -> dict[str, list[Any]]:
    """The view's supply, as the arrays the statements below unnest."""
    cells = found.cells
    return {
        "s_i": cells.i.tolist(),
        "s_j": cells.j.tolist(),
        "s_volunteers": cells.volunteers.tolist(),
        "s_on_duty": cells.on_duty.tolist(),
        "s_hours": np.round(cells.hours, 3).tolist(),
        "n_id": found.need_ids,
        "n_supply": np.round(found.need_hours, 4).tolist(),
    }


ENV_BBOX = "ST_Transform(ST_MakeEnvelope(:west, :south, :east, :north, 4326), 3857)"
ENV_TILE = "ST_TileEnvelope(:z, :x, :y)"

# {env}: the view in EPSG:3857. Need points, with the k rule applied.
_NEEDS = """
WITH env AS (SELECT {env} AS g, tstzrange(:start, :end) AS period),
needs AS (
  SELECT t.client_id, ST_Transform(t.coarse_location::geometry, 3857) AS p,
         t.slots - t.filled AS open_slots,
         (t.slots - t.filled) * t.duration_minutes / 60.0 AS hours,
         coalesce(ns.supply, 0) AS supply
    FROM needs t CROSS JOIN env
    LEFT JOIN unnest(CAST(:n_id AS uuid[]), CAST(:n_supply AS float8[])) AS ns(id, supply)
      ON ns.id = t.id
   WHERE t.org_id = ANY (CAST(:org_ids AS uuid[]))
     AND (CAST(:programme_id AS uuid) IS NULL OR t.programme_id = CAST(:programme_id AS uuid))
     AND t.status IN ('open', 'partially_filled') AND t.coarse_location IS NOT NULL
     AND t.windows && env.period
     AND ST_Intersects(ST_Transform(t.coarse_location::geometry, 3857), env.g)
),
need_points AS (
  SELECT p, count(*) AS needs, sum(open_slots) AS open_slots,
         round(sum(hours)::numeric, 1)::float8 AS demand_hours
    FROM needs GROUP BY p
  HAVING count(DISTINCT client_id) = 0 OR count(DISTINCT client_id) >= :k
)
"""

# ... and cells: supply from the arrays, demand from the needs, the k rule, the gap.
_SOURCES = (
    _NEEDS
    + """,
supply AS (
  SELECT * FROM unnest(CAST(:s_i AS int[]), CAST(:s_j AS int[]), CAST(:s_volunteers AS int[]),
                       CAST(:s_on_duty AS int[]), CAST(:s_hours AS float8[]))
         AS s(i, j, volunteers, on_duty, reach_hours)
),
demand AS (
  SELECT h.i, h.j, count(*) AS needs, sum(open_slots) AS open_slots,
         sum(needs.hours) AS demand_hours, count(DISTINCT client_id) AS clients,
         sum(needs.supply) AS supply_hours,
         sum(greatest(needs.hours - needs.supply, 0)) AS gap_hours
    FROM needs CROSS JOIN LATERAL (
         SELECT g.i, g.j FROM ST_HexagonGrid(:size, needs.p) AS g
          WHERE ST_Intersects(g.geom, needs.p) ORDER BY g.i, g.j LIMIT 1) AS h
   GROUP BY h.i, h.j
),
cells AS (
  SELECT i, j, c.geom,
         coalesce(s.volunteers, 0) AS volunteers, coalesce(s.on_duty, 0) AS on_duty,
         round(coalesce(d.supply_hours, 0)::numeric, 1)::float8 AS supply_hours,
         round(coalesce(d.gap_hours, 0)::numeric, 1)::float8 AS gap_hours,
         d.clients BETWEEN 1 AND :k - 1 AS suppressed,
         d.needs, d.open_slots, round(d.demand_hours::numeric, 1)::float8 AS demand_hours
    FROM supply s FULL JOIN demand d USING (i, j)
   CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_Hexagon(:size, i, j), 3857) AS geom) AS c, env
   WHERE ST_Intersects(c.geom, env.g)
),
shown AS (
  SELECT i, j, geom, volunteers, on_duty, coalesce(suppressed, false) AS suppressed,
         CASE WHEN suppressed THEN NULL ELSE supply_hours END AS supply_hours,
         CASE WHEN suppressed THEN NULL ELSE gap_hours END AS gap_hours,
         CASE WHEN suppressed THEN NULL ELSE coalesce(needs, 0) END AS needs,
         CASE WHEN suppressed THEN NULL ELSE coalesce(open_slots, 0) END AS open_slots,
         CASE WHEN suppressed THEN NULL ELSE coalesce(demand_hours, 0) END AS demand_hours
    FROM cells
)
"""
)
_HEX_COLUMNS = """
  i, j, volunteers, on_duty, supply_hours, suppressed, needs, open_slots, demand_hours,
  gap_hours
"""

HEXES_SQL = text(
    _SOURCES.format(env=ENV_BBOX)
    + f"""SELECT {_HEX_COLUMNS},
       ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Transform(geom, 4326)), 6) AS geometry
  FROM shown ORDER BY i, j"""
)

NEEDS_SQL = text(
    _NEEDS.format(env=ENV_BBOX)
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
    supply: Access,
) -> list[Any]:
    params = scope.params() | _bbox(bbox) | {"size": hex_size(resolution)}
    await conn.execute(NO_JIT)
    return list((await conn.execute(HEXES_SQL, params | _supply_params(supply))).all())


async def need_points(
    conn: AsyncConnection, scope: Scope, bbox: tuple[float, float, float, float]
) -> list[Any]:
    await conn.execute(NO_JIT)
    params = scope.params() | _bbox(bbox) | {"n_id": [], "n_supply": []}
    return list((await conn.execute(NEEDS_SQL, params)).all())


def tile_resolution(z: int) -> int:
    """About 16 cells across a tile, within the grid's levels."""
    return max(MIN_RESOLUTION, min(MAX_RESOLUTION, z + 3))


async def tile(
    conn: AsyncConnection, scope: Scope, z: int, x: int, y: int, supply: Access
) -> bytes:
    params = scope.params() | {"z": z, "x": x, "y": y, "size": hex_size(tile_resolution(z))}
    await conn.execute(NO_JIT)
    return bytes(await conn.scalar(TILE_SQL, params | _supply_params(supply)) or b"")


NEED_CELLS_SQL = text("""
SELECT t.id, h.i, h.j, ST_X(t.coarse_location::geometry) AS lon,
       ST_Y(t.coarse_location::geometry) AS lat
  FROM needs t CROSS JOIN LATERAL (
       SELECT g.i, g.j FROM ST_HexagonGrid(:size, ST_Transform(t.coarse_location::geometry, 3857)) g
        WHERE ST_Intersects(g.geom, ST_Transform(t.coarse_location::geometry, 3857))
        ORDER BY g.i, g.j LIMIT 1) AS h
 WHERE t.id = ANY (CAST(:ids AS uuid[]))
""")


async def need_cells(conn: AsyncConnection, need_ids: list[UUID], resolution: int) -> list[Any]:
    """Each in-person need's cell (i, j) at `resolution`, as the maps place it, and its
    coarse location."""
    params = {"ids": need_ids, "size": hex_size(resolution)}
    return list((await conn.execute(NEED_CELLS_SQL, params)).all())
