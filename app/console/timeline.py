"""A need's timeline as its caseworker reads it: posted, offered to N, answered, assigned to
a named volunteer, checked in, completed, and the outcome. A pure function of what the
API's own reads return (the need, its offers, its assignments): no SQL, no clock.

Offers made together (one wave, or one caseworker's offer) are one entry naming who was
asked; each answer is an entry of its own. Entries come oldest first; at the same instant,
in the order things happen (an offer is made before it is accepted)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from uuid import UUID

from app.assignments.schemas import Assignment
from app.needs.schemas import Need
from app.offers.schemas import StaffOffer
from matching.model import AssignmentStatus, OfferSource, OfferStatus

NAMES_SHOWN = 5  # names listed in an offer entry; the rest are counted
SOMEONE = "A volunteer"  # no display name (never their e-mail or phone)

SOURCES = {
    OfferSource.CASCADE: "wave {wave}",
    OfferSource.MANUAL: "by a caseworker",
    OfferSource.PLAN: "from the batch plan",
    OfferSource.SERIES: "the whole series",
}
ANSWERS = {  # a closed offer: what happened to it
    OfferStatus.DECLINED: "declined",
    OfferStatus.EXPIRED: "did not answer in time",
    OfferStatus.WITHDRAWN: "was no longer asked (the need filled, changed or was cancelled)",
}
ENDINGS = {  # an assignment that ended before completion
    AssignmentStatus.WITHDRAWN: "withdrew",
    AssignmentStatus.RELEASED: "was released: not started in time",
    AssignmentStatus.NO_SHOW: "did not come",
    AssignmentStatus.CANCELLED: "was stood down",
}
OUTCOMES = {
    "done": "Helped as planned",
    "partly_done": "Partly done",
    "not_home": "The person was not at home",
    "not_needed": "No longer needed",
    "referred": "Referred to a professional service",
    "safeguarding_concern": "A safeguarding concern was raised",
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # posted, offered, accepted, declined, ..., outcome: a tag for the page's styles
    text: str
    note: str | None = None


def name_list(names: Sequence[str]) -> str:
    """`Ann`, `Ann and Bob`, `Ann, Bob and Cy`, `Ann, Bob, Cy, Dee, Eve and 3 others`."""
    shown, rest = list(names[:NAMES_SHOWN]), len(names) - NAMES_SHOWN
    if rest > 0:
        shown.append(f"{rest} other" + ("s" if rest > 1 else ""))
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _name(offer: StaffOffer) -> str:
    return offer.volunteer_name or SOMEONE


def _offered(batch: list[StaffOffer]) -> Entry:
    first = batch[0]
    how = SOURCES[first.source].format(wave=first.wave)
    who = name_list([_name(o) for o in batch])
    count = f"{len(batch)} volunteer" + ("s" if len(batch) > 1 else "")
    return Entry(first.created_at, "offered", f"Offered to {count} ({how}): {who}")


def _offer_entries(offers: Sequence[StaffOffer]) -> Iterable[Entry]:
    made = sorted(offers, key=lambda o: (o.created_at, o.source, o.wave))
    for _, batch in groupby(made, key=lambda o: (o.created_at, o.source, o.wave)):
        yield _offered(list(batch))
    for offer in offers:
        if offer.responded_at is None or offer.status == OfferStatus.ACCEPTED:
            continue  # pending; an accepted offer shows as its assignment
        note = offer.decline_reason if offer.status == OfferStatus.DECLINED else None
        text = f"{_name(offer)} {ANSWERS[offer.status]}"
        yield Entry(offer.responded_at, str(offer.status), text, note)


def _assignment_entries(
    assignments: Sequence[Assignment], names: Mapping[UUID, str]
) -> Iterable[Entry]:
    for a in assignments:
        who = names.get(a.volunteer_id, SOMEONE)
        yield Entry(a.accepted_at, "accepted", f"{who} accepted and is assigned")
        if a.checked_in_at is not None:
            yield Entry(a.checked_in_at, "checked_in", f"{who} checked in")
        if a.completed_at is not None:
            minutes = f" ({a.minutes} minutes)" if a.minutes else ""
            yield Entry(a.completed_at, "completed", f"{who} completed it{minutes}", a.note)
        if a.ended_at is not None and a.status in ENDINGS:
            yield Entry(a.ended_at, "left", f"{who} {ENDINGS[a.status]}", a.end_reason)


def _need_entries(need: Need) -> Iterable[Entry]:
    yield Entry(need.created_at, "posted", "Posted")
    if need.escalated_at is not None:
        why = (need.escalation_reason or "").replace("_", " ")
        yield Entry(need.escalated_at, "escalated", f"Escalated to a caseworker: {why}")
    if need.cancel_reason is not None:
        yield Entry(need.updated_at, "cancelled", "Cancelled", need.cancel_reason)
    if need.outcome is not None and need.outcome_at is not None:
        label = OUTCOMES.get(need.outcome, need.outcome)
        yield Entry(need.outcome_at, "outcome", f"Outcome recorded: {label}", need.outcome_note)


ORDER = {  # at one instant, in the order things happen
    k: n
    for n, k in enumerate(
        [
            "posted",
            "offered",
            "declined",
            "expired",
            "withdrawn",
            "accepted",
            "checked_in",
            "completed",
            "left",
            "escalated",
            "cancelled",
            "outcome",
        ]
    )
}


def timeline(
    need: Need,
    offers: Sequence[StaffOffer],
    assignments: Sequence[Assignment],
    names: Mapping[UUID, str],
) -> list[Entry]:
    """Every entry of the need's history, oldest first; `names` are the volunteers'
    display names (a claim from the open call has no offer to name its volunteer)."""
    entries = [
        *_need_entries(need),
        *_offer_entries(offers),
        *_assignment_entries(assignments, names),
    ]
    return sorted(entries, key=lambda e: (e.at, ORDER[e.kind]))
