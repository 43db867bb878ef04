"""Soft preferences: rank eligible volunteers for a need, each point explained.

A score is the sum over six factors of weight x value, every value in [0, 1], so the best
possible score is the sum of the weights. Nearest-first alone was unfair and wasteful, so
distance is one factor among continuity, fairness, reliability, preference and urgency.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from uuid import UUID

from matching.eligibility import check, from_live_location, reach_m
from matching.model import (
    Candidate,
    History,
    Mode,
    Need,
    OfferPolicy,
    Ranked,
    ScorePart,
    TravelMode,
    Urgency,
    Weights,
)

__all__ = ["DETOUR", "best_score", "rank", "reliability", "score", "tiebreak", "travel_minutes"]

# Distances are as the crow flies; real routes in a UK town run about 30% longer.
DETOUR = 1.3
# Door-to-door speed (km/h) and a fixed overhead (min): waiting for and walking to a stop,
# or getting to the car and parking. Urban averages, not routing.
_SPEED: dict[TravelMode, tuple[float, float]] = {
    TravelMode.WALK: (4.5, 0.0),
    TravelMode.CYCLE: (14.0, 0.0),
    TravelMode.PUBLIC_TRANSPORT: (16.0, 8.0),
    TravelMode.CAR: (28.0, 3.0),
}
_BY = {
    TravelMode.WALK: "on foot",
    TravelMode.CYCLE: "by bike",
    TravelMode.PUBLIC_TRANSPORT: "by public transport",
    TravelMode.CAR: "by car",
}
_HALF_VALUE_MIN = 15.0  # a 15-minute trip is worth half a trip on the doorstep
_QUICK_MIN = 30.0  # for urgent needs, anything past half an hour gets no speed credit
# Reliability: a Beta(3.5, 1.5) prior, mean 0.7, worth five offers of evidence, so one
# decline does not sink a newcomer and one early success does not crown them.
_PRIOR_A, _PRIOR_B = 3.5, 1.5
_NO_SHOW_PENALTY = 3.0  # a no-show leaves a person waiting: worse than any decline
_CONTINUITY_SERVED_FLOOR = 0.6  # served the client once: already a familiar face
_CONTINUITY_SERVED_TOP = 0.9  # below a volunteer the caseworker asked for by name


def travel_minutes(distance_m: float, mode: TravelMode) -> float:
    """Estimated door-to-door minutes over a straight-line distance, by usual travel mode."""
    speed_kmh, overhead = _SPEED[mode]
    return overhead + max(0.0, distance_m) * DETOUR / 1000 / speed_kmh * 60


def best_score(weights: Weights) -> float:
    """The highest score possible under `weights`: every factor at value 1."""
    return sum(max(0.0, w) for w in _weights(weights))


def reliability(h: History) -> float:
    """Smoothed share of promises kept: accepting offers and turning up to assignments.

    Expired offers count as declines; a no-show weighs `_NO_SHOW_PENALTY` extra misses. Only
    offers the volunteer could answer count: one withdrawn (the need filled or was cancelled)
    or still pending is no evidence either way.
    """
    offers = _answerable(h)
    kept = h.accepted_total + h.completed_total + _PRIOR_A
    chances = offers + h.completed_total + h.no_shows_total * _NO_SHOW_PENALTY
    return kept / (chances + _PRIOR_A + _PRIOR_B)


def score(need: Need, c: Candidate, weights: Weights) -> Ranked:
    """Score one candidate (eligibility is the caller's business)."""
    distance = reach_m(need, c)
    minutes = None if distance is None else travel_minutes(distance, c.travel_mode)
    w = weights
    parts = (
        _part("distance", w.distance, *_distance(need, c, minutes)),
        _part("continuity", w.continuity, *_continuity(need, c)),
        _part("fairness", w.fairness, *_fairness(c.history)),
        _part("reliability", w.reliability, *_reliability(c.history)),
        _part("preference", w.preference, *_preference(need, c)),
        _part("urgency", w.urgency, *_urgency(need, c, minutes)),
    )
    return Ranked(
        volunteer_id=c.volunteer_id,
        score=sum(p.points for p in parts),
        travel_minutes=minutes,
        distance_m=distance,
        parts=parts,
    )


def rank(need: Need, candidates: Iterable[Candidate], policy: OfferPolicy) -> list[Ranked]:
    """Eligible candidates, best first; the ineligible are left out. Ties (newcomers alike
    score alike) go in an order drawn from the need's and the volunteer's ids: the same for
    one need every time, different from need to need, never lowest id first."""
    ranked = [score(need, c, policy.weights) for c in candidates if check(need, c).eligible]
    return sorted(ranked, key=lambda r: (-r.score, tiebreak(need.id, r.volunteer_id)))


def tiebreak(need_id: UUID, volunteer_id: UUID) -> bytes:
    """A per-need shuffle of volunteers, for equal scores."""
    return hashlib.blake2b(need_id.bytes + volunteer_id.bytes, digest_size=8).digest()


def _weights(w: Weights) -> tuple[float, ...]:
    return (w.distance, w.continuity, w.fairness, w.reliability, w.preference, w.urgency)


def _part(factor: str, weight: float, value: float, note: str) -> ScorePart:
    return ScorePart(factor=factor, value=value, points=weight * value, note=note)


def _distance(need: Need, c: Candidate, minutes: float | None) -> tuple[float, str]:
    if need.mode is Mode.REMOTE:
        return 1.0, "remote"
    distance = reach_m(need, c)
    if minutes is None or distance is None:
        return 0.0, "distance unknown"
    where = " from their live location" if from_live_location(need, c) else ""
    note = f"{distance / 1000:.1f} km{where}, about {minutes:.0f} min {_BY[c.travel_mode]}"
    return 1 / (1 + minutes / _HALF_VALUE_MIN), note


def _continuity(need: Need, c: Candidate) -> tuple[float, str]:
    if need.continuity_volunteer_id == c.volunteer_id:
        return 1.0, "asked for by name"
    served = c.history.served_client
    if need.client_id is None or served <= 0:
        return 0.0, "new to this client"
    rise = (_CONTINUITY_SERVED_TOP - _CONTINUITY_SERVED_FLOOR) * min(1.0, (served - 1) / 2)
    times = "once" if served == 1 else f"{served} times"
    return _CONTINUITY_SERVED_FLOOR + rise, f"has helped this client {times}"


def _fairness(h: History) -> tuple[float, str]:
    # Assignments weigh double: they are the work actually shared out.
    value = 1 / (1 + max(0, h.offers_recent) / 4 + max(0, h.assignments_recent) / 2)
    note = f"{h.offers_recent} offers, {h.assignments_recent} assignments in 28 days"
    return value, note


def _answerable(h: History) -> int:
    """Offers accepted, declined or left to expire: the ones that say something."""
    return h.accepted_total + h.declined_total + h.expired_total


def _reliability(h: History) -> tuple[float, str]:
    if _answerable(h) == 0 and h.completed_total == 0 and h.no_shows_total == 0:
        return reliability(h), "new: no record yet"
    note = (
        f"accepted {h.accepted_total} of {_answerable(h)} offers, "
        f"completed {h.completed_total}, {h.no_shows_total} no-shows"
    )
    return reliability(h), note


def _preference(need: Need, c: Candidate) -> tuple[float, str]:
    if not c.preferred_kinds:
        return 0.5, "no stated preference"
    if need.kind in c.preferred_kinds:
        return 1.0, f"prefers {need.kind}"
    return 0.0, f"prefers other work than {need.kind}"


def _urgency(need: Need, c: Candidate, minutes: float | None) -> tuple[float, str]:
    if need.urgency not in (Urgency.HIGH, Urgency.URGENT):
        return 0.0, "not urgent"
    if need.mode is Mode.REMOTE:
        quick, reach = 1.0, "remote"
    elif minutes is None:
        quick, reach = 0.0, "distance unknown"
    else:
        quick, reach = max(0.0, 1 - minutes / _QUICK_MIN), f"about {minutes:.0f} min away"
    value = (0.5 if c.on_duty else 0.0) + 0.5 * quick
    duty = "on duty" if c.on_duty else "off duty"
    return value, f"{need.urgency.value}: {duty}, {reach}"
