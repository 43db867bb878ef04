"""Open calls: needs shown in volunteers' feeds (coarse cells only), first come first served;
and the release of stale claims, so a slot nobody starts goes back to the cascade."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import audit
from app.assignments.schemas import Assignment, to_assignment
from app.clock import clock_of
from app.db.tables import assignments
from app.db.tenancy import Tx
from app.errors import CodeliverError, Conflict, NotEligible, NotFound, SlotTaken
from app.needs import facts, slots
from app.needs.schemas import NeedSummary
from app.needs.slots import one_at_a_time
from app.needs.summary import need_summary
from geo import candidates
from geo.sites import open_calls_near
from matching import eligibility
from matching.eligibility import ON_CLAIM
from matching.model import AssignmentStatus, Candidate
from matching.vetting import DbsLevel, satisfies
from notifications.outbox import Kind, Message, enqueue

OK_LEVELS = {
    required.value: [held.value for held in DbsLevel if satisfies(held, required)]
    for required in DbsLevel
}


# The feed reads this many times `limit` open calls near the place (the cheap rules applied
# in SQL), then keeps those the volunteer could claim now, in order, up to `limit`.
FEED_SCAN = 2


async def feed(tx: Tx, lat: float, lon: float, radius_km: float, limit: int) -> list[NeedSummary]:
    """Open calls near (lat, lon) that the caller could claim now: the claim's own rules
    (`claim_refusal`), so a listed need refuses a claim only if taken meanwhile. Three
    statements a visit, whatever the page: the nearby ids, their rows, the caller's facts
    for each."""
    ids = await open_calls_near(
        tx.conn,
        tx.principal.user_id,
        lat,
        lon,
        radius_km * 1000,
        OK_LEVELS,
        limit * FEED_SCAN,
        tx.now,
    )
    rows = [row for row in await facts.load_many(tx.conn, ids) if slots.has_room(row)]
    mine = await candidates.named_many(
        tx.conn, [facts.query_of(row, tx.now) for row in rows], [tx.principal.user_id]
    )
    return [need_summary(row, row.id) for row in rows if _refusal(row, mine[row.id]) is None][
        :limit
    ]


async def claim_refusal(tx: Tx, row: facts.NeedRow) -> CodeliverError | None:
    """Why the caller may not claim the open call `row` now (every rule an offer applies,
    matching.eligibility.ON_CLAIM), or None."""
    me = await candidates.named(tx.conn, facts.query_of(row, tx.now), [tx.principal.user_id])
    return _refusal(row, me)


def _refusal(row: facts.NeedRow, me: list[Candidate]) -> CodeliverError | None:
    """The claim's refusal from the caller's facts for the need (none: not a member)."""
    if me and me[0].assigned_before:
        return Conflict("you have already claimed this need")
    refusal = eligibility.refusal(facts.need_of(row), me[0] if me else None, ON_CLAIM)
    return NotEligible(refusal) if refusal else None


async def claim(tx: Tx, need_id: UUID) -> Assignment:
    """Take a slot of an open call, if the volunteer could have been offered it."""
    now = tx.now
    await one_at_a_time(tx)
    row = await facts.load(tx.conn, need_id)
    if row is None or row.dispatch != "open_call":
        raise NotFound("No open call with this id")
    if not slots.has_room(row):  # answered before queueing for the need's lock
        raise SlotTaken(f"all {row.slots} slots of this need are taken")
    if refused := await claim_refusal(tx, row):
        raise refused
    row = await facts.load(tx.conn, need_id, lock=True)
    if row is None:  # filled meanwhile: no longer open to the caller
        raise SlotTaken("all slots of this need are taken")
    assignment = await slots.take(tx.conn, row, tx.principal.user_id, None, now)
    payload = {"need_id": str(row.id), "assignment_id": str(assignment.id)}
    await enqueue(
        tx.conn,
        [
            Message(tx.principal.user_id, Kind.ASSIGNMENT_CONFIRMED, payload, org_id=row.org_id),
            *(
                [Message(row.created_by, Kind.NEED_CLAIMED, payload, org_id=row.org_id)]
                if row.created_by
                else []
            ),
        ],
        now=now,
    )
    await audit.record(tx, "need.claimed", "need", row.id, org_id=row.org_id)
    return to_assignment(assignment, need_summary(row, row.id))


# Accepted but never started: the policy's stale-claim timeout after the later of the
# acceptance and the need's last possible start (its windows are alternatives: a volunteer
# may come in the last one).
_STALE = text("""
SELECT a.id, a.need_id FROM assignments a
  JOIN needs t ON t.id = a.need_id JOIN programmes p ON p.id = t.programme_id
 WHERE a.status = 'accepted'
   AND greatest(a.accepted_at, (SELECT max(lower(w)) FROM unnest(t.windows) AS w))
       + make_interval(secs => p.stale_claim_timeout_s) < :now
 ORDER BY a.accepted_at LIMIT 100
""")


async def _release(engine: AsyncEngine, stale: Any, now: datetime) -> bool:
    async with engine.begin() as conn:
        need = await facts.load(conn, stale.need_id, lock=True, skip_locked=True)
        if need is None:
            return False
        released = (
            await conn.execute(
                update(assignments)
                .where(
                    assignments.c.id == stale.id, assignments.c.status == AssignmentStatus.ACCEPTED
                )
                .values(
                    status=AssignmentStatus.RELEASED,
                    ended_at=now,
                    end_reason="not started within the stale-claim timeout",
                    updated_at=now,
                )
                .returning(assignments.c.volunteer_id, assignments.c.org_id)
            )
        ).one_or_none()
        if released is None:
            return False
        await slots.give_back(conn, need, now)
        payload = {
            "need_id": str(need.id),
            "assignment_id": str(stale.id),
            "why": AssignmentStatus.RELEASED,
        }
        messages = [
            Message(released.volunteer_id, Kind.ASSIGNMENT_RELEASED, payload, org_id=need.org_id)
        ]
        if need.created_by is not None:
            messages.append(
                Message(need.created_by, Kind.NEED_VOLUNTEER_LEFT, payload, org_id=need.org_id)
            )
        await enqueue(conn, messages, now=now)
        return True


async def release_stale(engine: AsyncEngine) -> int:
    """Worker job: release stale claims; the cascade then offers their slots again."""
    now = clock_of(engine).now()
    async with engine.connect() as conn:
        stale = (await conn.execute(_STALE, {"now": now})).all()
    return sum([await _release(engine, s, now) for s in stale])
