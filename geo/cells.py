"""One hexagon of the coverage map: the needs the map counts in it, for the coordinator's panel.

The statement places needs exactly as geo/coverage.py does (their coarse location, the first
cell of ST_HexagonGrid that holds it, lowest i then j on a shared edge), with the same
filters (open and partially filled, in-person, windows meeting the period), so the panel lists
what the cell's figures count, never more. It also counts the cell's distinct clients, for
the k rule; the caller decides what to show.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from geo.coverage import NO_JIT, Scope
from geo.hexgrid import MERCATOR_HALF, SQRT3, hex_size

MAX_LISTED = 200  # needs listed for one cell; `total` says how many there are

CELL_NEEDS_SQL = text("""
WITH target AS (
  SELECT ST_SetSRID(ST_Hexagon(:size, :i, :j), 3857) AS g, tstzrange(:start, :end) AS period
),
placed AS (
  SELECT t.id, t.org_id, t.programme_id, t.client_id, t.title, t.status, t.urgency, t.dispatch,
         t.slots, t.filled, t.duration_minutes, t.waves_sent, t.escalated_at,
         t.escalation_reason, lower(t.windows) AS starts_at, upper(t.windows) AS ends_at,
         ST_X(t.coarse_location::geometry) AS lon, ST_Y(t.coarse_location::geometry) AS lat,
         ST_Transform(t.coarse_location::geometry, 3857) AS p
    FROM needs t CROSS JOIN target
   WHERE t.org_id = ANY (CAST(:org_ids AS uuid[]))
     AND (CAST(:programme_id AS uuid) IS NULL OR t.programme_id = CAST(:programme_id AS uuid))
     AND t.status IN ('open', 'partially_filled') AND t.coarse_location IS NOT NULL
     AND t.windows && target.period
     AND ST_Intersects(ST_Transform(t.coarse_location::geometry, 3857), target.g)
),
mine AS (
  SELECT placed.* FROM placed CROSS JOIN LATERAL (
         SELECT g.i, g.j FROM ST_HexagonGrid(:size, placed.p) AS g
          WHERE ST_Intersects(g.geom, placed.p) ORDER BY g.i, g.j LIMIT 1) AS h
   WHERE h.i = :i AND h.j = :j
)
SELECT mine.*, (SELECT count(DISTINCT client_id) FROM mine) AS clients,
       (SELECT count(*) FROM mine) AS total
  FROM mine
 ORDER BY escalated_at IS NULL, starts_at, id
 LIMIT :limit
""")


def _centre(size: float, i: int, j: int) -> tuple[float, float]:
    return 1.5 * size * i, SQRT3 * size * (j + 0.5 * (i % 2 != 0))


def cell_in_grid(resolution: int, i: int, j: int) -> bool:
    """Whether cell (i, j) lies on Web Mercator's square at this resolution."""
    size = hex_size(resolution)
    x, y = _centre(size, i, j)
    return abs(x) <= MERCATOR_HALF and abs(y) <= MERCATOR_HALF


def cell_box(resolution: int, i: int, j: int) -> tuple[float, float, float, float]:
    """The cell's west, south, east, north in EPSG:3857 metres (its hexagon's bounds)."""
    size = hex_size(resolution)
    x, y = _centre(size, i, j)
    half_height = SQRT3 / 2 * size
    return x - size, y - half_height, x + size, y + half_height


async def cell_needs(
    conn: AsyncConnection, scope: Scope, resolution: int, i: int, j: int
) -> list[Any]:
    """The cell's needs (at most MAX_LISTED, escalated first, then by start), each row with
    the cell's distinct `clients` and `total` needs; no row for an empty cell."""
    await conn.execute(NO_JIT)
    params = scope.params() | {"size": hex_size(resolution), "i": i, "j": j, "limit": MAX_LISTED}
    return list((await conn.execute(CELL_NEEDS_SQL, params)).all())
