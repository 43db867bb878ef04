"""What a city-sized batch plan costs: `matching.batch.solve` vs OR-Tools used plainly, vs greedy.

    .venv/bin/python -m bench.batch_plan [--needs 10000 --volunteers 100000
                                          --edges-per-need 50 --seed 1 --repeat 3]

Builds one random borough (30 x 30 km; needs with 1-3 slots, volunteers with room for 1-3
more assignments, each need linked to ~50 volunteers within a cell or two, costed from the
scoring model's distance, fairness, reliability and preference), then times, interleaved:
  solve      ours: UUIDs to dense ints with numpy, arcs added in one vectorised call
  reference  SimpleMinCostFlow built the straightforward way: a dict per id, one
             add_arc call per arc, one flow() call per arc to read the plan back
  greedy     cheapest edges first
Each time is the median of --repeat runs and includes building the graph from Edge objects.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from uuid import UUID

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from matching.batch import cost_of, greedy, solve
from matching.model import Edge, Plan, TravelMode, Weights
from matching.scoring import best_score, travel_minutes

SIDE_M = 30_000.0
CELL_M = 2_000.0
MODES = list(TravelMode)
MODE_SHARE = [0.2, 0.2, 0.3, 0.3]  # walk, cycle, public transport, car
WIDTHS = (9, 8, 12, 9, 9)

Instance = tuple[dict[UUID, int], dict[UUID, int], list[Edge]]


def build(needs: int, volunteers: int, per_need: int, seed: int) -> Instance:
    """A random borough: each need linked to volunteers in its own or a neighbouring cell."""
    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    need_ids = [UUID(int=rnd.getrandbits(128), version=4) for _ in range(needs)]
    volunteer_ids = [UUID(int=rnd.getrandbits(128), version=4) for _ in range(volunteers)]
    need_xy = rng.uniform(0, SIDE_M, (needs, 2))
    vol_xy = rng.uniform(0, SIDE_M, (volunteers, 2))
    side = int(SIDE_M // CELL_M)
    vol_cell_xy = np.minimum((vol_xy // CELL_M).astype(np.int64), side - 1)
    vol_cell = vol_cell_xy[:, 0] * side + vol_cell_xy[:, 1]
    by_cell = np.argsort(vol_cell, kind="stable")
    starts = np.searchsorted(vol_cell[by_cell], np.arange(side * side))
    counts = np.bincount(vol_cell, minlength=side * side)
    # Each of a need's edges goes to a random volunteer in a random cell of its 3 x 3 block.
    need_cell_xy = np.minimum((need_xy // CELL_M).astype(np.int64), side - 1)
    cx = np.clip(need_cell_xy[:, :1] + rng.integers(-1, 2, (needs, per_need)), 0, side - 1)
    cy = np.clip(need_cell_xy[:, 1:] + rng.integers(-1, 2, (needs, per_need)), 0, side - 1)
    cell = (cx * side + cy).ravel()
    need_of = np.repeat(np.arange(needs), per_need)
    occupied = counts[cell] > 0
    cell, need_of = cell[occupied], need_of[occupied]
    vol_of = by_cell[starts[cell] + (rng.random(len(cell)) * counts[cell]).astype(np.int64)]
    distance = np.hypot(*(need_xy[need_of] - vol_xy[vol_of]).T)
    # The scoring model, per factor (weights as `Weights()`): see matching.scoring.
    mode = rng.choice(len(MODES), volunteers, p=MODE_SHARE)
    minutes = np.array(
        [travel_minutes(d, MODES[m]) for d, m in zip(distance, mode[vol_of], strict=True)]
    )
    fairness = 1 / (1 + rng.poisson(2, volunteers) / 4 + rng.poisson(0.5, volunteers) / 2)
    reliability = rng.beta(7, 3, volunteers)
    continuity = np.where(rng.random(len(vol_of)) < 0.01, rng.uniform(0.6, 1, len(vol_of)), 0)
    preference = rng.choice([0.0, 0.5, 1.0], len(vol_of))
    score = (
        1 / (1 + minutes / 15)
        + continuity
        + fairness[vol_of]
        + 0.5 * reliability[vol_of]
        + 0.25 * preference
    )
    best = best_score(Weights())
    edges = [
        Edge(need_ids[n], volunteer_ids[v], cost_of(s, best))
        for n, v, s in zip(need_of.tolist(), vol_of.tolist(), score.tolist(), strict=True)
    ]
    slots = {n: rnd.randint(1, 3) for n in need_ids}
    capacity = {v: rnd.randint(1, 3) for v in volunteer_ids}
    return slots, capacity, edges


def reference(
    slots: Mapping[UUID, int], capacity: Mapping[UUID, int], edges: Sequence[Edge]
) -> Plan:
    """Min-cost max-flow as a user of the library would write it first."""
    need_node = {n: 1 + i for i, n in enumerate(slots)}
    vol_node = {v: 1 + len(slots) + j for j, v in enumerate(capacity)}
    sink = 1 + len(slots) + len(capacity)
    cheapest: dict[tuple[UUID, UUID], int] = {}
    for e in edges:
        if e.need_id in need_node and e.volunteer_id in vol_node:
            pair = (e.need_id, e.volunteer_id)
            if pair not in cheapest or e.cost < cheapest[pair]:
                cheapest[pair] = e.cost
    flow = SimpleMinCostFlow()
    for n, s in slots.items():
        flow.add_arc_with_capacity_and_unit_cost(0, need_node[n], s, 0)
    arcs = []
    for (n, v), cost in cheapest.items():
        arcs.append(
            (flow.add_arc_with_capacity_and_unit_cost(need_node[n], vol_node[v], 1, cost), n, v)
        )
    for v, c in capacity.items():
        flow.add_arc_with_capacity_and_unit_cost(vol_node[v], sink, c, 0)
    total = sum(slots.values())
    flow.set_node_supply(0, total)
    flow.set_node_supply(sink, -total)
    if flow.solve_max_flow_with_min_cost() != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError("reference solve failed")
    pairs = sorted((n, v) for arc, n, v in arcs if flow.flow(arc) > 0)
    return Plan(tuple(pairs), len(pairs), sum(cheapest[p] for p in pairs))


def _ratio(a: float, b: float) -> float:
    if b:
        return a / b
    return 1.0 if a == 0 else math.inf


Planner = Callable[[Mapping[UUID, int], Mapping[UUID, int], Sequence[Edge]], Plan]


def main(needs: int, volunteers: int, per_need: int, seed: int, repeat: int) -> None:
    t0 = time.perf_counter()
    slots, capacity, edges = build(needs, volunteers, per_need, seed)
    print(
        f"{needs} needs ({sum(slots.values())} slots), {volunteers} volunteers "
        f"({sum(capacity.values())} places), {len(edges)} edges; "
        f"built in {time.perf_counter() - t0:.1f} s"
    )
    planners: dict[str, Planner] = {"solve": solve, "reference": reference, "greedy": greedy}
    times: dict[str, list[float]] = {name: [] for name in planners}
    plans: dict[str, Plan] = {}
    for _ in range(repeat):
        for name, planner in planners.items():
            t = time.perf_counter()
            plans[name] = planner(slots, capacity, edges)
            times[name].append(time.perf_counter() - t)
    ref_time = statistics.median(times["reference"])
    ref_cost = plans["reference"].total_cost
    header = ("median s", "filled", "total cost", "cost/ref", "time/ref")
    print(f"{'what':<10} " + " ".join(f"{h:>{w}}" for h, w in zip(header, WIDTHS, strict=True)))
    for name, plan in plans.items():
        median = statistics.median(times[name])
        print(
            f"{name:<10} {median:9.3f} {plan.filled:8d} {plan.total_cost:12d} "
            f"{_ratio(plan.total_cost, ref_cost):9.4f} {_ratio(median, ref_time):9.2f}"
        )
    assert plans["solve"].filled == plans["reference"].filled, "solve must fill as many"
    assert plans["solve"].total_cost == ref_cost, "solve must cost the same as the reference"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--edges-per-need", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.needs, args.volunteers, args.edges_per_need, args.seed, args.repeat)
