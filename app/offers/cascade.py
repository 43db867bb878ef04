"""The offer cascade, one need at a time, driven by rows.

A need's `next_step_at` says when its cascade must look at it again: now (just posted, a
volunteer withdrew, the need filled or was cancelled) or when its earliest offer expires. A
step expires overdue offers, withdraws the open offers of a need that no longer wants
volunteers, and otherwise sends the next wave or escalates to people. The caseworker's
transaction runs the first step of a new need; the worker runs every later one. Nothing
lives in memory, so a restarted worker simply carries on.

Locks are taken need first, then offers, on every path (accept, decline, step): no deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.assignments import slots
from app.db.tables import assignments, needs, offers
from app.db.tenancy import Tx
from app.needs.status import NeedStatus, transition
from app.offers import facts
from geo import candidates
from matching import cascade, eligibility, scoring
from matching.model import (
    ACTIVE_ASSIGNMENT,
    SERVED,
    AssignmentStatus,
    CascadeState,
    Escalation,
    OfferSource,
    OfferStatus,
    Ranked,
    WaveDecision,
)
from notifications.outbox import Kind, Message, coordinators, enqueue

log = structlog.get_logger(__name__)

LEAD = timedelta(days=14)  # offers for a need go out at most this long before it starts
POOL = 4  # candidates fetched per offer to be made: room for fairness to beat nearness
MAX_POOL = 200
OPEN = (NeedStatus.OPEN, NeedStatus.PARTIALLY_FILLED)


def first_step_at(windows_start: datetime, now: datetime) -> datetime:
    return max(now, windows_start - LEAD)


def explanation(ranked: Ranked) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(part) for part in ranked.parts]


async def _close_offers(
    conn: AsyncConnection, row: Any, status: OfferStatus, where: Any, now: datetime
) -> list[Message]:
    closed = await conn.execute(
        update(offers)
        .where(offers.c.need_id == row.id, offers.c.status == OfferStatus.PENDING, where)
        .values(status=status, responded_at=now)
        .returning(offers.c.id, offers.c.volunteer_id)
    )
    kind = Kind.OFFER_EXPIRED if status is OfferStatus.EXPIRED else Kind.OFFER_WITHDRAWN
    return [
        Message(
            o.volunteer_id,
            kind,
            {"offer_id": str(o.id), "need_id": str(row.id)},
            org_id=row.org_id,
            collapse_key=f"offer:{o.id}",
        )
        for o in closed
    ]


async def _end_assignments(
    conn: AsyncConnection, row: Any, status: NeedStatus, now: datetime
) -> list[Message]:
    ended = await conn.execute(
        update(assignments)
        .where(assignments.c.need_id == row.id, assignments.c.status.in_(ACTIVE_ASSIGNMENT))
        .values(
            status=AssignmentStatus.CANCELLED,
            ended_at=now,
            end_reason=f"need {status}",
            updated_at=now,
        )
        .returning(assignments.c.id, assignments.c.volunteer_id)
    )
    return [
        Message(
            a.volunteer_id,
            Kind.ASSIGNMENT_CANCELLED,
            {"assignment_id": str(a.id), "need_id": str(row.id)},
            org_id=row.org_id,
        )
        for a in ended
    ]


async def _last_volunteer(conn: AsyncConnection, client_id: UUID) -> UUID | None:
    """Who last helped this client: "same as last time" continuity."""
    stmt = (
        select(assignments.c.volunteer_id)
        .select_from(assignments.join(needs, needs.c.id == assignments.c.need_id))
        .where(
            needs.c.client_id == client_id,
            assignments.c.status.in_(SERVED),
        )
        .order_by(assignments.c.accepted_at.desc())
        .limit(1)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def rank(conn: AsyncConnection, row: Any, limit: int) -> list[Ranked]:
    """The need's eligible volunteers, ranked and explained; the one asked for by name (or
    last time's) is looked up too, as they may live beyond the nearest few."""
    wanted = row.continuity_volunteer_id
    if wanted is None and row.continuity_same_as_last and row.client_id is not None:
        wanted = await _last_volunteer(conn, row.client_id)
    query = facts.query_of(row)
    pool = await candidates.eligible(conn, query, limit)
    if wanted is not None and all(c.volunteer_id != wanted for c in pool):
        pool += await candidates.named(conn, query, [wanted])
    return scoring.rank(facts.need_of(row, wanted), pool, facts.policy_of(row))


