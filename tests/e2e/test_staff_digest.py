"""A caseworker's daily digest end to end: chosen through the API, their non-urgent staff
messages held by the dispatcher (an urgent escalation still goes at once), sent as one
email through the official client at the local hour, once however many workers run, and
the held messages sent as a last digest when it is stopped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.clock import VirtualClock, register_clock
from app.db.tables import contact_channels
from app.notify import digest
from notifications.digest import last_due
from notifications.dispatcher import Dispatcher
from notifications.outbox import Kind, Message, enqueue
from tests import fake_notify
from tests.e2e.cascade_world import Casework, ctx, need
from tests.e2e.notify_support import CONSOLE, fake, sender, settings, texts_to
from tests.fake_notify import FakeNotify
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx", "fake", "sender", "settings"]

DIGEST = "/v1/volunteers/me/channels/digest"
EMAIL = "case@example.org"


async def _user(world: World, subject: str) -> UUID:
    async with world.owner.connect() as conn:
        found = await conn.scalar(text("SELECT id FROM users WHERE subject = :s"), {"s": subject})
    assert found is not None
    return UUID(str(found))


async def _verified_email(world: World, user_id: UUID) -> None:
    async with world.owner.begin() as conn:
        await conn.execute(
            insert(contact_channels).values(
                user_id=user_id,
                channel="email",
                address=EMAIL,
                position=0,
                verified_at=datetime.now(UTC),
            )
        )


async def _outbox(world: World, user_id: UUID) -> list[Any]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind, status, channel FROM outbox WHERE user_id = :u ORDER BY id"),
            {"u": user_id},
        )
        return list(rows.all())


async def _filled_need(client: httpx.AsyncClient, ctx: Casework, world: World) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    assert r.status_code == 201, r.text
    offers = await client.get("/v1/volunteers/me/offers", headers=world.headers("vol-0"))
    offer_id = offers.json()["items"][0]["id"]
    r = await client.post(f"/v1/offers/{offer_id}/accept", headers=world.headers("vol-0"))
    assert r.status_code == 200, r.text


@pytest.fixture
async def system(world: World) -> Any:
    """The worker's login with a clock the test moves (the digest job reads it)."""
    engine = create_async_engine(world.db.owner_url)
    clock = VirtualClock(datetime.now(UTC))
    register_clock(engine, clock)
    yield engine, clock
    await engine.dispose()


async def _days_pass(world: World, user_id: UUID) -> None:
    """The last digest was long ago: the next is due."""
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE staff_digests SET last_sent_on = '2000-01-01' WHERE user_id = :u"),
            {"u": user_id},
        )


