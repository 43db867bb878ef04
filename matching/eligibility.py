"""Hard constraints: who may be offered a need at all, and every reason why not.

A volunteer is eligible only when no rule is broken; the reasons explain a refusal to a
coordinator, so all broken rules are reported, in `Reason` order, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from matching.model import Candidate, Eligibility, Mode, Need, ProgrammeKind, Reason, Urgency
from matching.vetting import DbsLevel, satisfies

__all__ = [
    "MAX_OPEN_MICRO_TASKS",
    "MICRO_TASK_KINDS",
    "ON_ACCEPT",
    "ON_CLAIM",
    "blocking",
    "check",
    "eligible",
    "is_micro_task",
    "refusal",
]

# Micro-tasks: crowd (co-production) and co-design needs, short pieces many people take at
# once. They are not commitments: they do not count against max_active_assignments, and a
# volunteer holds at most MAX_OPEN_MICRO_TASKS of them at once (docs/decisions.md).
MICRO_TASK_KINDS = frozenset({ProgrammeKind.CO_PRODUCTION, ProgrammeKind.CO_DESIGN})
MAX_OPEN_MICRO_TASKS = 5

# What a volunteer's own accept of an offer re-checks: safeguarding, their own limits (weekly
# hours, caps, clashes) and exclusions; what may have changed since the offer was made by
# their other accepts and claims. (Distance and availability were checked when offered.)
ON_ACCEPT = frozenset(
    {
        Reason.NOT_APPROVED,
        Reason.VETTING_LEVEL,
        Reason.VETTING_EXPIRED,
        Reason.BARRED,
        Reason.HOURS_CAP,
        Reason.ASSIGNMENTS_CAP,
        Reason.MICRO_TASK_CAP,
        Reason.CONFLICT,
        Reason.EXCLUDED,
    }
)
# A claim is a volunteer offering themselves: every rule an offer applies, save having been
# offered it before (an open call is never offered).
ON_CLAIM = frozenset(Reason) - {Reason.ALREADY_OFFERED}

Rule = Callable[[Need, Candidate], bool]  # True: the rule is broken


def _too_far(need: Need, c: Candidate) -> bool:
    if need.mode is Mode.REMOTE:
        return False
    if c.distance_m is None:
        return True
    # Written as "not within" so that a NaN distance counts as too far, not as near.
    within = c.distance_m <= c.max_travel_m
    if need.radius_m is not None:
        within = within and c.distance_m <= need.radius_m
    return not within


def _barred(need: Need, c: Candidate) -> bool:
    # Safeguarding first: a barred-list flag keeps anyone from all work (Vetting.meets).
    return c.vetting is not None and (c.vetting.barred_children or c.vetting.barred_adults)


def _vetting_level(need: Need, c: Candidate) -> bool:
    if need.min_vetting is DbsLevel.NONE:
        return False
    v = c.vetting
    return v is None or not v.id_verified or not satisfies(v.level, need.min_vetting)


def _vetting_expired(need: Need, c: Candidate) -> bool:
    if need.min_vetting is DbsLevel.NONE:
        return False
    v = c.vetting
    return v is not None and satisfies(v.level, need.min_vetting) and not v.valid_on(need.last_day)


def _hours_cap(need: Need, c: Candidate) -> bool:
    return c.hours_committed + need.duration_minutes / 60 > c.max_hours_per_week


def is_micro_task(kind: str) -> bool:
    return kind in MICRO_TASK_KINDS


def _assignments_cap(need: Need, c: Candidate) -> bool:
    return not is_micro_task(need.kind) and c.active_assignments >= c.max_active_assignments


def _micro_task_cap(need: Need, c: Candidate) -> bool:
    return is_micro_task(need.kind) and c.micro_tasks >= MAX_OPEN_MICRO_TASKS


_RULES: dict[Reason, Rule] = {
    Reason.NOT_APPROVED: lambda need, c: not c.approved,
    Reason.TOO_FAR: _too_far,
    Reason.VETTING_LEVEL: _vetting_level,
    Reason.VETTING_EXPIRED: _vetting_expired,
    Reason.BARRED: _barred,
    Reason.SKILLS: lambda need, c: not need.required_skills <= c.skills,
    Reason.LANGUAGES: lambda need, c: not need.languages <= c.languages,
    Reason.UNAVAILABLE: lambda need, c: not c.available,
    Reason.OFF_DUTY: lambda need, c: need.urgency is Urgency.URGENT and not c.on_duty,
    Reason.HOURS_CAP: _hours_cap,
    Reason.ASSIGNMENTS_CAP: _assignments_cap,
    Reason.MICRO_TASK_CAP: _micro_task_cap,
    Reason.CONFLICT: lambda need, c: c.conflicting,
    Reason.EXCLUDED: lambda need, c: c.excluded,
    Reason.ALREADY_OFFERED: lambda need, c: c.offered_before,
    Reason.ALREADY_ASSIGNED: lambda need, c: c.assigned_before,
}


def check(need: Need, c: Candidate) -> Eligibility:
    """Every hard constraint `c` breaks for `need`, in `Reason` order; none: eligible."""
    return Eligibility(c.volunteer_id, tuple(r for r in Reason if _RULES[r](need, c)))


def eligible(need: Need, candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates breaking no hard constraint, in their given order."""
    return [c for c in candidates if check(need, c).eligible]


def blocking(need: Need, c: Candidate | None, rules: frozenset[Reason]) -> tuple[Reason, ...]:
    """The broken rules among `rules` (ON_ACCEPT, ON_CLAIM); None: not a volunteer here."""
    reasons = check(need, c).reasons if c is not None else (Reason.NOT_APPROVED,)
    return tuple(r for r in reasons if r in rules)


def _hours(need: Need, c: Candidate) -> str:
    after = c.hours_committed + need.duration_minutes / 60
    return f"{Reason.HOURS_CAP} ({after:g} h that week, over your {c.max_hours_per_week} h)"


_WORDS: dict[Reason, Callable[[Need, Candidate], str]] = {
    Reason.HOURS_CAP: _hours,
    Reason.ASSIGNMENTS_CAP: lambda need, c: (
        f"{Reason.ASSIGNMENTS_CAP} ({c.active_assignments} of {c.max_active_assignments})"
    ),
    Reason.MICRO_TASK_CAP: lambda need, c: (
        f"{Reason.MICRO_TASK_CAP} ({c.micro_tasks} of {MAX_OPEN_MICRO_TASKS} open)"
    ),
}


def refusal(need: Need, c: Candidate | None, rules: frozenset[Reason]) -> str | None:
    """Why the volunteer may not take `need`, in words naming each broken rule's code, or
    None when they may."""
    broken = blocking(need, c, rules)
    if not broken:
        return None
    words = [_WORDS[r](need, c) if c is not None and r in _WORDS else str(r) for r in broken]
    return f"you do not meet this need: {', '.join(words)}"
