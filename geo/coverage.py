"""Supply and demand per hexagon: the SQL half (the arithmetic half is geo.hexgrid).

Cells are PostGIS's ST_HexagonGrid in Web Mercator (EPSG:3857), anchored at the projection's
origin, so a cell's (i, j) is the same in every bounding box and every tile. Supply (approved
volunteers of the organisations whose travel radius reaches the cell's centre, weighted by
their available hours in the period) is computed by geo.hexgrid from the rows `volunteers`
returns, or read from the worker's snapshot; it reaches the statements below as arrays.
Demand: open and partially filled in-person needs at their coarse locations. A cell whose
demand would describe fewer than k clients carries no demand figures (`suppressed`), and need
points are grouped by coarse location with the same rule: never an exact address, never a
lone client.
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

from geo.hexgrid import MERCATOR_HALF, Supply, Volunteers, Window, hex_size

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


# The approved volunteers of the organisations (each once), with their available hours in the
# period; with a box, only those living in it (a bounding-box test on the GiST index: the
# caller widens the box by the longest reach, and geo.hexgrid cuts each disc exactly). Five
# float8 arrays in PostgreSQL's binary array format, read by numpy without a Python object
# per value: 366k rows one by one held the event loop for 1.5 s (measured), lists 0.75 s.
VOLUNTEERS_SQL = text("""
SELECT array_send(coalesce(array_agg(ST_X(v.home::geometry)), '{}')) AS lon,
       array_send(coalesce(array_agg(ST_Y(v.home::geometry)), '{}')) AS lat,
       array_send(coalesce(array_agg(v.max_travel_km::float8), '{}')) AS km,
       array_send(coalesce(array_agg(
         (v.on_duty AND coalesce(v.on_duty_until > :now, true))::int::float8), '{}')) AS on_duty,
       array_send(coalesce(array_agg((
         coalesce((SELECT sum(extract(epoch FROM upper(a.span * tstzrange(:start, :end))
                                               - lower(a.span * tstzrange(:start, :end))))
                     FROM volunteer_availability a
                    WHERE a.user_id = v.user_id AND a.span && tstzrange(:start, :end)), 0)
         / 3600.0)::float8), '{}')) AS hours
  FROM volunteers v
 WHERE EXISTS (SELECT 1 FROM memberships m
                WHERE m.user_id = v.user_id AND m.role = 'volunteer'
                  AND m.status = 'approved' AND m.org_id = ANY (CAST(:org_ids AS uuid[])))
   AND (CAST(:west AS float8) IS NULL
        OR v.home && ST_MakeEnvelope(:west, :south, :east, :north, 4326)::geography)
""")


def within_reach(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A lon/lat box widened by the longest travel radius (and a tenth more: the index's
    boxes are geocentric), clamped to the globe: whoever could reach the box lives in it."""
    west, south, east, north = box
    margin = MAX_TRAVEL_M * 1.1 / 111_320  # degrees of latitude
    south, north = max(-90.0, south - margin), min(90.0, north + margin)
    widest = max(abs(south), abs(north))
    lon_margin = margin / max(math.cos(math.radians(widest)), 0.01)
    return max(-180.0, west - lon_margin), south, min(180.0, east + lon_margin), north


async def volunteers(
    conn: AsyncConnection,
    scope: Scope,
    near: tuple[float, float, float, float] | None,
    now: datetime,
) -> Volunteers:
    """`near`: a lon/lat box whose reachers are wanted, or None for all of the volunteers;
    `now`: the instant whose on-duty volunteers count as on duty."""
    box: tuple[float | None, ...] = (None,) * 4
    if near is not None:
        west, south, east, north = within_reach(near)
        if max(east - west, north - south) <= MAX_BOX_DEG:  # wider: no safe geocentric box
            box = (west, south, east, north)
    await conn.execute(NO_JIT)
    params = scope.params() | dict(zip(("west", "south", "east", "north"), box, strict=True))
    params["now"] = now
    row = (await conn.execute(VOLUNTEERS_SQL, params)).one()
    lon, lat, km, duty, hours = (
        float8_array(bytes(c)) for c in (row.lon, row.lat, row.km, row.on_duty, row.hours)
    )
    return Volunteers.from_degrees(lon, lat, km, duty.astype(np.int64), hours)


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
SELECT s.refreshed_at, c.i, c.j, c.volunteers, c.on_duty, c.supply_hours
  FROM coverage_snapshots s
  LEFT JOIN coverage_supply c
    ON c.org_id = s.org_id AND c.resolution = :resolution
   AND c.i BETWEEN :i0 AND :i1 AND c.j BETWEEN :j0 AND :j1
 WHERE s.org_id = :org_id AND s.refreshed_at >= :fresh_after
