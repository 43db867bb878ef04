from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.batch import cost_of, greedy, solve
from matching.model import Edge, Plan

NEEDS = [UUID(int=i) for i in range(1, 5)]
VOLUNTEERS = [UUID(int=i) for i in range(101, 106)]
STRANGER = UUID(int=999)  # in no mapping: its edges must be ignored


@st.composite
def instances(draw: st.DrawFn) -> tuple[dict[UUID, int], dict[UUID, int], list[Edge]]:
    needs = NEEDS[: draw(st.integers(1, len(NEEDS)))]
    volunteers = VOLUNTEERS[: draw(st.integers(1, len(VOLUNTEERS)))]
    slots = {n: draw(st.integers(0, 3)) for n in needs}
    capacity = {v: draw(st.integers(0, 3)) for v in volunteers}
    edge = st.builds(
        Edge,
        st.sampled_from([*needs, STRANGER]),
        st.sampled_from([*volunteers, STRANGER]),
        st.integers(0, 20),
    )
    return slots, capacity, draw(st.lists(edge, max_size=12))


def brute_force(
    slots: Mapping[UUID, int], capacity: Mapping[UUID, int], edges: Sequence[Edge]
) -> tuple[int, int]:
    """The best (filled, total_cost) over every feasible subset of the edges."""
    usable = [e for e in edges if e.need_id in slots and e.volunteer_id in capacity]
    best = (0, 0)

    def walk(i: int, used: frozenset[tuple[UUID, UUID]], filled: int, cost: int) -> None:
        nonlocal best
        if (filled, -cost) > (best[0], -best[1]):
            best = (filled, cost)
        for j in range(i, len(usable)):
            e = usable[j]
            pair = (e.need_id, e.volunteer_id)
            if pair in used:
                continue
            if sum(n == e.need_id for n, _ in used) >= slots[e.need_id]:
                continue
            if sum(v == e.volunteer_id for _, v in used) >= capacity[e.volunteer_id]:
                continue
            walk(j + 1, used | {pair}, filled + 1, cost + e.cost)

    walk(0, frozenset(), 0, 0)
    return best


def assert_feasible(
    plan: Plan, slots: Mapping[UUID, int], capacity: Mapping[UUID, int], edges: Sequence[Edge]
) -> None:
    cheapest: dict[tuple[UUID, UUID], int] = {}
    for e in edges:
        pair = (e.need_id, e.volunteer_id)
        cheapest[pair] = min(e.cost, cheapest.get(pair, e.cost))
    assert plan.pairs == tuple(sorted(set(plan.pairs)))
    assert plan.filled == len(plan.pairs)
    assert plan.total_cost == sum(cheapest[p] for p in plan.pairs)
    for need, n in Counter(n for n, _ in plan.pairs).items():
        assert n <= slots[need]
    for volunteer, n in Counter(v for _, v in plan.pairs).items():
        assert n <= capacity[volunteer]


@settings(max_examples=400, deadline=None)
@given(instances())
def test_solve_is_optimal_and_greedy_never_beats_it(
    instance: tuple[dict[UUID, int], dict[UUID, int], list[Edge]],
) -> None:
    slots, capacity, edges = instance
    plan, quick = solve(slots, capacity, edges), greedy(slots, capacity, edges)
    assert_feasible(plan, slots, capacity, edges)
    assert_feasible(quick, slots, capacity, edges)
    assert (plan.filled, plan.total_cost) == brute_force(slots, capacity, edges)
    assert (quick.filled, -quick.total_cost) <= (plan.filled, -plan.total_cost)


def test_more_slots_filled_beats_a_cheaper_plan() -> None:
    a, b = NEEDS[:2]
    x, y = VOLUNTEERS[:2]
    # Greedy takes the free a-x and strands b; the optimum pays to fill both.
    edges = [Edge(a, x, 0), Edge(a, y, 5), Edge(b, x, 5)]
    plan = solve({a: 1, b: 1}, {x: 1, y: 1}, edges)
    assert (plan.filled, plan.total_cost) == (2, 10)
    assert plan.pairs == tuple(sorted([(a, y), (b, x)]))
    assert (greedy({a: 1, b: 1}, {x: 1, y: 1}, edges).filled) == 1


def test_duplicates_keep_the_cheapest_and_a_pair_counts_once() -> None:
    a, x = NEEDS[0], VOLUNTEERS[0]
    plan = solve({a: 3}, {x: 3}, [Edge(a, x, 7), Edge(a, x, 2), Edge(a, x, 9)])
    assert plan == Plan(pairs=((a, x),), filled=1, total_cost=2)


def test_unknown_needs_and_volunteers_are_ignored() -> None:
    a, x = NEEDS[0], VOLUNTEERS[0]
    edges = [Edge(a, STRANGER, 0), Edge(STRANGER, x, 0), Edge(a, x, 4)]
    assert solve({a: 2}, {x: 2}, edges) == Plan(pairs=((a, x),), filled=1, total_cost=4)
    assert solve({}, {}, edges) == Plan(pairs=(), filled=0, total_cost=0)
    assert solve({a: 0}, {x: 1}, edges) == Plan(pairs=(), filled=0, total_cost=0)


def test_negative_costs_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        solve({NEEDS[0]: 1}, {VOLUNTEERS[0]: 1}, [Edge(NEEDS[0], VOLUNTEERS[0], -1)])


def test_a_larger_plan_is_feasible_and_order_independent() -> None:
    rnd = random.Random(7)
    needs = [UUID(int=rnd.getrandbits(128)) for _ in range(60)]
    volunteers = [UUID(int=rnd.getrandbits(128)) for _ in range(200)]
    slots = {n: rnd.randint(1, 3) for n in needs}
    capacity = {v: rnd.randint(1, 2) for v in volunteers}
    edges = [Edge(n, v, rnd.randint(0, 5000)) for n in needs for v in rnd.sample(volunteers, 8)]
    plan = solve(slots, capacity, edges)
    assert_feasible(plan, slots, capacity, edges)
    rnd.shuffle(edges)
    again = solve(slots, capacity, edges)
    assert (again.filled, again.total_cost) == (plan.filled, plan.total_cost)
    assert solve(slots, capacity, edges) == again  # same input, same plan


def test_cost_of_a_score() -> None:
    assert cost_of(4.25, best=4.25) == 0
    assert cost_of(3.0, best=4.25) == 1250
    assert cost_of(4.3, best=4.25) == 0  # never negative
    assert cost_of(3.9, best=4.25) < cost_of(3.8, best=4.25)
    with pytest.raises(ValueError, match="finite"):
        cost_of(float("nan"), best=4.25)
