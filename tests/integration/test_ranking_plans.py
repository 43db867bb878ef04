"""The remote and urgent candidate statements stay walks that stop early on realistic data:
remote needs walk the organisation's members by id from a point chosen by the need (no scan
and sort of the whole organisation), urgent ones walk both GiST indexes (home, live
location)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.needs import cascade, facts
from geo.candidates import STATEMENTS, index_ordered
from tests.integration.test_candidate_plan import need_id, owner

pytestmark = pytest.mark.anyio
__all__ = ["need_id", "owner"]  # the fixtures, imported


async def _explain(conn: AsyncConnection, need: UUID, *, analyze: bool = False) -> str:
    row = await facts.load(conn, need)
    assert row is not None
    query = facts.query_of(row, datetime.now(UTC))
    params = query.params() | {"limit": 10 * cascade.POOL}
    how = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " if analyze else "EXPLAIN "
    explained = await conn.execute(text(how + STATEMENTS[(query.remote, False)]), params)
    return "\n".join(explained.scalars())


async def test_a_remote_need_walks_the_members_from_its_own_point(
    owner: AsyncEngine, need_id: UUID
) -> None:
    async with owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE needs SET mode = 'remote', location = NULL, coarse_location = NULL"
                " WHERE id = :id"
            ),
            {"id": need_id},
        )
        explained = await _explain(conn, need_id, analyze=True)
    assert "Index Scan using pk_memberships on memberships m " in explained, explained
    assert "(user_id >= needs.id)" in explained, explained
    assert "Sort" not in explained, explained  # nobody sorts the organisation
    assert "Hash" not in explained, explained  # nor hashes every available volunteer
    walked = re.search(r"pk_memberships on memberships m \(actual rows=(\d+)", explained)
    assert walked is not None, explained
    assert int(walked[1]) < 1_000, explained  # of 10,000: it stops once it has enough


async def test_an_urgent_need_walks_homes_and_live_locations_nearest_first(
    owner: AsyncEngine, need_id: UUID
) -> None:
    async with owner.begin() as conn:
        await conn.execute(
            text("UPDATE needs SET urgency = 'urgent' WHERE id = :id"), {"id": need_id}
        )
        await conn.execute(
            text(
                "UPDATE volunteers SET on_duty = true, live_location = home,"
                " live_location_at = now() WHERE user_id IN"
                " (SELECT user_id FROM volunteers ORDER BY user_id LIMIT 500)"
            )
        )
        await conn.execute(text("ANALYZE volunteers"))
        explained = await _explain(conn, need_id, analyze=True)
    assert index_ordered(explained), explained
    assert "Index Scan using idx_volunteers_live_location on volunteers" in explained, explained
