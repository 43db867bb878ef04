"""Coordinators' work on volunteers: the roster, approval and suspension, DBS vetting."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from sqlalchemy import insert, select, true, tuple_, update

from app import audit
from app.db.rows import AnyRow
from app.db.tables import memberships, organisations, programmes, vetting_checks, volunteers
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.principal import MANAGERS, STAFF
from app.locations import Location
from app.pagination import decode_cursor, page_of
from app.volunteers import roster_filters
from app.volunteers.roster_filters import RosterFilter
from app.volunteers.schemas import VettingStatus
from app.volunteers.service import current_vetting_query, vetting_status
from matching.vetting import DbsLevel

DEFAULT_REASON = "volunteer management"
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=r"^[^\x00]*$")]


class VettingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    level: DbsLevel
    checked_on: date | None = None  # the certificate's issue date; required unless none
    id_verified: bool
    barred_children: bool = False
    barred_adults: bool = False
    update_service: bool = False  # subscribed to the DBS Update Service
    notes: Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^[^\x00]*$")] | None = None
    org_id: UUID | None = None


class StatusChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason | None = None
    org_id: UUID | None = None


class SuspendIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason  # a suspension always says why
    org_id: UUID | None = None


class RosterEntry(msgspec.Struct, kw_only=True):
    user_id: UUID
    display_name: str
    status: str
    travel_mode: str
    max_travel_km: float
    skills: list[str]
    languages: list[str]
    vetting: VettingStatus | None
    enrolled_at: datetime
    no_shows: int  # visits missed for the organisation


class VolunteerRecord(RosterEntry, kw_only=True):
    """A coordinator's view: the profile, without any live location, plus vetting history."""

    home: Location
    status_reason: str | None
    vetting_history: list[VettingStatus]


async def _org_today(tx: Tx, org_id: UUID) -> date:
    zone = await tx.conn.scalar(
        select(organisations.c.time_zone).where(organisations.c.id == org_id)
    )
    return tx.now.astimezone(ZoneInfo(zone or "Europe/London")).date()


async def _programme_level(tx: Tx, org_id: UUID, programme_id: UUID) -> DbsLevel:
    """The vetting a programme of the organisation requires; another's (or none) is a 422
    naming the filter, the same answer for both."""
    level = await tx.conn.scalar(
        select(programmes.c.min_vetting).where(
            programmes.c.id == programme_id, programmes.c.org_id == org_id
        )
    )
    if level is None:
        raise InvalidInput.field("programme", "no such programme in the organisation")
    return DbsLevel(level)


def _roster_query(org_id: UUID) -> Any:
    return _roster_and_check(org_id)[0]


def _roster_and_check(org_id: UUID) -> tuple[Any, Any]:
    """The roster's statement, and its lateral of each volunteer's current check."""
    check = current_vetting_query(volunteers.c.user_id, org_id)
    stmt = (
        select(
            volunteers.c.user_id,
            volunteers.c.display_name,
            volunteers.c.travel_mode,
            volunteers.c.max_travel_km,
            volunteers.c.skills,
            volunteers.c.languages,
            volunteers.c.home,
            memberships.c.status,
            memberships.c.status_reason,
            memberships.c.created_at.label("enrolled_at"),
            roster_filters.no_show_count(org_id),
            check,
        )
        .join(memberships, memberships.c.user_id == volunteers.c.user_id)
        .outerjoin(check, true())
        .where(memberships.c.org_id == org_id, memberships.c.role == "volunteer")
    )
    return stmt, check


def _entry(row: AnyRow, today: date) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "display_name": row.display_name,
        "status": row.status,
        "travel_mode": row.travel_mode,
        "max_travel_km": row.max_travel_km,
        "skills": row.skills,
        "languages": row.languages,
        "enrolled_at": row.enrolled_at,
        "no_shows": row.no_shows,
        "vetting": vetting_status(row, today) if row.level is not None else None,
    }


async def roster(
    tx: Tx,
    *,
    org_id: UUID | None,
    filters: RosterFilter,
    limit: int,
    cursor: str | None,
    reason: str | None = None,
) -> tuple[list[RosterEntry], str | None]:
    """A page of the organisation's volunteers (`roster_filters`); each one shown is an
    audited read."""
    org = tx.principal.acting_org(org_id, *STAFF)
    key = tuple_(memberships.c.created_at, volunteers.c.user_id)
    today = await _org_today(tx, org)
    stmt, check = _roster_and_check(org)
    stmt = roster_filters.apply(stmt, check, filters, today, org)
    if filters.programme is not None:
        required = await _programme_level(tx, org, filters.programme)
        stmt = roster_filters.eligible_for(stmt, check, required, today)
    stmt = stmt.order_by(*key.clauses).limit(limit + 1)
    if filters.status:
        stmt = stmt.where(memberships.c.status == filters.status)
    if cursor:
        at, last, _ = decode_cursor(cursor)
        stmt = stmt.where(key > tuple_(at, last))
    entries = [RosterEntry(**_entry(r, today)) for r in (await tx.conn.execute(stmt)).all()]
    items, next_cursor = page_of(entries, limit, key=lambda e: (e.enrolled_at, e.user_id))
    await audit.record_volunteer_reads(
        tx, ((e.user_id, org) for e in items), reason, DEFAULT_REASON
    )
    return items, next_cursor