""")


async def read_snapshot(
    conn: AsyncConnection, org_id: UUID, resolution: int, window: Window, fresh_after: datetime
) -> tuple[datetime, Supply] | None:
    """When the snapshot was computed, and its cells in the window; None without a snapshot
    refreshed since `fresh_after`."""
    params = {"org_id": org_id, "resolution": resolution, "fresh_after": fresh_after}
    rows = (await conn.execute(READ_SNAPSHOT_SQL, params | window.__dict__)).all()
    if not rows:
        return None
    cells = [r[1:] for r in rows if r.i is not None]
    if not cells:
        return rows[0].refreshed_at, Supply.empty()
    i, j, vols, duty, hours = (np.array(c) for c in zip(*cells, strict=True))
    as_int = np.int64
    supply = Supply(
        i.astype(as_int),
        j.astype(as_int),
        vols.astype(as_int),
        duty.astype(as_int),
        hours.astype(np.float64),
    )
    return rows[0].refreshed_at, supply


async def write_snapshot(
    conn: AsyncConnection, org_id: UUID, resolution: int, cells: Supply
) -> None:
    """COPY, in the caller's transaction: ~4x faster than INSERT for the ~30k cells of r16."""
    raw = await conn.get_raw_connection()
    records = zip(
        [org_id] * len(cells),
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
        columns=["org_id", "resolution", "i", "j", "volunteers", "on_duty", "supply_hours"],
    )


def _supply_params(cells: Supply) -> dict[str, list[Any]]:
    """The view's supply, as the arrays the statements below unnest."""
    return {
        "s_i": cells.i.tolist(),
        "s_j": cells.j.tolist(),
        "s_volunteers": cells.volunteers.tolist(),
        "s_on_duty": cells.on_duty.tolist(),
        "s_hours": np.round(cells.hours, 3).tolist(),
    }


ENV_BBOX = "ST_Transform(ST_MakeEnvelope(:west, :south, :east, :north, 4326), 3857)"
ENV_TILE = "ST_TileEnvelope(:z, :x, :y)"

# {env}: the view in EPSG:3857. Need points, with the k rule applied.
_NEEDS = """
WITH env AS (SELECT {env} AS g, tstzrange(:start, :end) AS period),
needs AS (
  SELECT t.client_id, ST_Transform(t.coarse_location::geometry, 3857) AS p,
         t.slots - t.filled AS open_slots,
         (t.slots - t.filled) * t.duration_minutes / 60.0 AS hours
    FROM needs t, env
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
         AS s(i, j, volunteers, on_duty, supply_hours)
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
  SELECT i, j, c.geom,
         coalesce(s.volunteers, 0) AS volunteers, coalesce(s.on_duty, 0) AS on_duty,
         round(coalesce(s.supply_hours, 0)::numeric, 1)::float8 AS supply_hours,
         d.clients BETWEEN 1 AND :k - 1 AS suppressed,
         d.needs, d.open_slots, round(d.demand_hours::numeric, 1)::float8 AS demand_hours
    FROM supply s FULL JOIN demand d USING (i, j)
   CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_Hexagon(:size, i, j), 3857) AS geom) AS c, env
   WHERE ST_Intersects(c.geom, env.g)
),
shown AS (
  SELECT i, j, geom, volunteers, on_duty, supply_hours, coalesce(suppressed, false) AS suppressed,
         CASE WHEN suppressed THEN NULL ELSE coalesce(needs, 0) END AS needs,
         CASE WHEN suppressed THEN NULL ELSE coalesce(open_slots, 0) END AS open_slots,
         CASE WHEN suppressed THEN NULL ELSE coalesce(demand_hours, 0) END AS demand_hours
    FROM cells
)
"""
)
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
    supply: Supply,
) -> list[Any]:
    params = scope.params() | _bbox(bbox) | {"size": hex_size(resolution)}
    await conn.execute(NO_JIT)
    return list((await conn.execute(HEXES_SQL, params | _supply_params(supply))).all())


async def need_points(
    conn: AsyncConnection, scope: Scope, bbox: tuple[float, float, float, float]
) -> list[Any]:
    await conn.execute(NO_JIT)
    return list((await conn.execute(NEEDS_SQL, scope.params() | _bbox(bbox))).all())


def tile_resolution(z: int) -> int:
    """About 16 cells across a tile, within the grid's levels."""
    return max(MIN_RESOLUTION, min(MAX_RESOLUTION, z + 3))


async def tile(
    conn: AsyncConnection, scope: Scope, z: int, x: int, y: int, supply: Supply
) -> bytes:
    params = scope.params() | {"z": z, "x": x, "y": y, "size": hex_size(tile_resolution(z))}
    await conn.execute(NO_JIT)
    return bytes(await conn.scalar(TILE_SQL, params | _supply_params(supply)) or b"")
