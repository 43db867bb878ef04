"""Vetting that stays current, end to end: the worker's `vetting-reminders` job reminds
volunteers by their own channels before their current check lapses (30 and 7 days before,
once each, however many workers run) and tells the organisation's coordinators once a week
how many checks lapse soon or lapsed, through the dispatcher and the official Notify client
to the fake Notify; no other organisation's checks, no pending member's, no superseded check."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.clock import VirtualClock, register_clock
from app.db.tables import contact_channels, vetting_checks
from app.volunteers import reminders
from notifications.dispatcher import Dispatcher
from tests import fake_notify
from tests.e2e.notify_support import CONSOLE, fake, sender, settings, texts_to, verified_phone
from tests.fake_notify import FakeNotify
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["fake", "sender", "settings"]
EMAIL = "coordinator@example.org"


def _last_tuesday_noon() -> datetime:
    """A Tuesday noon in the past week: the dispatcher (on the wall clock) finds what the job
    enqueued due, and the weekly summary is due whatever day the suite runs."""
    now = datetime.now(UTC)
    day = now.date() - timedelta(days=(now.weekday() - 1) % 7)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return noon if noon <= now else noon - timedelta(days=7)


@pytest.fixture
async def system(world: World) -> Any:
    engine = create_async_engine(world.db.owner_url)
    clock = VirtualClock(_last_tuesday_noon())
    register_clock(engine, clock)
    yield engine, clock
    await engine.dispose()


async def _check(
    world: World, user_id: UUID, org: str, expires: date, *, recorded: datetime | None = None
) -> None:
    async with world.owner.begin() as conn:
        await conn.execute(
            insert(vetting_checks).values(
                org_id=await world.org(org),
                user_id=user_id,
                level="enhanced",
                checked_on=expires - timedelta(days=3 * 365),
                expires_on=expires,
                id_verified=True,
                recorded_at=recorded or datetime.now(UTC),
            )
        )


async def _outbox(world: World, kind: str) -> list[Any]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text("SELECT user_id, payload FROM outbox WHERE kind = :k ORDER BY id"), {"k": kind}
        )
        return list(rows.all())


async def test_volunteers_are_reminded_before_their_check_lapses_and_coordinators_weekly(
    world: World,
    fake: FakeNotify,
    sender: Dispatcher,
    system: tuple[AsyncEngine, VirtualClock],
) -> None:
    engine, clock = system
    today = clock.now().date()
    for org in ("reading-council", "berkshire-nhs"):
        await world.org(org)
    await world.person("coord", org="reading-council", role="coordinator")
    await world.person("their-coord", org="berkshire-nhs", role="coordinator")
    soon = await world.volunteer("vol-soon", org="reading-council")
    week = await world.volunteer("vol-week", org="reading-council")
    lapsed = await world.volunteer("vol-lapsed", org="reading-council")
    later = await world.volunteer("vol-later", org="reading-council")
    old = await world.volunteer("vol-old", org="reading-council")
    pending = await world.volunteer("vol-pending", org="reading-council", status="pending")
    renewed = await world.volunteer("vol-renewed", org="reading-council")
    theirs = await world.volunteer("vol-theirs", org="berkshire-nhs")
    await _check(world, soon, "reading-council", today + timedelta(days=20))
    await _check(world, week, "reading-council", today + timedelta(days=5))
    await _check(world, lapsed, "reading-council", today - timedelta(days=3))
    await _check(world, later, "reading-council", today + timedelta(days=60))
    await _check(world, old, "reading-council", today - timedelta(days=30))
    await _check(world, pending, "reading-council", today + timedelta(days=10))
    await _check(
        world,
        renewed,
        "reading-council",
        today + timedelta(days=10),
        recorded=datetime.now(UTC) - timedelta(days=1),
    )
    await _check(world, renewed, "reading-council", today + timedelta(days=1000))
    await _check(world, theirs, "berkshire-nhs", today + timedelta(days=10))
    phone = "07700900123"
    await verified_phone(world, soon, phone)
    async with world.owner.begin() as conn:
        coordinator = await conn.scalar(text("SELECT id FROM users WHERE subject = 'coord'"))
        await conn.execute(
            insert(contact_channels).values(
                user_id=coordinator,
                channel="email",
                address=EMAIL,
                position=0,
                verified_at=datetime.now(UTC),
            )
        )

    sent = await asyncio.gather(reminders.send_due(engine), reminders.send_due(engine))
    # 3 reminders (soon, week, theirs) and a summary to each organisation's coordinator
    assert sorted(sent) == [0, 5], "two workers: each message once"
    reminded = {r.user_id: r.payload for r in await _outbox(world, "vetting.lapsing")}
    assert set(reminded) == {soon, week, theirs}
    assert reminded[soon] | {"days": 30} == reminded[soon]
    assert (
        reminded[week] | {"days": 7, "expires_on": str(today + timedelta(days=5))} == reminded[week]
    )
    summaries = await _outbox(world, "vetting.summary")
    ours = [s.payload for s in summaries if s.payload["lapsing"] == 2]
    assert len(summaries) == 2
    council = str(await world.org("reading-council"))
    assert ours == [
        {
            "kind": "vetting.summary",
            "org_id": council,
            "lapsing": 2,
            "lapsed": 1,
            "week": str(today - timedelta(days=1)),
        }
    ]
    assert await reminders.send_due(engine) == 0  # the same day: nothing again

    await sender.run_once()
    (text_sent,) = texts_to(fake, phone)
    assert text_sent["template_id"] == fake_notify.LAPSING_TEMPLATE
    expires = today + timedelta(days=20)
    assert text_sent["personalisation"] == {
        "summary": "Your DBS check needs renewing soon. Open the app for the details.",
        "expires": f"{expires.day} {expires:%b %Y}",
        "days": "30",
    }

    (summary_sent,) = texts_to(fake, EMAIL)
    assert summary_sent["template_id"] == fake_notify.VETTING_SUMMARY_TEMPLATE
    assert summary_sent["personalisation"] == {
        "summary": "This week's DBS checks: some lapse soon or have lapsed.",
        "lapsing": "2",
        "lapsed": "1",
        "link": f"{CONSOLE}/console/volunteers?org={council}&check=30",  # the roster, at them
    }

    clock.advance(timedelta(days=14))  # 6 days left for vol-soon: the 7-day reminder
    assert await reminders.send_due(engine) == 1 + 2  # and the new week's two summaries
    days = [r.payload["days"] for r in await _outbox(world, "vetting.lapsing") if r.user_id == soon]
    assert days == [30, 7]
    clock.advance(timedelta(days=1))
    assert await reminders.send_due(engine) == 0
