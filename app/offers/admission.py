"""Admission for accepts: a burst never waits on the pool's timeout, and the losers of a
filled need are answered from memory (issue 17; decision 60).

When 200 volunteers accept the same need at once, 199 of them lose. Each used to take a
pooled connection for four round trips to learn it, and under load the queue for the
pool outlasted its 5 s timeout: 503s in a race that should only ever answer 200 or 409.
Now accepts enter through a gate of `accept_slots` at a time (an asyncio semaphore,
smaller than the pool, so an accept that enters gets a connection at once and the rest of
the API keeps some). Waiting at the gate costs no connection and has its own bound
(`accept_wait_s`, then a 503 with `Retry-After`).

When an accept takes a need's last slot, the process reads the need's other pending
offers (their volunteer's identity and expiry) on the system login and keeps them for
`FILLED_TTL_S`. An accept of one of those, by its own volunteer, is then answered 409
`need-filled` at the gate, with no connection: what the database said a moment ago. After
the TTL the database is asked again (a slot a withdrawal freed is found then); an offer
expired meanwhile, or another caller, goes to the database as before, so the answers are
the database's answers, only sooner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import idempotency
from app.assignments.schemas import Assignment
from app.clock import clock_of
from app.db.tenancy import system_of
from app.errors import SlotTaken, Unavailable
from app.identity.tokens import Caller, TokenIdentity
from app.offers import service

FILLED_TTL_S = 2.0
MAX_KEPT = 50_000

# The pending offers of a need that is full: who may still tap "accept" on them.
_LOSERS = text("""
SELECT o.id, o.expires_at, u.issuer, u.subject, n.slots
  FROM needs n
  JOIN offers o ON o.need_id = n.id AND o.status = 'pending'
  JOIN users u ON u.id = o.volunteer_id
 WHERE n.id = :need_id AND n.filled >= n.slots
""")


@dataclass(frozen=True, slots=True)
class Loser:
    issuer: str
    subject: str
    expires_at: datetime
    slots: int
    until: float  # monotonic: forgotten after


class AcceptAdmission:
    def __init__(self, slots: int, wait_s: float) -> None:
        self.gate = asyncio.Semaphore(slots)
        self.wait_s = wait_s
        self.losers: dict[UUID, Loser] = {}

    @asynccontextmanager
    async def admit(
        self, offer_id: UUID, caller: TokenIdentity, now: datetime
    ) -> AsyncIterator[None]:
        """Through the gate, or a 409 from memory; a 503 if the gate stays shut too long."""
        try:
            async with asyncio.timeout(self.wait_s):
                await self.gate.acquire()
        except TimeoutError:
            raise Unavailable("Too many accepts at once; retry shortly") from None
        try:
            self.refuse_known_loser(offer_id, caller, now)
            yield
        finally:
            self.gate.release()

    def refuse_known_loser(self, offer_id: UUID, caller: TokenIdentity, now: datetime) -> None:
        loser = self.losers.get(offer_id)
        if loser is None:
            return
        if loser.until < time.monotonic():
            del self.losers[offer_id]
            return
        mine = (loser.issuer, loser.subject) == (caller.issuer, caller.subject)
        if mine and loser.expires_at > now:
            raise SlotTaken(f"all {loser.slots} slots of this need are taken")

    async def learn(self, system: AsyncEngine | None, need_id: UUID) -> int:
        """After an accept committed: if it filled the need, keep its other pending offers
        as known losers; returns how many."""
        if system is None:
            return 0
        async with system.connect() as conn:
            rows = (await conn.execute(_LOSERS, {"need_id": need_id})).all()
        until = time.monotonic() + FILLED_TTL_S
        if len(self.losers) + len(rows) > MAX_KEPT:
            self.losers = {k: v for k, v in self.losers.items() if v.until >= time.monotonic()}
        for row in rows[: max(0, MAX_KEPT - len(self.losers))]:
            self.losers[row.id] = Loser(row.issuer, row.subject, row.expires_at, row.slots, until)
        return len(rows)


async def accept(
    gate: AcceptAdmission, request: Caller, db: AsyncEngine, offer_id: UUID, key: str | None
) -> Assignment:
    """Accept an offer through the gate (once per Idempotency-Key); then, if that filled the
    need, learn its losers."""
    async with gate.admit(offer_id, request.user, clock_of(db).now()):
        assignment = await idempotency.run_once(
            request, db, key, Assignment, lambda tx: service.accept(tx, offer_id)
        )
    await gate.learn(system_of(db), assignment.need_id)
    return assignment
