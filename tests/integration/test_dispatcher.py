"""The push dispatcher against a fake FCM server on 127.0.0.1, through each real sender (our
HTTP/2 one over httpx, firebase-admin's send_each): each FCM answer's effect on devices,
retries and dead letters; leases; the shared FCM budget."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import insert, select, text

from app.clock import WALL
from app.db.tables import devices, outbox
from notifications.backoff import Policy
from notifications.dispatcher import Dispatcher
from notifications.fcm import FcmTransport, Transport, point_messaging_at, static_token
from notifications.fcm_http2 import Http2Transport
from notifications.outbox import Kind, Message, enqueue
from notifications.ratelimit import SharedLimit
from tests.fake_fcm import FakeFcm, Server
from tests.support import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[FakeFcm]:
    server = FakeFcm()
    with Server(server):
        yield server


@pytest.fixture(params=["http2", "threaded"])
async def transport(fake: FakeFcm, request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    """Each way CODELIVER_PUSH_SEND can send: our HTTP/2 sender, firebase-admin's send_each."""
    t: Transport
    if request.param == "http2":
        credential = static_token("test-token").get_credential()
        t = Http2Transport("fake-project", credential, endpoint=fake.endpoint)
    else:
        point_messaging_at(fake.endpoint)
        t = FcmTransport("fake-project", credential=static_token("test-token"))
    yield t
    await t.close()


async def person_with_device(world: World, name: str, token: str) -> UUID:
    await world.person(name)
    async with world.owner.begin() as conn:
        user_id = await conn.scalar(text("SELECT id FROM users WHERE subject = :s"), {"s": name})
        await conn.execute(
            insert(devices).values(
                user_id=user_id, token=token, token_kind="token", platform="android"
            )
        )
    return UUID(str(user_id))


async def notify(world: World, user_id: UUID, **extra: Any) -> None:
    async with world.owner.begin() as conn:
        await enqueue(
            conn,
            [
                Message(
                    user_id,
                    Kind.OFFER_CREATED,
                    {"offer_id": str(UUID(int=1)), "need_id": str(UUID(int=2))},
                    **extra,
                )
            ],
            now=datetime.now(UTC),
        )


async def rows(world: World) -> dict[UUID, Any]:
    async with world.owner.connect() as conn:
        return {r.user_id: r for r in await conn.execute(select(outbox))}


async def test_each_fcm_answer_has_its_effect(
    world: World, fake: FakeFcm, transport: Transport
) -> None:
    kinds = ["ok", "unregistered", "badtoken", "badpayload", "mismatch", "quota", "unavailable"]
    users = {k: await person_with_device(world, f"p-{k}", f"{k}-token-1") for k in kinds}
    for user in users.values():
        await notify(world, user)
    before = datetime.now(UTC)
    stats = await Dispatcher(
        world.owner, transport, rng=random.Random(1), clock=WALL.now
    ).run_once()
    assert stats.leased == 7
    assert len(fake.received) == 7
    assert {m["data"]["kind"] for m in fake.received} == {"offer.created"}
    after = await rows(world)
    state = {k: (after[u].status, after[u].last_error) for k, u in users.items()}
    assert state["ok"] == ("sent", None)
    for dropped in ("unregistered", "badtoken", "mismatch"):
        assert state[dropped] == ("sent", "no devices left")
    assert state["badpayload"][0] == "dead"
    assert state["quota"][0] == "pending"
    assert state["unavailable"][0] == "pending"
    # at least a minute after a 429, and no sooner than its Retry-After (90 s)
    assert after[users["quota"]].next_attempt_at >= before + timedelta(seconds=90)
    assert after[users["unavailable"]].next_attempt_at >= before + timedelta(seconds=7)
    assert all(r.lease_token is None for r in after.values())
    async with world.owner.connect() as conn:
        left = set((await conn.execute(select(devices.c.token))).scalars())
    assert left == {f"{k}-token-1" for k in ("ok", "badpayload", "quota", "unavailable")}


async def test_retries_then_dead_letter_after_max_attempts(
    world: World, fake: FakeFcm, transport: Transport
) -> None:
    user = await person_with_device(world, "p-down", "unavailable-token-9")
    flaky = await person_with_device(world, "p-flaky", "flaky-token-9")
    await notify(world, user)
    await notify(world, flaky)
    dispatcher = Dispatcher(world.owner, transport, Policy(max_attempts=3), clock=WALL.now)
    for _ in range(3):
        await dispatcher.run_once()
        async with world.owner.begin() as conn:  # time passes
            await conn.execute(text("UPDATE outbox SET next_attempt_at = now()"))
    after = await rows(world)
    assert (after[user].status, after[user].attempts) == ("dead", 3)
    assert (after[flaky].status, after[flaky].attempts) == ("sent", 2)
    flaky_ids = [m["data"]["message_id"] for m in fake.received if m["token"].startswith("flaky")]
    assert len(flaky_ids) == 2
    assert len(set(flaky_ids)) == 1  # a retry carries the same message id


