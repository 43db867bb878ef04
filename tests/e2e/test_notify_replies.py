"""Offers by text message and the replies that answer them: a posted need's first wave texted
through the fake Notify with no client data; `YES 1111` accepting through the very same
accept use case, once per Notify message id; a race of replies giving one assignment;
wrong, expired or another volunteer's codes changing nothing; bad tokens refused."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from notifications.dispatcher import Dispatcher
from tests.e2e.cascade_world import HOME, Casework, ctx, need
from tests.e2e.notify_support import (
    fake,
    sender,
    settings,
    text_in,
    texts_to,
    verified_phone,
)
from tests.fake_notify import FakeNotify
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx", "fake", "sender", "settings"]

PHONES = {"vol-0": "+447700900300", "vol-1": "+447700900301"}
CLIENT_DATA = ("Ada Client", "1 Secret Road", f"{HOME['lat']:.4f}", f"{HOME['lon']:.4f}")


async def offered(
    client: httpx.AsyncClient, ctx: Casework, world: World, sender: Dispatcher
) -> str:
    """vol-0 and vol-1 (the first wave of a one-slot need) texted their offers, with reply
    codes 1111 and 2222."""
    for name, phone in PHONES.items():
        await verified_phone(world, ctx.vols[name], phone)
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    await sender.run_once()
    async with world.owner.begin() as conn:
        for name, code in (("vol-0", "1111"), ("vol-1", "2222")):
            await conn.execute(
                text("UPDATE reply_codes SET code = :c WHERE volunteer_id = :v"),
                {"c": code, "v": ctx.vols[name]},
            )
    return str(r.json()["need"]["id"])


async def scalar(world: World, sql: str, **params: Any) -> Any:
    async with world.owner.connect() as conn:
        return await conn.scalar(text(sql), params)


async def answers(world: World, user_id: uuid.UUID) -> list[str]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload->>'answer' FROM outbox WHERE kind = 'sms.reply'"
                " AND user_id = :u ORDER BY id"
            ),
            {"u": user_id},
        )
        return [r[0] for r in rows]


async def test_an_offer_text_carries_no_client_data_and_yes_accepts_once(
    client: httpx.AsyncClient, ctx: Casework, world: World, fake: FakeNotify, sender: Dispatcher
) -> None:
    need_id = await offered(client, ctx, world, sender)
    texts = [m for phone in PHONES.values() for m in texts_to(fake, phone)]
    assert len(texts) == 2
    for m in texts:
        given = m["personalisation"]
        assert set(given) == {"summary", "help", "area", "when", "answer_by", "reply_code"}
        assert given["help"] == "community support"
        assert given["area"].endswith("km from home")
        assert not [s for s in CLIENT_DATA if s in str(m)]  # nothing of the client travels
    reply_id = str(uuid.uuid4())
    r = await text_in(client, PHONES["vol-0"], "Yes 1111", reply_id)
    assert r.status_code == 204, r.text
    taken = "SELECT count(*) FROM assignments WHERE need_id = :n AND volunteer_id = :v"
    assert await scalar(world, taken, n=need_id, v=ctx.vols["vol-0"]) == 1
    # Notify calls back again with the same message: nothing more happens.
    assert (await text_in(client, PHONES["vol-0"], "Yes 1111", reply_id)).status_code == 204
    assert await scalar(world, "SELECT count(*) FROM assignments") == 1
    assert await answers(world, ctx.vols["vol-0"]) == ["accepted"]
    await sender.run_once()
    (*_, answer) = texts_to(fake, PHONES["vol-0"])
    assert answer["personalisation"]["answer"] == "accepted"
    # The other volunteer's reply now finds the need filled.
    assert (
        await text_in(client, PHONES["vol-1"], "YES 2222", str(uuid.uuid4()))
    ).status_code == 204
    assert await answers(world, ctx.vols["vol-1"]) in (["need_filled"], ["offer_closed"])
    assert await scalar(world, "SELECT count(*) FROM assignments") == 1


async def test_no_declines_through_the_decline_use_case(
    client: httpx.AsyncClient, ctx: Casework, world: World, sender: Dispatcher
) -> None:
    await offered(client, ctx, world, sender)
    assert (await text_in(client, PHONES["vol-1"], "no 2222", str(uuid.uuid4()))).status_code == 204
    status = "SELECT status FROM offers WHERE volunteer_id = :v"
    assert await scalar(world, status, v=ctx.vols["vol-1"]) == "declined"
    assert await scalar(world, status, v=ctx.vols["vol-0"]) == "pending"
    assert await answers(world, ctx.vols["vol-1"]) == ["declined"]


async def test_wrong_expired_or_another_volunteers_code_changes_nothing(
    client: httpx.AsyncClient, ctx: Casework, world: World, sender: Dispatcher
) -> None:
    await offered(client, ctx, world, sender)
    vol1 = ctx.vols["vol-1"]
    for message in ("YES 1111", "YES 9999", "hello", "YES"):  # vol-0's code; nobody's; ...
        r = await text_in(client, PHONES["vol-1"], message, str(uuid.uuid4()))
        assert r.status_code == 204
    async with world.owner.begin() as conn:  # vol-1's own code, but it has lapsed
        await conn.execute(
            text("UPDATE reply_codes SET expires_at = now() - interval '1 s' WHERE code = '2222'")
        )
    await text_in(client, PHONES["vol-1"], "YES 2222", str(uuid.uuid4()))
    # from a number nobody verified
    await text_in(client, "+447700900999", "YES 1111", str(uuid.uuid4()))
    assert await scalar(world, "SELECT count(*) FROM assignments") == 0
    pending = "SELECT count(*) FROM offers WHERE status = 'pending'"
    assert await scalar(world, pending) == 2
    assert await answers(world, vol1) == [
        "unknown_code",
        "unknown_code",
        "not_understood",
        "not_understood",
        "unknown_code",
    ]


async def test_callbacks_with_a_bad_token_are_refused_and_change_nothing(
    client: httpx.AsyncClient, ctx: Casework, world: World, sender: Dispatcher
) -> None:
    await offered(client, ctx, world, sender)
    body = {"id": str(uuid.uuid4()), "source_number": "447700900300", "message": "YES 1111"}
    url = "/v1/notify/callbacks/received-text"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        r = await client.post(url, json=body, headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await scalar(world, "SELECT count(*) FROM assignments") == 0
    assert await scalar(world, "SELECT count(*) FROM notify_replies") == 0


async def test_a_race_of_text_replies_gives_one_assignment(
    client: httpx.AsyncClient, ctx: Casework, world: World, sender: Dispatcher
) -> None:
    need_id = await offered(client, ctx, world, sender)
    repeated = str(uuid.uuid4())
    replies = [
        (PHONES["vol-0"], "YES 1111", repeated),
        (PHONES["vol-1"], "YES 2222", str(uuid.uuid4())),
        (PHONES["vol-1"], "yes 2222", str(uuid.uuid4())),  # answers twice
        (PHONES["vol-0"], "YES 1111", repeated),  # Notify repeats a callback
    ]
    for _ in range(3):
        results = await asyncio.gather(*(text_in(client, *reply) for reply in replies))
        assert [r.status_code for r in results] == [204] * 4
    taken = "SELECT count(*) FROM assignments WHERE need_id = :n"
    assert await scalar(world, taken, n=need_id) == 1
    assert await scalar(world, "SELECT filled FROM needs WHERE id = :n", n=need_id) == 1
    assert await scalar(world, "SELECT count(*) FROM notify_replies") == 3
