"""What the matching core takes and gives: plain frozen structs, no I/O.

`geo.candidates` fills `Candidate` from one SQL statement; the core (eligibility, scoring,
cascade, batch) turns them into decisions. Everything here is hashable and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from matching.vetting import DbsLevel, Vetting


class Mode(StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ProgrammeKind(StrEnum):
    COMMUNITY_SUPPORT = "community_support"
    FAMILY_INTERVENTION = "family_intervention"
    CO_PRODUCTION = "co_production"
    CO_DESIGN = "co_design"
    OTHER = "other"


class Dispatch(StrEnum):
    AUTO = "auto"  # a timed, fair cascade of offers
    OPEN_CALL = "open_call"  # shown in volunteers' feeds; first come, first served
    MANUAL = "manual"  # the caseworker picks from ranked candidates


class OfferStatus(StrEnum):
    PENDING = "pending"  # sent, waiting for an answer until it expires
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # no answer in time
    WITHDRAWN = "withdrawn"  # the need filled, was cancelled, or the volunteer was excluded


class OfferSource(StrEnum):
    CASCADE = "cascade"  # a wave of the need's cascade
    MANUAL = "manual"  # a caseworker named the volunteers or asked for the next wave now
    PLAN = "plan"  # a committed batch plan
    SERIES = "series"  # a whole recurring series offered to one volunteer


class AssignmentStatus(StrEnum):
    ACCEPTED = "accepted"  # holds a slot, not started
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"  # the volunteer gave the slot back
    RELEASED = "released"  # stale: accepted but never started in time, slot reopened
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"  # the need was cancelled or ended, or the client excluded them


# Holding a slot: what caps, clashes and the address rule count.
ACTIVE_ASSIGNMENT = (AssignmentStatus.ACCEPTED, AssignmentStatus.CHECKED_IN)
# Who has helped: what continuity ("same as last time") and records count.
SERVED = (*ACTIVE_ASSIGNMENT, AssignmentStatus.COMPLETED)


class TravelMode(StrEnum):
    WALK = "walk"
    CYCLE = "cycle"
    PUBLIC_TRANSPORT = "public_transport"
    CAR = "car"


class Reason(StrEnum):
    """Why a volunteer cannot take a need: one code per broken hard constraint."""

    NOT_APPROVED = "not_approved"  # no approved volunteer membership here (pending, suspended)
    TOO_FAR = "too_far"  # beyond the volunteer's travel radius or the need's own radius
    VETTING_LEVEL = "vetting_level"  # no check, too low a level, ID not verified
    VETTING_EXPIRED = "vetting_expired"  # the check lapses before the need's last day
    BARRED = "barred"  # on a barred list: kept from all work
    SKILLS = "skills"  # lacks a required skill
    LANGUAGES = "languages"  # lacks a required language
    UNAVAILABLE = "unavailable"  # no availability covering a window for the duration
    OFF_DUTY = "off_duty"  # urgent needs go to volunteers on duty
    HOURS_CAP = "hours_cap"  # the need would take them past their weekly hours
    ASSIGNMENTS_CAP = "assignments_cap"  # already at their cap of active commitments
    MICRO_TASK_CAP = "micro_task_cap"  # already holding the most open micro-tasks at once
    CONFLICT = "conflict"  # an active assignment overlapping the need's windows
    EXCLUDED = "excluded"  # barred from this client, or the client asked not to see them
    ALREADY_OFFERED = "already_offered"  # offered this need before (declined, expired...)
    ALREADY_ASSIGNED = "already_assigned"  # holds (or held) a slot of this need


# An on-duty volunteer's live location counts for urgent needs while it is at most this old
# (`volunteers.live_location_at`): after half an hour it says little about where they are,
# and their home counts, as for any other need. `geo.candidates` applies it in SQL, so
# `Candidate.live_distance_m` is set only for a fresh one (`eligibility.reach_m`).
LIVE_LOCATION_FRESH = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each factor counts in a score; from the programme's policy."""

    distance: float = 1.0
    continuity: float = 1.0
    fairness: float = 1.0
    reliability: float = 0.5
    preference: float = 0.25
    urgency: float = 0.5


@dataclass(frozen=True, slots=True)
class OfferPolicy:
    """A programme's cascade policy (the `programmes` row's offer columns)."""

    wave_size: int = 3  # offers per open slot per wave
    alert_cap: int = 12  # most volunteers ever alerted per open slot of one need
    max_waves: int = 4
    # How long an offer waits for an answer (never past the start): 30 minutes, as a quarter
    # of answers came after 15 (docs/decisions.md, 42).
    offer_timeout_s: int = 1800
    weights: Weights = field(default_factory=Weights)