async def test_a_stale_lease_cannot_complete_a_row(
    world: World, fake: FakeFcm, transport: Transport
) -> None:
    user = await person_with_device(world, "p-slow", "unavailable-token-3")
    await notify(world, user)
    stale = Dispatcher(world.owner, transport, Policy(lease=timedelta(seconds=5)), clock=WALL.now)
    lease = await stale.lease()
    assert lease is not None
    async with world.owner.begin() as conn:  # the stale worker stalls past its lease
        await conn.execute(text("UPDATE outbox SET next_attempt_at = now()"))
        await conn.execute(text("UPDATE devices SET token = 'ok-token-3'"))
    fresh = Dispatcher(world.owner, transport, clock=WALL.now)
    assert (await fresh.run_once()).sent == 1
    await stale.deliver(lease)  # would retry the row: its lease is gone, nothing changes
    after = (await rows(world))[user]
    assert (after.status, after.attempts) == ("sent", 2)
    assert len({m["data"]["message_id"] for m in fake.received}) == 1


async def test_quiet_hours_defer_all_but_urgent(
    world: World, fake: FakeFcm, transport: Transport
) -> None:
    await world.org("org-q")
    vid = await world.volunteer("sleeper", org="org-q")
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE volunteers SET quiet_hours_start = (now() AT TIME ZONE time_zone"
                " - interval '1 h')::time, quiet_hours_end = (now() AT TIME ZONE time_zone"
                " + interval '1 h')::time"
            )
        )
        await conn.execute(
            insert(devices).values(
                user_id=vid, token="ok-sleeper", token_kind="token", platform="ios"
            )
        )
    await notify(world, vid)
    await notify(world, vid, urgent=True)
    # an offer that lapses before the quiet hours end is never pushed, nor held
    await notify(world, vid, expires_at=datetime.now(UTC) + timedelta(minutes=30))
    stats = await Dispatcher(world.owner, transport, clock=WALL.now).run_once()
    assert (stats.sent, stats.deferred, stats.skipped) == (1, 1, 1)
    async with world.owner.connect() as conn:
        waiting = (await conn.execute(select(outbox).where(outbox.c.status == "pending"))).one()
        lapsed = (await conn.execute(select(outbox).where(outbox.c.expires_at.is_not(None)))).one()
    assert waiting.attempts == 0
    assert waiting.next_attempt_at > datetime.now(UTC) + timedelta(minutes=30)
    assert (lapsed.status, lapsed.last_error) == ("sent", "expires during quiet hours")
    assert len(fake.received) == 1
    assert fake.received[0]["apns"]["headers"]["apns-priority"] == "10"


async def test_a_rolled_back_change_enqueues_nothing(world: World) -> None:
    user = await person_with_device(world, "p-rb", "ok-rb")

    async def failing_change() -> None:
        async with world.owner.begin() as conn:
            await enqueue(conn, [Message(user, Kind.OFFER_CREATED, {})], now=datetime.now(UTC))
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await world.count("outbox") == 0


def test_the_fcm_endpoint_seam_still_exists() -> None:
    """firebase-admin has no endpoint setting; we patch one class attribute. If an upgrade
    renames it, this fails loudly instead of pushes silently going to Google."""
    from firebase_admin import messaging

    assert "{0}" in messaging._MessagingService.FCM_URL
    assert hasattr(messaging, "_get_messaging_service")


async def test_pushes_beyond_the_shared_fcm_budget_wait_their_turn(
    world: World, fake: FakeFcm, transport: Transport
) -> None:
    users = [await person_with_device(world, f"p-many-{i}", f"ok-token-{i}") for i in range(5)]
    for user in users:
        await notify(world, user)
    budget = SharedLimit(world.owner, "fcm:few", per_minute=30)  # holds 3 tokens
    before = datetime.now(UTC)
    stats = await Dispatcher(world.owner, transport, clock=WALL.now, push_limit=budget).run_once()
    assert (stats.leased, stats.sent, stats.deferred) == (5, 3, 2)
    assert len(fake.received) == 3
    waiting = [r for r in (await rows(world)).values() if r.status == "pending"]
    assert len(waiting) == 2
    assert {r.attempts for r in waiting} == {0}  # a turn waited is not a failed attempt
    assert all(r.next_attempt_at >= before + timedelta(seconds=1) for r in waiting)
    # Another worker shares the budget: nothing is left for it this second.
    other = SharedLimit(world.owner, "fcm:few", per_minute=30)
    assert (await other.take(1, before)).granted == 0
