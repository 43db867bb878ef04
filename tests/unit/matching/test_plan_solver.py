"""CP-SAT batch plans keep every volunteer's rules (clashes, weekly hours, cap), fill the most
slots then cost the least, and say whether that is proved."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from matching import batch
from matching.model import Edge, Plan, Reason
from matching.plan_rules import Room, Timing, clash
from matching.plan_solver import Proof, Solved, greedy, solve

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
A, B, C = UUID(int=1), UUID(int=2), UUID(int=3)
ANN, BOB = UUID(int=11), UUID(int=12)

Instance = tuple[dict[UUID, int], dict[UUID, Room], dict[UUID, Timing], list[Edge]]


def at(hours: float, minutes: int = 60, day: int = 0) -> Timing:
    start = MONDAY + timedelta(days=day, hours=hours)
    return Timing(((start, start + timedelta(minutes=minutes)),), minutes)


def room(assignments: int = 5, hours: int = 40, committed: int = 0) -> Room:
    return Room(assignments, hours * 60, {MONDAY.date(): committed})


def breaks(plan: Plan, inst: Instance) -> list[str]:
    """Every rule the plan breaks, checked from scratch (not with the solver's Ledger)."""
    slots, rooms, timings, _ = inst
    found = [f"need {n} over" for n, k in Counter(n for n, _ in plan.pairs).items() if k > slots[n]]
    by_volunteer: dict[UUID, list[UUID]] = {}
    for n, v in plan.pairs:
        by_volunteer.setdefault(v, []).append(n)
    for v, needs in by_volunteer.items():
        r = rooms[v]
        if len(needs) > r.assignments:
            found.append(f"{v} over cap")
        for a, b in itertools.combinations(needs, 2):
            if clash(timings[a], timings[b]):
                found.append(f"{v} clash {a} {b}")
        for n in needs:
            week = timings[n].week
            planned = sum(timings[m].minutes for m in needs if week in timings[m].weeks)
            if r.committed.get(week, 0) + planned > r.week_minutes:
                found.append(f"{v} over hours in {week}")
    return found


def brute_force(inst: Instance) -> tuple[int, int]:
    """The best (filled, cost) over every subset of the edges keeping every rule."""
    slots, rooms, _, edges = inst
    cheapest: dict[tuple[UUID, UUID], int] = {}
    for e in edges:
        if e.need_id in slots and e.volunteer_id in rooms:
            pair = (e.need_id, e.volunteer_id)
            cheapest[pair] = min(e.cost, cheapest.get(pair, e.cost))
    pairs = sorted(cheapest)
    best = (0, 0)
    for chosen in itertools.product((False, True), repeat=len(pairs)):
        picked = tuple(p for p, on in zip(pairs, chosen, strict=True) if on)
        if not breaks(Plan(picked, len(picked), 0), inst):
            cost = sum(cheapest[p] for p in picked)
            if (len(picked), -cost) > (best[0], -best[1]):
                best = (len(picked), cost)
    return best


def assert_proved_as_said(s: Solved) -> None:
    assert s.objective == s.fill_weight * s.plan.filled - s.plan.total_cost
    assert s.objective <= s.best_bound
    assert (s.proof is Proof.OPTIMAL) == (s.objective == s.best_bound)
    assert s.gap >= 0
    assert s.plan.filled <= s.filled_bound <= s.flow.filled


def test_two_needs_in_the_same_hour_go_to_two_volunteers() -> None:
    slots = {A: 1, B: 1}
    timings = {A: at(10), B: at(10)}
    # Ann is the cheapest for both: the flow gives her both, which she could not accept.
    edges = [Edge(A, ANN, 0), Edge(B, ANN, 0), Edge(A, BOB, 50), Edge(B, BOB, 70)]
    flow = batch.solve(slots, {ANN: 5, BOB: 5}, edges)
    assert flow.pairs == ((A, ANN), (B, ANN))
    s = solve(slots, {ANN: room(), BOB: room()}, timings, edges)
    assert s.plan.pairs == ((A, BOB), (B, ANN))
    assert (s.plan.filled, s.plan.total_cost) == (2, 50)
    assert s.proof is Proof.OPTIMAL
    assert s.flow_refused == {Reason.CONFLICT: 1}
    assert_proved_as_said(s)
    # alone, Ann takes one of them only
    alone = solve(slots, {ANN: room()}, timings, edges)
    assert alone.plan.filled == 1
    assert alone.filled_bound == 1  # proved: no plan fills both
    # at different hours she takes both
    apart = solve(slots, {ANN: room()}, {A: at(10), B: at(11)}, edges)
    assert apart.plan.pairs == ((A, ANN), (B, ANN))
    assert apart.parts_by_flow == apart.parts == 1  # the flow was feasible: no CP-SAT


def test_weekly_hours_count_what_is_committed_and_what_is_planned() -> None:
    slots = {A: 1, B: 1, C: 1}
    timings = {A: at(10, 120), B: at(14, 60, day=1), C: at(10, 60, day=7)}
    edges = [Edge(n, ANN, 0) for n in slots]
    # 4 hours a week, 1 already committed this week: A (2 h) and B (1 h) fit, and C is
    # next week. With 2 committed, only one of A and B fits: the cheaper, B.
    s = solve(slots, {ANN: room(hours=4, committed=60)}, timings, edges)
    assert s.plan.filled == 3
    edges_b_cheaper = [Edge(A, ANN, 10), Edge(B, ANN, 0), Edge(C, ANN, 0)]
    s = solve(slots, {ANN: room(hours=4, committed=120)}, timings, edges_b_cheaper)
    assert s.plan.pairs == ((B, ANN), (C, ANN))
    assert s.flow_refused == {Reason.HOURS_CAP: 1}
    # a need longer than the hours left is no edge at all
    s = solve({A: 1}, {ANN: room(hours=2, committed=60)}, {A: at(10, 120)}, edges[:1])
    assert s.plan.filled == 0


def test_the_cap_of_active_assignments() -> None:
    slots = {A: 1, B: 1, C: 1}
    timings = {A: at(8), B: at(10), C: at(12)}
    edges = [Edge(n, ANN, i) for i, n in enumerate(slots)]
    s = solve(slots, {ANN: room(assignments=2)}, timings, edges)
    assert s.plan.pairs == ((A, ANN), (B, ANN))
    assert s.proof is Proof.OPTIMAL
    assert solve(slots, {ANN: room(assignments=0)}, timings, edges).plan.filled == 0


def test_more_slots_beat_a_cheaper_plan_under_the_rules() -> None:
    # Ann's cheap A blocks B (same hour); Bob can only do A. Filling both costs more.
    slots = {A: 1, B: 1}
    timings = {A: at(10), B: at(10)}
    edges = [Edge(A, ANN, 0), Edge(B, ANN, 900), Edge(A, BOB, 800)]
    s = solve(slots, {ANN: room(), BOB: room()}, timings, edges)
    assert (s.plan.filled, s.plan.total_cost) == (2, 1700)
    assert greedy(slots, {ANN: room(), BOB: room()}, timings, edges).filled == 1


def test_independent_parts_are_solved_apart() -> None:
    slots = {A: 1, B: 1, C: 1}
    timings = {A: at(10), B: at(10), C: at(10)}
    edges = [Edge(A, ANN, 0), Edge(B, ANN, 0), Edge(C, BOB, 3)]
    s = solve(slots, {ANN: room(), BOB: room()}, timings, edges)
    assert (s.parts, s.parts_by_flow) == (2, 1)  # Bob's part needed no search
    assert (s.plan.filled, s.plan.total_cost) == (2, 3)
    assert s.proof is Proof.OPTIMAL


def test_nothing_to_plan() -> None:
    s = solve({}, {}, {}, [])
    assert (s.plan, s.proof, s.parts) == (Plan((), 0, 0), Proof.OPTIMAL, 0)
    assert s.gap == 0.0


NEEDS = [UUID(int=i) for i in range(1, 5)]
VOLUNTEERS = [UUID(int=i) for i in range(101, 104)]


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    needs = NEEDS[: draw(st.integers(1, len(NEEDS)))]
    volunteers = VOLUNTEERS[: draw(st.integers(1, len(VOLUNTEERS)))]
    slots = {n: draw(st.integers(0, 2)) for n in needs}
    timings = {}
    for n in needs:
        day, hour = draw(st.integers(0, 8)), draw(st.integers(8, 12))
        minutes = draw(st.sampled_from((30, 60, 90, 120)))
        timing = at(hour, minutes, day)
        if draw(st.booleans()):  # an alternative window the next day
            (start, end), shift = timing.windows[0], timedelta(days=1)
            timing = Timing(((start, end), (start + shift, end + shift)), minutes)
        timings[n] = timing
    rooms = {
        v: Room(
            draw(st.integers(0, 3)),
            draw(st.sampled_from((60, 120, 180, 600))),
            {MONDAY.date(): draw(st.sampled_from((0, 30, 60)))},
        )
        for v in volunteers
    }
    edge = st.builds(Edge, st.sampled_from(needs), st.sampled_from(volunteers), st.integers(0, 20))
    return slots, rooms, timings, draw(st.lists(edge, max_size=9))


@settings(max_examples=150, deadline=None)
@given(instances())
def test_any_solution_keeps_every_rule_and_is_the_optimum(inst: Instance) -> None:
    s = solve(*inst)
    assert breaks(s.plan, inst) == []
    assert_proved_as_said(s)
    assert s.proof is Proof.OPTIMAL  # small enough to prove within the time limit
    assert (s.plan.filled, s.plan.total_cost) == brute_force(inst)
    quick = greedy(*inst)
    assert breaks(quick, inst) == []
    assert (quick.filled, -quick.total_cost) <= (s.plan.filled, -s.plan.total_cost)


def test_a_larger_plan_keeps_every_rule_even_when_stopped_early() -> None:
    rnd = random.Random(3)
    needs = [UUID(int=rnd.getrandbits(128)) for _ in range(120)]
    volunteers = [UUID(int=rnd.getrandbits(128)) for _ in range(80)]
    slots = {n: rnd.randint(1, 2) for n in needs}
    timings = {n: at(rnd.randint(8, 18), rnd.choice((60, 90)), rnd.randrange(7)) for n in needs}
    rooms = {v: room(rnd.randint(1, 4), rnd.randint(2, 6), rnd.choice((0, 60))) for v in volunteers}
    edges = [Edge(n, v, rnd.randint(0, 5000)) for n in needs for v in rnd.sample(volunteers, 6)]
    inst = (slots, rooms, timings, edges)
    for limit in (0.0, 2.0):  # 0: the floor of 50 ms, likely unproved
        s = solve(*inst, time_limit_s=limit)
        assert breaks(s.plan, inst) == []
        assert_proved_as_said(s)
        assert s.plan.filled >= greedy(*inst).filled or s.proof is Proof.FEASIBLE
