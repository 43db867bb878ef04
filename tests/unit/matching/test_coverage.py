"""The coverage measure (E2SFCA) on constructed worlds with known answers, and its one
promise: no volunteer's hours are counted more than once."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.coverage import (
    EARTH_RADIUS_M,
    PRIOR_ACCEPTANCE,
    PRIOR_OFFERS,
    Demand,
    Supply,
    accepted_levels,
    accessible,
    capped_hours,
    expected_acceptance,
    level_bit,
    unmet,
    vocabulary,
    word_bits,
)
from matching.vetting import DbsLevel

DEG_M = EARTH_RADIUS_M * math.pi / 180  # metres per degree along the equator
NONE = level_bit(DbsLevel.NONE)
ANY = accepted_levels(DbsLevel.NONE)


def _supply(
    east_m: list[float],
    radius_m: list[float],
    hours: list[float],
    *,
    level: list[int] | None = None,
    words: list[int] | None = None,
    org: list[int] | None = None,
    person: list[int] | None = None,
) -> Supply:
    n = len(east_m)
    return Supply(
        person=np.array(person or list(range(n)), dtype=np.int64),
        org=np.array(org or [0] * n, dtype=np.int64),
        lon=np.array(east_m) / DEG_M,
        lat=np.zeros(n),
        radius_m=np.array(radius_m, dtype=np.float64),
        hours=np.array(hours, dtype=np.float64),
        level=np.array(level or [NONE] * n, dtype=np.int64),
        words=np.array(words or [0] * n, dtype=np.float64),
    )


def _demand(
    east_m: list[float | None],
    hours: list[float],
    *,
    levels: list[int] | None = None,
    words: list[int] | None = None,
    org: list[int] | None = None,
) -> Demand:
    n = len(east_m)
    lon = np.array([math.nan if e is None else e / DEG_M for e in east_m])
    return Demand(
        org=np.array(org or [0] * n, dtype=np.int64),
        lon=lon,
        lat=np.where(np.isnan(lon), math.nan, 0.0),
        levels=np.array(levels or [ANY] * n, dtype=np.int64),
        words=np.array(words or [0] * n, dtype=np.float64),
        hours=np.array(hours, dtype=np.float64),
    )


def test_two_volunteers_three_needs_one_unreachable() -> None:
    # A at 0 m (radius 2 km, 4 h); B at 3 km (radius 2 km, 2 h). Needs of 2 h at 0 m (A
    # only), 2 h at 1.5 km (both, each at weight w) and 3 h at 10 km (nobody).
    s = _supply([0, 3000], [2000, 2000], [4, 2])
    d = _demand([0, 1500, 10_000], [2, 2, 3])
    w = math.exp(-0.5 * (1500 / 2000) ** 2)
    r_a = 4 / (2 * 1 + 2 * w)  # A's hours per weighted demand hour in reach
    r_b = 2 / (2 * w)
    expected = [2 * r_a, 2 * (r_a * w + r_b * w), 0.0]
    got = accessible(s, d)
    assert np.allclose(got, expected)
    assert math.isclose(got.sum(), 6.0)  # every hour of both, once
    assert np.allclose(unmet(d.hours, got), [0.0, 0.0, 3.0])


def test_supply_comes_only_from_eligible_volunteers() -> None:
    vocab = vocabulary([["driving"], ["lang:pl"]])
    driving, polish = word_bits(["driving"], vocab), word_bits(["lang:pl"], vocab)
    enhanced = level_bit(DbsLevel.ENHANCED)
    s = _supply(
        [0, 0, 0, 0],
        [5000] * 4,
        [3, 3, 3, 3],
        level=[NONE, enhanced, NONE, NONE],
        words=[driving, 0, polish, driving | polish],
        org=[0, 0, 0, 1],  # the last is another organisation's volunteer
    )
    d = _demand(
        [0, 0, 0],
        [1, 1, 1],
        levels=[ANY, accepted_levels(DbsLevel.ENHANCED), ANY],
        words=[driving, 0, polish],
    )
    got = accessible(s, d)
    # Each of the first three volunteers is eligible for exactly one need; the fourth for
    # none of this organisation's.
    assert np.allclose(got, [3.0, 3.0, 3.0])


def test_remote_needs_are_reached_from_anywhere_and_share_the_same_hours() -> None:
    s = _supply([0], [1000], [4])
    d = _demand([None, 500_000, 0], [2, 2, 2])
    got = accessible(s, d)
    assert got[1] == 0.0  # 500 km away, in person
    assert np.allclose(got, [2.0, 0.0, 2.0])  # remote and home at weight 1: halves


def test_a_person_in_two_organisations_is_counted_once() -> None:
    s = _supply([0, 0], [2000, 2000], [5, 5], org=[0, 1], person=[0, 0])
    d = _demand([0, 0], [1, 1], org=[0, 1])
    assert math.isclose(accessible(s, d).sum(), 5.0)


def test_capped_hours_take_the_cap_and_commitments() -> None:
    got = capped_hours(
        np.array([10.0, 3.0, 10.0]), np.array([4.0, 4.0, 4.0]), 7.0, np.array([1.0, 0.0, 6.0])
    )
    assert np.allclose(got, [3.0, 3.0, 0.0])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-20_000, 20_000), st.floats(100, 10_000), st.floats(0, 20), st.integers(0, 3)
        ),
        min_size=1,
        max_size=25,
    ),
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(-20_000, 20_000)), st.floats(0.1, 10), st.integers(0, 3)
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 50),
)
def test_total_supply_never_exceeds_the_capped_hours(
    volunteers: list[tuple[float, float, float, int]],
    needs: list[tuple[float | None, float, int]],
    chunk: int,
) -> None:
    s = _supply(
        [v[0] for v in volunteers],
        [v[1] for v in volunteers],
        [v[2] for v in volunteers],
        words=[v[3] for v in volunteers],
    )
    d = _demand([n[0] for n in needs], [n[1] for n in needs], words=[n[2] for n in needs])
    got = accessible(s, d, max_pairs=chunk)  # chunks of any size give the same answer
    assert np.all(got >= 0)
    assert got.sum() <= s.hours.sum() + 1e-9
    assert np.allclose(got, accessible(s, d))


def test_an_urgent_need_is_supplied_only_by_volunteers_on_duty() -> None:
    s = _supply([0, 0], [2000, 2000], [3, 3])
    on_duty = Supply(**{**s.__dict__, "on_duty": np.array([True, False])})
    d = _demand([0, 0], [1, 1])
    urgent = Demand(**{**d.__dict__, "urgent": np.array([True, False])})
    got = accessible(on_duty, urgent)
    # The one on duty shares 3 h over both needs; the other gives all 3 h to the other.
    assert np.allclose(got, [1.5, 4.5])


def test_expected_acceptance_starts_at_the_prior_and_follows_the_record_as_it_grows() -> None:
    assert expected_acceptance(0, 0).share == PRIOR_ACCEPTANCE
    # A short record moves it a little; a long one takes over.
    assert expected_acceptance(5, 10).share == pytest.approx((5 + 15) / 60, abs=1e-4)
    assert expected_acceptance(100, 1000).share == pytest.approx(115 / 1050, abs=1e-4)
    assert abs(expected_acceptance(1000, 10_000).share - 0.1) < 0.002
    assert expected_acceptance(50, 50).share == pytest.approx((50 + 15) / 100)
    assert expected_acceptance(0, 50).offers == 50
    assert f"weighing as {PRIOR_OFFERS} offers" in expected_acceptance(0, 0).basis()
    for accepted, answered in ((3, 2), (-1, 4)):
        with pytest.raises(ValueError, match="among the answered"):
            expected_acceptance(accepted, answered)


@given(
    accepted=st.integers(min_value=0, max_value=10_000),
    more=st.integers(min_value=0, max_value=10_000),
)
def test_expected_acceptance_is_a_share_between_the_record_and_the_prior(
    accepted: int, more: int
) -> None:
    answered = accepted + more
    share = expected_acceptance(accepted, answered).share
    assert 0 < share < 1
    if answered:
        record = accepted / answered
        assert min(record, PRIOR_ACCEPTANCE) - 1e-4 <= share <= max(record, PRIOR_ACCEPTANCE) + 1e-4
