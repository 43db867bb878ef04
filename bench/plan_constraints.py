"""What the rules cost a batch plan: CP-SAT with clashes, weekly hours and caps
(`matching.plan_solver.solve`) vs the min-cost max-flow that ignores clashes and hours
(`matching.batch.solve`), on the same synthetic borough.

    .venv/bin/python -m bench.plan_constraints [--needs 1000,10000 --volunteers-per-need 10
                                                --edges-per-need 50 --seed 1
                                                --time-limit 5]

Pure, no database: the edges of `bench.batch_plan.build` (costed like the scoring model),
plus times. Each need is one visit in a week (8:00 to 20:00 UTC, on the hour, 60, 90 or 120
minutes; one in five with a second, alternative window the next day); each volunteer has a
weekly limit of 2 to 10 hours of which 0 to 3 are already committed. Reports, per size: the
wall time of each (building the model included) and their ratio, the slots each fills, and
how many of the flow's pairs break a rule (kept cheapest first, as `solve` repairs them).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bench.batch_plan import build
from matching import batch, plan_solver
from matching.plan_rules import Ledger, Room, Timing

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def timings(needs: list[UUID], seed: int) -> dict[UUID, Timing]:
    rnd = random.Random(seed)
    out: dict[UUID, Timing] = {}
    for n in needs:
        minutes = rnd.choice((60, 90, 120))
        start = MONDAY + timedelta(days=rnd.randrange(7), hours=rnd.randrange(8, 19))
        windows = [(start, start + timedelta(minutes=minutes))]
        if rnd.random() < 0.2:
            windows.append((windows[0][0] + timedelta(days=1), windows[0][1] + timedelta(days=1)))
        out[n] = Timing(tuple(windows), minutes)
    return out


def rooms(capacity: dict[UUID, int], week: datetime, seed: int) -> dict[UUID, Room]:
    rnd = random.Random(seed)
    monday = week.date()
    out = {}
    for v, c in capacity.items():
        limit = rnd.randint(2, 10) * 60
        committed = min(limit, rnd.choice((0, 0, 60, 120, 180)))
        out[v] = Room(assignments=c, week_minutes=limit, committed={monday: committed})
    return out


def broken(plan: batch.Plan, t: dict[UUID, Timing], r: dict[UUID, Room], cost: dict) -> dict:
    """The flow's pairs that break a rule, kept cheapest first."""
    ledger: Ledger[UUID] = Ledger(r)
    refused: dict[str, int] = {}
    for n, v in sorted(plan.pairs, key=lambda p: cost[p]):
        if (why := ledger.admit(v, t[n])) is not None:
            refused[why.value] = refused.get(why.value, 0) + 1
    return refused


def run(needs: int, volunteers: int, per_need: int, seed: int, limit_s: float) -> None:
    slots, capacity, edges = build(needs, volunteers, per_need, seed)
    t = timings(list(slots), seed)
    r = rooms(capacity, MONDAY, seed)
    cost: dict[tuple[UUID, UUID], int] = {}
    for e in edges:
        cost[(e.need_id, e.volunteer_id)] = min(
            e.cost, cost.get((e.need_id, e.volunteer_id), e.cost)
        )
    t0 = time.perf_counter()
    flow = batch.solve(slots, capacity, edges)
    t1 = time.perf_counter()
    solved = plan_solver.solve(slots, r, t, edges, time_limit_s=limit_s)
    t2 = time.perf_counter()
    bad = broken(flow, t, r, cost)
    flow_s, cp_s = t1 - t0, t2 - t1
    print(
        f"{needs} needs ({sum(slots.values())} slots), {volunteers} volunteers, {len(edges)} edges"
    )
    print(f"  flow    {flow_s:8.3f} s  filled {flow.filled:6d}  cost {flow.total_cost:10d}")
    print(
        f"  cp-sat  {cp_s:8.3f} s  filled {solved.plan.filled:6d}  cost "
        f"{solved.plan.total_cost:10d}  {solved.proof}, gap {solved.gap:.2e} "
        f"(bound - objective {solved.best_bound - solved.objective}), filled_bound "
        f"{solved.filled_bound}, parts {solved.parts} (by flow {solved.parts_by_flow})"
    )
    print(f"          of which CP-SAT's search {solved.search_s:.3f} s (limit {limit_s} s)")
    print(
        f"  ratio cp-sat/flow {cp_s / flow_s:6.1f}x; flow pairs breaking a rule: "
        f"{sum(bad.values())} of {flow.filled} {bad}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--needs", default="1000,10000")
    parser.add_argument("--volunteers-per-need", type=int, default=10)
    parser.add_argument("--edges-per-need", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=plan_solver.TIME_LIMIT_S)
    args = parser.parse_args()
    for size in (int(n) for n in args.needs.split(",")):
        run(size, size * args.volunteers_per_need, args.edges_per_need, args.seed, args.time_limit)
