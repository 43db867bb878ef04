"""The demo comes alive (issue 12): on a small demo seed, the worker's cascade and the
`demo-responders` job, a few rounds on a virtual clock, fill needs through the real use
cases, so the coordinator's summary shows a fill rate above 0; assignments are completed
after their time; a second answer is harmless; a person who is not the seed's is never
answered for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.clock import VirtualClock, register_clock
from app.coverage.metrics import summary
from app.needs import cascade
from app.push import PushJob
from app.seed import seed
from app.settings import Settings
from app.simulation import responders as r
from app.simulation.demo import DemoResponders
from app.simulation.response import Answer
from tests.support import Db

pytestmark = pytest.mark.anyio

REAL = "someone-real"  # a volunteer who signed in for themselves, not the seed's


async def _rounds(
    system: AsyncEngine, clock: VirtualClock, job: DemoResponders, rounds: int
) -> int:
    answered = 0
    for _ in range(rounds):
        await cascade.run_due(system)
        clock.advance(timedelta(minutes=2))
        answered += await job(system)
    return answered


async def _scalar(system: AsyncEngine, sql: str, **params: object) -> object:
    async with system.connect() as conn:
        return await conn.scalar(text(sql), params)


async def test_the_demo_fills_needs_and_the_metrics_move(db: Db, settings: Settings) -> None:
    await seed(db.owner_url, volunteers=150, progress=False)
    system = create_async_engine(db.owner_url)
    async with system.begin() as conn:  # one of them is a real person, never answered for
        await conn.execute(
            text("UPDATE users SET subject = :real WHERE subject = 'demo-volunteer-0001'"),
            {"real": REAL},
        )
    clock = VirtualClock(datetime.now(UTC))
    register_clock(system, clock)
    job = DemoResponders(settings, app_url=db.app_url)
    try:
        assert await _rounds(system, clock, job, rounds=4) > 0
        async with system.connect() as conn:
            org_ids = list((await conn.execute(text("SELECT id FROM organisations"))).scalars())
            start = clock.now() - timedelta(days=1)
            metrics = await summary(conn, org_ids, None, start, clock.now() + timedelta(days=1))
        assert metrics.filled > 0
        assert metrics.fill_rate is not None
        assert metrics.fill_rate > 0
        assert metrics.offers > metrics.filled_slots > 0

        # Restarted or doubled: once one worker has answered all that is due (a batch a
        # run), a second at the same instant finds nothing left to answer, and answering an
        # answered offer again is refused quietly (no error).
        while await job.answer(system, clock.now()):
            await cascade.run_due(system)  # withdraws the offers of the needs just filled
        again = DemoResponders(settings, app_url=db.app_url)
        try:
            assert await again.answer(system, clock.now()) == 0
            accepted = await _scalar(system, "SELECT id FROM offers WHERE status = 'accepted'")
            assert accepted is not None
            subject = await _scalar(
                system,
                "SELECT u.subject FROM offers o JOIN users u ON u.id = o.volunteer_id"
                " WHERE o.id = :id",
                id=accepted,
            )
            twice = r.Reply(accepted, str(subject), Answer.ACCEPT)  # type: ignore[arg-type]
            assert await again._reply(twice) == 0
        finally:
            await again.close()

        # Nobody answers for the real person.
        real_answered = await _scalar(
            system,
            "SELECT count(*) FROM offers o JOIN users u ON u.id = o.volunteer_id"
            " WHERE u.subject = :real AND o.status IN ('accepted', 'declined')",
            real=REAL,
        )
        assert real_answered == 0

        # The work gets done: at the end of the first assignment's time, it is completed
        # (or a no-show), through check-in and completion as the volunteer.
        first = await _scalar(
            system,
            "SELECT min(lower(n.windows) + make_interval(mins => n.duration_minutes))"
            "  FROM assignments a JOIN needs n ON n.id = a.need_id",
        )
        assert isinstance(first, datetime)
        clock.set(first)
        done = await job.turn_up(system, clock.now())
        assert done >= 1
        ended = await _scalar(
            system, "SELECT count(*) FROM assignments WHERE status IN ('completed', 'no_show')"
        )
        assert ended == done
        unchecked = await _scalar(
            system,
            "SELECT count(*) FROM assignments WHERE status = 'completed' AND checked_in_at IS NULL",
        )
        assert unchecked == 0
    finally:
        await job.close()
        await system.dispose()


TEXTERS = "volunteer_id IN (SELECT user_id FROM contact_channels WHERE channel = 'sms')"
THEIR_OFFERS = f"SELECT count(*) FROM offers WHERE {TEXTERS}"  # noqa: S608 (constants)
THEIR_ANSWERS = f"{THEIR_OFFERS} AND status IN ('accepted', 'declined')"


async def _count(system: AsyncEngine, sql: str) -> int:
    found = await _scalar(system, sql)
    assert isinstance(found, int)
    return found


async def test_the_demos_text_only_volunteers_answer_by_text(db: Db, settings: Settings) -> None:
    """One demo volunteer in ten has no app, only a verified phone: their offers go out by
    text (the log transport, with a reply code), and they answer `YES 1234` / `NO 1234`
    through the received-text callback's use case, never before their text went out."""
    await seed(db.owner_url, volunteers=150, progress=False)
    system = create_async_engine(db.owner_url)
    assert await _count(system, "SELECT count(*) FROM contact_channels") == 15
    no_app = "SELECT count(*) FROM devices d JOIN contact_channels c USING (user_id)"
    assert await _count(system, no_app) == 0
    clock = VirtualClock(datetime.now(UTC))
    register_clock(system, clock)
    job, push = DemoResponders(settings, app_url=db.app_url), PushJob(settings)
    try:
        await cascade.run_due(system)
        assert await _count(system, THEIR_OFFERS) > 0
        # Their texts have not gone out yet: nobody answers for them, by text or app.
        for _ in range(3):
            clock.advance(timedelta(minutes=2))
            await job(system)
        assert await _count(system, THEIR_ANSWERS) == 0
        for _ in range(6):
            await push(system)  # the dispatcher: their offers go by text, with codes
            clock.advance(timedelta(minutes=2))
            await job(system)
            await cascade.run_due(system)
        answers = await _count(system, THEIR_ANSWERS)
        assert answers > 0
        # Every answer of theirs came by text: a text for each (and none by the app).
        by_text = "SELECT count(*) FROM notify_replies WHERE outcome IN ('accepted', 'declined')"
        assert await _count(system, by_text) >= answers
        sent = "SELECT count(*) FROM outbox WHERE kind = 'offer.created' AND channel = 'sms'"
        assert await _count(system, sent) > 0
        await push(system)
        told = "SELECT count(*) FROM outbox WHERE kind = 'sms.reply' AND status = 'sent'"
        texts = await _count(system, "SELECT count(*) FROM notify_replies")
        assert await _count(system, told) == texts  # each text answered with what became of it
    finally:
        await job.close()
        await push.close()
        await system.dispose()