@dataclass(frozen=True, slots=True)
class Need:
    """One need (one occurrence of a series), as matching sees it."""

    id: UUID
    mode: Mode
    kind: str  # the programme's kind (befriending, transport...): for preference match
    required_skills: frozenset[str]
    languages: frozenset[str]
    min_vetting: DbsLevel  # already the stricter of the programme's and the need's
    starts_at: datetime  # start of its first window
    last_day: date  # vetting must still be valid on this day
    duration_minutes: int
    urgency: Urgency
    open_slots: int
    radius_m: float | None = None  # the need's own cap on distance, if any
    client_id: UUID | None = None
    continuity_volunteer_id: UUID | None = None  # a named volunteer asked for


@dataclass(frozen=True, slots=True)
class History:
    """A volunteer's recent record, over the fairness window (28 days) unless said."""

    offers_recent: int = 0  # offers received
    assignments_recent: int = 0  # assignments taken
    offers_total: int = 0  # all-time offers answered or left to expire, for reliability
    accepted_total: int = 0
    declined_total: int = 0
    expired_total: int = 0  # offers left unanswered
    completed_total: int = 0
    no_shows_total: int = 0
    served_client: int = 0  # completed or active assignments for this need's client


@dataclass(frozen=True, slots=True)
class Candidate:
    """A volunteer's facts relative to one need."""

    volunteer_id: UUID
    approved: bool
    distance_m: float | None  # None for remote needs
    max_travel_m: float
    travel_mode: TravelMode
    vetting: Vetting | None  # their current check with the need's organisation
    skills: frozenset[str]
    languages: frozenset[str]
    available: bool  # an availability span covers `duration_minutes` of some window
    on_duty: bool
    hours_committed: float  # hours already assigned in the need's week
    max_hours_per_week: int
    # Commitments held, other than the need's own series: a series is one, however many of
    # its occurrences they hold; micro-tasks are not commitments (matching.eligibility).
    active_assignments: int
    max_active_assignments: int
    conflicting: bool  # an active assignment overlaps the need's windows
    excluded: bool  # a client exclusion between them and the need's client
    offered_before: bool
    assigned_before: bool
    preferred_kinds: frozenset[str]
    history: History = field(default_factory=History)
    micro_tasks: int = 0  # open micro-task claims held (crowd, co-design)
    # From the on-duty volunteer's live location, when it is fresh (`LIVE_LOCATION_FRESH`);
    # None otherwise, and for remote needs.
    live_distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class Eligibility:
    volunteer_id: UUID
    reasons: tuple[Reason, ...]  # empty: eligible

    @property
    def eligible(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class ScorePart:
    """One factor's contribution to a score, explained."""

    factor: str  # distance | continuity | fairness | reliability | preference | urgency
    value: float  # the factor's normalised value in [0, 1]
    points: float  # weight x value: what it added to the score
    note: str  # for people: "2.1 km, about 8 min by cycle"


@dataclass(frozen=True, slots=True)
class Ranked:
    volunteer_id: UUID
    score: float
    travel_minutes: float | None  # None for remote needs
    distance_m: float | None
    parts: tuple[ScorePart, ...]


@dataclass(frozen=True, slots=True)
class CascadeState:
    """Where a need's offer cascade stands."""

    open_slots: int
    waves_sent: int
    alerts_sent: int  # offers ever made for this need
    pending_offers: int  # offers still awaiting an answer
    slots: int  # all of the need's slots, filled or open: the alert budget counts them all


class Escalation(StrEnum):
    WAVES_EXHAUSTED = "waves_exhausted"
    ALERT_CAP = "alert_cap"
    NO_CANDIDATES = "no_candidates"
    ALL_ASLEEP = "all_asleep"  # everyone left sleeps until after the need starts


@dataclass(frozen=True, slots=True)
class WaveDecision:
    offer_to: tuple[UUID, ...] = ()  # in rank order
    escalate: Escalation | None = None
    wait_until: datetime | None = None  # everyone left is asleep: try again when one wakes


@dataclass(frozen=True, slots=True)
class Edge:
    """A possible (need, volunteer) pair in a batch plan, with its integer cost."""

    need_id: UUID
    volunteer_id: UUID
    cost: int  # >= 0; lower is better


@dataclass(frozen=True, slots=True)
class Plan:
    pairs: tuple[tuple[UUID, UUID], ...]  # (need_id, volunteer_id), sorted
    filled: int  # slots filled: maximal first
    total_cost: int  # then minimal
