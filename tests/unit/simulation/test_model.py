"""The simulated week's pure parts: the world generator, the response model, the report's
arithmetic and the invariants' oracle. No database."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.simulation import invariants as inv
from app.simulation.measures import gini, lorenz, percentile
from app.simulation.response import Answer, CaseworkerModel, ResponseModel
from app.simulation.world import KINDS, WorldModel, distance_km, generate
from matching.model import TravelMode
from matching.scoring import travel_minutes

WEEK = WorldModel()


def test_gini_of_equal_shares_is_zero_and_of_one_holder_is_near_one() -> None:
    assert gini([3, 3, 3, 3]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)  # (n - 1) / n: the most unequal
    assert gini([0, 0]) is None
    assert gini([]) is None


def test_gini_is_the_metrics_summary_formula() -> None:
    values = [0, 1, 1, 2, 5, 9]
    n, total = len(values), sum(values)
    ranked = sum(r * x for r, x in enumerate(sorted(values), start=1))
    assert gini(values) == pytest.approx(2 * ranked / (n * total) - (n + 1) / n)


def test_lorenz_curve_runs_from_origin_to_one() -> None:
    curve = lorenz([5, 0, 5])
    assert curve[0] == (0.0, 0.0)
    assert curve[-1] == pytest.approx((1.0, 1.0))
    assert [y for _, y in curve] == sorted(y for _, y in curve)


def test_percentile_interpolates_like_percentile_cont() -> None:
    assert percentile([1, 2, 3, 4], 0.5) == pytest.approx(2.5)
    assert percentile([7], 0.9) == 7
    assert percentile([], 0.5) is None


def test_acceptance_decays_with_travel_and_halves_at_t50() -> None:
    m = ResponseModel()
    probabilities = [m.p_accept(t) for t in range(0, 90, 5)]
    assert probabilities == sorted(probabilities, reverse=True)
    assert m.p_accept(m.t50_min) == pytest.approx(m.p_max / 2)
    assert m.p_accept(0) < m.p_max


def test_acceptance_per_alert_over_the_borough_is_in_the_published_range() -> None:
    """17-47 % of alerts accepted (JMIR mHealth 2023): the default model lands inside."""
    m, world = ResponseModel(), generate(replace(WEEK, volunteers=400, days=2), seed=3)
    rng, answers = random.Random(0), []
    for need in world.needs:
        for v in rng.sample(world.volunteers, 5):
            metres = 1000 * distance_km(v.lat, v.lon, need.lat, need.lon)
            minutes = travel_minutes(metres, TravelMode(v.mode))
            answers.append(m.answer(rng, minutes, busy=False)[0])
    accepted = answers.count(Answer.ACCEPT) / len(answers)
    assert 0.17 <= accepted <= 0.47


def test_busy_volunteers_decline_more_and_silence_is_its_share() -> None:
    m, rng = ResponseModel(), random.Random(1)
    free = [m.answer(rng, 5, busy=False)[0] for _ in range(4000)]
    busy = [m.answer(rng, 5, busy=True)[0] for _ in range(4000)]
    assert busy.count(Answer.ACCEPT) < free.count(Answer.ACCEPT) / 2
    assert free.count(Answer.SILENT) / 4000 == pytest.approx(m.p_silent, abs=0.03)


def test_delays_are_lognormal_around_the_stated_median() -> None:
    m, rng = ResponseModel(), random.Random(2)
    delays = sorted(m.delay_s(rng) for _ in range(4001))
    assert delays[2000] / 60 == pytest.approx(m.delay_median_min, rel=0.1)


def test_same_seed_same_world_and_another_seed_another() -> None:
    small = replace(WEEK, volunteers=100)
    assert generate(small, 7) == generate(small, 7)
    assert generate(small, 7) != generate(small, 8)


def test_world_shares_follow_the_model() -> None:
    world = generate(WEEK, seed=11)
    people = world.volunteers
    assert len(people) == 2000
    assert sum(v.on_duty for v in people) / 2000 == pytest.approx(WEEK.on_duty_share, abs=0.03)
    for mode, share in WEEK.travel_modes.items():
        assert sum(v.mode == mode for v in people) / 2000 == pytest.approx(share, abs=0.03)
    lapsed = sum(v.vetting_lapsed for v in people) / 2000
    assert lapsed == pytest.approx(WEEK.vetting["enhanced_lapsed"], abs=0.02)
    assert len(world.needs) == 700
    for kind, spec in KINDS.items():
        share = sum(n.kind == kind for n in world.needs) / 700
        assert share == pytest.approx(spec.share, abs=0.04), kind
    assert all(8 <= (n.start_s / 3600) % 24 < 23 for n in world.needs)  # windows by day
    assert [n.posted_s for n in world.needs] == sorted(n.posted_s for n in world.needs)


def test_a_world_file_overrides_the_model_and_refuses_unknown_settings() -> None:
    changed = WEEK.overridden({"on_duty_share": 0.5, "hours_per_week": [1, 2]})
    assert changed.on_duty_share == 0.5
    assert changed.hours_per_week == (1, 2)
    with pytest.raises(ValueError, match="unknown world model settings: nonsense"):
        WEEK.overridden({"nonsense": 1})


def test_the_oracle_names_each_broken_rule() -> None:
    world = generate(replace(WEEK, volunteers=50), seed=5)
    v = replace(
        world.volunteers[0],
        skills=(),
        languages=(),
        vetting="none",
        pattern="weekends",
        on_duty=False,
        radius_km=0.1,
    )
    need = replace(
        world.needs[0],
        kind="befriending",
        urgency="urgent",
        languages=("pl",),
        lat=v.lat + 0.05,  # about 5.6 km north
        lon=v.lon,
    )
    monday = datetime(2026, 11, 30, 10, tzinfo=UTC)
    occ = inv.Occurrence(need, KINDS["befriending"], monday, monday + timedelta(hours=2), 60)
    broken = inv.eligibility_breaks(v, occ, on_duty_rule=True)
    assert broken == ["too_far", "vetting_level", "skills", "languages", "unavailable", "off_duty"]
    assert inv.eligibility_breaks(world.volunteers[0], occ, on_duty_rule=False) != broken


def test_pushes_in_quiet_hours_and_with_client_words_are_violations() -> None:
    world = generate(replace(WEEK, volunteers=20), seed=5)
    sleeper = replace(world.volunteers[0], quiet=True)
    night = datetime(2026, 12, 1, 23, tzinfo=UTC)
    assert inv.push_breaks(sleeper, night, False, {"kind": "offer.created"}, []) == [
        "quiet_hours_push"
    ]
    assert inv.push_breaks(sleeper, night, True, {"kind": "offer.created"}, []) == []
    leaked = {"kind": "offer.created", "summary": "for Client Person 3"}
    assert inv.push_breaks(None, night, True, leaked, ["Client Person 3"]) == [
        "personal_data_in_push"
    ]


def test_the_caseworker_answers_an_escalation_within_staff_hours() -> None:
    model = CaseworkerModel(delay_median_min=20.0, delay_sigma=0.0)  # exactly the median
    day = datetime(2026, 12, 7, tzinfo=UTC)
    rng = random.Random(1)
    assert model.acts_at(rng, day.replace(hour=10)) == day.replace(hour=10, minute=20)
    # before the rota starts: from 08:00; after it ends: from 08:00 the next day
    assert model.acts_at(rng, day.replace(hour=3)) == day.replace(hour=8, minute=20)
    evening = day.replace(hour=21, minute=30)
    assert model.acts_at(rng, evening) == day.replace(day=8, hour=8, minute=20)


def test_the_caseworkers_delay_is_lognormal_about_its_median() -> None:
    model, rng = CaseworkerModel(), random.Random(7)
    at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    minutes = sorted((model.acts_at(rng, at) - at).total_seconds() / 60 for _ in range(2001))
    assert 17 < minutes[1000] < 23  # the median, 20 minutes
    assert minutes[0] > 0
