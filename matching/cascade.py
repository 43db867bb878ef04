"""The offer cascade: a few volunteers per wave, then wait, then the next few, then a person.

Alerting hundreds for a need of one was the complaint; a wave offers `wave_size` per open
slot, and a need never alerts more than `alert_cap` people per open slot in all. The cap is
per slot so that a 200-seat crowd need is not stopped at 12 alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from matching.model import CascadeState, Escalation, OfferPolicy, Ranked, WaveDecision

__all__ = ["alerts_left", "next_wave", "series_first"]


def alerts_left(state: CascadeState, policy: OfferPolicy) -> int:
    """How many more volunteers this need may alert: `alert_cap` per open slot, less those sent.

    The cap follows the slots still open: once most slots are filled, the few left get no
    more alerts than a need of that size would.
    """
    return policy.alert_cap * max(1, state.open_slots) - state.alerts_sent


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
