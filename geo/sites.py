"""Where needs are, relative to a volunteer: the check-in geofence and the open-call feed.

Both read only what a volunteer may see: the feed returns coarse cells, and the geofence
returns a distance, never the point it was measured to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_DISTANCE = text(
    "SELECT ST_Distance(location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) "
    "FROM needs WHERE id = :need_id"
)


async def distance_to_need(
    conn: AsyncConnection, need_id: UUID, lat: float, lon: float
) -> float | None:
    """Metres from (lat, lon) to the need's exact location; None for a remote need."""
    params = {"need_id": need_id, "lat": lat, "lon": lon}
    return (await conn.execute(_DISTANCE, params)).scalar_one_or_none()


# Open calls near a point that the volunteer may be able to take: their organisations
# (row-level security), still running, within their travel radius, skills, languages and
# vetting met. Nearest cell first. A prefilter: app.assignments.open_calls.feed keeps those
# the claim's rules allow (matching.eligibility.ON_CLAIM).
_FEED = text("""
SELECT t.id FROM needs t
  JOIN volunteers v ON v.user_id = :user_id
  LEFT JOIN LATERAL (
    SELECT level, expires_on, id_verified, barred_children OR barred_adults AS barred
      FROM vetting_checks c WHERE c.org_id = t.org_id AND c.user_id = :user_id
     ORDER BY c.recorded_at DESC LIMIT 1) vc ON true
 WHERE t.dispatch = 'open_call' AND t.status IN ('open', 'partially_filled')
   AND upper(t.windows) > :now
   AND (t.coarse_location IS NULL OR ST_DWithin(
         t.coarse_location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius_m))
   AND (t.location IS NULL OR ST_DWithin(v.home, t.location, v.max_travel_km * 1000))
   AND v.skills @> t.required_skills AND v.languages @> t.languages
   AND NOT coalesce(vc.barred, false)
   AND (t.min_vetting = 'none'
        OR (vc.id_verified AND vc.expires_on > upper(t.windows)::date
            AND vc.level IN (SELECT jsonb_array_elements_text(
                               CAST(:ok_levels AS jsonb) -> t.min_vetting))))
   AND NOT EXISTS (SELECT 1 FROM assignments a
                    WHERE a.need_id = t.id AND a.volunteer_id = :user_id)
   AND NOT codeliver_is_excluded(t.client_id, :user_id)
 ORDER BY t.coarse_location <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, t.id
 LIMIT :limit
""")


async def open_calls_near(
    conn: AsyncConnection,
    user_id: UUID,
    lat: float,
    lon: float,
    radius_m: float,
    ok_levels: Mapping[str, Sequence[str]],
    limit: int,
    now: datetime,
) -> list[UUID]:
    """Ids of open-call needs within `radius_m` of (lat, lon) the volunteer could claim,
    still running at `now`.
    `ok_levels` maps each required vetting level to the levels that satisfy it. Remote
    open calls (no location) are included wherever the volunteer is."""
    params: dict[str, Any] = {
        "user_id": user_id,
        "lat": lat,
        "lon": lon,
        "radius_m": radius_m,
        "ok_levels": json.dumps({k: list(v) for k, v in ok_levels.items()}),
        "limit": limit,
        "now": now,
    }
    return list((await conn.execute(_FEED, params)).scalars())
