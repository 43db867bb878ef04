"""Text messages and email through the dispatcher to a fake GOV.UK Notify on 127.0.0.1, by
the official client's real code path: each answer's effect (sent, retried, fallen back,
dead-lettered, channel disabled), one reference per message across retries, the rate
limit every worker shares, and the log transport without settings."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import WALL
from app.db.tables import contact_channels, devices, outbox
from app.push import texts_for
from app.settings import Settings
from notifications.backoff import Policy
from notifications.dispatcher import Dispatcher
from notifications.fcm import LogTransport
from notifications.notify import LogTexts, NotifyTransport
from notifications.outbox import Kind, Message, enqueue
from notifications.ratelimit import SharedLimit
from tests import fake_notify
from tests.fake_notify import FakeNotify, Server
from tests.support import World

pytestmark = pytest.mark.anyio

OFFER_FACTS = {
    "help": "shopping",
    "area": "about 2 km from home",
    "when": "Tue 8 Dec 14:00",
    "reply_code": "4821",
    # never sent: not a whitelisted field, nor of a whitelisted shape
    "client": "Zebedee Quill",
}


@pytest.fixture
def fake() -> Iterator[FakeNotify]:
    server = FakeNotify()
    with Server(server):
        yield server


def templates() -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in fake_notify.SETTINGS)


@pytest.fixture
async def notify(fake: FakeNotify) -> AsyncIterator[NotifyTransport]:
    t = NotifyTransport(fake_notify.API_KEY, fake.base_url, templates())
    yield t
    await t.close()


async def facts(conn: AsyncConnection, rows: Sequence[Any], now: datetime) -> dict[int, Any]:
    return {r.id: OFFER_FACTS for r in rows}


def dispatcher(world: World, texts: Any, **kwargs: Any) -> Dispatcher:
    return Dispatcher(
        world.owner,
        LogTransport(),
        kwargs.pop("policy", None),
        random.Random(1),
        clock=WALL.now,
        texts=texts,
        personalise=kwargs.pop("personalise", facts),
        **kwargs,
    )


async def person(world: World, name: str, *channels: tuple[str, str | None]) -> UUID:
    """A person with these verified channels, in this order (push: a device)."""
    await world.person(name)
    async with world.owner.begin() as conn:
        user_id = await conn.scalar(text("SELECT id FROM users WHERE subject = :s"), {"s": name})
        for position, (channel, address) in enumerate(channels):
            await conn.execute(
                insert(contact_channels).values(
                    user_id=user_id,
                    channel=channel,
                    address=address,
                    position=position,
                    verified_at=datetime.now(UTC),
                )
            )
            if channel == "push":
                await conn.execute(
                    insert(devices).values(
                        user_id=user_id, token=f"ok-{name}", token_kind="token", platform="ios"
                    )
                )
    return UUID(str(user_id))


async def offer(world: World, user_id: UUID, **extra: Any) -> None:
    async with world.owner.begin() as conn:
        payload = {"offer_id": str(UUID(int=1)), "need_id": str(UUID(int=2))}
        message = Message(user_id, Kind.OFFER_CREATED, payload, **extra)
        await enqueue(conn, [message], now=datetime.now(UTC))


async def rows(world: World) -> dict[UUID, Any]:
    async with world.owner.connect() as conn:
        return {r.user_id: r for r in await conn.execute(select(outbox))}


async def health(world: World, user_id: UUID, channel: str) -> tuple[bool, str | None]:
    async with world.owner.connect() as conn:
        row = (
            await conn.execute(
                select(contact_channels.c.healthy, contact_channels.c.health_note).where(
                    contact_channels.c.user_id == user_id, contact_channels.c.channel == channel
                )
            )
        ).one()
    return row.healthy, row.health_note


async def test_each_notify_answer_has_its_effect(
    world: World, fake: FakeNotify, notify: NotifyTransport
) -> None:
    people = {
        "ok": await person(world, "t-ok", ("sms", "+447700900001")),
        "email": await person(world, "t-email", ("email", "ok@example.org")),
        "bad-then-push": await person(world, "t-bad", ("sms", "+44bad1"), ("push", None)),
        "bad-alone": await person(world, "t-bad-alone", ("email", "bad@example.org")),
        "quota": await person(world, "t-quota", ("sms", "+44quota1")),
        "down": await person(world, "t-down", ("sms", "+44down1")),
    }
    for user in people.values():
        await offer(world, user)
    before = datetime.now(UTC)
    stats = await dispatcher(world, notify).run_once()
    assert (stats.leased, stats.sent, stats.retried, stats.dead, stats.fell_back) == (6, 2, 2, 1, 1)
    after = await rows(world)
    state = {k: (after[u].status, after[u].channel) for k, u in people.items()}
    assert state["ok"] == ("sent", "sms")
    assert state["email"] == ("sent", "email")
    assert after[people["ok"]].notify_id is not None  # Notify's id, for its callbacks
    assert state["bad-alone"] == ("dead", "email")
    assert after[people["bad-alone"]].last_error == "email_address Not a valid email address"
    assert state["quota"][0] == state["down"][0] == "pending"
    assert after[people["quota"]].next_attempt_at >= before + timedelta(seconds=30)  # Retry-After
    # A refused address disables that channel, and the message falls back to the next one.
    assert (await health(world, people["bad-then-push"], "sms")) == (
        False,
        "phone_number Not a UK mobile number",
    )
    assert (await health(world, people["bad-alone"], "email"))[0] is False
    fell = after[people["bad-then-push"]]
    assert (fell.status, fell.channels_tried) == ("pending", ["sms"])
    assert fell.next_attempt_at <= datetime.now(UTC)
    again = await dispatcher(world, notify).run_once()
    assert again.sent == 1  # the push; the quota and down rows are not due yet
    fell = (await rows(world))[people["bad-then-push"]]
    assert (fell.status, fell.channel, fell.last_error) == ("sent", "push", None)
    # Only whitelisted facts of whitelisted shapes reached Notify.
    sent = [m for m in fake.received if m["_status"] == 201]
    assert {m["personalisation"]["reply_code"] for m in sent} == {"4821"}
    assert all("Zebedee" not in str(m) for m in fake.received)
    assert (await health(world, people["ok"], "sms")) == (True, None)


async def test_a_bad_key_or_template_is_permanent_but_blames_no_address(
    world: World, fake: FakeNotify
) -> None:
    keyless = await person(world, "t-key", ("sms", "+447700900002"), ("push", None))
    no_fallback = await person(world, "t-nofallback", ("email", "nofallback@example.org"))
    await offer(world, keyless)
    await offer(world, no_fallback)
    wrong = NotifyTransport(fake_notify.WRONG_KEY, fake.base_url, templates())
    stats = await dispatcher(
        world, wrong, personalise=lambda conn, rows, now: _no_facts(rows)
    ).run_once()
    await wrong.close()
    assert (stats.fell_back, stats.dead) == (1, 1)
    after = await rows(world)
    assert after[keyless].last_error == "Invalid token: API key not found"
    assert after[keyless].channels_tried == ["sms"]  # falls back to push
    assert (after[no_fallback].status, after[no_fallback].channel) == ("dead", "email")
    assert (await health(world, keyless, "sms")) == (True, None)
    assert (await health(world, no_fallback, "email")) == (True, None)
    assert [m["_status"] for m in fake.received] == [403, 403]


async def _no_facts(rows: Sequence[Any]) -> dict[int, Any]:
    return {}


async def test_missing_personalisation_is_a_dead_letter(
    world: World, fake: FakeNotify, notify: NotifyTransport
) -> None:
    user = await person(world, "t-missing", ("sms", "+447700900003"))
    await offer(world, user)
    stats = await dispatcher(
        world, notify, personalise=lambda conn, rows, now: _no_facts(rows)
    ).run_once()
    assert stats.dead == 1
    row = (await rows(world))[user]
    assert row.status == "dead"
    assert row.last_error.startswith("Missing personalisation: help")
    assert (await health(world, user, "sms")) == (True, None)


async def test_retries_share_one_reference_then_dead_letter(
    world: World, fake: FakeNotify, notify: NotifyTransport
) -> None:
    flaky = await person(world, "t-flaky", ("sms", "+44flaky1"))
    down = await person(world, "t-down2", ("sms", "+44down2"))
    await offer(world, flaky)
    await offer(world, down)
    d = dispatcher(world, notify, policy=Policy(max_attempts=3))
    for _ in range(3):
        await d.run_once()
        async with world.owner.begin() as conn:  # time passes
            await conn.execute(text("UPDATE outbox SET next_attempt_at = now()"))
    after = await rows(world)
    assert (after[flaky].status, after[flaky].attempts) == ("sent", 2)
    assert (after[down].status, after[down].attempts) == ("dead", 3)
    by_address: dict[str, set[str]] = {}
    for m in fake.received:
        by_address.setdefault(m["phone_number"], set()).add(m["reference"])
    assert by_address == {
        "+44flaky1": {str(after[flaky].message_id)},  # two sends, one reference
        "+44down2": {str(after[down].message_id)},
    }
    assert len(fake.received) == 5


async def test_one_rate_limit_for_every_worker(world: World) -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    one, two = (SharedLimit(world.owner, "notify:test", per_minute=60) for _ in range(2))
    first, second = await one.take(10, now), await two.take(10, now)
    assert first.granted + second.granted == 6  # the bucket holds 10 % of a minute's limit
    assert second.wait_s > 0
    full = await two.take(100, now + timedelta(seconds=10))
    assert full.granted == 6  # refilled, but never beyond what it holds
    later = await one.take(100, now + timedelta(seconds=15))
    assert later.granted == 4  # refilled at 90 % of the limit: 0.9 a second, 4.5 in 5 s


async def test_texts_beyond_the_limit_wait_their_turn_without_an_attempt(
    world: World, fake: FakeNotify, notify: NotifyTransport
) -> None:
    users = [await person(world, f"t-many-{i}", ("sms", f"+4477009001{i:02d}")) for i in range(5)]
    for user in users:
        await offer(world, user)
    limit = SharedLimit(world.owner, "notify:few", per_minute=20)  # holds 2 tokens
    stats = await dispatcher(world, notify, limit=limit).run_once()
    assert (stats.sent, stats.deferred) == (2, 3)
    waiting = [r for r in (await rows(world)).values() if r.status == "pending"]
    assert {r.attempts for r in waiting} == {0}
    assert all(r.next_attempt_at > datetime.now(UTC) for r in waiting)
    assert len(fake.received) == 2


async def test_quiet_hours_hold_texts_too(
    world: World, fake: FakeNotify, notify: NotifyTransport
) -> None:
    await world.org("org-q")
    vid = await world.volunteer("t-sleeper", org="org-q")
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE volunteers SET quiet_hours_start = (now() AT TIME ZONE time_zone"
                " - interval '1 h')::time, quiet_hours_end = (now() AT TIME ZONE time_zone"
                " + interval '1 h')::time"
            )
        )
        await conn.execute(
            insert(contact_channels).values(
                user_id=vid,
                channel="sms",
                address="+447700900009",
                position=0,
                verified_at=datetime.now(UTC),
            )
        )
    await offer(world, vid)
    await offer(world, vid, urgent=True)
    stats = await dispatcher(world, notify).run_once()
    assert (stats.sent, stats.deferred) == (1, 1)
    assert len(fake.received) == 1


def test_without_notify_settings_texts_go_to_the_log() -> None:
    assert isinstance(texts_for(Settings()), LogTexts)
    configured = Settings(notify_api_key=fake_notify.API_KEY, notify_templates=fake_notify.SETTINGS)
    transport = texts_for(configured)
    assert isinstance(transport, NotifyTransport)
    assert transport.templates["sms.offer.created.en"] == fake_notify.OFFER_TEMPLATE