async def make_offers(
    conn: AsyncConnection,
    row: Any,
    chosen: Sequence[Ranked],
    now: datetime,
    *,
    source: OfferSource,
    created_by: UUID | None = None,
    series: bool = False,
) -> list[Message]:
    """Offer rows for `chosen`, counted as the need's next wave, with their messages."""
    if not chosen:
        return []
    expires = facts.offer_expiry(row, now)
    wave = row.waves_sent + 1
    made = await conn.execute(
        insert(offers).returning(offers.c.id, offers.c.volunteer_id),
        [
            {
                "org_id": row.org_id,
                "need_id": row.id,
                "volunteer_id": r.volunteer_id,
                "series_id": row.series_id if series else None,
                "wave": wave,
                "source": source,
                "score": r.score,
                "explanation": explanation(r),
                "expires_at": expires,
                "created_by": created_by,
            }
            for r in chosen
        ],
    )
    await conn.execute(
        update(needs)
        .where(needs.c.id == row.id)
        .values(
            waves_sent=wave,
            first_offer_at=func.coalesce(needs.c.first_offer_at, now),
            next_step_at=expires,
            escalated_at=None,
            escalation_reason=None,
        )
    )
    urgent = facts.is_urgent(row)
    return [
        Message(
            o.volunteer_id,
            Kind.OFFER_CREATED,
            {
                "offer_id": str(o.id),
                "need_id": str(row.id),
                "expires_at": expires.isoformat(),
                "series": series,
            },
            org_id=row.org_id,
            collapse_key=f"offer:{o.id}",
            urgent=urgent,
            expires_at=expires,
        )
        for o in made
    ]


async def _escalate(
    conn: AsyncConnection, row: Any, reason: Escalation, now: datetime
) -> list[Message]:
    await conn.execute(
        update(needs)
        .where(needs.c.id == row.id)
        .values(escalated_at=now, escalation_reason=reason.value, next_step_at=None)
    )
    people = dict.fromkeys([row.created_by, *await coordinators(conn, row.org_id)])
    payload = {"need_id": str(row.id), "reason": reason.value}
    return [
        Message(
            user, Kind.NEED_ESCALATED, payload, org_id=row.org_id, collapse_key=f"need:{row.id}"
        )
        for user in people
        if user is not None
    ]


async def _series_offer(conn: AsyncConnection, series_id: UUID) -> Any:
    stmt = select(offers.c.status, offers.c.expires_at, offers.c.volunteer_id).where(
        offers.c.series_id == series_id, offers.c.source == "series"
    )
    return (await conn.execute(stmt)).one_or_none()


async def _series_volunteer_takes(
    conn: AsyncConnection, row: Any, volunteer_id: UUID, now: datetime
) -> list[Message]:
    """The volunteer who accepted a whole series takes this occurrence too, if they still
    can (not at a cap, no clash, vetting still valid); otherwise it cascades as usual."""
    found = await candidates.named(conn, facts.query_of(row), [volunteer_id])
    if not found or not eligibility.check(facts.need_of(row), found[0]).eligible:
        return []
    assignment = await slots.take(conn, row, volunteer_id, None, now)
    await _reschedule(conn, row.id, now)  # then withdraw or wave for what is left
    payload = {"need_id": str(row.id), "assignment_id": str(assignment.id)}
    staff = [row.created_by] if row.created_by is not None else []
    return [
        Message(volunteer_id, Kind.ASSIGNMENT_CONFIRMED, payload, org_id=row.org_id),
        *(Message(u, Kind.NEED_CLAIMED, payload, org_id=row.org_id) for u in staff),
    ]


