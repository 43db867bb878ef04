"""What a simulated week records as it goes: pushes captured at the virtual instant, the
events' heap entries, and the tally of postings, fills, refusals and violations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from app.clock import VirtualClock
from app.simulation import invariants as inv
from notifications.fcm import Outcome, Push, Result


class CapturingTransport:
    """The push transport of the simulation: every push recorded at the virtual instant."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[datetime, Push]] = []

    async def send(self, pushes: Sequence[Push], now: datetime) -> list[Outcome]:
        self.sent += [(self.clock.now(), p) for p in pushes]
        return [Outcome(Result.OK) for _ in pushes]

    async def close(self) -> None:
        return None


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: Any = field(compare=False)


@dataclass
class Tally:
    """What the run saw happen, at virtual instants (the database's own timestamps read
    wall time until the clock conversion lands)."""

    posted: dict[UUID, datetime] = field(default_factory=dict)
    rows: dict[UUID, inv.Occurrence] = field(default_factory=dict)
    taken: dict[UUID, list[datetime]] = field(default_factory=dict)
    violations: list[inv.Violation] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    follow_ups: dict[UUID, int] = field(default_factory=dict)  # the caseworker's waves
    # answers not given: the offer had left the volunteer's list (withdrawn or lapsed)
    unanswerable: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    _known: set[tuple[str, UUID | None, UUID | None, str]] = field(default_factory=set)

    def note(self, v: inv.Violation) -> None:
        """Each violation once, however many steps still show it."""
        key = (v.rule, v.need_id, v.volunteer_id, v.detail if v.need_id is None else "")
        if key not in self._known:
            self._known.add(key)
            self.violations.append(v)

    def gone(self, answer: str) -> None:
        self.unanswerable[answer] = self.unanswerable.get(answer, 0) + 1

    def refuse(self, what: str, exc: Exception) -> None:
        key = f"{what}: {type(exc).__name__}"
        self.refused[key] = self.refused.get(key, 0) + 1
