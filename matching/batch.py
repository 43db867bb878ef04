"""Batch planning: fill as many slots as possible, then at the least total cost, provably.

A coordinator's batch is a min-cost max-flow: source -> need (capacity: its open slots) ->
volunteer (capacity 1: a pair at most once) -> sink (capacity: how many more assignments the
volunteer may take). OR-Tools solves it exactly; `greedy` is there to show what it beats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from uuid import UUID

import numpy as np
import numpy.typing as npt
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from matching.model import Edge, Plan

__all__ = ["COST_SCALE", "Dense", "cost_of", "dense", "flow", "gini", "greedy", "plan_of", "solve"]

COST_SCALE = 1000  # score points to integer cost: a thousandth of a point is the resolution

Ints = npt.NDArray[np.int64]


def cost_of(score: float, best: float, scale: int = COST_SCALE) -> int:
    """An edge's cost from a ranked score: how far it falls short of `best`, never negative.

    `best` is `scoring.best_score(weights)`; costs stay comparable across needs only when
    all their scores use the same weights.
    """
    if not (math.isfinite(score) and math.isfinite(best)):
        raise ValueError(f"score {score!r} and best {best!r} must be finite")
    return max(0, round((best - score) * scale))


@dataclass(frozen=True, slots=True)
class Dense:
    """Edges as dense integer arrays: one per (need, volunteer) pair, the cheapest kept."""

    need_ids: list[UUID]
    volunteer_ids: list[UUID]
    slots: Ints  # per need index
    capacity: Ints  # per volunteer index
    need: Ints  # per edge: need index
    volunteer: Ints  # per edge: volunteer index
    cost: Ints  # per edge


def dense(slots: Mapping[UUID, int], capacity: Mapping[UUID, int], edges: Sequence[Edge]) -> Dense:
    need_ids = [n for n, s in slots.items() if s > 0]
    volunteer_ids = [v for v, c in capacity.items() if c > 0]
    need_slots = [s for s in slots.values() if s > 0]
    volunteer_capacity = [c for c in capacity.values() if c > 0]
    # Keyed by UUID.int: a UUID hashes in Python code, an int in C (2-3x faster lookups).
    need_ix = {n.int: i for i, n in enumerate(need_ids)}.get
    volunteer_ix = {v.int: i for i, v in enumerate(volunteer_ids)}.get
    count = len(edges)
    need_ints = [e.need_id.int for e in edges]
    need = np.fromiter(map(need_ix, need_ints, repeat(-1)), np.int64, count)
    volunteer_ints = [e.volunteer_id.int for e in edges]
    volunteer = np.fromiter(map(volunteer_ix, volunteer_ints, repeat(-1)), np.int64, count)
    cost = np.fromiter([e.cost for e in edges], np.int64, count)
    if count and cost.min() < 0:
        raise ValueError("edge costs must be >= 0")
    known = (need >= 0) & (volunteer >= 0)
    need, volunteer, cost = need[known], volunteer[known], cost[known]
    keep = _cheapest_per_pair(need * max(1, len(volunteer_ids)) + volunteer, cost)
    return Dense(
        need_ids=need_ids,
        volunteer_ids=volunteer_ids,
        slots=np.array(need_slots, np.int64),
        capacity=np.array(volunteer_capacity, np.int64),
        need=need[keep],
        volunteer=volunteer[keep],
        cost=cost[keep],
    )


def _cheapest_per_pair(pair: Ints, cost: Ints) -> Ints:
    """Indices of the cheapest edge of each pair, in pair order."""
    if not len(pair):
        return np.zeros(0, np.int64)
    top = int(cost.max()) + 1
    if int(pair.max()) * top + top < 2**63:  # one int64 key sorts 5x faster than lexsort
        order = np.argsort(pair * top + cost)
    else:
        order = np.lexsort((cost, pair))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair[order][1:] != pair[order][:-1]
    return order[first]


def plan_of(inst: Dense, chosen: npt.NDArray[np.bool_]) -> Plan:
    pairs = sorted(
        zip(inst.need[chosen].tolist(), inst.volunteer[chosen].tolist(), strict=True),
        key=lambda p: (inst.need_ids[p[0]].int, inst.volunteer_ids[p[1]].int),
    )
    return Plan(
        pairs=tuple((inst.need_ids[n], inst.volunteer_ids[v]) for n, v in pairs),
        filled=len(pairs),
        total_cost=int(inst.cost[chosen].sum()),
    )


def _used(index: Ints, size: int) -> Ints:
    """The distinct values of `index` (all in range(size)), sorted: np.unique without a sort."""
    seen = np.zeros(size, dtype=bool)
    seen[index] = True
    return np.flatnonzero(seen)


def solve(slots: Mapping[UUID, int], capacity: Mapping[UUID, int], edges: Sequence[Edge]) -> Plan:
    """The plan filling the most slots, and among those the cheapest (min-cost max-flow).

    Each need takes at most `slots[need]` volunteers, each volunteer at most
    `capacity[volunteer]` needs, each pair at most once. Edges naming a need or volunteer
    missing from `slots` or `capacity` are ignored; of duplicate pairs the cheapest counts.
    """
    inst = dense(slots, capacity, edges)
    return plan_of(inst, flow(inst))


def flow(inst: Dense) -> npt.NDArray[np.bool_]:
    """Which of the instance's edges the min-cost max-flow chooses."""
    if not len(inst.cost):
        return np.zeros(0, dtype=bool)
    n_needs, n_volunteers = len(inst.need_ids), len(inst.volunteer_ids)
    source, sink = 0, 1 + n_needs + n_volunteers
    used_needs, used_volunteers = _used(inst.need, n_needs), _used(inst.volunteer, n_volunteers)
    tails = np.concatenate(
        [np.zeros(len(used_needs), np.int64), 1 + inst.need, 1 + n_needs + used_volunteers]
    )
    heads = np.concatenate(
        [1 + used_needs, 1 + n_needs + inst.volunteer, np.full(len(used_volunteers), sink)]
    )
    capacities = np.concatenate(
        [inst.slots[used_needs], np.ones(len(inst.cost), np.int64), inst.capacity[used_volunteers]]
    )
    costs = np.concatenate(
        [np.zeros(len(used_needs), np.int64), inst.cost, np.zeros(len(used_volunteers), np.int64)]
    )
    solver = SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), capacities, costs
    )
    most = int(min(capacities[: len(used_needs)].sum(), inst.capacity[used_volunteers].sum()))
    solver.set_node_supply(source, most)
    solver.set_node_supply(sink, -most)
    status = solver.solve_max_flow_with_min_cost()
    if status != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    pair_arcs = np.arange(len(used_needs), len(used_needs) + len(inst.cost), dtype=np.int32)
    return np.asarray(solver.flows(pair_arcs)) > 0