async def test_choosing_a_digest_is_for_staff_and_bad_input_names_the_field(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.get(DIGEST, headers=ctx.caseworker)
    assert r.status_code == 404, r.text
    r = await client.put(DIGEST, headers=ctx.caseworker, json={"hour": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["hour"], body["time_zone"], body["held"]) == (7, "Europe/London", 0)
    nxt = datetime.fromisoformat(body["next_at"])
    assert nxt > datetime.now(UTC)  # the first digest is at the next 07:00, not at once
    assert nxt - datetime.now(UTC) <= timedelta(hours=25)
    assert (await client.get(DIGEST, headers=ctx.caseworker)).json() == body

    for bad, field in (
        ({"hour": 24}, "hour"),
        ({"hour": "8"}, "hour"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"hour": 8, "when": "daily"}, "when"),
    ):
        r = await client.put(DIGEST, headers=ctx.caseworker, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (bad, r.text)
    assert (await client.get(DIGEST, headers=ctx.caseworker)).json()["hour"] == 7  # unchanged

    r = await client.put(DIGEST, headers=world.headers("vol-0"), json={"hour": 8})
    assert r.status_code == 403, r.text  # a volunteer's offers never wait
    r = await client.put(
        DIGEST, headers=ctx.caseworker, json={"hour": 18, "time_zone": "Asia/Kolkata"}
    )
    assert (r.status_code, r.json()["time_zone"]) == (200, "Asia/Kolkata")
    assert (await client.delete(DIGEST, headers=ctx.caseworker)).status_code == 204
    assert (await client.delete(DIGEST, headers=ctx.caseworker)).status_code == 404


async def test_held_messages_go_as_one_email_at_the_hour_once_and_urgent_ones_at_once(
    client: httpx.AsyncClient,
    ctx: Casework,
    world: World,
    fake: FakeNotify,
    sender: Dispatcher,
    system: tuple[AsyncEngine, VirtualClock],
) -> None:
    engine, _clock = system
    me = await _user(world, "case-a")
    await _verified_email(world, me)
    r = await client.put(DIGEST, headers=ctx.caseworker, json={"hour": 8})
    assert r.status_code == 200, r.text

    await _filled_need(client, ctx, world)  # need.claimed (a push) and need.filled (held)
    async with world.owner.begin() as conn:
        need_id = await conn.scalar(text("SELECT id FROM needs ORDER BY created_at LIMIT 1"))
        messages = [
            Message(me, Kind.NEED_COMPLETED, {"need_id": str(need_id)}),
            Message(me, Kind.COVERAGE_GAP_ALERT, {"area_id": str(need_id)}),
            Message(me, Kind.NEED_ESCALATED, {"need_id": str(need_id), "reason": "no_candidates"}),
            Message(
                me,
                Kind.NEED_ESCALATED,
                {"need_id": str(need_id), "reason": "alert_cap"},
                urgent=True,
            ),
        ]
        await enqueue(conn, messages, now=datetime.now(UTC))
    stats = await sender.run_once()
    assert stats.held == 4  # filled, completed, gap alert, the escalation that is not urgent
    told = texts_to(fake, EMAIL)
    assert len(told) == 1  # the urgent escalation, at once
    assert told[0]["personalisation"]["reason"] == "alert cap"
    statuses = {(m.kind, m.status) for m in await _outbox(world, me)}
    assert ("need.filled", "held") in statuses
    assert ("need.claimed", "sent") in statuses  # a claim is never emailed: not held either
    assert (await client.get(DIGEST, headers=ctx.caseworker)).json()["held"] == 4

    assert await digest.send_due(engine) == 0  # not 08:00 since choosing: it waits
    assert len(texts_to(fake, EMAIL)) == 1

    await _days_pass(world, me)
    sent = await asyncio.gather(digest.send_due(engine), digest.send_due(engine))
    assert sorted(sent) == [0, 1]  # two workers, one digest
    await sender.run_once()
    digests = [m for m in texts_to(fake, EMAIL) if m["template_id"] == fake_notify.DIGEST_TEMPLATE]
    assert len(digests) == 1
    given = digests[0]["personalisation"]
    assert given == {
        "summary": "Your daily Codeliver summary: what happened to your requests.",
        "escalated": "1",
        "volunteer_left": "0",
        "filled": "1",
        "completed": "1",
        "gap_alerts": "1",
        "link": f"{CONSOLE}/console",
    }
    assert "prescription" not in str(digests).lower()
    assert ctx.client["name"] not in str(digests)
    rows = await _outbox(world, me)
    held = [m for m in rows if m.channel == "digest"]
    assert len(held) == 4
    assert {m.status for m in held} == {"sent"}
    assert [m.status for m in rows if m.kind == "staff.digest"] == ["sent"]
    body = (await client.get(DIGEST, headers=ctx.caseworker)).json()
    assert body["held"] == 0
    assert body["last_sent_on"] == last_due(datetime.now(UTC), "Europe/London", 8).isoformat()

    assert await digest.send_due(engine) == 0  # nothing held: no empty digest


async def test_stopping_the_digest_sends_what_was_held_then_one_by_one(
    client: httpx.AsyncClient,
    ctx: Casework,
    world: World,
    fake: FakeNotify,
    sender: Dispatcher,
    system: tuple[AsyncEngine, VirtualClock],
) -> None:
    engine, _clock = system
    me = await _user(world, "case-a")
    await _verified_email(world, me)
    assert (await client.put(DIGEST, headers=ctx.caseworker, json={})).status_code == 200
    await _filled_need(client, ctx, world)
    assert (await sender.run_once()).held == 1
    assert texts_to(fake, EMAIL) == []

    assert (await client.delete(DIGEST, headers=ctx.caseworker)).status_code == 204
    assert await digest.send_due(engine) == 1  # the last digest, at once
    await sender.run_once()
    (last,) = texts_to(fake, EMAIL)
    assert (last["template_id"], last["personalisation"]["filled"]) == (
        fake_notify.DIGEST_TEMPLATE,
        "1",
    )

    async with world.owner.begin() as conn:
        need_id = await conn.scalar(text("SELECT id FROM needs LIMIT 1"))
        await enqueue(
            conn,
            [Message(me, Kind.NEED_COMPLETED, {"need_id": str(need_id)})],
            now=datetime.now(UTC),
        )
    stats = await sender.run_once()
    assert stats.held == 0
    kinds = [m.kind for m in await _outbox(world, me) if m.status == "held"]
    assert kinds == []
