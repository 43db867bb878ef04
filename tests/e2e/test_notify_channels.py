"""A volunteer's channels through the API: a phone verified by the code texted to it (via
the fake Notify, by the official client), bad input as 4xx problems naming the field,
expiry and limited tries, the order; and a delivery receipt's permanent failure moving an
offer to the next channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from app.db.tables import contact_channels, outbox
from notifications.dispatcher import Dispatcher
from notifications.outbox import Kind, Message, enqueue
from tests import fake_notify
from tests.e2e.cascade_world import Casework, ctx, need
from tests.e2e.notify_support import (
    CALLBACK,
    CONSOLE,
    fake,
    sender,
    settings,
    texts_to,
    verified_phone,
)
from tests.fake_notify import FakeNotify
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx", "fake", "sender", "settings"]

CHANNELS = "/v1/volunteers/me/channels"


async def stored(world: World, user_id: Any) -> Any:
    async with world.owner.connect() as conn:
        return (
            await conn.execute(
                select(contact_channels).where(
                    contact_channels.c.user_id == user_id, contact_channels.c.channel == "sms"
                )
            )
        ).one()


async def test_a_phone_is_verified_by_the_code_texted_to_it(
    client: httpx.AsyncClient, ctx: Casework, world: World, fake: FakeNotify, sender: Dispatcher
) -> None:
    me = world.headers("vol-0")
    r = await client.put(f"{CHANNELS}/sms", headers=me, json={"number": "07700 900123"})
    assert r.status_code == 200, r.text
    assert (r.json()["address"], r.json()["verified"]) == ("+447700900123", False)
    await sender.run_once()
    (sent,) = texts_to(fake, "+447700900123")
    code = sent["personalisation"]["code"]
    row = await stored(world, ctx.vols["vol-0"])
    assert row.code_hash is not None
    assert code not in row.code_hash
    wrong = "000000" if code != "000000" else "111111"
    r = await client.post(f"{CHANNELS}/sms/verify", headers=me, json={"code": wrong})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "code"
    assert (await stored(world, ctx.vols["vol-0"])).code_attempts == 1  # the try is counted
    r = await client.post(f"{CHANNELS}/sms/verify", headers=me, json={"code": code})
    assert (r.status_code, r.json()["verified"]) == (200, True)
    r = await client.put(CHANNELS, headers=me, json={"order": ["sms", "push"]})
    assert [(c["channel"], c["position"]) for c in r.json()] == [("sms", 0), ("push", 1)]
    listed = (await client.get(CHANNELS, headers=me)).json()
    assert [c["channel"] for c in listed] == ["sms", "push"]
    # Others never see it.
    assert (await client.get(CHANNELS, headers=world.headers("vol-1"))).json() == []


async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    me = world.headers("vol-0")
    cases = [
        ("put", f"{CHANNELS}/sms", {"number": "call me"}, "number"),
        ("put", f"{CHANNELS}/sms", {"number": "0770"}, "number"),
        ("put", f"{CHANNELS}/sms", {"address": "07700900123"}, "address"),
        ("put", f"{CHANNELS}/email", {"address": "not-an-email"}, "address"),
        ("put", f"{CHANNELS}/sms", {"number": "07700900123", "x": 1}, "x"),
        ("put", CHANNELS, {"order": ["sms"]}, "order"),  # no phone yet
        ("put", CHANNELS, {"order": ["fax"]}, "order"),
        ("put", CHANNELS, {"order": ["push", "push"]}, "order"),
        ("post", f"{CHANNELS}/sms/verify", {"code": "12"}, "code"),
    ]
    for method, url, body, field in cases:
        r = await client.request(method, url, headers=me, json=body)
        assert 400 <= r.status_code < 500, (url, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (url, body, r.text)
    r = await client.put(f"{CHANNELS}/fax", headers=me, json={"address": "x@example.org"})
    assert 400 <= r.status_code < 500
    assert await world.count("contact_channels") == 0
    assert await world.count("outbox") == 0


async def test_codes_expire_and_tries_are_limited(
    client: httpx.AsyncClient, ctx: Casework, world: World, fake: FakeNotify, sender: Dispatcher
) -> None:
    me = world.headers("vol-0")
    await client.put(f"{CHANNELS}/email", headers=me, json={"address": "vol0@example.org"})
    await sender.run_once()
    (sent,) = texts_to(fake, "vol0@example.org")
    code = sent["personalisation"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = await client.post(f"{CHANNELS}/email/verify", headers=me, json={"code": wrong})
        assert r.status_code == 422
    r = await client.post(f"{CHANNELS}/email/verify", headers=me, json={"code": code})
    assert r.status_code == 409  # five wrong tries: even the right code is refused now
    async with world.owner.begin() as conn:  # a new code, then time passes past its expiry
        await conn.execute(text("UPDATE contact_channels SET code_attempts = 0"))
        await conn.execute(
            text("UPDATE contact_channels SET code_expires_at = now() - interval '1 s'")
        )
    r = await client.post(f"{CHANNELS}/email/verify", headers=me, json={"code": code})
    assert r.status_code == 409
    assert (await client.get(CHANNELS, headers=me)).json()[0]["verified"] is False


async def test_a_permanent_failure_receipt_moves_the_offer_to_the_next_channel(
    client: httpx.AsyncClient, ctx: Casework, world: World, fake: FakeNotify, sender: Dispatcher
) -> None:
    vid = ctx.vols["vol-0"]
    await verified_phone(world, vid, "+447700900201", position=0)
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO contact_channels (user_id, channel, address, position, verified_at)"
                " VALUES (:v, 'email', 'vol0@example.org', 1, now())"
            ),
            {"v": vid},
        )
    await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    await sender.run_once()
    (sms,) = texts_to(fake, "+447700900201")
    receipt = {
        "id": str(uuid.uuid4()),
        "reference": sms["reference"],
        "to": "+447700900201",
        "status": "permanent-failure",
        "notification_type": "sms",
    }
    url = "/v1/notify/callbacks/delivery-status"
    # A wrong or missing token is refused and changes nothing.
    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": "Basic x"}):
        assert (await client.post(url, json=receipt, headers=headers)).status_code == 401
    assert (await stored(world, vid)).healthy is True
    assert (await client.post(url, json=receipt, headers=CALLBACK)).status_code == 204
    assert (await stored(world, vid)).healthy is False
    await sender.run_once()
    (email,) = texts_to(fake, "vol0@example.org")
    assert email["reference"] == sms["reference"]  # one message, one reference
    async with world.owner.connect() as conn:
        row = (
            await conn.execute(
                select(outbox).where(outbox.c.message_id == uuid.UUID(sms["reference"]))
            )
        ).one()
    assert (row.status, row.channel, row.delivery_status) == ("sent", "email", "permanent-failure")
    delivered = {**receipt, "id": str(uuid.uuid4()), "reference": email["reference"]}
    delivered["status"] = "delivered"
    assert (await client.post(url, json=delivered, headers=CALLBACK)).status_code == 204


async def test_each_channel_can_be_forgotten(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    me = world.headers("vol-0")
    await client.put(f"{CHANNELS}/sms", headers=me, json={"number": "+447700900555"})
    await client.put(CHANNELS, headers=me, json={"order": ["push", "sms"]})
    for channel in ("sms", "push"):
        assert (await client.delete(f"{CHANNELS}/{channel}", headers=me)).status_code == 204
    assert (await client.get(CHANNELS, headers=me)).json() == []
    assert (await client.delete(f"{CHANNELS}/email", headers=me)).status_code == 404


async def test_staff_hear_of_their_needs_by_their_own_channel_with_a_link_and_no_names(
    client: httpx.AsyncClient, ctx: Casework, world: World, fake: FakeNotify, sender: Dispatcher
) -> None:
    """A caseworker verifies an email address (the same channels as a volunteer's): their
    need's filling reaches them by email, with its kind, time and console link, no title,
    client or volunteer; a claim stays a push; a kind with no template set up (completed)
    goes by push, not to a dead letter."""
    case = ctx.caseworker
    r = await client.put(f"{CHANNELS}/email", headers=case, json={"address": "case@example.org"})
    assert r.status_code == 200, r.text
    await sender.run_once()
    (sent,) = texts_to(fake, "case@example.org")
    code = sent["personalisation"]["code"]
    r = await client.post(f"{CHANNELS}/email/verify", headers=case, json={"code": code})
    assert (r.status_code, r.json()["verified"]) == (200, True)

    r = await client.post("/v1/needs", headers=case, json=need(ctx))
    assert r.status_code == 201, r.text
    need_id = r.json()["need"]["id"]
    offers = await client.get("/v1/volunteers/me/offers", headers=world.headers("vol-0"))
    offer_id = offers.json()["items"][0]["id"]
    r = await client.post(f"/v1/offers/{offer_id}/accept", headers=world.headers("vol-0"))
    assert r.status_code == 200, r.text
    await sender.run_once()
    told = [m for m in texts_to(fake, "case@example.org") if m is not sent]
    assert [m["template_id"] for m in told] == [fake_notify.STAFF_TEMPLATE]  # filled
    given = told[0]["personalisation"]
    assert given["link"] == f"{CONSOLE}/console/needs/{need_id}"
    assert given["summary"] == "One of your requests is fully covered."
    assert set(given) == {"summary", "help", "when", "link"}
    assert "prescription" not in str(told).lower()  # the title stays in the console
    assert ctx.client["name"] not in str(told)
    async with world.owner.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    text("SELECT kind, channel FROM outbox WHERE payload->>'need_id' = :n"),
                    {"n": need_id},
                )
            ).all()
        )
    assert rows["need.filled"] == "email"
    assert rows["need.claimed"] is None  # a push (no device: the live channel carries it)

    async with world.owner.begin() as conn:
        user = await conn.scalar(text("SELECT created_by FROM needs WHERE id = :n"), {"n": need_id})
        await enqueue(
            conn, [Message(user, Kind.NEED_COMPLETED, {"need_id": need_id})], now=datetime.now(UTC)
        )
    await sender.run_once()
    async with world.owner.connect() as conn:
        done = (
            await conn.execute(
                text("SELECT status, channel FROM outbox WHERE kind = 'need.completed'")
            )
        ).one()
    assert (done.status, done.channel) == ("sent", None)  # by push: email has no template
