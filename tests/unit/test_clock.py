"""The one clock (app/clock.py): wall time by default, a virtual clock per engine on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.clock import WALL, VirtualClock, clock_of, register_clock

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def test_a_virtual_clock_moves_only_forward_and_only_when_told() -> None:
    clock = VirtualClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(timedelta(minutes=15)) == START + timedelta(minutes=15)
    assert clock.set(START + timedelta(hours=1)) == clock.now() == START + timedelta(hours=1)
    with pytest.raises(ValueError, match="does not go back"):
        clock.set(START)
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(timedelta(seconds=-1))


def test_each_engine_reads_its_own_clock_and_wall_time_by_default() -> None:
    simulated = create_async_engine("postgresql+asyncpg://sim@127.0.0.1:1/sim")
    production = create_async_engine("postgresql+asyncpg://app@127.0.0.1:1/app")
    clock = VirtualClock(START)
    register_clock(simulated, clock)
    assert clock_of(simulated) is clock
    assert clock_of(production) is WALL
    before = datetime.now(UTC)
    assert before <= clock_of(production).now() <= datetime.now(UTC)
