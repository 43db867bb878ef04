"""One cascade step as a pure decision: every rule of `matching.cascade.decide`, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.cascade import (
    LEAD,
    MAX_POOL,
    MIN_POOL,
    SERIES_POOL,
    alerts_left,
    decide,
    offer_expiry,
)
from matching.model import (
    CascadeState,
    Dispatch,
    Escalation,
    OfferPolicy,
    OfferSource,
    OfferStatus,
    Ranked,
    ScorePart,
    Urgency,
)
from matching.status import WANTING, NeedStatus
from matching.steps import (
    Actions,
    Candidates,
    EndAssignments,
    Escalate,
    ExpireOffers,
    Facts,
    NeedState,
    Offer,
    PendingOffer,
    Pool,
    SeriesAnswer,
    SeriesOffer,
    SetStatus,
    TakeOccurrence,
    Volunteer,
    WakeAt,
    Wanted,
    WithdrawOffers,
)
from tests.unit.matching import strategies

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
POLICY = OfferPolicy(wave_size=2, alert_cap=4, max_waves=3, offer_timeout_s=900)
EXPIRES = NOW + timedelta(seconds=900)
SERIES = UUID(int=77)
REGULAR = Candidates(limit=MIN_POOL, asleep_through=EXPIRES)  # wave_size x slots x POOL < 30
SERIES_POOLED = Candidates(SERIES_POOL, asleep_through=EXPIRES)  # quiet hours count too


def state(**changes: Any) -> NeedState:
    """An open, automatically dispatched need of one slot, two days away, never offered."""
    need = strategies.need(starts_at=changes.pop("starts_at", START))
    if "urgency" in changes:
        need = replace(need, urgency=changes.pop("urgency"))
    if "open_slots" in changes:
        need = replace(need, open_slots=changes.pop("open_slots"))
    base = NeedState(
        need=need,
        slots=changes.pop("slots", need.open_slots),
        status=NeedStatus.OPEN,
        dispatch=Dispatch.AUTO,
        ends_at=need.starts_at + timedelta(hours=2),
        waves_sent=0,
        alerts_sent=0,
        escalated=False,
        series_id=None,
    )
    return replace(base, **changes)


def ranked(*ids: int, continuity: float = 0.0) -> tuple[Ranked, ...]:
    part = ScorePart("continuity", continuity, continuity, "")
    return tuple(Ranked(UUID(int=i), 100.0 - i, None, None, (part,)) for i in ids)


def pending(*minutes: int) -> tuple[PendingOffer, ...]:
    """Pending offers expiring this many minutes from NOW (negative: overdue)."""
    return tuple(PendingOffer(UUID(int=1000 + m), NOW + timedelta(minutes=m)) for m in minutes)


def pool(*ids: int, asleep: dict[int, datetime] | None = None) -> Pool:
    return Pool(ranked(*ids), {UUID(int=i): at for i, at in (asleep or {}).items()})


def offered(actions: Actions | Wanted) -> tuple[UUID, ...]:
    assert isinstance(actions, tuple), actions
    return tuple(r.volunteer_id for a in actions if isinstance(a, Offer) for r in a.to)


# -- waiting --------------------------------------------------------------------------------
def test_pending_offers_wait_until_the_earliest_expiry() -> None:
    s = state(pending=pending(30, 5, 12), waves_sent=1, alerts_sent=3)
    assert decide(s, NOW, POLICY) == (WakeAt(NOW + timedelta(minutes=5)),)


def test_overdue_offers_expire_and_the_rest_are_waited_for() -> None:
    s = state(pending=pending(-3, 0, 7), waves_sent=1, alerts_sent=3)
    overdue = (UUID(int=997), UUID(int=1000))  # expiring exactly now is overdue
    assert decide(s, NOW, POLICY) == (ExpireOffers(overdue), WakeAt(NOW + timedelta(minutes=7)))


def test_once_every_offer_expired_the_next_wave_is_prepared() -> None:
    s = state(pending=pending(-1), waves_sent=1, alerts_sent=2)
    assert decide(s, NOW, POLICY) == REGULAR  # nothing is done before the wave is decided
    facts = Facts().with_pool(REGULAR, pool(4, 5, 6))
    assert decide(s, NOW, POLICY, facts) == (
        ExpireOffers((UUID(int=999),)),
        Offer(ranked(4, 5), OfferSource.CASCADE),
    )


def test_people_decide_when_dispatch_is_manual_or_an_open_call_or_it_was_escalated() -> None:
    for s in (
        state(dispatch=Dispatch.MANUAL),
        state(dispatch=Dispatch.OPEN_CALL),
        state(escalated=True),
    ):
        assert decide(s, NOW, POLICY) == (WakeAt(None),)


def test_offers_go_out_at_most_lead_before_the_start() -> None:
    far = START + timedelta(days=30)
    assert decide(state(starts_at=far), NOW, POLICY) == (WakeAt(far - LEAD),)
    assert decide(state(starts_at=NOW + LEAD), NOW, POLICY) == REGULAR  # exactly due


# -- closing --------------------------------------------------------------------------------
def test_a_filled_need_withdraws_its_pending_offers_and_keeps_its_volunteers() -> None:
    s = state(status=NeedStatus.FILLED, pending=pending(-1, 5), waves_sent=1, alerts_sent=2)
    assert decide(s, NOW, POLICY) == (
        ExpireOffers((UUID(int=999),)),
        WithdrawOffers((UUID(int=1005),)),
        WakeAt(None),
    )


def test_a_cancelled_need_withdraws_its_offers_and_ends_its_assignments() -> None:
    s = state(status=NeedStatus.CANCELLED, pending=pending(5))
    assert decide(s, NOW, POLICY) == (
        WithdrawOffers((UUID(int=1005),)),
        EndAssignments("need cancelled"),
        WakeAt(None),
    )
    done = state(status=NeedStatus.COMPLETED)
    assert decide(done, NOW, POLICY) == (WakeAt(None),)


def test_an_open_need_past_its_end_expires() -> None:
    s = state(starts_at=NOW - timedelta(hours=3), pending=pending(5))
    assert decide(s, NOW, POLICY) == (
        SetStatus(NeedStatus.EXPIRED),
        WithdrawOffers((UUID(int=1005),)),
        EndAssignments("need expired"),
        WakeAt(None),
    )


def test_a_partly_filled_need_past_its_end_only_stops_offering() -> None:
    s = state(
        status=NeedStatus.PARTIALLY_FILLED, starts_at=NOW - timedelta(hours=2), pending=pending(5)
    )
    assert decide(s, NOW, POLICY) == (WithdrawOffers((UUID(int=1005),)), WakeAt(None))


# -- waves ----------------------------------------------------------------------------------
def test_a_wave_offers_the_best_awake_wave_size_per_open_slot() -> None:
    assert decide(state(), NOW, POLICY) == REGULAR
    facts = Facts().with_pool(REGULAR, pool(1, 2, 3, 4))
    assert decide(state(), NOW, POLICY, facts) == (Offer(ranked(1, 2), OfferSource.CASCADE),)
    two = state(open_slots=2)
    asked = Candidates(limit=MIN_POOL, asleep_through=EXPIRES)
    assert decide(two, NOW, POLICY) == asked
    got = decide(two, NOW, POLICY, Facts().with_pool(asked, pool(1, 2, 3, 4, 5)))
    assert offered(got) == tuple(UUID(int=i) for i in (1, 2, 3, 4))


def test_urgent_needs_do_not_ask_who_is_asleep() -> None:
    for urgency in (Urgency.HIGH, Urgency.URGENT):
        assert decide(state(urgency=urgency), NOW, POLICY) == Candidates(MIN_POOL, None)


def test_the_pool_is_capped() -> None:
    crowd = state(open_slots=100)
    assert decide(crowd, NOW, POLICY) == Candidates(MAX_POOL, EXPIRES)


def test_the_offer_expiry_stops_at_the_start_and_is_at_least_a_minute() -> None:
    assert offer_expiry(POLICY, START, NOW) == EXPIRES
    assert offer_expiry(POLICY, NOW + timedelta(minutes=5), NOW) == NOW + timedelta(minutes=5)
    assert offer_expiry(POLICY, NOW + timedelta(seconds=5), NOW) == NOW + timedelta(minutes=1)
    assert offer_expiry(POLICY, NOW - timedelta(hours=1), NOW) == EXPIRES  # already under way


def test_when_the_nearest_all_sleep_the_search_looks_further() -> None:
    morning = NOW + timedelta(hours=18)
    nearest = pool(1, 2, asleep={1: morning, 2: morning})
    facts = Facts().with_pool(REGULAR, nearest)
    wider = Candidates(MAX_POOL, EXPIRES)
    assert decide(state(), NOW, POLICY, facts) == wider
    further = pool(1, 2, 9, asleep={1: morning, 2: morning})
    assert decide(state(), NOW, POLICY, facts.with_pool(wider, further)) == (
        Offer(ranked(9), OfferSource.CASCADE),
    )


def test_when_all_sleep_the_need_waits_for_the_first_to_wake_unless_too_late() -> None:
    first, later = NOW + timedelta(hours=17), NOW + timedelta(hours=18)
    everyone = pool(1, 2, asleep={1: later, 2: first})
    wider = Candidates(MAX_POOL, EXPIRES)
    facts = Facts().with_pool(REGULAR, everyone).with_pool(wider, everyone)
    assert decide(state(), NOW, POLICY, facts) == (WakeAt(first),)
    soon = state(starts_at=NOW + timedelta(hours=16))  # its latest start is before anyone wakes
    assert decide(soon, NOW, POLICY, facts) == (Escalate(Escalation.ALL_ASLEEP),)


def test_a_full_pool_asleep_is_not_searched_again() -> None:
    morning = NOW + timedelta(hours=18)
    ids = range(1, MAX_POOL + 1)
    full = Pool(ranked(*ids), {UUID(int=i): morning for i in ids})
    crowd = state(open_slots=100)
    facts = Facts().with_pool(Candidates(MAX_POOL, EXPIRES), full)
    assert decide(crowd, NOW, POLICY, facts) == (WakeAt(morning),)


def test_escalations() -> None:
    facts = Facts().with_pool(REGULAR, pool(1, 2))
    exhausted = state(waves_sent=3, alerts_sent=3)
    assert decide(exhausted, NOW, POLICY, facts) == (Escalate(Escalation.WAVES_EXHAUSTED),)
    capped = state(waves_sent=2, alerts_sent=4)
    assert decide(capped, NOW, POLICY, facts) == (Escalate(Escalation.ALERT_CAP),)
    nobody = Facts().with_pool(REGULAR, pool())
    assert decide(state(), NOW, POLICY, nobody) == (Escalate(Escalation.NO_CANDIDATES),)


# -- series ---------------------------------------------------------------------------------
def test_a_series_is_first_offered_whole_to_the_most_familiar_volunteer() -> None:
    s = state(series_id=SERIES)
    assert decide(s, NOW, POLICY) == SeriesOffer(SERIES)
    facts = Facts().with_series(SeriesOffer(SERIES), None)
    assert decide(s, NOW, POLICY, facts) == SERIES_POOLED
    familiar = Pool((*ranked(1, 2), *ranked(5, continuity=0.9)), {})
    facts = facts.with_pool(SERIES_POOLED, familiar)
    assert decide(s, NOW, POLICY, facts) == (
        Offer(ranked(5, continuity=0.9), OfferSource.SERIES, series=True),
    )


def test_a_series_nobody_can_take_cascades_as_usual() -> None:
    s = state(series_id=SERIES)
    facts = Facts().with_series(SeriesOffer(SERIES), None)
    facts = facts.with_pool(SERIES_POOLED, pool())
    assert decide(s, NOW, POLICY, facts) == REGULAR


def test_other_occurrences_wait_while_the_series_offer_is_pending() -> None:
    s = state(series_id=SERIES)
    answer = SeriesAnswer(OfferStatus.PENDING, NOW + timedelta(minutes=9), UUID(int=5))
    facts = Facts().with_series(SeriesOffer(SERIES), answer)
    assert decide(s, NOW, POLICY, facts) == (WakeAt(NOW + timedelta(minutes=9)),)
    lapsed = replace(answer, expires_at=NOW - timedelta(minutes=1))  # its need steps soon
    facts = Facts().with_series(SeriesOffer(SERIES), lapsed)
    assert decide(s, NOW, POLICY, facts) == (WakeAt(NOW),)


def test_the_series_volunteer_takes_the_occurrence_if_still_eligible() -> None:
    s = state(series_id=SERIES)
    v = strategies.VOLUNTEER_ID
    answer = SeriesAnswer(OfferStatus.ACCEPTED, NOW - timedelta(days=1), v)
    facts = Facts().with_series(SeriesOffer(SERIES), answer)
    assert decide(s, NOW, POLICY, facts) == Volunteer(v)
    fit = facts.with_volunteer(Volunteer(v), strategies.candidate())
    assert decide(s, NOW, POLICY, fit) == (TakeOccurrence(v), WakeAt(NOW))
    clash = facts.with_volunteer(Volunteer(v), strategies.candidate(conflicting=True))
    assert decide(s, NOW, POLICY, clash) == REGULAR
    gone = facts.with_volunteer(Volunteer(v), None)
    assert decide(s, NOW, POLICY, gone) == REGULAR


def test_a_declined_series_is_offered_whole_to_the_next_most_familiar() -> None:
    s = state(series_id=SERIES)
    declined = SeriesAnswer(OfferStatus.DECLINED, NOW, UUID(int=5), frozenset({UUID(int=5)}))
    facts = Facts().with_series(SeriesOffer(SERIES), declined)
    assert decide(s, NOW, POLICY, facts) == SERIES_POOLED
    # the decliner is passed over, though still the most familiar of the pool
    familiar = Pool((*ranked(5, continuity=0.9), *ranked(2), *ranked(7, continuity=0.6)), {})
    facts = facts.with_pool(SERIES_POOLED, familiar)
    assert decide(s, NOW, POLICY, facts) == (
        Offer(ranked(7, continuity=0.6), OfferSource.SERIES, series=True),
    )
    # so does the occurrence that carried the declined offer: its one wave was the series'
    carried = replace(s, waves_sent=1, alerts_sent=1, series_offers=1)
    assert decide(carried, NOW, POLICY, facts) == (
        Offer(ranked(7, continuity=0.6), OfferSource.SERIES, series=True),
    )
    lapsed = replace(declined, status=OfferStatus.EXPIRED)
    assert decide(s, NOW, POLICY, Facts().with_series(SeriesOffer(SERIES), lapsed)) == (
        SERIES_POOLED
    )


def test_a_series_tried_three_times_or_too_close_to_its_start_cascades() -> None:
    s = state(series_id=SERIES)
    three = frozenset(UUID(int=i) for i in (5, 6, 7))
    declined = SeriesAnswer(OfferStatus.DECLINED, NOW, UUID(int=7), three)
    assert decide(s, NOW, POLICY, Facts().with_series(SeriesOffer(SERIES), declined)) == REGULAR
    # a try and a wave no longer fit before the start: one by one now
    twice = replace(declined, asked=frozenset({UUID(int=7)}))
    soon = state(series_id=SERIES, starts_at=NOW + 2 * (EXPIRES - NOW) - timedelta(seconds=1))
    assert decide(soon, NOW, POLICY, Facts().with_series(SeriesOffer(SERIES), twice)) == REGULAR
    withdrawn = replace(twice, status=OfferStatus.WITHDRAWN)
    assert decide(s, NOW, POLICY, Facts().with_series(SeriesOffer(SERIES), withdrawn)) == REGULAR
    # nobody left who was not asked: one by one
    facts = Facts().with_series(SeriesOffer(SERIES), twice)
    facts = facts.with_pool(SERIES_POOLED, pool(7))
    assert decide(s, NOW, POLICY, facts) == REGULAR


def test_an_occurrence_offered_one_by_one_never_asks_for_the_series() -> None:
    s = state(series_id=SERIES, waves_sent=1, alerts_sent=3)
    assert decide(s, NOW, POLICY) == REGULAR


# -- properties -----------------------------------------------------------------------------
def _mostly(usual: Any, others: list[Any]) -> st.SearchStrategy[Any]:
    """`usual` about three times in four, so that most random needs reach a wave."""
    return st.sampled_from([usual] * 3 * len(others) + others)


needs = st.builds(
    state,
    status=_mostly(NeedStatus.OPEN, list(NeedStatus)),
    dispatch=_mostly(Dispatch.AUTO, list(Dispatch)),
    urgency=st.sampled_from(list(Urgency)),
    open_slots=st.integers(1, 3),
    slots=st.integers(1, 5),
    starts_at=(st.integers(-600, 3 * 24 * 60) | st.integers(-600, 20 * 24 * 60)).map(
        lambda m: NOW + timedelta(minutes=m)
    ),
    waves_sent=_mostly(0, [1, 2, 3, 4]),
    alerts_sent=st.integers(0, 12),
    escalated=_mostly(False, [True]),
    series_id=st.none() | st.just(SERIES),
    pending=st.lists(st.integers(-60, 60), max_size=3, unique=True).map(
        lambda ms: pending(*ms) if ms and ms[0] % 2 else pending(*(m for m in ms if m <= 0))
    ),
).map(
    # every offer counts as a wave (make_offers): no wave yet, no alert yet
    lambda s: s if s.waves_sent else replace(s, alerts_sent=0)
)
policies = st.builds(
    OfferPolicy,
    wave_size=st.integers(1, 4),
    alert_cap=st.integers(1, 12),
    max_waves=st.integers(1, 5),
    offer_timeout_s=st.integers(60, 7200),
)


def _answer(asked: Wanted, data: st.DataObject) -> Any:
    if isinstance(asked, Candidates):
        n = data.draw(_mostly(min(asked.limit, 6), list(range(min(asked.limit, 12) + 1))))
        sleepers = data.draw(st.sets(st.integers(0, 11))) if asked.asleep_through else set()
        through = asked.asleep_through or NOW
        wake = {i: through + timedelta(hours=1 + i) for i in sleepers if i < n}
        return pool(*range(n), asleep=wake)
    if isinstance(asked, SeriesOffer):
        status = data.draw(_mostly(OfferStatus.ACCEPTED, list(OfferStatus)))
        expires = NOW + timedelta(minutes=data.draw(st.integers(-30, 30)))
        return data.draw(st.none() | st.just(SeriesAnswer(status, expires, UUID(int=3))))
    return data.draw(st.none() | st.just(strategies.candidate(volunteer_id=asked.volunteer_id)))


def _learn(facts: Facts, asked: Wanted, answer: Any) -> Facts:
    if isinstance(asked, Candidates):
        return facts.with_pool(asked, answer)
    if isinstance(asked, SeriesOffer):
        return facts.with_series(asked, answer)
    return facts.with_volunteer(asked, answer)


@settings(max_examples=300, deadline=None)
@given(needs, policies, st.data())
def test_a_step_keeps_every_promise(s: NeedState, policy: OfferPolicy, data: st.DataObject) -> None:
    facts, asked_before = Facts(), []
    while not isinstance(out := decide(s, NOW, policy, facts), tuple):
        assert out not in asked_before, "a question is never asked twice"
        asked_before.append(out)
        facts = _learn(facts, out, _answer(out, data))
    assert len(asked_before) <= 4
    live = [o for o in s.pending if o.expires_at > NOW]
    closed = s.status not in WANTING or s.ends_at <= NOW
    offers = [a for a in out if isinstance(a, Offer)]
    takes = [a for a in out if isinstance(a, TakeOccurrence)]
    # overdue offers always expire, first
    overdue = tuple(o.id for o in s.pending if o.expires_at <= NOW)
    assert (out[0] == ExpireOffers(overdue)) if overdue else not isinstance(out[0], ExpireOffers)
    # never an offer (or a taken slot) while offers are pending, or for a closed need
    if live or closed or s.escalated or s.dispatch is not Dispatch.AUTO:
        assert not offers
        assert not takes
    if closed:
        assert any(isinstance(a, WithdrawOffers) for a in out) == bool(live)
    # never more alerts than the policy's cap (a series is offered to one volunteer, first)
    cascade = CascadeState(s.need.open_slots, s.waves_sent, s.alerts_sent, 0, s.slots)
    for offer in offers:
        limit = 1 if offer.series else alerts_left(cascade, policy)
        assert len(offer.to) <= limit
        assert offer.to
    # a step ends in exactly one of: offers (due at their expiry), a person, or a wake-up
    assert isinstance(out[-1], Offer | Escalate | WakeAt)
    assert sum(isinstance(a, Offer | Escalate | WakeAt) for a in out) == 1
    for a in out:
        if isinstance(a, WakeAt) and a.at is not None:
            assert a.at >= NOW, "a wake-up is never in the past"
