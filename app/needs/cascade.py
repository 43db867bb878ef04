"""The offer cascade, one need at a time, driven by rows: load what a step must know, let
`matching.cascade.decide` decide, and apply its actions in the caller's transaction.

A need's `next_step_at` says when its cascade must look at it again: now (just posted, a
volunteer withdrew, the need filled or was cancelled) or when its earliest offer expires.
The caseworker's transaction runs the first step of a new need; the worker runs every later
one. Nothing lives in memory, so a restarted worker simply carries on.

Locks are taken need first, then offers, on every path (accept, decline, step): no deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, assert_never
from uuid import UUID

import msgspec
import structlog
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import clock_of
from app.db.tables import assignments, needs, offers
from app.db.tenancy import Tx
from app.needs import facts, slots
from app.needs.facts import NeedRow, rank
from geo import candidates
from matching import cascade
from matching import steps as s
from matching.cascade import POOL
from matching.model import (
    ACTIVE_ASSIGNMENT,
    AssignmentStatus,
    Escalation,
    OfferSource,
    OfferStatus,
    Ranked,
)
from notifications.outbox import Kind, Message, coordinators, enqueue

__all__ = ["POOL", "explanation", "make_offers", "rank", "run_due", "soon", "step", "wave_now"]

log = structlog.get_logger(__name__)


def explanation(ranked: Ranked) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(part) for part in ranked.parts]


async def _close_offers(
    conn: AsyncConnection, row: NeedRow, status: OfferStatus, ids: Sequence[UUID], now: datetime
) -> list[Message]:
    closed = await conn.execute(
        update(offers)
        .where(
            offers.c.need_id == row.id,
            offers.c.id.in_(ids),
            offers.c.status == OfferStatus.PENDING,
        )
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
    conn: AsyncConnection, row: NeedRow, why: str, now: datetime
) -> list[Message]:
    ended = await conn.execute(
        update(assignments)
        .where(assignments.c.need_id == row.id, assignments.c.status.in_(ACTIVE_ASSIGNMENT))
        .values(status=AssignmentStatus.CANCELLED, ended_at=now, end_reason=why, updated_at=now)
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


async def make_offers(
    conn: AsyncConnection,
    row: NeedRow,
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
                "created_at": now,  # counted by its age (fairness, metrics)
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
    # the need's page follows it live (app/console/live.py)
    seen = {"need_id": str(row.id), "wave": wave, "offered": len(chosen)}
    staff = [row.created_by] if row.created_by is not None else []
    return [Message(u, Kind.NEED_OFFERED, seen, org_id=row.org_id) for u in staff] + [
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
    conn: AsyncConnection, row: NeedRow, reason: Escalation, now: datetime
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
            user,
            Kind.NEED_ESCALATED,
            payload,
            org_id=row.org_id,
            collapse_key=f"need:{row.id}",
            urgent=facts.is_urgent(row),  # goes at once: never held for a digest
        )
        for user in people
        if user is not None
    ]


async def wave_now(
    conn: AsyncConnection, reader: AsyncConnection, row: NeedRow, now: datetime
) -> list[Message]:
    """A caseworker's "next wave now": the best not yet offered, whatever the policy's wave
    and alert limits (a person decided), and whatever the dispatch mode. Clears escalation.
    Candidates are read on `reader`, offers written on `conn`."""
    policy = facts.policy_of(row)
    want = policy.wave_size * (row.slots - row.filled)
    ranked = await rank(reader, row, cascade.pool_size(want), now)
    return await make_offers(conn, row, ranked[:want], now, source=OfferSource.MANUAL)


async def _reschedule(conn: AsyncConnection, need_id: UUID, at: datetime | None) -> None:
    await conn.execute(update(needs).where(needs.c.id == need_id).values(next_step_at=at))


async def _state(conn: AsyncConnection, row: NeedRow) -> s.NeedState:
    pending = await conn.execute(
        select(offers.c.id, offers.c.expires_at).where(
            offers.c.need_id == row.id, offers.c.status == OfferStatus.PENDING
        )
    )
    series = offers.c.series_id.is_not(None)
    sent, series_offers = (
        await conn.execute(
            select(func.count(), func.count().filter(series)).where(offers.c.need_id == row.id)
        )
    ).one()
    return s.NeedState(
        need=facts.need_of(row),
        slots=row.slots,
        status=row.status,
        dispatch=row.dispatch,
        ends_at=facts.ends_at(row),
        waves_sent=row.waves_sent,
        alerts_sent=sent,
        escalated=row.escalated_at is not None,
        series_id=row.series_id,
        pending=tuple(s.PendingOffer(o.id, o.expires_at) for o in pending),
        series_offers=series_offers,
    )


async def _learn(
    conn: AsyncConnection, row: NeedRow, asked: s.Wanted, known: s.Facts, now: datetime
) -> s.Facts:
    """Load what the decision asked for."""
    if isinstance(asked, s.Candidates):
        ranked = await rank(conn, row, asked.limit, now)
        through = asked.asleep_through
        asleep = {} if through is None else await facts.asleep(conn, ranked, now, through)
        return known.with_pool(asked, s.Pool(tuple(ranked), asleep))
    if isinstance(asked, s.SeriesOffer):
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": str(asked.series_id)}
        )
        stmt = (
            select(offers.c.status, offers.c.expires_at, offers.c.volunteer_id)
            .where(offers.c.series_id == asked.series_id, offers.c.source == OfferSource.SERIES)
            .order_by(offers.c.created_at, offers.c.id)
        )
        made = (await conn.execute(stmt)).all()
        last = made[-1] if made else None
        offer = (
            None
            if last is None
            else s.SeriesAnswer(
                OfferStatus(last.status),
                last.expires_at,
                last.volunteer_id,
                frozenset(o.volunteer_id for o in made),
            )
        )
        return known.with_series(asked, offer)
    found = await candidates.named(conn, facts.query_of(row, now), [asked.volunteer_id])
    return known.with_volunteer(asked, found[0] if found else None)


async def _take(
    conn: AsyncConnection, row: NeedRow, volunteer_id: UUID, now: datetime
) -> list[Message]:
    assignment = await slots.take(conn, row, volunteer_id, None, now)
    payload = {"need_id": str(row.id), "assignment_id": str(assignment.id)}
    staff = [row.created_by] if row.created_by is not None else []
    return [
        Message(volunteer_id, Kind.ASSIGNMENT_CONFIRMED, payload, org_id=row.org_id),
        *(Message(u, Kind.NEED_CLAIMED, payload, org_id=row.org_id) for u in staff),
    ]


async def _apply(
    conn: AsyncConnection, row: NeedRow, action: s.Action, now: datetime
) -> list[Message]:
    match action:
        case s.ExpireOffers(ids):
            return await _close_offers(conn, row, OfferStatus.EXPIRED, ids, now)
        case s.WithdrawOffers(ids):
            return await _close_offers(conn, row, OfferStatus.WITHDRAWN, ids, now)
        case s.SetStatus(status):
            values = {"status": status.value, "status_changed_at": now}
            await conn.execute(update(needs).where(needs.c.id == row.id).values(**values))
        case s.EndAssignments(why):
            return await _end_assignments(conn, row, why, now)
        case s.Offer(to, source, series):
            return await make_offers(conn, row, to, now, source=source, series=series)
        case s.TakeOccurrence(volunteer_id):
            return await _take(conn, row, volunteer_id, now)
        case s.Escalate(reason):
            return await _escalate(conn, row, reason, now)
        case s.WakeAt(at):
            await _reschedule(conn, row.id, at)
        case _:  # pragma: no cover
            assert_never(action)
    return []


async def step(
    conn: AsyncConnection, need_id: UUID, now: datetime, *, skip_locked: bool = False
) -> int:
    """Move one need's cascade on at `now`; returns how many messages it enqueued."""
    row = await facts.load(conn, need_id, lock=True, skip_locked=skip_locked)
    if row is None:
        return 0
    state, policy, known = await _state(conn, row), facts.policy_of(row), s.Facts()
    while not isinstance(decided := cascade.decide(state, now, policy, known), tuple):
        known = await _learn(conn, row, decided, known, now)
    messages: list[Message] = []
    for action in decided:
        messages += await _apply(conn, row, action, now)
    return await enqueue(conn, messages, now=now)


