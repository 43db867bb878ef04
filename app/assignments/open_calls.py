"""Open calls: needs shown in volunteers' feeds (coarse cells only), first come first served;
and the release of stale claims, so a slot nobody starts goes back to the cascade."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import audit
from app.assignments.schemas import Assignment, to_assignment
from app.db.tables import assignments, needs, programmes
from app.db.tenancy import Tx
from app.errors import Conflict, NotEligible, NotFound, SlotTaken
from app.needs import facts, slots
from app.needs.schemas import NeedSummary
from app.needs.slots import ON_ACCEPT, one_at_a_time
from app.needs.summary import NEED_COLUMNS, SummaryRow, need_summary
from geo import candidates
from geo.sites import open_calls_near
from matching import eligibility
from matching.model import AssignmentStatus, Reason
from matching.vetting import DbsLevel, satisfies
from notifications.outbox import Kind, Message, enqueue

OK_LEVELS = {
    required.value: [held.value for held in DbsLevel if satisfies(held, required)]
    for required in DbsLevel
}


async def feed(tx: Tx, lat: float, lon: float, radius_km: float, limit: int) -> list[NeedSummary]:
    ids = await open_calls_near(
        tx.conn, tx.principal.user_id, lat, lon, radius_km * 1000, OK_LEVELS, limit
    )
    if not ids:
        return []
    stmt = (
        select(needs.c.id, needs.c.org_id, *NEED_COLUMNS)
        .select_from(needs.join(programmes, programmes.c.id == needs.c.programme_id))
        .where(needs.c.id.in_(ids))
    )
    rows = {r.id: r for r in await tx.conn.execute(stmt)}
    return [need_summary(SummaryRow.of(rows[i]), i) for i in ids if i in rows]


async def claim(tx: Tx, need_id: UUID) -> Assignment:
    """Take a slot of an open call, if the volunteer meets it (vetting, skills, caps...)."""
    now = datetime.now(UTC)
    await one_at_a_time(tx)
    row = await facts.load(tx.conn, need_id)
    if row is None or row.dispatch != "open_call":
        raise NotFound("No open call with this id")
    if not slots.has_room(row):  # answered before queueing for the need's lock
        raise SlotTaken(f"all {row.slots} slots of this need are taken")
    me = await candidates.named(tx.conn, facts.query_of(row), [tx.principal.user_id])
    verdict = eligibility.check(facts.need_of(row), me[0]) if me else None
    reasons = verdict.reasons if verdict else (Reason.NOT_APPROVED,)
    if Reason.ALREADY_ASSIGNED in reasons:
        raise Conflict("you have already claimed this need")
    blocking = [r for r in reasons if r in ON_ACCEPT | {Reason.SKILLS, Reason.LANGUAGES}]
    if blocking:
        raise NotEligible(f"you do not meet this need: {', '.join(blocking)}")
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
       + make_interval(secs => p.stale_claim_timeout_s) < now()
 ORDER BY a.accepted_at LIMIT 100
""")


async def _release(engine: AsyncEngine, stale: Any) -> bool:
    now = datetime.now(UTC)
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
                    updated_at=func.now(),
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
        await enqueue(conn, messages)
        return True


async def release_stale(engine: AsyncEngine) -> int:
    """Worker job: release stale claims; the cascade then offers their slots again."""
    async with engine.connect() as conn:
        stale = (await conn.execute(_STALE)).all()
    return sum([await _release(engine, s) for s in stale])
