"""A need's timeline as its caseworker reads it: posted, offered to N, answered, assigned to
a named volunteer, checked in, completed, and the outcome. A pure function of what the
API's own reads return (the need, its offers, its assignments): no SQL, no clock.

Offers made together (one wave, or one caseworker's offer) are one entry naming who was
asked; each answer is an entry of its own. Entries come oldest first; at the same instant,
in the order things happen (an offer is made before it is accepted). An entry's words are
phrases (app/console/i18n.py), translated when the page shows them (`Entry.text_in`): the
names in them as given, the rest in the page's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from uuid import UUID

from app.assignments.schemas import Assignment
from app.console.i18n import DEFAULT, N_, Phrase, translate
from app.needs.schemas import Need
from app.offers.schemas import StaffOffer
from matching.model import AssignmentStatus, Escalation, OfferSource, OfferStatus

NAMES_SHOWN = 5  # names listed in an offer entry; the rest are counted
SOMEONE = Phrase(N_("A volunteer"))  # no display name (never their e-mail or phone)

SOURCES = {
    OfferSource.CASCADE: N_("wave %(wave)s"),
    OfferSource.MANUAL: N_("by a caseworker"),
    OfferSource.PLAN: N_("from the batch plan"),
    OfferSource.SERIES: N_("the whole series"),
}
ANSWERS = {  # a closed offer: what happened to it
    OfferStatus.DECLINED: N_("%(name)s declined"),
    OfferStatus.EXPIRED: N_("%(name)s did not answer in time"),
    OfferStatus.WITHDRAWN: N_(
        "%(name)s was no longer asked (the need filled, changed or was cancelled)"
    ),
}
ENDINGS = {  # an assignment that ended before completion
    AssignmentStatus.WITHDRAWN: N_("%(name)s withdrew"),
    AssignmentStatus.RELEASED: N_("%(name)s was released: not started in time"),
    AssignmentStatus.NO_SHOW: N_("%(name)s did not come"),
    AssignmentStatus.CANCELLED: N_("%(name)s was stood down"),
}
OUTCOMES = {
    "done": N_("Helped as planned"),
    "partly_done": N_("Partly done"),
    "not_home": N_("The person was not at home"),
    "not_needed": N_("No longer needed"),
    "referred": N_("Referred to a professional service"),
    "safeguarding_concern": N_("A safeguarding concern was raised"),
}
ESCALATIONS: dict[str, str] = {  # why the offers ran out, as words within a sentence
    Escalation.WAVES_EXHAUSTED: N_("waves exhausted"),
    Escalation.ALERT_CAP: N_("alert cap"),
    Escalation.NO_CANDIDATES: N_("no candidates"),
    Escalation.ALL_ASLEEP: N_("all asleep"),
}

Words = str | Phrase  # a name as it was given, or words to translate


def say(language: str, words: Words) -> str:
    """Words in `language`: a phrase translated, then filled with its values, each of them
    translated first where it is a phrase too; a name is shown as it was given."""
    if not isinstance(words, Phrase):
        return words
    values = {k: say(language, v) if isinstance(v, Phrase) else v for k, v in words.values.items()}
    return translate(language, Phrase(words.message, values))


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # posted, offered, accepted, declined, ..., outcome: a tag for the page's styles
    words: Phrase
    note: str | None = None

    def text_in(self, language: str) -> str:
        """The entry's text in the page's language (the template's `language`)."""
        return say(language, self.words)

    @property
    def text(self) -> str:
        return self.text_in(DEFAULT)


def _listing(names: Sequence[Words]) -> Words:
    shown, rest = list(names[:NAMES_SHOWN]), len(names) - NAMES_SHOWN
    if rest > 0:
        shown.append(
            Phrase(N_("%(count)s others"), {"count": rest}) if rest > 1 else Phrase(N_("1 other"))
        )
    if len(shown) == 1:
        return shown[0]
    head = Phrase(  # the names before the last, comma-separated in every language
        ", ".join(f"%(n{i})s" for i in range(len(shown) - 1)),
        {f"n{i}": name for i, name in enumerate(shown[:-1])},
    )
    return Phrase(N_("%(names)s and %(last)s"), {"names": head, "last": shown[-1]})


def name_list(names: Sequence[str], language: str = DEFAULT) -> str:
    """`Ann`, `Ann and Bob`, `Ann, Bob and Cy`, `Ann, Bob, Cy, Dee, Eve and 3 others`."""
    return say(language, _listing(names))


def _name(offer: StaffOffer) -> Words:
    return offer.volunteer_name or SOMEONE


def _offered(batch: list[StaffOffer]) -> Entry:
    first = batch[0]
    how = Phrase(SOURCES[first.source], {"wave": first.wave})
    who = _listing([_name(o) for o in batch])
    n = len(batch)
    count = Phrase(N_("%(count)s volunteers"), {"count": n}) if n > 1 else Phrase(N_("1 volunteer"))
    words = Phrase(
        N_("Offered to %(count)s (%(how)s): %(who)s"), {"count": count, "how": how, "who": who}
    )
    return Entry(first.created_at, "offered", words)


def _offer_entries(offers: Sequence[StaffOffer]) -> Iterable[Entry]:
    made = sorted(offers, key=lambda o: (o.created_at, o.source, o.wave))
    for _, batch in groupby(made, key=lambda o: (o.created_at, o.source, o.wave)):
        yield _offered(list(batch))
    for offer in offers:
        if offer.responded_at is None or offer.status == OfferStatus.ACCEPTED:
            continue  # pending; an accepted offer shows as its assignment
        note = offer.decline_reason if offer.status == OfferStatus.DECLINED else None
        words = Phrase(ANSWERS[offer.status], {"name": _name(offer)})
        yield Entry(offer.responded_at, str(offer.status), words, note)


def _assignment_entries(
    assignments: Sequence[Assignment], names: Mapping[UUID, str]
) -> Iterable[Entry]:
    for a in assignments:
        who: dict[str, Words] = {"name": names.get(a.volunteer_id, SOMEONE)}
        accepted = Phrase(N_("%(name)s accepted and is assigned"), who)
        yield Entry(a.accepted_at, "accepted", accepted)
        if a.checked_in_at is not None:
            yield Entry(a.checked_in_at, "checked_in", Phrase(N_("%(name)s checked in"), who))
        if a.completed_at is not None:
            done = (
                Phrase(
                    N_("%(name)s completed it (%(minutes)s minutes)"), who | {"minutes": a.minutes}
                )
                if a.minutes
                else Phrase(N_("%(name)s completed it"), who)
            )
            yield Entry(a.completed_at, "completed", done, a.note)
        if a.ended_at is not None and a.status in ENDINGS:
            yield Entry(a.ended_at, "left", Phrase(ENDINGS[a.status], who), a.end_reason)


def _need_entries(need: Need) -> Iterable[Entry]:
    yield Entry(need.created_at, "posted", Phrase(N_("Posted")))
    if need.escalated_at is not None:
        reason = need.escalation_reason or ""
        why = Phrase(ESCALATIONS[reason]) if reason in ESCALATIONS else reason.replace("_", " ")
        escalated = Phrase(N_("Escalated to a caseworker: %(reason)s"), {"reason": why})
        yield Entry(need.escalated_at, "escalated", escalated)
    if need.cancel_reason is not None:
        yield Entry(need.updated_at, "cancelled", Phrase(N_("Cancelled")), need.cancel_reason)
    if need.outcome is not None and need.outcome_at is not None:
        o = need.outcome
        label = Phrase(OUTCOMES[o]) if o in OUTCOMES else o
        outcome = Phrase(N_("Outcome recorded: %(outcome)s"), {"outcome": label})
        yield Entry(need.outcome_at, "outcome", outcome, need.outcome_note)


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
