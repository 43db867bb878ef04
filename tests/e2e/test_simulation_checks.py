"""The simulated week's invariant check after each step looks only where the step wrote
(`app/simulation/invariants.py: TOUCHED_BREAKS`): it still finds a violation planted in an
assignment row or in a need row, and the full check at the end finds every one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.clock import WALL, VirtualClock, register_clock
from app.db.tenancy import register_system
from app.simulation import clock_start
from app.simulation import invariants as inv
from app.simulation.build import build
from app.simulation.loop import Week
from app.simulation.policies import OPEN_CALL
from app.simulation.response import CaseworkerModel, ResponseModel
from app.simulation.world import WorldModel, generate
from tests.support import Db

pytestmark = pytest.mark.anyio


@pytest.fixture
async def week(db: Db) -> AsyncIterator[Week]:
    world = generate(replace(WorldModel(), volunteers=12, days=1, needs_per_volunteer_day=1.0), 3)
    start = clock_start(WALL.now())
    clock = VirtualClock(start)
    engine, system = create_async_engine(db.app_url), create_async_engine(db.owner_url)
    register_system(engine, system)
    register_clock(engine, clock)
    register_clock(system, clock)
    try:
        built = await build(engine, system, world, start.date())
        yield Week(
            engine, system, clock, world, built, OPEN_CALL, ResponseModel(), CaseworkerModel()
        )
    finally:
        await engine.dispose()
        await system.dispose()


_PLANT = text(
    "INSERT INTO assignments (org_id, need_id, volunteer_id, status)"
    " SELECT org_id, id, :who, 'accepted' FROM needs WHERE id = :need"
)


async def _posted(week: Week, count: int) -> list[object]:
    singles = [s for s in week.world.needs if week.world.model.kinds[s.kind].slots == 1]
    for spec in singles[:count]:
        await week.on_post(spec)
    assert len(week.tally.rows) == count
    return list(week.tally.rows)


async def _assign(week: Week, need: object, *people: object) -> None:
    """Assignments written behind the product's back (as the owner)."""
    async with week.system.begin() as conn:
        for who in people:
            await conn.execute(_PLANT, {"who": who, "need": need})


def _found(week: Week) -> set[tuple[str, object, object]]:
    """The load rules broken (the planted rows break the eligibility rules too)."""
    return {
        (v.rule, v.need_id, v.volunteer_id)
        for v in week.tally.violations
        if not v.rule.startswith("ineligible")
    }


async def test_the_check_after_a_step_finds_what_the_step_broke(week: Week) -> None:
    first, second = await _posted(week, 2)
    await week.after_step()
    assert _found(week) == set()
    alice, bob, carol = list(week.built.by_user)[:3]
    await _assign(week, first, alice, bob)  # two people in one slot: an assignment row
    await week.after_step()
    assert _found(week) == {("over_filled", first, None)}
    await _assign(week, second, carol)
    await week.after_step()
    assert len(_found(week)) == 1
    async with week.system.begin() as conn:  # a need row: a day's work, past anyone's cap
        await conn.execute(
            text("UPDATE needs SET duration_minutes = 1440 WHERE id = :id"), {"id": second}
        )
    await week.after_step()
    assert ("weekly_hours", second, carol) in _found(week)


async def test_the_check_after_a_step_skips_rows_not_written_since(week: Week) -> None:
    (need,) = await _posted(week, 1)
    alice, bob = list(week.built.by_user)[:2]
    await _assign(week, need, alice, bob)
    await week.after_step()
    async with week.system.connect() as conn:
        since = await inv.load_breaks(conn, since=week.watermark)
        everywhere = await inv.load_breaks(conn)
    assert since == []  # nothing written after the last look
    assert [(v.rule, v.need_id) for v in everywhere] == [("over_filled", need)]
