"""Ranking signals (issue #12): withdrawn offers are no evidence, an on-duty volunteer's fresh
live location counts for urgent needs, and a whole-series offer respects quiet hours."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from matching.cascade import MAX_POOL, MIN_POOL, POOL, SERIES_POOL, decide, pool_size
from matching.eligibility import check, reach_m
from matching.model import (
    History,
    Mode,
    OfferPolicy,
    OfferSource,
    Ranked,
    Reason,
    ScorePart,
    Urgency,
)
from matching.scoring import reliability, score
from matching.steps import Candidates, Facts, Offer, Pool, SeriesOffer
from tests.unit.matching.strategies import candidate, need
from tests.unit.matching.test_cascade_decide import (
    NOW,
    POLICY,
    REGULAR,
    SERIES,
    SERIES_POOLED,
    state,
)


def _part(ranked: Ranked, factor: str) -> ScorePart:
    return next(p for p in ranked.parts if p.factor == factor)


# -- 5. reliability counts only offers the volunteer could answer ----------------------------
def test_withdrawn_or_pending_offers_are_no_evidence() -> None:
    # Two offers withdrawn (the need filled or was cancelled): still a newcomer.
    withdrawn = History(offers_recent=2, offers_total=2)
    assert reliability(withdrawn) == reliability(History())
    c = candidate(history=withdrawn)
    assert _part(score(need(), c, OfferPolicy().weights), "reliability").note == (
        "new: no record yet"
    )
    declined = History(offers_total=3, accepted_total=1, declined_total=1)  # + 1 withdrawn
    note = _part(score(need(), candidate(history=declined), OfferPolicy().weights), "reliability")
    assert note.note.startswith("accepted 1 of 2 offers")
    assert reliability(declined) == reliability(History(accepted_total=1, declined_total=1))


# -- 6. urgent needs measure from a fresh live location -------------------------------------
def test_an_urgent_need_measures_from_the_live_location() -> None:
    urgent = need(urgency=Urgency.URGENT, radius_m=5_000)
    at_the_door = candidate(distance_m=30_000, live_distance_m=150)  # home is far away
    assert check(urgent, at_the_door).eligible
    assert reach_m(urgent, at_the_door) == 150
    ranked = score(urgent, at_the_door, OfferPolicy().weights)
    assert ranked.distance_m == 150
    assert "from their live location" in _part(ranked, "distance").note
    # no fresh live location (None): home counts, and home is too far
    assert Reason.TOO_FAR in check(urgent, candidate(distance_m=30_000)).reasons
    # far from where they are now, though home is near: too far
    away = candidate(distance_m=100, live_distance_m=40_000)
    assert Reason.TOO_FAR in check(urgent, away).reasons


def test_other_needs_measure_from_home() -> None:
    for urgency in (Urgency.LOW, Urgency.NORMAL, Urgency.HIGH):
        n = need(urgency=urgency)
        c = candidate(distance_m=30_000, live_distance_m=150)
        assert Reason.TOO_FAR in check(n, c).reasons
        assert reach_m(n, c) == 30_000
    remote = need(mode=Mode.REMOTE, urgency=Urgency.URGENT)
    assert reach_m(remote, candidate(distance_m=None, live_distance_m=None)) is None


# -- 4. a whole series is not offered to someone asleep -------------------------------------
def _ranked(i: int, continuity: float) -> Ranked:
    part = ScorePart("continuity", continuity, continuity, "")
    return Ranked(UUID(int=i), 100.0 - i, None, None, (part,))


def test_a_series_passes_over_the_sleeping_favourite() -> None:
    s = state(series_id=SERIES)
    facts = Facts().with_series(SeriesOffer(SERIES), None)
    # the series pool is asked who sleeps through the offer, like a wave
    assert decide(s, NOW, POLICY, facts) == SERIES_POOLED
    favourite, awake = _ranked(5, 0.9), _ranked(6, 0.0)
    morning = NOW + timedelta(hours=20)
    pool = Pool((favourite, awake), {favourite.volunteer_id: morning})
    chosen = decide(s, NOW, POLICY, facts.with_pool(SERIES_POOLED, pool))
    assert chosen == (Offer((awake,), OfferSource.SERIES, series=True),)


def test_a_series_whose_pool_all_sleep_cascades_as_usual() -> None:
    s = state(series_id=SERIES)
    facts = Facts().with_series(SeriesOffer(SERIES), None)
    asleep = Pool((_ranked(5, 0.9),), {UUID(int=5): NOW + timedelta(hours=20)})
    # the wave then waits for the first to wake (and the series is tried again) or looks on
    assert decide(s, NOW, POLICY, facts.with_pool(SERIES_POOLED, asleep)) == REGULAR


def test_an_urgent_series_is_offered_through_quiet_hours() -> None:
    s = state(series_id=SERIES, urgency=Urgency.HIGH)
    facts = Facts().with_series(SeriesOffer(SERIES), None)
    assert decide(s, NOW, POLICY, facts) == Candidates(SERIES_POOL, None)  # pushed anyway


# -- 3. in person: a wave ranks at least MIN_POOL candidates --------------------------------
def test_a_wave_ranks_a_pool_wider_than_its_nearest_few() -> None:
    assert pool_size(3) == MIN_POOL  # not 3 x POOL = 12: room for fairness
    assert pool_size(3 * 5) == 3 * 5 * POOL  # five open slots: per offer to make
    assert pool_size(10_000) == MAX_POOL
