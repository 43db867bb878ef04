"""Who of the demo's volunteers answers what, and when (pure): the simulated week's response
model (`ResponseModel`) applied to the demo's rows at wall time (docs/simulation.md, "The
demo comes alive").

Every draw is keyed by the row it decides (the offer, the assignment, the volunteer and the
need), so the same facts give the same decision every time they are looked at: a restarted
or second worker decides exactly what the first did. Only the response delays are divided
by the speed-up; a need's window is its own, in real time.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from app.simulation.response import Answer, ResponseModel
from matching.model import AssignmentStatus

DEMO_VOLUNTEER = "demo-volunteer-"  # the seed's volunteers (app/demo_population.py)
DAY_S = 86_400.0


def is_demo_volunteer(subject: str) -> bool:
    """Only the seed's volunteers are ever answered for: never a real person."""
    return subject.startswith(DEMO_VOLUNTEER)


def _rng(*key: object) -> random.Random:
    return random.Random(":".join(["demo", *map(str, key)]))


@dataclass(frozen=True)
class PendingOffer:
    id: UUID
    subject: str
    offered_at: datetime


@dataclass(frozen=True)
class OfferFacts:
    """A due offer, with what its answer depends on."""

    offer: PendingOffer
    minutes: float  # door to door; 0 for a remote need
    busy: bool  # the volunteer holds an active assignment


@dataclass(frozen=True)
class Reply:
    offer_id: UUID
    subject: str
    answer: Answer  # ACCEPT or DECLINE: a silent volunteer has no reply


def answer_at(offer: PendingOffer, model: ResponseModel, speedup: float) -> datetime:
    """When the volunteer looks at the offer: the model's delay (which draws the same
    variates whatever the trip or load) divided by the speed-up."""
    _, delay_s = model.answer(_rng(offer.id), 0.0, busy=False)
    return offer.offered_at + timedelta(seconds=delay_s / speedup)


def due(
    offers: Sequence[PendingOffer], now: datetime, model: ResponseModel, speedup: float
) -> list[PendingOffer]:
    """The demo volunteers' offers whose answer is due at `now`, oldest first."""
    return sorted(
        (o for o in offers if is_demo_volunteer(o.subject) and answer_at(o, model, speedup) <= now),
        key=lambda o: o.offered_at,
    )


def replies(facts: Sequence[OfferFacts], model: ResponseModel) -> list[Reply]:
    """What each volunteer answers: the model's answer for the trip and their load. A
    silent one never answers (the offer lapses and the cascade moves on)."""
    found = []
    for f in facts:
        answer, _ = model.answer(_rng(f.offer.id), f.minutes, busy=f.busy)
        if answer is not Answer.SILENT and is_demo_volunteer(f.offer.subject):
            found.append(Reply(f.offer.id, f.offer.subject, answer))
    return found


# -- turning up ------------------------------------------------------------------------------
class Visit(StrEnum):
    ATTEND = "attend"  # check in, then complete
    COMPLETE = "complete"  # checked in already (a restart between the two)
    NO_SHOW = "no_show"  # staff record it


@dataclass(frozen=True)
class Held:
    """An active assignment of a demo volunteer."""

    id: UUID
    subject: str
    status: AssignmentStatus
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int


def done_at(held: Held) -> datetime:
    """When the work is done: its duration after the start, never after the window."""
    return min(held.starts_at + timedelta(minutes=held.duration_minutes), held.ends_at)


def visits(held: Sequence[Held], now: datetime, model: ResponseModel) -> list[tuple[Held, Visit]]:
    """What happens to each assignment whose work is due: the volunteer attends (checks in
    and completes), or is a no-show at the model's rate. A window that closed before anyone
    looked (no worker ran) had nobody check in: a no-show."""
    found = []
    for h in held:
        if not is_demo_volunteer(h.subject) or done_at(h) > now:
            continue
        if h.status is AssignmentStatus.CHECKED_IN:
            found.append((h, Visit.COMPLETE))
        elif h.status is AssignmentStatus.ACCEPTED:
            attends = model.attends(_rng(h.id, "go")) and now <= h.ends_at
            found.append((h, Visit.ATTEND if attends else Visit.NO_SHOW))
    return found


# -- open calls ------------------------------------------------------------------------------
def browse_chance(model: ResponseModel, speedup: float, every_s: float) -> float:
    """The chance that a volunteer opens the open-call feed in one period of `every_s`."""
    return min(1.0, model.browse_per_day * speedup * every_s / DAY_S)


def browsers(volunteer_ids: Sequence[UUID], period: int, chance: float) -> list[UUID]:
    """Who opens the feed in period number `period` (the same answer for every worker)."""

    def draw(volunteer_id: UUID) -> float:
        digest = hashlib.blake2b(f"{volunteer_id}:{period}".encode(), digest_size=8).digest()
        return int.from_bytes(digest) / 2**64

    return [v for v in volunteer_ids if draw(v) < chance]


def claim_choice(
    volunteer_id: UUID, listed: Sequence[tuple[UUID, float]], model: ResponseModel
) -> UUID | None:
    """The first open call (need id, travel minutes), nearest first as the feed lists them,
    that the volunteer says yes to; a volunteer answers the same need alike every visit."""
    for need_id, minutes in listed:
        answer, _ = model.answer(_rng(need_id, volunteer_id), minutes, busy=False)
        if answer is Answer.ACCEPT:
            return need_id
    return None
