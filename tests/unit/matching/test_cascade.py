from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.cascade import alerts_left, next_wave, series_first
from matching.model import CascadeState, Escalation, OfferPolicy, Ranked, ScorePart, WaveDecision

POLICY = OfferPolicy(wave_size=3, alert_cap=12, max_waves=4)


def ranked(n: int, start: int = 0) -> list[Ranked]:
    return [_ranked(i, score=100 - i) for i in range(start, start + n)]


def _ranked(i: int, score: float, continuity: float = 0.0) -> Ranked:
    part = ScorePart("continuity", continuity, continuity, "")
    return Ranked(UUID(int=i), score, None, None, (part,))


def state(
    open_slots: int = 1, waves: int = 0, alerts: int = 0, pending: int = 0, slots: int = 0
) -> CascadeState:
    return CascadeState(
        open_slots=open_slots,
        waves_sent=waves,
        alerts_sent=alerts,
        pending_offers=pending,
        slots=slots or open_slots,
    )


def test_the_first_wave_offers_wave_size_per_open_slot() -> None:
    assert next_wave(state(), ranked(20), POLICY).offer_to == tuple(UUID(int=i) for i in range(3))
    assert len(next_wave(state(open_slots=2), ranked(20), POLICY).offer_to) == 6


def test_nothing_happens_with_no_open_slot_or_while_offers_are_pending() -> None:
    assert next_wave(state(open_slots=0), ranked(5), POLICY) == WaveDecision()
    assert next_wave(state(pending=1, waves=9, alerts=99), [], POLICY) == WaveDecision()


def test_escalations() -> None:
    assert next_wave(state(waves=4), ranked(5), POLICY).escalate is Escalation.WAVES_EXHAUSTED
    assert next_wave(state(waves=3, alerts=12), ranked(5), POLICY).escalate is Escalation.ALERT_CAP
    assert next_wave(state(), [], POLICY).escalate is Escalation.NO_CANDIDATES


def test_the_last_wave_stops_at_the_alert_cap() -> None:
    assert len(next_wave(state(waves=3, alerts=10), ranked(5), POLICY).offer_to) == 2


def test_the_cap_is_per_open_slot() -> None:
    crowd = state(open_slots=200, waves=1, alerts=600)
    assert alerts_left(crowd, POLICY) == 12 * 200 - 600
    assert len(next_wave(crowd, ranked(1000), POLICY).offer_to) == 600


def test_the_cap_counts_the_filled_slots_too() -> None:
    """A group session of 4 that filled 3 slots with 24 alerts still has the last slot's
    share of the budget (it was escalated at once when the cap followed the open slots)."""
    last_seat = state(open_slots=1, waves=2, alerts=24, slots=4)
    assert alerts_left(last_seat, POLICY) == 12 * 4 - 24
    assert len(next_wave(last_seat, ranked(40), POLICY).offer_to) == 3  # one slot's wave


def test_a_volunteer_listed_twice_is_offered_once() -> None:
    twice = [*ranked(2), *ranked(2)]
    assert next_wave(state(open_slots=2), twice, POLICY).offer_to == (UUID(int=0), UUID(int=1))


policies = st.builds(
    OfferPolicy,
    wave_size=st.integers(1, 5),
    alert_cap=st.integers(1, 20),
    max_waves=st.integers(1, 6),
)
states = st.builds(
    CascadeState,
    open_slots=st.integers(0, 4),
    waves_sent=st.integers(0, 7),
    alerts_sent=st.integers(0, 60),
    pending_offers=st.integers(0, 2),
    slots=st.integers(0, 6),
)


