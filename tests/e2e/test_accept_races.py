"""Slots are never over-filled and retries have one effect, under real concurrency on
PostgreSQL: hundreds of volunteers accepting one need at the same moment."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select, text

from tests.e2e.race_support import make_crowd, need_offered_to_all
from tests.support import World

pytestmark = pytest.mark.anyio


@pytest.fixture
async def crowd(world: World) -> dict[str, Any]:
    return await make_crowd(world, 200)


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
