"""Where the demo's volunteers are going: their trips to offered needs, their homes and the
points they check in at (app/simulation/demo.py, the demo's responders)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_TRIPS = text("""
SELECT o.id, v.travel_mode, ST_Distance(v.home, n.location) AS metres
  FROM offers o JOIN needs n ON n.id = o.need_id JOIN volunteers v ON v.user_id = o.volunteer_id
 WHERE o.id = ANY (CAST(:ids AS uuid[]))
""")
_HOMES = text("""
SELECT user_id, ST_Y(home::geometry) AS lat, ST_X(home::geometry) AS lon, travel_mode,
       max_travel_km
  FROM volunteers WHERE user_id = ANY (CAST(:ids AS uuid[]))
""")
_POINTS = text("""
SELECT id, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon
  FROM needs WHERE id = ANY (CAST(:ids AS uuid[])) AND location IS NOT NULL
""")


async def offer_trips(
    conn: AsyncConnection, offer_ids: Sequence[UUID]
) -> dict[UUID, tuple[str, float | None]]:
    """Each offer's (travel mode, metres from the volunteer's home to the need), None for
    a remote need."""
    rows = (await conn.execute(_TRIPS, {"ids": list(offer_ids)})).all()
    return {r.id: (r.travel_mode, r.metres) for r in rows}


async def homes(
    conn: AsyncConnection, user_ids: Sequence[UUID]
) -> dict[UUID, tuple[float, float, str, float]]:
    """Each volunteer's (lat, lon, travel mode, max travel km)."""
    rows = (await conn.execute(_HOMES, {"ids": list(user_ids)})).all()
    return {r.user_id: (r.lat, r.lon, r.travel_mode, r.max_travel_km) for r in rows}


async def need_points(
    conn: AsyncConnection, need_ids: Sequence[UUID]
) -> dict[UUID, tuple[float, float]]:
    """Each in-person need's exact (lat, lon); remote needs are left out."""
    rows = (await conn.execute(_POINTS, {"ids": list(need_ids)})).all()
    return {r.id: (r.lat, r.lon) for r in rows}
