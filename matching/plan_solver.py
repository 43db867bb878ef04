"""Batch plans feasible as committed: most slots filled, then least cost, with no volunteer
given clashing needs, more weekly hours than they have, or more assignments than their cap.

Those rules (`matching/plan_rules.py`) make it no longer a flow: it is solved with OR-Tools
CP-SAT, one independent part (a connected component of the need-volunteer graph) at a time.
The min-cost max-flow that ignores them is solved first: it bounds every part from above,
and a part whose flow optimum already keeps every rule is optimal as it is, without CP-SAT.
Elsewhere the flow optimum, less the pairs breaking a rule, then topped up cheapest first, is
CP-SAT's starting hint, so a time limit always ends with a plan at least that good. The
search time limit is shared between the parts by size; the answer says whether the plan was
proved optimal, and how far from the best bound it may be.

The objective is `fill_weight * filled - total_cost`, maximised: `fill_weight` exceeds the
cost of any plan, so one more slot filled beats any saving.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from matching import batch
from matching.model import Edge, Plan, Reason
from matching.plan_rules import Ledger, Room, Timing

__all__ = ["SEED", "TIME_LIMIT_S", "WORKERS", "Proof", "Solved", "greedy", "solve"]

# CP-SAT's search time for the whole plan, shared by its parts (building the model and the
# flow come on top: bench/plan_constraints.py); settings: CODELIVER_PLAN_TIME_LIMIT_S.
TIME_LIMIT_S = 5.0
SEED = 1  # CP-SAT's random seed: the same search for the same input
WORKERS = 2  # CP-SAT search workers: the API's machines have two cores

Ints = npt.NDArray[np.int64]


class Proof(StrEnum):
    OPTIMAL = "optimal"  # no plan fills more slots, nor as many for less
    FEASIBLE = "feasible"  # the time limit ended the search: keeps every rule, gap below


@dataclass(frozen=True, slots=True)
class Solved:
    plan: Plan
    proof: Proof
    objective: int  # fill_weight * filled - total_cost
    best_bound: int  # no plan's objective is higher: proved by the flow or CP-SAT
    fill_weight: int
    filled_bound: int  # no plan keeping the rules fills more slots
    parts: int  # independent components of the need-volunteer graph
    parts_by_flow: int  # of those, where the flow optimum kept every rule already
    flow: Plan  # the min-cost max-flow ignoring the rules
    flow_refused: Mapping[Reason, int]  # its pairs breaking a rule, by rule
    search_s: float  # CP-SAT's own wall time, within the limit (building its model is not)

    @property
    def gap(self) -> float:
        """(best bound - objective) / |best bound|: 0 when proved optimal."""
        return (self.best_bound - self.objective) / max(1, abs(self.best_bound))


@dataclass(frozen=True, slots=True)
class _Graph:
    """The dense instance as plain lists (per-element numpy reads are slow), with each
    need's times precomputed."""

    inst: batch.Dense
    need: list[int]  # per edge
    volunteer: list[int]  # per edge
    cost: list[int]  # per edge
    rooms: list[Room]  # per volunteer index
    timings: list[Timing]  # per need index
    week: list[date]  # per need index: the week its hours are checked against
    weeks: list[frozenset[date]]  # per need index: the weeks its hours count in
    windows: list[list[tuple[float, float]]]  # per need index: as POSIX seconds


def _graph(
    slots: Mapping[UUID, int],
    rooms: Mapping[UUID, Room],
    timings: Mapping[UUID, Timing],
    edges: Sequence[Edge],
) -> _Graph:
    """The dense instance without pairs that break a rule on their own."""
    inst = batch.dense(slots, {v: r.assignments for v, r in rooms.items()}, edges)
    room = [rooms[v] for v in inst.volunteer_ids]
    timing = [timings[n] for n in inst.need_ids]
    week = [t.week for t in timing]
    fits = np.fromiter(
        (
            timing[n].minutes <= room[v].minutes_left(week[n])
            for n, v in zip(inst.need.tolist(), inst.volunteer.tolist(), strict=True)
        ),
        bool,
        len(inst.cost),
    )
    kept = batch.Dense(
        need_ids=inst.need_ids,
        volunteer_ids=inst.volunteer_ids,
        slots=inst.slots,
        capacity=inst.capacity,
        need=inst.need[fits],
        volunteer=inst.volunteer[fits],
        cost=inst.cost[fits],
    )
    return _Graph(
        inst=kept,
        need=kept.need.tolist(),
        volunteer=kept.volunteer.tolist(),
        cost=kept.cost.tolist(),
        rooms=room,
        timings=timing,
        week=week,
        weeks=[t.weeks for t in timing],
        windows=[[(a.timestamp(), b.timestamp()) for a, b in t.windows] for t in timing],
    )


