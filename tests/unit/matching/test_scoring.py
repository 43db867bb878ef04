from __future__ import annotations

import math
import random
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.eligibility import check
from matching.model import (
    Candidate,
    History,
    Mode,
    Need,
    OfferPolicy,
    Ranked,
    TravelMode,
    Urgency,
    Weights,
)
from matching.scoring import best_score, rank, reliability, tiebreak, travel_minutes
from tests.unit.matching.strategies import (
    candidate,
    candidate_lists,
    need,
    needs,
)

FACTORS = ("distance", "continuity", "fairness", "reliability", "preference", "urgency")
POLICY = OfferPolicy()
weights = st.builds(
    Weights, *(st.floats(0, 3, allow_nan=False, allow_infinity=False) for _ in FACTORS)
)


def _part(r: Ranked, factor: str) -> float:
    return next(p.value for p in r.parts if p.factor == factor)


def _one(n: Need, c: Candidate, policy: OfferPolicy = POLICY) -> Ranked:
    (r,) = rank(n, [c], policy)
    return r


@settings(max_examples=300, deadline=None)
@given(needs, candidate_lists, weights)
def test_rank_returns_exactly_the_eligible_best_first(
    n: Need, cs: list[Candidate], w: Weights
) -> None:
    ranked = rank(n, cs, OfferPolicy(weights=w))
    assert {r.volunteer_id for r in ranked} == {c.volunteer_id for c in cs if check(n, c).eligible}
    assert ranked == sorted(ranked, key=lambda r: (-r.score, tiebreak(n.id, r.volunteer_id)))
    for r in ranked:
        assert tuple(p.factor for p in r.parts) == FACTORS
        assert math.isfinite(r.score)
        assert r.score == sum(p.points for p in r.parts)
        assert r.score <= best_score(w) + 1e-9
        for p, weight in zip(r.parts, (getattr(w, f) for f in FACTORS), strict=True):
            assert 0 <= p.value <= 1
            assert p.points == weight * p.value
            assert p.note


@settings(max_examples=50, deadline=None)
@given(needs, candidate_lists, st.randoms())
def test_rank_does_not_depend_on_input_order(
    n: Need, cs: list[Candidate], rnd: random.Random
) -> None:
    first = rank(n, cs, POLICY)
    rnd.shuffle(cs)
    assert rank(n, cs, POLICY) == first


def test_ineligible_volunteers_are_not_ranked() -> None:
    assert rank(need(), [candidate(excluded=True)], POLICY) == []


def test_travel_time_assumptions() -> None:
    assert travel_minutes(0, TravelMode.WALK) == 0
    assert travel_minutes(0, TravelMode.PUBLIC_TRANSPORT) > 0  # waiting for the bus
    # 1.5 km as the crow flies is about 2 km on foot: 26 minutes at 4.5 km/h.
    assert travel_minutes(1_500, TravelMode.WALK) == pytest.approx(26, abs=0.1)
    five_km = [travel_minutes(5_000, m) for m in TravelMode]
    walk, cycle, bus, car = five_km
    assert walk > bus > cycle > car


@given(st.floats(0, 100_000), st.floats(0, 100_000), st.sampled_from(list(TravelMode)))
def test_travel_time_grows_with_distance(a: float, b: float, mode: TravelMode) -> None:
    near, far = sorted((a, b))
    assert 0 <= travel_minutes(near, mode) <= travel_minutes(far, mode)


def test_distance_is_valued_by_travel_time() -> None:
    on_foot = _one(need(), candidate(travel_mode=TravelMode.WALK))
    by_car = _one(need(), candidate(travel_mode=TravelMode.CAR))
    assert _part(by_car, "distance") > _part(on_foot, "distance")
    assert on_foot.parts[0].note == "2.0 km, about 35 min on foot"
    remote = _one(need(mode=Mode.REMOTE), candidate(distance_m=None))
    assert (_part(remote, "distance"), remote.parts[0].note) == (1.0, "remote")
    assert remote.travel_minutes is None
    assert remote.distance_m is None


def test_continuity_favours_the_named_volunteer_then_familiar_faces() -> None:
    def continuity(served: int, named: bool = False) -> float:
        c = candidate(history=History(served_client=served))
        n = need(continuity_volunteer_id=c.volunteer_id if named else None)
        return _part(_one(n, c), "continuity")

    assert continuity(0, named=True) == 1
    assert 1 > continuity(5) > continuity(2) > continuity(1) >= 0.6 > continuity(0) == 0


def test_fairness_favours_those_offered_less() -> None:
    def fairness(offers: int, assignments: int) -> float:
        return _part(_one(need(), candidate(history=History(offers, assignments))), "fairness")

    assert fairness(0, 0) == 1
    assert fairness(0, 0) > fairness(4, 0) > fairness(4, 2) > fairness(40, 10) > 0
    assert fairness(0, 1) < fairness(1, 0)  # an assignment weighs more than an offer


def test_reliability_smooths_a_short_record() -> None:
    assert reliability(History()) == pytest.approx(0.7)
    kept = History(offers_total=10, accepted_total=10, completed_total=10)
    assert 0.9 < reliability(kept) < 1
    declined = History(offers_total=1, declined_total=1)
    expired = History(offers_total=1, expired_total=1)
    no_show = History(offers_total=1, accepted_total=1, no_shows_total=1)
    assert reliability(declined) == reliability(expired) < 0.7
    assert reliability(no_show) < reliability(declined)  # a no-show leaves a person waiting
    # Expired offers count even if the offers total missed them.
    assert reliability(History(expired_total=1)) == reliability(expired)


def test_preference() -> None:
    assert _part(_one(need(), candidate()), "preference") == 1
    assert _part(_one(need(), candidate(preferred_kinds=frozenset())), "preference") == 0.5
    others = candidate(preferred_kinds=frozenset({"transport"}))
    assert _part(_one(need(), others), "preference") == 0


def test_urgency_favours_the_near_and_on_duty() -> None:
    urgent = need(urgency=Urgency.URGENT)
    assert _part(_one(urgent, candidate(distance_m=0, travel_mode=TravelMode.WALK)), "urgency") == 1
    assert _part(_one(need(), candidate()), "urgency") == 0
    high = need(urgency=Urgency.HIGH)
    on_duty = _part(_one(high, candidate()), "urgency")
    assert on_duty > _part(_one(high, candidate(on_duty=False)), "urgency") > 0


def test_ties_are_broken_by_a_per_need_shuffle_not_by_id() -> None:
    twins = [candidate(volunteer_id=UUID(int=i)) for i in range(1, 9)]
    orders = {
        tuple(r.volunteer_id.int for r in rank(need(id=UUID(int=n)), twins, POLICY))
        for n in range(100, 120)
    }
    assert len(orders) > 10  # a different order from need to need
    firsts = {order[0] for order in orders}
    assert len(firsts) > 3  # not the lowest id every time
    again = rank(need(id=UUID(int=100)), list(reversed(twins)), POLICY)
    assert tuple(r.volunteer_id.int for r in again) in orders  # the same for one need


def test_best_score_is_the_sum_of_weights() -> None:
    assert best_score(Weights()) == 4.25