async def _wave(conn: AsyncConnection, row: Any, now: datetime) -> list[Message]:
    open_slots = row.slots - row.filled
    if row.series_id is not None and row.waves_sent == 0:
        # A recurring need is first offered whole to one volunteer (continuity); the other
        # occurrences wait for the answer, then cascade one by one.
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": str(row.series_id)}
        )
        offer = await _series_offer(conn, row.series_id)
        if offer is not None and offer.status == OfferStatus.PENDING:
            await _reschedule(conn, row.id, offer.expires_at)
            return []
        if offer is not None and offer.status == OfferStatus.ACCEPTED:
            taken = await _series_volunteer_takes(conn, row, offer.volunteer_id, now)
            if taken:
                return taken
        if offer is None:
            ranked = await rank(conn, row, MAX_POOL // 4)
            best = cascade.series_first(ranked)
            chosen = [r for r in ranked if r.volunteer_id == best]
            if chosen:
                return await make_offers(
                    conn, row, chosen, now, source=OfferSource.SERIES, series=True
                )
    policy = facts.policy_of(row)
    ranked = await rank(conn, row, min(MAX_POOL, policy.wave_size * open_slots * POOL))
    sent = await conn.scalar(select(func.count()).where(offers.c.need_id == row.id))
    state = CascadeState(open_slots, row.waves_sent, sent or 0, pending_offers=0)
    expires = facts.offer_expiry(row, now)
    asleep = {} if facts.is_urgent(row) else await facts.asleep(conn, ranked, now, expires)
    if ranked and len(asleep) == len(ranked) and len(ranked) < MAX_POOL:
        # the nearest all sleep: look further for someone awake before waiting
        ranked = await rank(conn, row, MAX_POOL)
        asleep = await facts.asleep(conn, ranked, now, expires)
    decision: WaveDecision = cascade.next_wave(
        state, ranked, policy, asleep, starts_at=facts.latest_start(row)
    )
    if decision.offer_to:
        by_id = {r.volunteer_id: r for r in ranked}
        chosen = [by_id[v] for v in decision.offer_to]
        return await make_offers(conn, row, chosen, now, source=OfferSource.CASCADE)
    if decision.escalate is not None:
        return await _escalate(conn, row, decision.escalate, now)
    await _reschedule(conn, row.id, decision.wait_until)
    return []


async def wave_now(
    conn: AsyncConnection, reader: AsyncConnection, row: Any, now: datetime
) -> list[Message]:
    """A caseworker's "next wave now": the best not yet offered, whatever the policy's wave
    and alert limits (a person decided), and whatever the dispatch mode. Clears escalation.
    Candidates are read on `reader`, offers written on `conn`."""
    policy = facts.policy_of(row)
    want = policy.wave_size * (row.slots - row.filled)
    ranked = await rank(reader, row, min(MAX_POOL, want * POOL))
    return await make_offers(conn, row, ranked[:want], now, source=OfferSource.MANUAL)


async def _reschedule(conn: AsyncConnection, need_id: UUID, at: datetime | None) -> None:
    await conn.execute(update(needs).where(needs.c.id == need_id).values(next_step_at=at))


async def step(
    conn: AsyncConnection, need_id: UUID, now: datetime | None = None, *, skip_locked: bool = False
) -> int:
    """Move one need's cascade on; returns how many messages it enqueued."""
    now = now or datetime.now(UTC)
    row = await facts.load(conn, need_id, lock=True, skip_locked=skip_locked)
    if row is None:
        return 0
    messages = await _close_offers(conn, row, OfferStatus.EXPIRED, offers.c.expires_at <= now, now)
    status = NeedStatus(row.status)
    if status is NeedStatus.OPEN and facts.ends_at(row) <= now:
        status = transition(status, NeedStatus.EXPIRED)  # nobody came, and its time is past
        await conn.execute(
            update(needs)
            .where(needs.c.id == row.id)
            .values(status=status.value, status_changed_at=now)
        )
    if status not in OPEN or facts.ends_at(row) <= now:
        messages += await _close_offers(
            conn, row, OfferStatus.WITHDRAWN, offers.c.status == OfferStatus.PENDING, now
        )
        if status in (NeedStatus.CANCELLED, NeedStatus.EXPIRED):
            messages += await _end_assignments(conn, row, status, now)
        await _reschedule(conn, row.id, None)
        return await enqueue(conn, messages)
    pending = (
        await conn.execute(
            select(func.min(offers.c.expires_at)).where(
                offers.c.need_id == row.id, offers.c.status == OfferStatus.PENDING
            )
        )
    ).scalar_one()
    if pending is not None:
        await _reschedule(conn, row.id, pending)
    elif row.dispatch != "auto" or row.escalated_at is not None:
        await _reschedule(conn, row.id, None)  # people decide: the caseworker offers again
    elif facts.starts_at(row) - LEAD > now:
        await _reschedule(conn, row.id, facts.starts_at(row) - LEAD)
    else:
        messages += await _wave(conn, row, now)
    return await enqueue(conn, messages)


async def soon(tx: Tx, need_ids: Sequence[UUID]) -> bool:
    """Step these needs (just posted, changed or cancelled): right after the caller's commit
    on the system login, as the worker would, or now in the caller's transaction when the
    app has no system login. Whether they ran now. Either way the rows stay due until a
    step succeeds, so a crash in between loses nothing."""
    if not need_ids:
        return False
    if tx.system is None:
        for need_id in need_ids:
            await step(tx.conn, need_id)
        return True
    system = tx.system

    async def run() -> None:
        for need_id in need_ids:
            async with system.begin() as conn:
                await step(conn, need_id, skip_locked=True)

    tx.after_commit.append(run)
    return False


DUE = (
    select(needs.c.id)
    .where(needs.c.next_step_at <= func.now())
    .order_by(needs.c.next_step_at)
    .limit(100)
)
RETRY = timedelta(minutes=1)


async def run_due(engine: AsyncEngine) -> int:
    """The worker's job: step every need whose step is due, one transaction each, skipping
    needs another worker (or a volunteer's accept) holds. A step that fails is retried a
    minute later rather than in a hot loop."""
    seen: set[UUID] = set()
    while True:
        async with engine.connect() as conn:
            due = [t for t in (await conn.execute(DUE)).scalars() if t not in seen]
        if not due:
            return len(seen)
        for need_id in due:
            seen.add(need_id)
            try:
                async with engine.begin() as conn:
                    await step(conn, need_id, skip_locked=True)
            except Exception:
                log.exception("cascade step failed", need_id=str(need_id))
                async with engine.begin() as conn:
                    later = datetime.now(UTC) + RETRY
                    await _reschedule(conn, need_id, later)
