"""The one clock every decision reads (docs/decisions.md, "One clock").

Production reads wall time; the simulated week (`codeliver simulate`) advances a
`VirtualClock`. Each engine has its clock (`register_clock`, like the system login in
`app.db.tenancy`): a transaction takes its instant once, as `Tx.now`, and worker jobs ask
`clock_of(engine)`. A deciding SQL statement receives that instant as a bind parameter and
never reads `now()` / `CURRENT_TIMESTAMP` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncEngine


class Clock(Protocol):
    def now(self) -> datetime: ...


class WallClock:
    """Real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class VirtualClock:
    """Time that moves only when told to (the simulation, tests)."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("a clock does not go back")
        self.current += by
        return self.current

    def set(self, to: datetime) -> datetime:
        if to < self.current:
            raise ValueError("a clock does not go back")
        self.current = to
        return self.current


WALL = WallClock()
_CLOCKS: WeakKeyDictionary[AsyncEngine, Clock] = WeakKeyDictionary()


def register_clock(engine: AsyncEngine, clock: Clock) -> None:
    """`engine`'s transactions and jobs read `clock` from now on (wall time by default)."""
    _CLOCKS[engine] = clock


def clock_of(engine: AsyncEngine) -> Clock:
    return _CLOCKS.get(engine, WALL)
