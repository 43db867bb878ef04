"""WS /v1/events: live events fanned out across API processes through LISTEN/NOTIFY, replayed
from the database after a reconnect, published only when the business transaction commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.settings import Settings
from notifications.outbox import Kind, Message, enqueue
from tests.e2e.cascade_world import Casework, ctx, need
from tests.e2e.live_servers import api_replica, events_socket, frame, synced
from tests.support import Db, World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]  # the fixture, imported


async def _commit(world: World, user_id: UUID, tag: str, *, rollback: bool = False) -> None:
    async with world.owner.connect() as conn:
        tx = await conn.begin()
        await enqueue(
            conn, [Message(user_id, Kind.OFFER_WITHDRAWN, {"tag": tag})], now=datetime.now(UTC)
        )
        await (tx.rollback() if rollback else tx.commit())


async def test_offer_event_reaches_sockets_on_two_replicas(
    client: httpx.AsyncClient, ctx: Casework, world: World, settings: Settings, db: Db
) -> None:
    # the need is posted through a third process (the `client` app): fan-out crosses processes
    async with (
        api_replica(settings, db) as one,
        api_replica(settings, db) as two,
        events_socket(one, world.headers("vol-0")) as ws0,
        events_socket(two, world.headers("vol-1")) as ws1,
        events_socket(two, world.headers("vol-5")) as ws5,
    ):
        for ws in (ws0, ws1, ws5):
            assert (await synced(ws))["last_id"] is None
        r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
        assert r.status_code == 201, r.text
        need_id = r.json()["need"]["id"]
        got0, got1 = await frame(ws0), await frame(ws1)
        for got, vol in ((got0, "vol-0"), (got1, "vol-1")):
            assert got["type"] == "event"
            assert got["kind"] == "offer.created"
            assert got["payload"]["need_id"] == need_id
            assert isinstance(got["id"], int)
            assert got["created_at"]
            assert "Ada" not in str(got)
            assert "Secret" not in str(got)
            offers = await client.get("/v1/volunteers/me/offers", headers=world.headers(vol))
            assert got["payload"]["offer_id"] == offers.json()["items"][0]["id"]
        # vol-5 (not in the first wave) hears nothing of the others' offers
        with pytest.raises(TimeoutError):
            await frame(ws5, wait_s=0.5)


async def test_rolled_back_change_publishes_nothing(
    client: httpx.AsyncClient, world: World, settings: Settings, db: Db
) -> None:
    await world.org("org-a")
    vol = await world.volunteer("vol-0", org="org-a")
    async with api_replica(settings, db) as base, events_socket(base, world.headers("vol-0")) as ws:
        await synced(ws)
        await _commit(world, vol, "rolled back", rollback=True)
        await _commit(world, vol, "committed")
        got = await frame(ws)
        assert got["payload"]["tag"] == "committed"  # the first and only event
        assert await world.count("outbox") == 1


async def test_reconnect_with_since_replays_then_continues_live(
    client: httpx.AsyncClient, world: World, settings: Settings, db: Db
) -> None:
    await world.org("org-a")
    vol = await world.volunteer("vol-0", org="org-a")
    other = await world.volunteer("vol-1", org="org-a")
    async with api_replica(settings, db) as base:
        async with events_socket(base, world.headers("vol-0")) as ws:
            await synced(ws)
            await _commit(world, vol, "first")
            last = (await frame(ws))["id"]
        # offline: one event for me, one for someone else
        await _commit(world, vol, "missed")
        await _commit(world, other, "not mine")
        async with events_socket(base, world.headers("vol-0"), f"?since={last}") as ws:
            missed = await frame(ws)
            assert missed["payload"]["tag"] == "missed"
            assert missed["id"] > last
            assert (await synced(ws))["last_id"] == missed["id"]
            await _commit(world, other, "not mine either")
            await _commit(world, vol, "live")
            live = await frame(ws)
            assert live["payload"]["tag"] == "live"  # no duplicate, no other user's event
        # from the beginning: only my own, in order
        async with events_socket(base, world.headers("vol-0"), "?since=0") as ws:
            tags = [(await frame(ws))["payload"]["tag"] for _ in range(3)]
            assert tags == ["first", "missed", "live"]
            assert (await synced(ws))["last_id"] == live["id"]


async def test_an_event_that_commits_after_a_later_one_is_not_lost_on_reconnect(
    world: World, settings: Settings, db: Db
) -> None:
    """Ids are handed out at write time: a slow transaction's event gets a lower id than a
    quick one's, yet commits after the client saw the quick one and went offline."""
    await world.org("org-a")
    vol = await world.volunteer("vol-0", org="org-a")
    async with api_replica(settings, db) as base:
        async with world.owner.connect() as slow:
            slow_tx = await slow.begin()
            await enqueue(
                slow, [Message(vol, Kind.OFFER_WITHDRAWN, {"tag": "slow"})], now=datetime.now(UTC)
            )
            async with events_socket(base, world.headers("vol-0")) as ws:
                await synced(ws)
                await _commit(world, vol, "quick")
                quick = await frame(ws)
                assert quick["payload"]["tag"] == "quick"
            await slow_tx.commit()  # while the phone is offline
        async with events_socket(base, world.headers("vol-0"), f"?since={quick['id']}") as ws:
            late = await frame(ws)
            assert late["payload"]["tag"] == "slow"
            assert late["id"] < quick["id"]
            assert (await synced(ws))["complete"]


async def test_token_in_query_and_refusals(
    client: httpx.AsyncClient, world: World, settings: Settings, db: Db
) -> None:
    await world.org("org-a")
    await world.volunteer("vol-0", org="org-a")
    token = world.headers("vol-0")["Authorization"].removeprefix("Bearer ")
    async with api_replica(settings, db) as base:
        async with events_socket(base, {}, f"?token={token}") as ws:
            await synced(ws)
        for headers, query in (
            ({}, ""),
            ({}, "?token=nonsense"),
            (world.headers("vol-0"), "?since=-1"),
        ):
            with pytest.raises(InvalidStatus):
                async with events_socket(base, headers, query) as ws:
                    await ws.recv()


async def test_lost_listener_closes_sockets_for_resync_and_recovers(
    client: httpx.AsyncClient, world: World, settings: Settings, db: Db
) -> None:
    await world.org("org-a")
    vol = await world.volunteer("vol-0", org="org-a")
    async with api_replica(settings, db) as base:
        async with events_socket(base, world.headers("vol-0")) as ws:
            await synced(ws)
            async with world.owner.begin() as conn:  # the database drops the listener
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = 'codeliver-live'"
                    )
                )
            with pytest.raises(ConnectionClosed) as closed:
                await frame(ws)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1012
        await _commit(world, vol, "while away")
        for _ in range(100):  # the listener reconnects with backoff
            try:
                async with events_socket(base, world.headers("vol-0"), "?since=0") as ws:
                    assert (await frame(ws))["payload"]["tag"] == "while away"
                    await synced(ws)
                    await _commit(world, vol, "live again")
                    assert (await frame(ws))["payload"]["tag"] == "live again"
                    return
            except ConnectionClosed:  # 1013: not listening yet
                await asyncio.sleep(0.1)
        pytest.fail("the live channel did not come back")
