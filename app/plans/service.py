"""Use cases for batch plans: propose the optimal assignment for a programme's period, read
it back, and commit it into offers (once)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
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
from geo import candidates
from matching import eligibility, plan_solver
from matching.model import Candidate, OfferSource, Ranked, Reason, ScorePart
from matching.model import Plan as MatchedPlan
from matching.plan_rules import Ledger, Room, Timing
from matching.status import WANTING
from notifications.outbox import Kind, Message, enqueue

MAX_PERIOD = timedelta(days=31)
# Committing re-checks each choice's own eligibility as accept does (eligibility.ON_ACCEPT);
# the rules across a volunteer's choices are the Ledger's.


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


def _solve(
    inst: proposal.Instance, time_limit_s: float
) -> tuple[plan_solver.Solved, MatchedPlan, tuple[float, float]]:
    """The plan and greedy's, with their times in ms: seconds of CPU at 10k needs, so the
    caller runs this in a thread and the event loop goes on serving."""
    problem = (inst.slots, inst.rooms, inst.timings, inst.edges)
    t0 = time.perf_counter()
    solved = plan_solver.solve(*problem, time_limit_s=time_limit_s)
    t1 = time.perf_counter()
    greedy = plan_solver.greedy(*problem)
    return solved, greedy, ((t1 - t0) * 1000, (time.perf_counter() - t1) * 1000)


async def propose(tx: Tx, data: PlanIn, time_limit_s: float = plan_solver.TIME_LIMIT_S) -> Plan:
    """The plan filling the most open slots of the period, then at the least total cost,
    keeping every volunteer's clash, hours and cap rules; CP-SAT searches for up to
    `time_limit_s`."""
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
    solved, greedy, ms = await asyncio.to_thread(_solve, inst, time_limit_s)
    choices = proposal.choices_of(inst, solved.plan)
    solver = proposal.solver_of(solved, time_limit_s)
    totals = proposal.totals_of(inst, solved.plan, greedy, *ms, solver=solver)
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


async def _facts_now(tx: Tx, need: Any, choices: list[Choice]) -> dict[UUID, Candidate]:
    """The chosen volunteers' facts for the need as they are now: what accept reads."""
    ids = [c.volunteer_id for c in choices]
    found = await candidates.named(tx.conn, facts.query_of(need, tx.now), ids) if ids else []
    return {c.volunteer_id: c for c in found}


def _refusal(need: Any, fact: Candidate | None, ledger: Ledger[UUID], timing: Timing) -> str | None:
    """Why the volunteer may no longer be offered the need, or None (and then it counts)."""
    if fact is None:  # no longer a volunteer of the organisation
        return Reason.NOT_APPROVED.value
    broken = [
        r
        for r in eligibility.check(facts.need_of(need), fact).reasons
        if r in eligibility.ON_ACCEPT
    ]
    if broken:
        return broken[0].value
    refusal = ledger.admit(fact.volunteer_id, timing)
    return None if refusal is None else refusal.value


async def _offer_what_still_holds(
    tx: Tx,
    needs: dict[UUID, Any],
    live: dict[UUID, list[Choice]],
    now: datetime,
    skipped: Counter[str],
) -> list[Message]:
    """Offers for the choices that keep every rule now, in need order: eligibility as on
    accept, and each volunteer's clash, hours and cap rules over everything they hold and
    every offer this commit makes them (so they can accept them all). Others are skipped
    and counted by the rule they break."""
    pools = {n: await _facts_now(tx, needs[n], choices) for n, choices in live.items()}
    timings = {n: proposal.timing_of(needs[n]) for n in live}
    rooms: dict[UUID, Room] = {}
    for n, pool in pools.items():
        for fact in pool.values():
            proposal.add_room(rooms, fact, timings[n])
    ledger: Ledger[UUID] = Ledger(rooms)
    messages: list[Message] = []
    for n, choices in live.items():
        room, chosen = proposal.open_slots(needs[n]), list[Ranked]()
        for c in choices:
            why = "no_room" if len(chosen) >= room else None
            why = why or _refusal(needs[n], pools[n].get(c.volunteer_id), ledger, timings[n])
            if why is None:
                chosen.append(_ranked(c))
            else:
                skipped[why] += 1
        messages += await cascade.make_offers(
            tx.conn,
            needs[n],
            chosen,
            now,
            source=OfferSource.PLAN,
            created_by=tx.principal.user_id,
        )
    return messages


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
    live: dict[UUID, list[Choice]] = {}
    for need_id in need_ids:
        need = needs.get(need_id)
        if need is None or need.status not in WANTING:
            skipped["need_closed"] += len(by_need[need_id])
            continue
        live[need_id] = [c for c in by_need[need_id] if (need_id, c.volunteer_id) not in taken]
        skipped["already_offered"] += len(by_need[need_id]) - len(live[need_id])
    messages = await _offer_what_still_holds(tx, needs, live, now, skipped)
    await enqueue(tx.conn, messages, now=tx.now)
    out = CommitOut(
        plan_id=plan_id,
        offered=sum(m.kind is Kind.OFFER_CREATED for m in messages),
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
