"""Building a batch proposal: the period's needs, their candidates set-based, scores, the
optimal assignment and its totals. Reads only; `service` stores and commits.

Slots a plan may fill are a need's slots less those filled and less its pending offers: a
pending offer may still be accepted, so proposing someone else for that slot would invite
more people than there are places (and the cascade already owns those needs' waves).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import needs, offers
from app.errors import InvalidInput
from app.needs import cascade, facts
from app.offers.schemas import explanations
from app.plans.schemas import Choice, Totals
from geo import candidates
from matching import batch, scoring
from matching.model import Edge, OfferStatus, Plan, Ranked, Weights
from matching.status import WANTING

MAX_NEEDS = 10_000  # one coordinator's batch; beyond this, plan a shorter period
EDGES_PER_NEED = 50  # candidates fetched per need: nearest eligible first
# Up to this many needs, each candidate's history (fairness, reliability, continuity) is
# read by the per-row SECURITY DEFINER function. Measured: it adds ~5% to the fetch (the
# KNN scan under row-level security dominates), so every batch the API accepts reads it;
# the switch stays for a cheaper, explained fallback ("not read for a batch this large").
HISTORY_NEEDS = MAX_NEEDS
DISPATCHED = ("auto", "manual")  # open calls are claimed by volunteers, not planned

PENDING = (
    select(func.count())
    .where(offers.c.need_id == needs.c.id, offers.c.status == OfferStatus.PENDING)
    .scalar_subquery()
)


@dataclass(frozen=True, slots=True)
class Instance:
    """Everything the solver and the totals need, for one programme and period."""

    needs: list[Any]  # need rows (with policy and `pending`), in id order
    slots: dict[UUID, int]
    capacity: dict[UUID, int]
    edges: list[Edge]
    ranked: dict[tuple[UUID, UUID], Ranked]
    history_used: bool
    candidates_ms: float
    scoring_ms: float


async def needs_of(
    conn: AsyncConnection, programme_id: UUID, start: datetime, end: datetime
) -> list[Any]:
    """The programme's needs wanting volunteers whose windows overlap [start, end)."""
    stmt = (
        facts.NEEDS.add_columns(PENDING.label("pending"))
        .where(
            needs.c.programme_id == programme_id,
            needs.c.status.in_([s.value for s in WANTING]),
            needs.c.dispatch.in_(DISPATCHED),
            needs.c.windows.op("&&")(func.tstzrange(start, end, "[)")),
        )
        .order_by(needs.c.id)
        .limit(MAX_NEEDS + 1)
    )
    rows = list(await conn.execute(stmt))
    if len(rows) > MAX_NEEDS:
        raise InvalidInput.field(
            "to", f"more than {MAX_NEEDS} needs in this period: plan a shorter one"
        )
    return rows


def open_slots(row: Any) -> int:
    return max(0, int(row.slots - row.filled - row.pending))


async def gather(conn: AsyncConnection, needs: Sequence[Any], at: datetime) -> Instance:
    """Candidates for every need in one statement per mode, ranked per need into edges."""
    wanting = [row for row in needs if open_slots(row) > 0]
    history = len(wanting) <= HISTORY_NEEDS
    t0 = time.perf_counter()
    pools = await candidates.eligible_many(
        conn, [facts.query_of(row, at) for row in wanting], EDGES_PER_NEED, record=history
    )
    t1 = time.perf_counter()
    best = scoring.best_score(Weights())
    capacity: dict[UUID, int] = {}
    edges: list[Edge] = []
    ranked: dict[tuple[UUID, UUID], Ranked] = {}
    for row in wanting:
        pool = pools[row.id]
        for c in pool:
            capacity[c.volunteer_id] = max(0, c.max_active_assignments - c.active_assignments)
        for r in scoring.rank(facts.need_of(row), pool, facts.policy_of(row)):
            edges.append(Edge(row.id, r.volunteer_id, batch.cost_of(r.score, best)))
            ranked[(row.id, r.volunteer_id)] = r
    t2 = time.perf_counter()
    return Instance(
        needs=list(needs),
        slots={row.id: open_slots(row) for row in wanting},
        capacity=capacity,
        edges=edges,
        ranked=ranked,
        history_used=history,
        candidates_ms=(t1 - t0) * 1000,
        scoring_ms=(t2 - t1) * 1000,
    )


def _explained(r: Ranked, history: bool) -> list[dict[str, Any]]:
    parts = cascade.explanation(r)
    if not history:
        for part in parts:
            if part["factor"] in ("fairness", "reliability", "continuity"):
                part["note"] = "not read for a batch this large: " + part["note"]
    return parts


def choice(r: Ranked, need_id: UUID, cost: int, history: bool) -> Choice:
    return Choice(
        need_id=need_id,
        volunteer_id=r.volunteer_id,
        score=round(r.score, 4),
        cost=cost,
        distance_km=None if r.distance_m is None else round(r.distance_m / 1000, 3),
        travel_minutes=None if r.travel_minutes is None else round(r.travel_minutes, 1),
        explanation=explanations(_explained(r, history)),
    )


def choices_of(inst: Instance, plan: Plan) -> list[Choice]:
    cost = {(e.need_id, e.volunteer_id): e.cost for e in inst.edges}
    return [
        choice(inst.ranked[pair], pair[0], cost[pair], inst.history_used) for pair in plan.pairs
    ]


def totals_of(
    inst: Instance, plan: Plan, greedy: Plan, solve_ms: float, greedy_ms: float
) -> Totals:
    per_volunteer = Counter(v for _, v in plan.pairs)
    per_need = Counter(n for n, _ in plan.pairs)
    chosen = [inst.ranked[pair] for pair in plan.pairs]
    used = len(per_volunteer)
    return Totals(
        needs=len(inst.needs),
        open_slots=sum(inst.slots.values()),
        filled_slots=plan.filled,
        unfilled_needs=sum(1 for n, s in inst.slots.items() if per_need[n] < s),
        candidate_edges=len(inst.edges),
        candidate_volunteers=len(inst.capacity),
        total_cost=plan.total_cost,
        travel_km=round(sum(r.distance_m or 0.0 for r in chosen) / 1000, 3),
        travel_minutes=round(sum(r.travel_minutes or 0.0 for r in chosen), 1),
        volunteers_used=used,
        max_per_volunteer=max(per_volunteer.values(), default=0),
        mean_per_volunteer=round(plan.filled / used, 3) if used else 0.0,
        gini=round(batch.gini(_counts(inst.capacity, per_volunteer)), 4),
        greedy_cost=greedy.total_cost,
        greedy_filled=greedy.filled,
        history_used=inst.history_used,
        candidates_ms=round(inst.candidates_ms, 1),
        scoring_ms=round(inst.scoring_ms, 1),
        solve_ms=round(solve_ms, 1),
        greedy_ms=round(greedy_ms, 1),
    )


def _counts(volunteers: Mapping[UUID, int], per_volunteer: Counter[UUID]) -> list[int]:
    return [per_volunteer[v] for v in volunteers]