async def record(
    tx: Tx, volunteer_id: UUID, org_id: UUID | None, reason: str | None = None
) -> VolunteerRecord:
    """One volunteer's record as staff see it: an audited read."""
    org = tx.principal.acting_org(org_id, *STAFF)
    found = await _record(tx, volunteer_id, org)
    await audit.record_volunteer_reads(tx, [(volunteer_id, org)], reason, DEFAULT_REASON)
    return found


async def _record(tx: Tx, volunteer_id: UUID, org: UUID) -> VolunteerRecord:
    row = (
        await tx.conn.execute(_roster_query(org).where(volunteers.c.user_id == volunteer_id))
    ).one_or_none()
    if row is None:
        raise NotFound("Volunteer not found")
    today = await _org_today(tx, org)
    history = (
        await tx.conn.execute(
            select(vetting_checks)
            .where(vetting_checks.c.user_id == volunteer_id, vetting_checks.c.org_id == org)
            .order_by(vetting_checks.c.recorded_at.desc())
        )
    ).all()
    return VolunteerRecord(
        **_entry(row, today),
        home=Location.from_geography(row.home),
        status_reason=row.status_reason,
        vetting_history=[vetting_status(h, today) for h in history],
    )


_NEXT = {
    "approve": ("approved", {"pending", "suspended"}),
    "suspend": ("suspended", {"pending", "approved"}),
}


async def change_status(
    tx: Tx, volunteer_id: UUID, action: str, data: StatusChange | SuspendIn
) -> VolunteerRecord:
    org = tx.principal.acting_org(data.org_id, *MANAGERS)
    if volunteer_id == tx.principal.user_id:
        raise Conflict("nobody approves or suspends themselves")
    if action == "suspend" and not data.reason:
        raise InvalidInput.field("reason", "a suspension needs a reason")
    target, allowed_from = _NEXT[action]
    where = (
        memberships.c.org_id == org,
        memberships.c.user_id == volunteer_id,
        memberships.c.role == "volunteer",
    )
    current = await tx.conn.scalar(select(memberships.c.status).where(*where))
    if current is None:
        raise NotFound("Volunteer not found")
    if current not in allowed_from:
        raise Conflict(f"cannot {action} a volunteer who is {current}")
    # Guarded by the state we read: a concurrent change makes this a no-op, not a lost update.
    changed = await tx.conn.execute(
        update(memberships)
        .where(*where, memberships.c.status == current)
        .values(
            status=target,
            status_reason=data.reason,
            status_changed_at=tx.now,
            status_changed_by=tx.principal.user_id,
        )
        .returning(memberships.c.status)
    )
    if changed.one_or_none() is None:
        raise Conflict("the volunteer's status changed meanwhile; reload and retry")
    await audit.record(
        tx, f"volunteer.{target}", "volunteer", volunteer_id, org_id=org, reason=data.reason
    )
    return await record(tx, volunteer_id, org)


def vetting_expiry(data: VettingIn, today: date, recheck_months: int) -> date | None:
    """When a check recorded today lapses, by the organisation's re-check period; refuses a
    check without its certificate's date, or dated in the future (an import checks its
    rows by the same rule)."""
    if data.level is DbsLevel.NONE:
        return None
    if data.checked_on is None:
        raise InvalidInput.field("checked_on", "required for a DBS check")
    if data.checked_on > today:
        raise InvalidInput.field("checked_on", "cannot be in the future")
    expires_on: date = data.checked_on + relativedelta(months=recheck_months)
    return expires_on


async def record_vetting(tx: Tx, volunteer_id: UUID, data: VettingIn) -> VolunteerRecord:
    org = tx.principal.acting_org(data.org_id, *MANAGERS)
    if volunteer_id == tx.principal.user_id:
        raise Conflict("nobody records their own vetting")
    await _record(tx, volunteer_id, org)  # 404 unless enrolled here
    today = await _org_today(tx, org)
    months = await tx.conn.scalar(
        select(organisations.c.vetting_recheck_months).where(organisations.c.id == org)
    )
    expires_on = vetting_expiry(data, today, int(months or 36))
    await tx.conn.execute(
        insert(vetting_checks).values(
            org_id=org,
            user_id=volunteer_id,
            level=data.level.value,
            checked_on=data.checked_on,
            expires_on=expires_on,
            id_verified=data.id_verified,
            barred_children=data.barred_children,
            barred_adults=data.barred_adults,
            update_service=data.update_service,
            notes=data.notes,
            recorded_by=tx.principal.user_id,
        )
    )
    await audit.record(
        tx,
        "volunteer.vetting_recorded",
        "volunteer",
        volunteer_id,
        org_id=org,
        details={"level": data.level.value, "expires_on": str(expires_on)},
    )
    return await record(tx, volunteer_id, org)
