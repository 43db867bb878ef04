"""What one row of a volunteers' import does to the volunteer it names: created, updated,
unchanged or refused, and why. Pure: the rows and the volunteers they match come in as
facts, the verdict goes out; the app applies it.

A row is matched on its external id first, then its e-mail, within one organisation. The
profile of a volunteer who signed up themselves is theirs: an import records their external
id and vetting but never rewrites their profile (it says so). A volunteer the import brought
in, who has not signed in yet, has no one else to keep their profile: the import does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import date, time
from enum import StrEnum
from uuid import UUID

from matching.vetting import DbsLevel


class Verdict(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class Profile:
    display_name: str
    lat: float
    lon: float
    max_travel_km: float
    travel_mode: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    max_hours_per_week: int
    max_active_assignments: int
    preferred_kinds: tuple[str, ...]
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    time_zone: str


@dataclass(frozen=True)
class Check:
    """A DBS record as the vetting model holds it (the expiry follows from the date)."""

    level: DbsLevel
    checked_on: date | None
    id_verified: bool
    barred_children: bool
    barred_adults: bool
    update_service: bool


@dataclass(frozen=True)
class Row:
    """A valid row of the file: who, their profile, and their DBS record if it has one."""

    line: int
    email: str
    external_id: str | None
    profile: Profile
    check: Check | None
    expires_on: date | None = None  # the check's, by the organisation's re-check period


@dataclass(frozen=True)
class Known:
    """A volunteer of the organisation a row may name, as the database holds them."""

    user_id: UUID
    email: str | None
    external_id: str | None
    imported: bool  # brought in by an import and never signed in: the import keeps the profile
    profile: Profile | None
    check: Check | None


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    line: int
    user_id: UUID | None = None
    changes: tuple[str, ...] = ()  # what the apply writes: profile fields, external_id, vetting
    field: str | None = None  # a refusal's column
    message: str | None = None  # a refusal's reason
    notes: tuple[str, ...] = ()


def _refused(row: Row, field: str, message: str) -> Decision:
    return Decision(Verdict.REFUSED, row.line, field=field, message=message)


def profile_changes(old: Profile | None, new: Profile) -> tuple[str, ...]:
    if old is None:
        return tuple(f.name for f in fields(Profile))
    return tuple(f.name for f in fields(Profile) if getattr(old, f.name) != getattr(new, f.name))


def decide(row: Row, by_external_id: Known | None, by_email: Known | None) -> Decision:
    """The verdict for a row, given the volunteers its external id and its e-mail name."""
    if by_external_id and by_email and by_external_id.user_id != by_email.user_id:
        return _refused(row, "external_id", "names another volunteer than the row's e-mail")
    known = by_external_id or by_email
    if known is None:
        created = (*profile_changes(None, row.profile), "email")
        created += ("external_id",) if row.external_id else ()
        created += ("vetting",) if row.check else ()
        return Decision(Verdict.CREATED, row.line, changes=created)
    if by_external_id and known.email != row.email:
        return _refused(row, "email", "the volunteer with this external id has another e-mail")
    if row.external_id and known.external_id and known.external_id != row.external_id:
        return _refused(row, "external_id", "this e-mail's volunteer has another external id")
    changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    differing = profile_changes(known.profile, row.profile)
    if known.imported:
        changes += differing
    elif differing:
        notes += (f"profile kept as the volunteer keeps it: {', '.join(differing)} differ",)
    if row.external_id and known.external_id is None:
        changes += ("external_id",)
    if row.check is not None and row.check != known.check:
        changes += ("vetting",)
    verdict = Verdict.UPDATED if changes else Verdict.UNCHANGED
    return Decision(verdict, row.line, known.user_id, changes, notes=notes)


def fingerprint(*known: Known | None) -> str:
    """What a dry run saw of the volunteers a row names: the apply refuses the row if that
    has changed since (empty when the row names nobody yet)."""
    if not any(known):
        return ""
    parts = [
        (
            k.user_id,
            k.email,
            k.external_id,
            k.imported,
            astuple(k.profile) if k.profile else None,
            astuple(k.check) if k.check else None,
        )
        if k
        else None
        for k in known
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


CHANGED_SINCE_DRY_RUN = "the volunteer changed since the dry run: run a new dry run"


def plan(
    rows: Sequence[Row],
    by_external_id: Mapping[str, Known],
    by_email: Mapping[str, Known],
    repeated: Mapping[int, tuple[str, int]],
    expected: Mapping[int, str] | None = None,
) -> list[Decision]:
    """Every row's decision. `repeated` is `duplicates` of the whole file; `expected`, when
    applying what a dry run showed, is that dry run's fingerprint per line."""
    decisions = []
    for row in rows:
        ext = by_external_id.get(row.external_id) if row.external_id else None
        mail = by_email.get(row.email)
        if row.line in repeated:
            column, first = repeated[row.line]
            decisions.append(_refused(row, column, f"repeats line {first}"))
        elif expected is not None and fingerprint(ext, mail) != expected.get(row.line, ""):
            decisions.append(_refused(row, "row", CHANGED_SINCE_DRY_RUN))
        else:
            decisions.append(decide(row, ext, mail))
    return decisions


def duplicates(rows: list[Row]) -> dict[int, tuple[str, int]]:
    """Rows that repeat an earlier row's e-mail or external id: line -> (column, first line).
    The first one counts; the others are refused, so a file means one thing."""
    seen_email: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    repeated: dict[int, tuple[str, int]] = {}
    for row in rows:
        if row.email in seen_email:
            repeated[row.line] = ("email", seen_email[row.email])
        elif row.external_id and row.external_id in seen_id:
            repeated[row.line] = ("external_id", seen_id[row.external_id])
        else:
            seen_email[row.email] = row.line
            if row.external_id:
                seen_id[row.external_id] = row.line
    return repeated
