"""End to end: a caseworker posts a need, and the first wave's offers reach the volunteers'
phones (a fake FCM on 127.0.0.1, through firebase-admin); reminders come before the start
and are dropped when the assignment has ended."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import insert, text

from app.clock import WALL
from app.db.tables import devices
from notifications.dispatcher import Dispatcher
from notifications.fcm import FcmTransport, point_messaging_at, static_token
from tests.e2e.cascade_world import Casework, ctx, need
from tests.fake_fcm import FakeFcm, Server
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]


@pytest.fixture
def fake() -> Iterator[FakeFcm]:
    server = FakeFcm()
    with Server(server):
        yield server


@pytest.fixture
async def dispatcher(fake: FakeFcm, world: World) -> AsyncIterator[Dispatcher]:
    point_messaging_at(fake.endpoint)
    transport = FcmTransport("fake-project", credential=static_token("test-token"))
    yield Dispatcher(world.owner, transport, clock=WALL.now)
    await transport.close()


async def phones(world: World, ctx: Casework) -> None:
    async with world.owner.begin() as conn:
        await conn.execute(
            insert(devices),
            [
                {"user_id": vid, "token": f"ok-{name}", "token_kind": "token", "platform": "ios"}
                for name, vid in ctx.vols.items()
            ],
        )


async def test_a_posted_need_reaches_the_first_waves_phones(
    client: httpx.AsyncClient,
    ctx: Casework,
    world: World,
    fake: FakeFcm,
    dispatcher: Dispatcher,
) -> None:
    await phones(world, ctx)
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    need_id = r.json()["need"]["id"]
    await dispatcher.run_once()
    offers = [m for m in fake.received if m["data"]["kind"] == "offer.created"]
    assert sorted(m["token"] for m in offers) == ["ok-vol-0", "ok-vol-1"]
    for m in offers:
        assert m["data"]["need_id"] == need_id
        assert m["android"]["collapse_key"].startswith("offer:")
        assert m["apns"]["headers"]["apns-collapse-id"] == m["android"]["collapse_key"]
        assert "Ada" not in str(m)  # the client's name never travels
        assert "Secret" not in str(m)


async def test_a_reminder_comes_before_the_start_unless_the_assignment_ended(
    client: httpx.AsyncClient,
    ctx: Casework,
    world: World,
    fake: FakeFcm,
    dispatcher: Dispatcher,
) -> None:
    await phones(world, ctx)
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, slots=2))
    assert r.status_code == 201
    mine = {}
    for name in ("vol-0", "vol-1"):
        offer = (await client.get("/v1/volunteers/me/offers", headers=world.headers(name))).json()
        accepted = await client.post(
            f"/v1/offers/{offer['items'][0]['id']}/accept", headers=world.headers(name)
        )
        mine[name] = accepted.json()["id"]
    assert await world.count("outbox", "kind = 'assignment.reminder'") == 2
    assert (
        await world.count(
            "outbox", "kind = 'assignment.reminder' AND next_attempt_at > now() + interval '1 day'"
        )
        == 2
    )
    r = await client.post(
        f"/v1/assignments/{mine['vol-1']}/withdraw",
        headers=world.headers("vol-1"),
        json={"reason": "Away"},
    )
    assert r.status_code == 200
    await dispatcher.run_once()
    fake.received.clear()
    async with world.owner.begin() as conn:  # two hours before the start
        await conn.execute(
            text("UPDATE outbox SET next_attempt_at = now() WHERE status = 'pending'")
        )
    await dispatcher.run_once()
    reminders = [m for m in fake.received if m["data"]["kind"] == "assignment.reminder"]
    assert [m["token"] for m in reminders] == ["ok-vol-0"]
    assert await world.count("outbox", "last_error = 'assignment ended'") == 1