def _parts(inst: batch.Dense) -> Ints:
    """A component label per edge: edges sharing a need or a volunteer, transitively
    (minimum labels spread across edges, with pointer jumping, until nothing changes)."""
    n_needs = len(inst.need_ids)
    tails, heads = inst.need, inst.volunteer + n_needs
    label = np.arange(n_needs + len(inst.volunteer_ids))
    while True:
        low = np.minimum(label[tails], label[heads])
        before = label.copy()
        np.minimum.at(label, tails, low)
        np.minimum.at(label, heads, low)
        label = label[label]
        if np.array_equal(label, before):
            return label[tails]


def _repair(g: _Graph, order: Sequence[int]) -> tuple[list[int], dict[Reason, int]]:
    """The edges of `order` (in that order) kept while every rule holds, and what the
    others broke."""
    ledger: Ledger[int] = Ledger(dict(enumerate(g.rooms)))
    slots_left = g.inst.slots.tolist()
    kept: list[int] = []
    refused: dict[Reason, int] = defaultdict(int)
    for e in order:
        n = g.need[e]
        if not slots_left[n]:
            continue
        refusal = ledger.admit(g.volunteer[e], g.timings[n])
        if refusal is None:
            slots_left[n] -= 1
            kept.append(e)
        else:
            refused[refusal] += 1
    return kept, refused


def _cliques(windows: list[tuple[float, float, int]]) -> set[frozenset[int]]:
    """Sets of variables pairwise clashing, covering every clashing pair: at each window's
    start, those with a window holding that instant (a sweep over the windows by start)."""
    found: set[frozenset[int]] = set()
    open_: list[tuple[float, int]] = []  # (end, variable) of windows started so far
    for start, end, i in sorted(windows):
        open_ = [(e, j) for e, j in open_ if e > start]
        holding = {j for _, j in open_} | {i}
        if len(holding) > 1:
            found.add(frozenset(holding))
        open_.append((end, i))
    return found


def _model(g: _Graph, edges: Sequence[int], weight: int, hint: set[int]) -> cp_model.CpModel:
    """Variable i is edge `edges[i]`: written straight into the model's proto, as the
    wrappers' per-variable objects cost seconds at 500k edges."""
    model = cp_model.CpModel()
    proto = model.proto
    for _ in edges:
        proto.variables.add().domain.extend((0, 1))

    def at_most(variables: list[int], coeffs: list[int], most: int) -> None:
        linear = proto.constraints.add().linear
        linear.vars.extend(variables)
        linear.coeffs.extend(coeffs)
        linear.domain.extend((0, most))

    by_need: dict[int, list[int]] = defaultdict(list)
    by_volunteer: dict[int, list[int]] = defaultdict(list)
    for i, e in enumerate(edges):
        by_need[g.need[e]].append(i)
        by_volunteer[g.volunteer[e]].append(i)
    slots = g.inst.slots.tolist()
    for n, ix in by_need.items():
        if len(ix) > slots[n]:
            at_most(ix, [1] * len(ix), slots[n])
    for v, ix in by_volunteer.items():
        room = g.rooms[v]
        if len(ix) > room.assignments:
            at_most(ix, [1] * len(ix), room.assignments)
        if len(ix) < 2:
            continue
        needs = [g.need[edges[i]] for i in ix]
        spans = [(a, b, i) for i, n in zip(ix, needs, strict=True) for a, b in g.windows[n]]
        for clique in _cliques(spans):
            proto.constraints.add().at_most_one.literals.extend(sorted(clique))
        for week in {g.week[n] for n in needs}:
            counted = [
                (i, g.timings[n].minutes)
                for i, n in zip(ix, needs, strict=True)
                if week in g.weeks[n]
            ]
            left = room.minutes_left(week)
            if sum(m for _, m in counted) > left:
                at_most([i for i, _ in counted], [m for _, m in counted], left)
    # Maximise: the proto minimises, so negated coefficients and a scaling factor of -1.
    proto.objective.vars.extend(range(len(edges)))
    proto.objective.coeffs.extend(g.cost[e] - weight for e in edges)
    proto.objective.scaling_factor = -1.0
    proto.solution_hint.vars.extend(range(len(edges)))
    proto.solution_hint.values.extend(int(e in hint) for e in edges)
    return model


def _objective(g: _Graph, edges: Sequence[int], weight: int) -> int:
    return weight * len(edges) - sum(g.cost[e] for e in edges)


