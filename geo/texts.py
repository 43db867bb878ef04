"""What an offer's or reminder's text may say of its place: how far the need's coarse point
(geo/privacy.py, snapped once) is from the volunteer's home, never the point itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_FACTS = text("""
SELECT n.id AS need_id, p.kind, lower(n.windows) AS starts, n.mode, v.user_id AS volunteer_id,
       v.time_zone, ST_Distance(v.home, n.coarse_location) AS distance_m
  FROM unnest(CAST(:needs AS uuid[]), CAST(:volunteers AS uuid[])) AS t(need_id, volunteer_id)
  JOIN needs n ON n.id = t.need_id
  JOIN programmes p ON p.id = n.programme_id
  JOIN volunteers v ON v.user_id = t.volunteer_id
""")


async def need_facts(
    conn: AsyncConnection, pairs: Sequence[tuple[UUID, UUID]]
) -> dict[tuple[UUID, UUID], Any]:
    """For each (need, volunteer): the programme's kind, the first start, the mode, the
    volunteer's time zone and the distance in metres from their home to the coarse point
    (None for a remote need)."""
    if not pairs:
        return {}
    params = {"needs": [n for n, _ in pairs], "volunteers": [v for _, v in pairs]}
    rows = (await conn.execute(_FACTS, params)).all()
    return {(r.need_id, r.volunteer_id): r for r in rows}
