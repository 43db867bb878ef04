"""Use cases for batch plans: propose the optimal assignment for a programme's period, read
it back, and commit it into offers (once)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import any_, cast, insert, literal, select, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from app import audit
from app.db.tables import assignments, needs, offers, plans, programmes
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.principal import MANAGERS, STAFF
from app.needs import cascade, facts
from app.plans import proposal
from app.plans.schemas import Choice, CommitOut, Plan, PlanIn, Totals
from app.wire import check_instant
from matching import batch
from matching.model import OfferSource, Ranked, ScorePart
from matching.status import WANTING
from notifications.outbox import Message, enqueue

MAX_PERIOD = timedelta(days=31)


def _period(data: PlanIn) -> None:
    check_instant(data.from_, "from")
    check_instant(data.to, "to")
    if data.to <= data.from_:
        raise InvalidInput.field("to", "must be after from")
    if data.to - data.from_ > MAX_PERIOD:
        raise InvalidInput.field("to", f"the period may span at most {MAX_PERIOD.days} days")


def _plan_out(row: Any) -> Plan:
    return Plan(
        id=row.id,
        org_id=row.org_id,
        programme_id=row.programme_id,
        from_=row.period_start,
        to=row.period_end,
        status=row.status,
        choices=msgspec.convert(row.choices, list[Choice]),
        totals=msgspec.convert(row.totals, Totals),
        created_by=row.created_by,
        created_at=row.created_at,
        committed_at=row.committed_at,
    )


async def propose(tx: Tx, data: PlanIn) -> Plan:
    """The plan filling the most open slots of the period, then at the least total cost."""
    _period(data)
    programme = (
        await tx.conn.execute(
            select(programmes.c.id, programmes.c.org_id).where(programmes.c.id == data.programme_id)
        )
    ).one_or_none()
    if programme is None:
        raise NotFound("Programme not found")
    tx.principal.require_role(programme.org_id, *MANAGERS)
    needs = await proposal.needs_of(tx.conn, programme.id, data.from_, data.to)
    async with tx.reads() as reader:  # authorised above: the programme is the caller's
        inst = await proposal.gather(reader, needs, tx.now)
    t0 = time.perf_counter()
    plan = batch.solve(inst.slots, inst.capacity, inst.edges)
    t1 = time.perf_counter()
    greedy = batch.greedy(inst.slots, inst.capacity, inst.edges)
    t2 = time.perf_counter()
    choices = proposal.choices_of(inst, plan)
    totals = proposal.totals_of(inst, plan, greedy, (t1 - t0) * 1000, (t2 - t1) * 1000)
    row = (
        await tx.conn.execute(
            insert(plans)
            .values(
                org_id=programme.org_id,
                programme_id=programme.id,
                period_start=data.from_,
                period_end=data.to,
                choices=msgspec.to_builtins(choices),
                totals=msgspec.to_builtins(totals),
                created_by=tx.principal.user_id,
            )
            .returning(*plans.c)
        )
    ).one()
    await audit.record(
        tx,
        "plan.proposed",
        "plan",
        row.id,
        org_id=programme.org_id,
        details={"needs": totals.needs, "filled": totals.filled_slots, "cost": totals.total_cost},
    )
    return _plan_out(row)


async def _load(tx: Tx, plan_id: UUID, *roles: Any) -> Any:
    row = (await tx.conn.execute(select(plans).where(plans.c.id == plan_id))).one_or_none()
    if row is None:
        raise NotFound("Plan not found")
    tx.principal.require_role(row.org_id, *roles)
    return row


async def get(tx: Tx, plan_id: UUID) -> Plan:
    return _plan_out(await _load(tx, plan_id, *STAFF))


def _ids(values: list[UUID]) -> Any:
    return any_(cast(literal(values, ARRAY(PgUUID(as_uuid=True))), ARRAY(PgUUID(as_uuid=True))))


async def _locked_needs(tx: Tx, need_ids: list[UUID]) -> dict[UUID, Any]:
    """The plan's needs, locked in id order (need first, then offers: as every path does)."""
    stmt = (
        facts.NEEDS.add_columns(proposal.PENDING.label("pending"))
        .where(needs.c.id == _ids(need_ids))
        .order_by(needs.c.id)
        .with_for_update(of=needs)
    )
    return {row.id: row for row in await tx.conn.execute(stmt)}


async def _taken_pairs(tx: Tx, need_ids: list[UUID]) -> set[tuple[UUID, UUID]]:
    """(need, volunteer) pairs already offered or assigned: never offered again."""
    stmt = union_all(
        select(offers.c.need_id, offers.c.volunteer_id).where(offers.c.need_id == _ids(need_ids)),
        select(assignments.c.need_id, assignments.c.volunteer_id).where(
            assignments.c.need_id == _ids(need_ids)
        ),
    )
    return {(r.need_id, r.volunteer_id) for r in await tx.conn.execute(stmt)}


def _ranked(c: Choice) -> Ranked:
    return Ranked(
        volunteer_id=c.volunteer_id,
        score=c.score,
        travel_minutes=c.travel_minutes,
        distance_m=None if c.distance_km is None else c.distance_km * 1000,
        parts=tuple(ScorePart(e.factor, e.value, e.points, e.note) for e in c.explanation),
    )


async def commit(tx: Tx, plan_id: UUID) -> CommitOut:
    """Offers for the plan's choices still valid; the plan is committed exactly once."""
    now = tx.now
    row = await _load(tx, plan_id, *MANAGERS)
    done = await tx.conn.execute(
        update(plans)
        .where(plans.c.id == plan_id, plans.c.status == "proposed")
        .values(status="committed", committed_at=now)
        .returning(plans.c.id)
    )
    if done.one_or_none() is None:  # a concurrent commit waits on the row lock, then lands here
        raise Conflict("this plan was already committed")
    by_need: dict[UUID, list[Choice]] = defaultdict(list)
    for c in msgspec.convert(row.choices, list[Choice]):
        by_need[c.need_id].append(c)
    need_ids = sorted(by_need)
    needs = await _locked_needs(tx, need_ids)
    taken = await _taken_pairs(tx, need_ids)
    skipped: Counter[str] = Counter()
    messages: list[Message] = []
    for need_id in need_ids:
        need = needs.get(need_id)
        if need is None or need.status not in WANTING:
            skipped["need_closed"] += len(by_need[need_id])
            continue
        fresh = [c for c in by_need[need_id] if (need_id, c.volunteer_id) not in taken]
        skipped["already_offered"] += len(by_need[need_id]) - len(fresh)
        room = proposal.open_slots(need)
        skipped["no_room"] += max(0, len(fresh) - room)
        chosen = [_ranked(c) for c in fresh[:room]]
        messages += await cascade.make_offers(
            tx.conn, need, chosen, now, source=OfferSource.PLAN, created_by=tx.principal.user_id
        )
    await enqueue(tx.conn, messages, now=tx.now)
    out = CommitOut(
        plan_id=plan_id,
        offered=len(messages),
        skipped=sum(skipped.values()),
        reasons={k: v for k, v in sorted(skipped.items()) if v},
    )
    await audit.record(
        tx,
        "plan.committed",
        "plan",
        plan_id,
        org_id=row.org_id,
        details={"offered": out.offered, "skipped": out.skipped, "reasons": out.reasons},
    )
    return out
