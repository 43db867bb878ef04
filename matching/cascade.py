"""The offer cascade: a few volunteers per wave, then wait, then the next few, then a person.

Alerting hundreds for a need of one was the complaint; a wave offers `wave_size` per open
slot, and a need never alerts more than `alert_cap` people per slot in all. The cap is
per slot so that a 200-seat crowd need is not stopped at 12 alerts. `decide` is one step of
it, every rule in one place (matching.steps has its inputs and actions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from matching import eligibility
from matching.model import (
    CascadeState,
    Dispatch,
    Escalation,
    OfferPolicy,
    OfferSource,
    OfferStatus,
    Ranked,
    Urgency,
    WaveDecision,
)
from matching.status import WANTING, NeedStatus, can_transition
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
    SeriesAnswer,
    SeriesOffer,
    SetStatus,
    TakeOccurrence,
    Volunteer,
    WakeAt,
    Wanted,
    WithdrawOffers,
)

__all__ = [
    "LEAD",
    "MAX_POOL",
    "MIN_POOL",
    "POOL",
    "alerts_left",
    "decide",
    "first_step_at",
    "next_wave",
    "offer_expiry",
    "pool_size",
    "series_first",
]

LEAD = timedelta(days=14)  # offers for a need go out at most this long before it starts
POOL = 4  # candidates fetched per offer to be made: room for fairness to beat nearness
# ... and never fewer than this for a wave: with a pool of 12 for a wave of 3 the same
# nearest volunteers were in every pool of a neighbourhood (bench/ranking_fairness.py:
# 488 -> 555 demo volunteers offered; docs/decisions.md, 32).
MIN_POOL = 30
MAX_POOL = 200
SERIES_POOL = MAX_POOL // 4  # whom a whole series is offered to is chosen among these
# A series declined or let lapse is offered whole to the next most familiar volunteer, up to
# this many in all, before its occurrences cascade one by one (docs/decisions.md, 44).
SERIES_TRIES = 3


def first_step_at(windows_start: datetime, now: datetime) -> datetime:
    return max(now, windows_start - LEAD)


def offer_expiry(policy: OfferPolicy, starts_at: datetime, now: datetime) -> datetime:
    """The policy's timeout, but never past the need's start (an offer for something already
    under way helps nobody), and never under a minute."""
    expiry = now + timedelta(seconds=policy.offer_timeout_s)
    if starts_at > now:
        expiry = min(expiry, starts_at)
    return max(expiry, now + timedelta(minutes=1))


def latest_start(ends_at: datetime, duration_minutes: int) -> datetime:
    """The last moment a volunteer could start and still finish in a window (the windows
    are alternatives)."""
    return ends_at - timedelta(minutes=duration_minutes)


def is_urgent(urgency: Urgency) -> bool:
    """Urgent offers are pushed through quiet hours (notifications.dispatcher)."""
    return urgency in (Urgency.HIGH, Urgency.URGENT)


def decide(
    state: NeedState, now: datetime, policy: OfferPolicy, facts: Facts | None = None
) -> Actions | Wanted:
    """One step of the need's cascade at `now`: what to do, in order, or first what it must
    know (load it, add it to `facts`, and ask again; nothing is done until it answers).

    Overdue offers expire. A need that no longer wants volunteers (or whose time is past)
    has its offers withdrawn. Otherwise it waits for answers, for people (not dispatched
    automatically, or escalated), or for `LEAD` before its start; else its next wave goes.
    """
    facts = facts or Facts()
    overdue = tuple(o.id for o in state.pending if o.expires_at <= now)
    live = tuple(o for o in state.pending if o.expires_at > now)
    # each returns None to pass the need on, never an empty plan
    then = _close(state, now, live) or _wait(state, now, live) or _wave(state, now, policy, facts)
    if not isinstance(then, tuple):
        return then
    return (ExpireOffers(overdue), *then) if overdue else then


def _close(state: NeedState, now: datetime, live: tuple[PendingOffer, ...]) -> Actions | None:
    """A need that no longer wants volunteers: its offers are withdrawn and, if cancelled or
    expired, its assignments end. An open need nobody took expires once its time is past."""
    status, past = state.status, state.ends_at <= now
    actions: list[SetStatus | WithdrawOffers | EndAssignments] = []
    if status is NeedStatus.OPEN and past and can_transition(status, NeedStatus.EXPIRED):
        status = NeedStatus.EXPIRED
        actions.append(SetStatus(status))
    if status in WANTING and not past:
        return None
    if live:
        actions.append(WithdrawOffers(tuple(o.id for o in live)))
    if status in (NeedStatus.CANCELLED, NeedStatus.EXPIRED):
        actions.append(EndAssignments(f"need {status}"))
    return (*actions, WakeAt(None))


def _wait(state: NeedState, now: datetime, live: tuple[PendingOffer, ...]) -> Actions | None:
    if live:  # answers or expiry come first
        return (WakeAt(min(o.expires_at for o in live)),)
    if state.dispatch is not Dispatch.AUTO or state.escalated:
        return (WakeAt(None),)  # people decide: the caseworker offers again
    if state.need.starts_at - LEAD > now:
        return (WakeAt(state.need.starts_at - LEAD),)
    return None


def _wave(state: NeedState, now: datetime, policy: OfferPolicy, facts: Facts) -> Actions | Wanted:
    # a series is offered whole while every wave of this occurrence was a series offer
    if state.series_id is not None and state.waves_sent == state.series_offers:
        series = _series(state, state.series_id, now, policy, facts)
        if series is not None:
            return series
    return _next_wave(state, now, policy, facts)


def _series(
    state: NeedState, series_id: UUID, now: datetime, policy: OfferPolicy, facts: Facts
) -> Actions | Wanted | None:
    """A recurring need is first offered whole to one volunteer (continuity); the other
    occurrences wait for the answer. Declined or lapsed, it is offered whole to the next
    most familiar volunteer, up to SERIES_TRIES in all while a try and a wave still fit
    before this occurrence starts; then the occurrences cascade one by one. None: cascade
    as usual.

    Like a wave, the series offer passes over volunteers who would sleep through it (below
    high urgency); when all of the pool sleep, the need cascades as usual, which waits for
    the first to wake (and the series is tried again then) or looks further."""
    asked = SeriesOffer(series_id)
    if asked not in facts.series:
        return asked
    offer = facts.series[asked]
    if offer is None or _try_again(offer, state, now, policy):
        expires = offer_expiry(policy, state.need.starts_at, now)
        through = None if is_urgent(state.need.urgency) else expires
        wanted = Candidates(SERIES_POOL, through)
        pool = facts.pools.get(wanted)
        if pool is None:
            return wanted
        before = frozenset() if offer is None else offer.asked | {offer.volunteer_id}
        awake = [r for r in pool.ranked if r.volunteer_id not in {*pool.asleep, *before}]
        best = series_first(awake)
        chosen = tuple(r for r in awake if r.volunteer_id == best)
        return (Offer(chosen, OfferSource.SERIES, series=True),) if chosen else None
    if offer.status is OfferStatus.PENDING:
        # its expiry may have passed if its own need has not stepped yet: due at once then
        return (WakeAt(max(now, offer.expires_at)),)
    if offer.status is OfferStatus.ACCEPTED:
        # they take this occurrence too if they still can (no cap, no clash, vetting valid)
        who = Volunteer(offer.volunteer_id)
        if who not in facts.volunteers:
            return who
        found = facts.volunteers[who]
        if found is not None and eligibility.check(state.need, found).eligible:
            return (TakeOccurrence(offer.volunteer_id), WakeAt(now))  # then what is left
    return None


def _try_again(offer: SeriesAnswer, state: NeedState, now: datetime, policy: OfferPolicy) -> bool:
    """Whether a declined or lapsed series is offered whole once more."""
    unanswered = offer.status in (OfferStatus.DECLINED, OfferStatus.EXPIRED)
    room = now + 2 * timedelta(seconds=policy.offer_timeout_s) <= state.need.starts_at
    return unanswered and len(offer.asked | {offer.volunteer_id}) < SERIES_TRIES and room


def _next_wave(
    state: NeedState, now: datetime, policy: OfferPolicy, facts: Facts
) -> Actions | Wanted:
    open_slots = state.need.open_slots
    expires = offer_expiry(policy, state.need.starts_at, now)
    through = None if is_urgent(state.need.urgency) else expires
    wanted = Candidates(pool_size(policy.wave_size * open_slots), through)
    pool = facts.pools.get(wanted)
    if pool is None:
        return wanted
    everyone_asleep = pool.ranked and all(r.volunteer_id in pool.asleep for r in pool.ranked)
    if everyone_asleep and len(pool.ranked) < MAX_POOL:
        # the nearest all sleep: look further for someone awake before waiting
        wanted = Candidates(MAX_POOL, expires)
        pool = facts.pools.get(wanted)
        if pool is None:
            return wanted
    cascade = CascadeState(
        open_slots, state.waves_sent, state.alerts_sent, pending_offers=0, slots=state.slots
    )
    start = latest_start(state.ends_at, state.need.duration_minutes)
    decision = next_wave(cascade, pool.ranked, policy, pool.asleep, starts_at=start)
    if decision.offer_to:
        by_id = {r.volunteer_id: r for r in pool.ranked}
        return (Offer(tuple(by_id[v] for v in decision.offer_to), OfferSource.CASCADE),)
    if decision.escalate is not None:
        return (Escalate(decision.escalate),)
    return (WakeAt(decision.wait_until),)


def pool_size(offers: int) -> int:
    """How many candidates to rank for a wave of `offers`."""
    return min(MAX_POOL, max(MIN_POOL, offers * POOL))


def alerts_left(state: CascadeState, policy: OfferPolicy) -> int:
    """How many more volunteers this need may alert: `alert_cap` per slot, less those sent.

    The budget is the whole need's, filled slots included: counted per open slot, a group
    session of 4 that filled 3 slots with 24 alerts had spent its last slot's 12 twice over
    and went to a person at once (the simulated week: 3 of the cascade's 13 unfilled needs,
    docs/simulation.md). Waves still offer `wave_size` per open slot, so the last slot is
    not flooded: `max_waves` bounds it.
    """
    return policy.alert_cap * max(1, state.slots, state.open_slots) - state.alerts_sent


def next_wave(
    state: CascadeState,
    ranked: Sequence[Ranked],
    policy: OfferPolicy,
    asleep: Mapping[UUID, datetime] | None = None,
    starts_at: datetime | None = None,
) -> WaveDecision:
    """Whom to offer next, or why to hand the need to a person, or when to try again.

    `ranked` is best first and already leaves out anyone offered this need before. While
    offers are pending nothing happens: answers or expiry come first. `asleep` maps the
    volunteers whose quiet hours outlast the offer to when those hours end: a non-urgent
    offer would only lapse unseen, so they are passed over, and when nobody else is left the
    need waits for the first of them to wake instead of escalating at night, unless that is
    too late to start it (`starts_at`: the latest start).
    """
    if state.open_slots <= 0 or state.pending_offers > 0:
        return WaveDecision()
    if state.waves_sent >= policy.max_waves:
        return WaveDecision(escalate=Escalation.WAVES_EXHAUSTED)
    remaining = alerts_left(state, policy)
    if remaining <= 0:
        return WaveDecision(escalate=Escalation.ALERT_CAP)
    asleep = asleep or {}
    awake = [r for r in ranked if r.volunteer_id not in asleep]
    if not awake:
        if not ranked:
            return WaveDecision(escalate=Escalation.NO_CANDIDATES)
        wake = min(asleep[r.volunteer_id] for r in ranked)
        if starts_at is not None and wake >= starts_at:
            return WaveDecision(escalate=Escalation.ALL_ASLEEP)
        return WaveDecision(wait_until=wake)
    # At least one per wave: a wave of nobody would stall the need without escalating it.
    size = min(max(1, policy.wave_size) * state.open_slots, remaining)
    chosen: list[UUID] = []
    for r in awake:
        if len(chosen) == size:
            break
        if r.volunteer_id not in chosen:  # a volunteer listed twice still gets one offer
            chosen.append(r.volunteer_id)
    return WaveDecision(offer_to=tuple(chosen))


def series_first(ranked: Sequence[Ranked]) -> UUID | None:
    """Whom to offer a whole recurring series first: the most continuity, then the best score."""
    if not ranked:
        return None
    best = min(ranked, key=lambda r: (-_continuity(r), -r.score, r.volunteer_id))
    return best.volunteer_id


def _continuity(r: Ranked) -> float:
    return next((p.value for p in r.parts if p.factor == "continuity"), 0.0)
