"""Slots are never over-filled and retries have one effect, under real concurrency on
PostgreSQL: hundreds of volunteers accepting one need at the same moment."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import msgspec
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.dialects.postgresql.ranges import MultiRange

from app.db.tables import needs, offers, programmes
from app.settings import Settings
from tests.support import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Correctness under contention, not latency: on a loaded machine 200 requests may
    queue for a connection longer than production's 5 s before a 503."""
    return msgspec.structs.replace(settings, db_pool_timeout_s=120.0)


HOME = (51.4551, -0.9712)


@pytest.fixture
async def crowd(world: World) -> dict[str, Any]:
    org_id = await world.org("org-a")
    await world.person("case-a", org="org-a", role="caseworker")
    subjects = [f"racer-{i:03d}" for i in range(200)]
    ids = [await world.volunteer(s, org="org-a", at=HOME) for s in subjects]
    async with world.owner.begin() as conn:
        programme_id = await conn.scalar(
            insert(programmes)
            .values(org_id=org_id, name="Races", kind="community_support")
            .returning(programmes.c.id)
        )
    return {"org_id": org_id, "programme_id": programme_id, "subjects": subjects, "ids": ids}


async def need_offered_to_all(world: World, crowd: dict[str, Any], slots: int) -> list[UUID]:
    """A manual need with `slots` slots and a pending offer to every racer; the offer ids."""
    start = datetime.now(UTC) + timedelta(days=1)
    async with world.owner.begin() as conn:
        need_id = await conn.scalar(
            insert(needs)
            .values(
                org_id=crowd["org_id"],
                programme_id=crowd["programme_id"],
                title="Race",
                mode="remote",
                min_vetting="none",
                windows=MultiRange([Range(start, start + timedelta(hours=1))]),
                duration_minutes=30,
                slots=slots,
                dispatch="manual",
                status="open",
            )
            .returning(needs.c.id)
        )
        made = await conn.execute(
            insert(offers).returning(offers.c.id, offers.c.volunteer_id),
            [
                {
                    "org_id": crowd["org_id"],
                    "need_id": need_id,
                    "volunteer_id": v,
                    "wave": 1,
                    "source": "manual",
                    "expires_at": start,
                }
                for v in crowd["ids"]
            ],
        )
        by_volunteer = {r.volunteer_id: r.id for r in made}
    return [by_volunteer[v] for v in crowd["ids"]]


async def race(
    client: httpx.AsyncClient, world: World, subjects: list[str], offer_ids: list[UUID]
) -> Counter[int]:
    async def accept(subject: str, offer_id: UUID) -> int:
        r = await client.post(f"/v1/offers/{offer_id}/accept", headers=world.headers(subject))
        return r.status_code

    codes = await asyncio.gather(*(accept(s, o) for s, o in zip(subjects, offer_ids, strict=True)))
    return Counter(codes)


async def test_two_hundred_accepts_on_one_slot_twenty_times(
    client: httpx.AsyncClient, world: World, crowd: dict[str, Any]
) -> None:
    for _ in range(20):
        offer_ids = await need_offered_to_all(world, crowd, slots=1)
        codes = await race(client, world, crowd["subjects"], offer_ids)
        assert codes == Counter({200: 1, 409: 199}), codes
    assert await world.count("needs", "filled = 1 AND status = 'filled'") == 20
    assert await world.count("assignments") == 20
    assert await world.count("offers", "status = 'accepted'") == 20


async def test_fifty_accepts_on_three_slots(
    client: httpx.AsyncClient, world: World, crowd: dict[str, Any]
) -> None:
    offer_ids = await need_offered_to_all(world, crowd, slots=3)
    codes = await race(client, world, crowd["subjects"][:50], offer_ids[:50])
    assert codes == Counter({200: 3, 409: 47}), codes
    assert await world.count("needs", "filled = 3 AND status = 'filled'") == 1


async def test_concurrent_retries_with_one_key_have_one_effect(
    client: httpx.AsyncClient, world: World, crowd: dict[str, Any]
) -> None:
    offer_ids = await need_offered_to_all(world, crowd, slots=2)
    headers = world.headers(crowd["subjects"][0]) | {"Idempotency-Key": "tap-1"}

    async def tap() -> httpx.Response:
        return await client.post(f"/v1/offers/{offer_ids[0]}/accept", headers=headers)

    replies = await asyncio.gather(*(tap() for _ in range(20)))
    assert {r.status_code for r in replies} == {200}
    assert len({r.content for r in replies}) == 1  # the same stored response every time
    assert await world.count("assignments") == 1
    # the same key on another request is refused, naming the header
    r = await client.post(f"/v1/offers/{offer_ids[0]}/decline", headers=headers, json={})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    async with world.owner.connect() as conn:
        stored = await conn.scalar(select(text("count(*)")).select_from(text("idempotency_keys")))
    assert stored == 1
