"""The demo's responders (app/simulation/responders.py): who answers what and when, by the
simulation's response model, decided the same every time; and the setting that turns them
on, refused in production."""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.settings import Settings, SettingsError, load_settings
from app.simulation import responders as r
from app.simulation.response import Answer, ResponseModel
from app.worker import default_jobs
from matching.model import AssignmentStatus

T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)
MODEL = ResponseModel()
PRODUCTION = {
    "CODELIVER_ENV": "production",
    "CODELIVER_DATABASE_URL": "postgresql+asyncpg://app@db/codeliver",
    "CODELIVER_MIGRATION_DATABASE_URL": "postgresql+asyncpg://owner@db/codeliver",
    "CODELIVER_FIREBASE_PROJECT_ID": "my-project",
}


def _offers(n: int, subject: str = "demo-volunteer-0007") -> list[r.PendingOffer]:
    return [r.PendingOffer(uuid.UUID(int=i + 1), subject, T0) for i in range(n)]


# -- the setting ---------------------------------------------------------------------------
def test_production_refuses_the_demo_responders() -> None:
    with pytest.raises(SettingsError, match="CODELIVER_DEMO_RESPONDERS"):
        load_settings({**PRODUCTION, "CODELIVER_DEMO_RESPONDERS": "true"})
    assert not load_settings(PRODUCTION).demo_responders


def test_the_speedup_is_bounded() -> None:
    assert load_settings({"CODELIVER_DEMO_RESPONDERS_SPEEDUP": "60"}).demo_responders_speedup == 60
    for bad in ("0.5", "5000"):
        with pytest.raises(SettingsError, match="CODELIVER_DEMO_RESPONDERS_SPEEDUP"):
            load_settings({"CODELIVER_DEMO_RESPONDERS_SPEEDUP": bad})


def test_the_job_runs_only_when_the_demo_responders_are_on() -> None:
    assert "demo-responders" not in {j.name for j in default_jobs(Settings())}
    on = default_jobs(Settings(demo_responders=True))
    assert "demo-responders" in {j.name for j in on}


# -- offers --------------------------------------------------------------------------------
def test_answers_come_after_the_models_delay_divided_by_the_speedup() -> None:
    offers = _offers(400)
    delays = [(r.answer_at(o, MODEL, 10.0) - T0).total_seconds() for o in offers]
    # lognormal, median 8 min: divided by 10, about 48 s
    assert 35 < statistics.median(delays) < 65
    assert {o.id for o in r.due(offers, T0 + timedelta(seconds=48), MODEL, 10.0)} == {
        o.id for o, d in zip(offers, delays, strict=True) if d <= 48
    }
    assert r.due(offers, T0, MODEL, 10.0) == []
    assert len(r.due(offers, T0 + timedelta(days=1), MODEL, 10.0)) == 400


def test_the_same_offer_is_decided_alike_every_time() -> None:
    offers = _offers(50)
    facts = [r.OfferFacts(o, 10.0, busy=False) for o in offers]
    assert r.replies(facts, MODEL) == r.replies(list(reversed(facts)), MODEL)[::-1]
    first = [r.answer_at(o, MODEL, 10) for o in offers]
    assert first == [r.answer_at(o, MODEL, 10) for o in offers]


def test_replies_follow_the_response_model() -> None:
    offers = _offers(2000)
    near = r.replies([r.OfferFacts(o, 5.0, busy=False) for o in offers], MODEL)
    far = r.replies([r.OfferFacts(o, 60.0, busy=False) for o in offers], MODEL)
    busy = r.replies([r.OfferFacts(o, 5.0, busy=True) for o in offers], MODEL)
    share = len(near) / len(offers)
    assert 0.62 < share < 0.78  # 30 % never answer
    accepted = [x for x in near if x.answer is Answer.ACCEPT]
    assert 0.45 < len(accepted) / len(near) < 0.65  # p_accept(5 min) ~ 0.55
    assert sum(x.answer is Answer.ACCEPT for x in far) < len(accepted) / 10
    assert sum(x.answer is Answer.ACCEPT for x in busy) < len(accepted) / 2
    assert {x.answer for x in near} == {Answer.ACCEPT, Answer.DECLINE}


def test_only_the_seeds_volunteers_are_answered_for() -> None:
    real = _offers(50, subject="someone-real")
    assert r.due(real, T0 + timedelta(days=1), MODEL, 10.0) == []
    assert r.replies([r.OfferFacts(o, 1.0, busy=False) for o in real], MODEL) == []
    held = r.Held(uuid.uuid4(), "someone-real", AssignmentStatus.ACCEPTED, T0, T0, 60)
    assert r.visits([held], T0 + timedelta(days=1), MODEL) == []


# -- turning up ----------------------------------------------------------------------------
def _held(i: int, status: AssignmentStatus = AssignmentStatus.ACCEPTED) -> r.Held:
    return r.Held(
        uuid.UUID(int=i + 1), "demo-volunteer-0001", status, T0, T0 + timedelta(hours=3), 60
    )


def test_the_work_is_done_after_its_duration_with_the_models_no_shows() -> None:
    held = [_held(i) for i in range(2000)]
    assert r.visits(held, T0 + timedelta(minutes=59), MODEL) == []
    done = r.visits(held, T0 + timedelta(minutes=60), MODEL)
    assert len(done) == 2000
    no_shows = sum(v is r.Visit.NO_SHOW for _, v in done)
    assert 60 < no_shows < 140  # 5 %
    assert {v for _, v in done} == {r.Visit.ATTEND, r.Visit.NO_SHOW}
    assert done == r.visits(held, T0 + timedelta(minutes=60), MODEL)


def test_a_checked_in_assignment_is_completed_and_a_missed_window_is_a_no_show() -> None:
    (checked,) = r.visits([_held(0, AssignmentStatus.CHECKED_IN)], T0 + timedelta(hours=2), MODEL)
    assert checked[1] is r.Visit.COMPLETE
    late = r.visits([_held(i) for i in range(20)], T0 + timedelta(hours=4), MODEL)
    assert {v for _, v in late} == {r.Visit.NO_SHOW}


# -- open calls ----------------------------------------------------------------------------
def test_feed_visits_follow_the_models_rate() -> None:
    chance = r.browse_chance(MODEL, 10.0, 2.0)
    assert chance == pytest.approx(2.0 * 10 * 2 / 86_400)
    people = [uuid.UUID(int=i + 1) for i in range(5000)]
    visits = sum(len(r.browsers(people, period, chance)) for period in range(100))
    assert 0.6 * 5000 * 100 * chance < visits < 1.4 * 5000 * 100 * chance
    assert r.browsers(people, 7, chance) == r.browsers(people, 7, chance)
    assert r.browse_chance(MODEL, 1000.0, 3600.0) == 1.0


def test_a_volunteer_claims_the_first_open_call_they_say_yes_to() -> None:
    me = uuid.uuid4()
    listed = [(uuid.UUID(int=i + 1), 0.0) for i in range(30)]
    choice = r.claim_choice(me, listed, MODEL)
    assert choice is not None
    assert choice == r.claim_choice(me, listed, MODEL)
    before = listed[: [n for n, _ in listed].index(choice)]
    assert r.claim_choice(me, before, MODEL) is None
    assert r.claim_choice(me, [(n, 120.0) for n, _ in listed], MODEL) is None