def greedy(slots: Mapping[UUID, int], capacity: Mapping[UUID, int], edges: Sequence[Edge]) -> Plan:
    """Cheapest edges first while slots and capacity last: quick, and neither fullest nor
    cheapest in general. Same rules and input handling as `solve`."""
    inst = dense(slots, capacity, edges)
    slots_left, capacity_left = inst.slots.tolist(), inst.capacity.tolist()
    order = np.lexsort((inst.volunteer, inst.need, inst.cost))
    chosen = np.zeros(len(inst.cost), dtype=bool)
    for i, n, v in zip(
        order.tolist(), inst.need[order].tolist(), inst.volunteer[order].tolist(), strict=True
    ):
        if slots_left[n] and capacity_left[v]:
            slots_left[n] -= 1
            capacity_left[v] -= 1
            chosen[i] = True
    return plan_of(inst, chosen)


def gini(counts: Sequence[int]) -> float:
    """How unevenly work is shared: 0 when everyone has the same, towards 1 when one person
    has it all. Over every candidate volunteer, so those given nothing count too."""
    n = len(counts)
    total = sum(counts)
    if n == 0 or total == 0:
        return 0.0
    ordered = sorted(counts)
    weighted = sum((2 * (i + 1) - n - 1) * c for i, c in enumerate(ordered))
    return weighted / (n * total)