def _cp_sat(
    g: _Graph,
    edges: list[int],
    weight: int,
    hint: list[int],
    limit_s: float,
    options: tuple[int, int],
    spent: list[float],
) -> tuple[list[int], int | None]:
    """The part's chosen edges (the hint unless CP-SAT found better) and the best bound CP-SAT
    proved, if any: their objective when it proved them optimal. Adds its search time to
    `spent`."""
    model = _model(g, edges, weight, set(hint))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, limit_s)
    solver.parameters.random_seed, solver.parameters.num_workers = options
    status = solver.solve(model)
    spent[0] += solver.wall_time
    if status == cp_model.MODEL_INVALID:  # pragma: no cover - a bug in _model
        raise RuntimeError(f"CP-SAT model invalid: {model.validate()}")
    best, chosen = _objective(g, hint, weight), hint
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = solver.response_proto.solution
        found = [e for e, on in zip(edges, values, strict=True) if on]
        if (value := _objective(g, found, weight)) >= best:
            best, chosen = value, found
    if status == cp_model.OPTIMAL:
        return chosen, best
    bound = solver.best_objective_bound
    if not math.isfinite(bound) or bound < best:  # stopped before it proved anything
        return chosen, None
    return chosen, math.floor(bound + 1e-6)


def solve(
    slots: Mapping[UUID, int],
    rooms: Mapping[UUID, Room],
    timings: Mapping[UUID, Timing],
    edges: Sequence[Edge],
    *,
    time_limit_s: float = TIME_LIMIT_S,
    seed: int = SEED,
    workers: int = WORKERS,
) -> Solved:
    """The plan filling the most slots, then the cheapest, keeping every volunteer's rules.

    Each need takes at most `slots[need]` volunteers, each pair at most once; `rooms` gives
    each volunteer's room, `timings` each need's times (every need named by an edge must
    have one). Edges naming a need or volunteer missing from `slots` or `rooms` are ignored;
    of duplicate pairs the cheapest counts.
    """
    g = _graph(slots, rooms, timings, edges)
    inst = g.inst
    relaxed = batch.flow(inst)
    flow_plan = batch.plan_of(inst, relaxed)
    most = min(int(inst.slots.sum()), int(inst.capacity.sum()), len(inst.cost))
    top = int(inst.cost.max()) + 1 if len(inst.cost) else 1
    weight = top * max(1, most) + 1
    label = _parts(inst)
    parts: dict[int, list[int]] = defaultdict(list)
    for e, part in enumerate(label.tolist()):
        parts[part].append(e)
    chosen: list[int] = []
    bound, by_flow = 0, 0
    flow_refused: dict[Reason, int] = defaultdict(int)
    pending: list[tuple[list[int], list[int], int]] = []  # edges, hint, flow bound
    for part_edges in parts.values():
        in_flow = sorted((e for e in part_edges if relaxed[e]), key=g.cost.__getitem__)
        kept, refused = _repair(g, in_flow)
        relaxed_value = _objective(g, in_flow, weight)
        for reason, count in refused.items():
            flow_refused[reason] += count
        if not refused:
            by_flow += 1
            chosen += kept
            bound += relaxed_value
        else:  # the hint: the flow's pairs that keep the rules, then the cheapest that fit
            rest = sorted((e for e in part_edges if not relaxed[e]), key=g.cost.__getitem__)
            hint, _ = _repair(g, kept + rest)
            pending.append((part_edges, hint, relaxed_value))
    left, spent = sum(len(p[0]) for p in pending), [0.0]
    for part_edges, hint, relaxed_value in sorted(pending, key=lambda p: -len(p[0])):
        share = (time_limit_s - spent[0]) * len(part_edges) / left
        left -= len(part_edges)
        found, part_bound = _cp_sat(g, part_edges, weight, hint, share, (seed, workers), spent)
        chosen += found
        bound += relaxed_value if part_bound is None else min(relaxed_value, part_bound)
    mask = np.zeros(len(inst.cost), dtype=bool)
    mask[chosen] = True
    plan = batch.plan_of(inst, mask)
    objective = weight * plan.filled - plan.total_cost
    return Solved(
        plan=plan,
        proof=Proof.OPTIMAL if bound == objective else Proof.FEASIBLE,
        objective=objective,
        best_bound=bound,
        fill_weight=weight,
        filled_bound=min(flow_plan.filled, bound // max(1, weight - top + 1)),
        parts=len(parts),
        parts_by_flow=by_flow,
        flow=flow_plan,
        flow_refused=dict(flow_refused),
        search_s=spent[0],
    )


def greedy(
    slots: Mapping[UUID, int],
    rooms: Mapping[UUID, Room],
    timings: Mapping[UUID, Timing],
    edges: Sequence[Edge],
) -> Plan:
    """Cheapest edges first while each need has room and each volunteer keeps every rule:
    quick, for contrast. Same input handling as `solve`."""
    g = _graph(slots, rooms, timings, edges)
    order = np.lexsort((g.inst.volunteer, g.inst.need, g.inst.cost)).tolist()
    kept, _ = _repair(g, order)
    mask = np.zeros(len(g.inst.cost), dtype=bool)
    mask[kept] = True
    return batch.plan_of(g.inst, mask)
