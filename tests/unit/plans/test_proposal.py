"""A batch proposal's arithmetic: open slots, the choices shown and the totals reported."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import UUID

import pytest

from app.plans.proposal import Instance, choices_of, open_slots, totals_of
from matching.model import Edge, Plan, Ranked, ScorePart
from matching.plan_rules import Room

NEED_A, NEED_B = UUID(int=1), UUID(int=2)
ANN, BOB, CY = UUID(int=11), UUID(int=12), UUID(int=13)


def _ranked(volunteer: UUID, score: float, km: float) -> Ranked:
    parts = (
        ScorePart("distance", 0.5, 0.5, f"{km} km"),
        ScorePart("fairness", 1.0, 1.0, "no recent offers"),
    )
    return Ranked(volunteer, score, travel_minutes=km * 4, distance_m=km * 1000, parts=parts)


def _instance(*, history: bool = True) -> Instance:
    ranked = {
        (NEED_A, ANN): _ranked(ANN, 0.9, 1.0),
        (NEED_A, BOB): _ranked(BOB, 0.7, 2.0),
        (NEED_B, BOB): _ranked(BOB, 0.8, 0.5),
    }
    edges = [Edge(n, v, cost) for (n, v), cost in zip(ranked, (10, 30, 20), strict=True)]
    return Instance(
        needs=[SimpleNamespace(id=NEED_A), SimpleNamespace(id=NEED_B)],
        slots={NEED_A: 2, NEED_B: 1},
        # Cy is a candidate elsewhere, given nothing
        rooms={v: Room(assignments=k, week_minutes=600) for v, k in ((ANN, 1), (BOB, 2), (CY, 1))},
        timings={},
        edges=edges,
        ranked=ranked,
        history_used=history,
        candidates_ms=1.25,
        scoring_ms=0.5,
    )


@pytest.mark.parametrize(
    ("slots", "filled", "pending", "expected"),
    [(3, 1, 1, 1), (2, 2, 0, 0), (1, 0, 2, 0), (4, 0, 0, 4)],
)
def test_open_slots_leave_out_filled_and_pending_offers(
    slots: int, filled: int, pending: int, expected: int
) -> None:
    row = SimpleNamespace(slots=slots, filled=filled, pending=pending)
    assert open_slots(row) == expected


def test_totals_count_what_the_plan_fills_and_how_evenly() -> None:
    inst = _instance()
    plan = Plan(pairs=((NEED_A, ANN), (NEED_B, BOB)), filled=2, total_cost=30)
    greedy = Plan(pairs=((NEED_A, BOB),), filled=1, total_cost=30)
    totals = totals_of(inst, plan, greedy, solve_ms=3.04, greedy_ms=0.01)
    assert (totals.needs, totals.open_slots, totals.filled_slots) == (2, 3, 2)
    assert totals.unfilled_needs == 1  # need A wanted two, got one
    assert (totals.candidate_edges, totals.candidate_volunteers) == (3, 3)
    assert totals.travel_km == 1.5
    assert totals.travel_minutes == 6.0
    assert (totals.volunteers_used, totals.max_per_volunteer) == (2, 1)
    assert totals.mean_per_volunteer == 1.0
    # one job each for Ann and Bob, none for Cy: counts (0, 1, 1) over three candidates
    assert totals.gini == pytest.approx(1 / 3, abs=1e-4)
    assert (totals.greedy_cost, totals.greedy_filled) == (30, 1)
    assert (totals.solve_ms, totals.greedy_ms, totals.candidates_ms) == (3.0, 0.0, 1.2)


def test_an_empty_plan_has_no_volunteers_and_no_inequality() -> None:
    totals = totals_of(_instance(), Plan((), 0, 0), Plan((), 0, 0), 0.0, 0.0)
    assert (totals.filled_slots, totals.volunteers_used, totals.mean_per_volunteer) == (0, 0, 0)
    assert totals.gini == 0.0
    assert totals.unfilled_needs == 2


def test_choices_carry_cost_distance_and_explanation() -> None:
    plan = Plan(pairs=((NEED_A, ANN), (NEED_B, BOB)), filled=2, total_cost=30)
    first, second = choices_of(_instance(), plan)
    assert (first.need_id, first.volunteer_id, first.cost) == (NEED_A, ANN, 10)
    assert (first.distance_km, first.travel_minutes, first.score) == (1.0, 4.0, 0.9)
    assert (second.need_id, second.volunteer_id, second.cost) == (NEED_B, BOB, 20)
    assert [e.factor for e in first.explanation] == ["distance", "fairness"]


def test_a_batch_too_large_for_history_says_so_in_each_explanation() -> None:
    plan = Plan(pairs=((NEED_A, ANN),), filled=1, total_cost=10)
    (only,) = choices_of(_instance(history=False), plan)
    notes = {e.factor: e.note for e in only.explanation}
    assert notes["distance"] == "1.0 km"
    assert notes["fairness"].startswith("not read for a batch this large: ")