async def soon(tx: Tx, need_ids: Sequence[UUID]) -> bool:
    """Step these needs (just posted, changed or cancelled): right after the caller's commit
    on the system login, as the worker would, or now in the caller's transaction when the
    app has no system login. Whether they ran now. Either way the rows stay due until a
    step succeeds, so a crash in between loses nothing."""
    if not need_ids:
        return False
    if tx.system is None:
        for need_id in need_ids:
            await step(tx.conn, need_id, tx.now)
        return True
    system, now = tx.system, tx.now  # the instant of the transaction that made them due

    async def run() -> None:
        for need_id in need_ids:
            async with system.begin() as conn:
                await step(conn, need_id, now, skip_locked=True)

    tx.after_commit.append(run)
    return False


DUE = (
    select(needs.c.id)
    .where(needs.c.next_step_at <= bindparam("now"))
    .order_by(needs.c.next_step_at)
    .limit(100)
)
RETRY = timedelta(minutes=1)


async def run_due(engine: AsyncEngine) -> int:
    """The worker's job: step every need whose step is due, one transaction each, skipping
    needs another worker (or a volunteer's accept) holds. A step that fails is retried a
    minute later rather than in a hot loop."""
    seen: set[UUID] = set()
    now = clock_of(engine).now()
    while True:
        async with engine.connect() as conn:
            due = [t for t in (await conn.execute(DUE, {"now": now})).scalars() if t not in seen]
        if not due:
            return len(seen)
        for need_id in due:
            seen.add(need_id)
            try:
                async with engine.begin() as conn:
                    await step(conn, need_id, now, skip_locked=True)
            except Exception:
                log.exception("cascade step failed", need_id=str(need_id))
                async with engine.begin() as conn:
                    later = now + RETRY
                    await _reschedule(conn, need_id, later)