@given(states, st.integers(0, 40), policies)
def test_a_wave_respects_every_limit(s: CascadeState, n: int, policy: OfferPolicy) -> None:
    pool = ranked(n)
    decision = next_wave(s, pool, policy)
    offered = decision.offer_to
    assert not (offered and decision.escalate)
    assert len(offered) <= max(0, alerts_left(s, policy))
    assert len(offered) <= policy.wave_size * s.open_slots
    assert offered == tuple(r.volunteer_id for r in pool[: len(offered)])  # best first
    if s.open_slots == 0 or s.pending_offers:
        assert decision == WaveDecision()
    elif s.waves_sent >= policy.max_waves:
        assert decision.escalate is Escalation.WAVES_EXHAUSTED
    elif alerts_left(s, policy) <= 0:
        assert decision.escalate is Escalation.ALERT_CAP
    elif not pool:
        assert decision.escalate is Escalation.NO_CANDIDATES
    else:
        assert offered


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), st.integers(0, 80), policies, st.data())
def test_a_whole_cascade_never_reoffers_and_ends_with_a_person(
    slots: int, pool_size: int, policy: OfferPolicy, data: st.DataObject
) -> None:
    """Play a cascade to its end: each wave's offers are declined, expire, or one is accepted."""
    pool = ranked(pool_size)
    s = state(open_slots=slots)
    offered: list[UUID] = []
    for _ in range(policy.max_waves + 1):
        decision = next_wave(s, [r for r in pool if r.volunteer_id not in offered], policy)
        if decision.escalate or s.open_slots == 0:
            break
        assert decision.offer_to
        assert not set(decision.offer_to) & set(offered)
        offered += decision.offer_to
        assert (
            next_wave(  # while they decide, nobody else is asked
                CascadeState(
                    s.open_slots, s.waves_sent + 1, len(offered), len(decision.offer_to), slots
                ),
                pool,
                policy,
            )
            == WaveDecision()
        )
        accepted = data.draw(st.integers(0, min(s.open_slots, len(decision.offer_to))))
        s = CascadeState(s.open_slots - accepted, s.waves_sent + 1, len(offered), 0, slots)
    else:
        raise AssertionError("the cascade neither filled the need nor escalated")
    assert len(offered) <= policy.alert_cap * slots
    assert len(offered) == len(set(offered))
    assert s.waves_sent <= policy.max_waves


def test_series_first_prefers_continuity_then_score() -> None:
    familiar = _ranked(5, score=1.0, continuity=0.9)
    assert series_first([_ranked(1, score=3.0), familiar, _ranked(2, score=2.0)]) == UUID(int=5)
    assert series_first([_ranked(1, score=3.0), _ranked(2, score=3.5)]) == UUID(int=2)
    assert series_first([_ranked(7, score=1.0), _ranked(3, score=1.0)]) == UUID(int=3)
    assert series_first([]) is None


MORNING = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


def test_volunteers_asleep_through_the_offer_are_passed_over() -> None:
    asleep = {UUID(int=0): MORNING, UUID(int=2): MORNING}
    decision = next_wave(state(), ranked(6), POLICY, asleep)
    assert decision.offer_to == (UUID(int=1), UUID(int=3), UUID(int=4))


def test_when_everyone_left_is_asleep_the_need_waits_for_the_first_to_wake() -> None:
    asleep = {UUID(int=i): MORNING + timedelta(hours=i) for i in range(3)}
    decision = next_wave(state(), ranked(3), POLICY, asleep)
    assert decision == WaveDecision(wait_until=MORNING)
    # ... unless the first wakes after the need starts: then it is a person's call
    late = next_wave(state(), ranked(3), POLICY, asleep, starts_at=MORNING)
    assert late.escalate is Escalation.ALL_ASLEEP
    assert next_wave(
        state(), ranked(3), POLICY, asleep, starts_at=MORNING + timedelta(hours=1)
    ) == (WaveDecision(wait_until=MORNING))
    # nobody at all is still a person's call, and the caps still come first
    assert next_wave(state(), [], POLICY, asleep).escalate is Escalation.NO_CANDIDATES
    assert next_wave(state(waves=4), ranked(3), POLICY, asleep).escalate is (
        Escalation.WAVES_EXHAUSTED
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 12), st.sets(st.integers(0, 11)))
def test_an_asleep_volunteer_is_never_offered(n: int, sleepers: set[int]) -> None:
    asleep = {UUID(int=i): MORNING for i in sleepers}
    decision = next_wave(state(), ranked(n), POLICY, asleep)
    assert not set(decision.offer_to) & set(asleep)
    awake = [i for i in range(n) if i not in sleepers]
    assert decision.offer_to == tuple(UUID(int=i) for i in awake[:3])
    if n and not awake:
        assert decision.wait_until == MORNING
