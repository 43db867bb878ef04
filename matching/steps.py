"""What one step of a need's offer cascade sees, may ask for, and decides: plain frozen structs.

`matching.cascade.decide` turns a `NeedState` (and any `Facts` it asked for) into `Actions`;
`app.needs.cascade` loads the facts and applies the actions in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from matching.model import Candidate, Dispatch, Escalation, Need, OfferSource, OfferStatus, Ranked
from matching.status import NeedStatus


@dataclass(frozen=True, slots=True)
class PendingOffer:
    id: UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NeedState:
    """A need as its cascade step sees it, read under the need's row lock."""

    need: Need  # what eligibility reads; its starts_at, urgency and open_slots too
    slots: int  # all of its slots, filled or open
    status: NeedStatus
    dispatch: Dispatch
    ends_at: datetime  # the end of its last window
    waves_sent: int
    alerts_sent: int  # offers ever made for it, whatever their status
    escalated: bool
    series_id: UUID | None
    pending: tuple[PendingOffer, ...] = ()  # its offers still awaiting an answer, overdue or not
    series_offers: int = 0  # of its offers, those of the whole series (one a wave)


# -- what a decision may ask for before it can decide -----------------------------------------
@dataclass(frozen=True, slots=True)
class Candidates:
    """The need's eligible volunteers, best first, fetched `limit` at a time; and who among
    them sleeps until after `asleep_through` (None: nobody is asked, urgent offers wake)."""

    limit: int
    asleep_through: datetime | None


@dataclass(frozen=True, slots=True)
class SeriesOffer:
    """The latest offer of a whole recurring series, if one was made (read under the series'
    lock)."""

    series_id: UUID


@dataclass(frozen=True, slots=True)
class Volunteer:
    """One named volunteer's facts against the need, or None if they are no candidate."""

    volunteer_id: UUID


Wanted = Candidates | SeriesOffer | Volunteer


@dataclass(frozen=True, slots=True)
class Pool:
    ranked: tuple[Ranked, ...]
    asleep: Mapping[UUID, datetime]  # ranked volunteers whose quiet hours outlast the offer


@dataclass(frozen=True, slots=True)
class SeriesAnswer:
    """The latest offer of a whole series, and everyone it was offered to so far."""

    status: OfferStatus
    expires_at: datetime
    volunteer_id: UUID
    asked: frozenset[UUID] = frozenset()


@dataclass(frozen=True, slots=True)
class Facts:
    """The answers to what a decision asked for so far, keyed by the question."""

    pools: Mapping[Candidates, Pool] = field(default_factory=dict)
    series: Mapping[SeriesOffer, SeriesAnswer | None] = field(default_factory=dict)
    volunteers: Mapping[Volunteer, Candidate | None] = field(default_factory=dict)

    def with_pool(self, asked: Candidates, pool: Pool) -> Facts:
        return replace(self, pools={**self.pools, asked: pool})

    def with_series(self, asked: SeriesOffer, answer: SeriesAnswer | None) -> Facts:
        return replace(self, series={**self.series, asked: answer})

    def with_volunteer(self, asked: Volunteer, answer: Candidate | None) -> Facts:
        return replace(self, volunteers={**self.volunteers, asked: answer})


# -- what a decision does, in order -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExpireOffers:
    """Unanswered in time."""

    ids: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class WithdrawOffers:
    """The need no longer wants them."""

    ids: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class SetStatus:
    status: NeedStatus  # an allowed move (matching.status)


@dataclass(frozen=True, slots=True)
class EndAssignments:
    """Its active assignments are cancelled, for this reason."""

    why: str


@dataclass(frozen=True, slots=True)
class Offer:
    """Offers to these volunteers, as the need's next wave; its next step is their expiry."""

    to: tuple[Ranked, ...]
    source: OfferSource
    series: bool = False


@dataclass(frozen=True, slots=True)
class TakeOccurrence:
    """The volunteer who accepted the whole series takes this occurrence."""

    volunteer_id: UUID


@dataclass(frozen=True, slots=True)
class Escalate:
    """People decide now: they are told, and the need takes no step until they act."""

    reason: Escalation


@dataclass(frozen=True, slots=True)
class WakeAt:
    """When the need's next step is due; None: only when something changes it."""

    at: datetime | None


Action = (
    ExpireOffers
    | WithdrawOffers
    | SetStatus
    | EndAssignments
    | Offer
    | TakeOccurrence
    | Escalate
    | WakeAt
)
Actions = tuple[Action, ...]
