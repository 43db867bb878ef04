"""Volunteer self-service: sign-up, profile, joining organisations, duty."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import ColumnElement, Select, bindparam, func, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.selectable import LateralFromClause

from app import audit
from app.db.rows import AnyRow
from app.db.tables import memberships, organisations, vetting_checks, volunteers
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound
from app.locations import Location
from app.volunteers.schemas import (
    Duty,
    DutyIn,
    Enrolment,
    ProfilePatch,
    QuietHours,
    SignUp,
    VettingStatus,
    Volunteer,
)
from app.volunteers.vocabulary import check_languages, check_skills, check_unique
from app.wire import check_time_zone
from matching.vetting import DbsLevel, Vetting

MAX_DUTY = timedelta(hours=24)


def _columns(data: SignUp | ProfilePatch) -> dict[str, Any]:
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    values.pop("organisations", None)
    if "home" in values:
        values["home"] = values["home"].to_geography()
    if "quiet_hours" in values:
        quiet = values.pop("quiet_hours")
        values["quiet_hours_start"] = quiet.start if quiet else None
        values["quiet_hours_end"] = quiet.end if quiet else None
    if "display_name" in values:
        values["display_name"] = values["display_name"].strip()
    return values


async def _check_profile(tx: Tx, data: SignUp | ProfilePatch) -> None:
    check_profile(data)
    if isinstance(data.skills, list):
        await check_skills(tx, data.skills, [m.org_id for m in tx.principal.memberships])


def check_profile(data: SignUp | ProfilePatch) -> None:
    """The rules a profile meets beyond its wire shape, except the skills vocabulary (which
    needs the database): also what an import checks every row against."""
    quiet = data.quiet_hours
    if isinstance(quiet, QuietHours) and (quiet.start.tzinfo or quiet.end.tzinfo):
        raise InvalidInput.field("quiet_hours", "local times, without a UTC offset")
    if isinstance(data.languages, list):
        check_unique(data.languages, "languages")
        check_languages(data.languages)
    if isinstance(data.preferred_kinds, list):
        check_unique(data.preferred_kinds, "preferred_kinds")
    if isinstance(data.time_zone, str):
        check_time_zone(data.time_zone)


async def sign_up(tx: Tx, data: SignUp) -> Volunteer:
    check_unique(data.organisations, "organisations")
    created = await tx.conn.execute(
        insert(volunteers)
        .values(user_id=tx.principal.user_id, **_columns(data))
        .on_conflict_do_nothing()
        .returning(volunteers.c.user_id)
    )
    if created.one_or_none() is None:
        raise Conflict("You have already signed up; PATCH /v1/volunteers/me to change it")
    for i, slug in enumerate(data.organisations):
        await _enrol(tx, slug, field=f"organisations[{i}]")
    tx = await tx.refreshed()  # the new organisations' skills and names are now in scope
    await _check_profile(tx, data)  # raising rolls the whole sign-up back
    await audit.record(tx, "volunteer.signed_up", "volunteer", tx.principal.user_id, org_id=None)
    return await me(tx)


async def _enrol(tx: Tx, slug: str, field: str) -> UUID:
    org_id = await tx.conn.scalar(select(func.codeliver_enrol_volunteer(slug)))
    if org_id is None:
        raise InvalidInput.field(field, f"no organisation {slug!r}")
    return UUID(str(org_id))


async def enrol(tx: Tx, slug: str) -> Volunteer:
    await _require_profile(tx)
    await _enrol(tx, slug, field="organisation")
    return await me(await tx.refreshed())


# Built once: the profile and enrolment reads run on every sign-up and profile request, and
# building a statement costs more CPU than compiling it (SQLAlchemy caches the compilation).
_PROFILE = select(volunteers).where(volunteers.c.user_id == bindparam("user_id"))


async def _require_profile(tx: Tx) -> Any:
    row = (await tx.conn.execute(_PROFILE, {"user_id": tx.principal.user_id})).one_or_none()
    if row is None:
        raise NotFound("No volunteer profile yet: sign up with POST /v1/volunteers/me")
    return row


def vetting_status(row: AnyRow, today: date) -> VettingStatus:
    check = Vetting(
        level=DbsLevel(row.level),
        checked_on=row.checked_on,
        expires_on=row.expires_on,
        id_verified=row.id_verified,
        barred_children=row.barred_children,
        barred_adults=row.barred_adults,
    )
    return VettingStatus(
        level=check.level,
        checked_on=check.checked_on,
        expires_on=check.expires_on,
        id_verified=check.id_verified,
        barred=check.barred_children or check.barred_adults,
        update_service=row.update_service,
        valid_today=check.level is not DbsLevel.NONE and check.meets(check.level, today),
    )


def current_vetting_query(
    user_id: UUID | ColumnElement[UUID], org_id: UUID | ColumnElement[UUID]
) -> LateralFromClause:
    """The latest check an organisation recorded for a volunteer (the history stays)."""
    return (
        select(vetting_checks)
        .where(vetting_checks.c.user_id == user_id, vetting_checks.c.org_id == org_id)
        .order_by(vetting_checks.c.recorded_at.desc(), vetting_checks.c.id.desc())
        .limit(1)
        .lateral()
    )


def _enrolments_query() -> Select[Any]:
    check = current_vetting_query(memberships.c.user_id, memberships.c.org_id)
    return (
        select(
            memberships.c.org_id, memberships.c.status, organisations.c.slug, organisations.c.name
        )
        .add_columns(check)
        .join(organisations, organisations.c.id == memberships.c.org_id)
        .outerjoin(check, true())
        .where(memberships.c.user_id == bindparam("user_id"), memberships.c.role == "volunteer")
        .order_by(organisations.c.slug)
    )


_ENROLMENTS = _enrolments_query()


async def _enrolments(tx: Tx, user_id: UUID, today: date) -> list[Enrolment]:
    rows = (await tx.conn.execute(_ENROLMENTS, {"user_id": user_id})).all()
    return [
        Enrolment(
            org_id=r.org_id,
            org_slug=r.slug,
            org_name=r.name,
            status=r.status,
            vetting=vetting_status(r, today) if r.level is not None else None,
        )
        for r in rows
    ]


async def me(tx: Tx) -> Volunteer:
    row = await _require_profile(tx)
    today = tx.now.astimezone(ZoneInfo(row.time_zone)).date()
    on_duty = row.on_duty and (row.on_duty_until is None or row.on_duty_until > tx.now)
    quiet = (
        QuietHours(row.quiet_hours_start, row.quiet_hours_end)
        if row.quiet_hours_start is not None
        else None
    )
    return Volunteer(
        user_id=row.user_id,
        display_name=row.display_name,
        home=Location.from_geography(row.home),
        max_travel_km=row.max_travel_km,
        travel_mode=row.travel_mode,
        skills=row.skills,
        languages=row.languages,
        max_hours_per_week=row.max_hours_per_week,
        max_active_assignments=row.max_active_assignments,
        preferred_kinds=row.preferred_kinds,
        quiet_hours=quiet,
        time_zone=row.time_zone,
        on_duty=on_duty,
        on_duty_until=row.on_duty_until if on_duty else None,
        enrolments=await _enrolments(tx, row.user_id, today),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def update_me(tx: Tx, patch: ProfilePatch) -> Volunteer:
    await _require_profile(tx)
    await _check_profile(tx, patch)
    values = _columns(patch)
    if not values:
        raise InvalidInput.field("body", "nothing to change")
    await tx.conn.execute(
        update(volunteers)
        .where(volunteers.c.user_id == tx.principal.user_id)
        .values(**values, updated_at=tx.now)
    )
    return await me(tx)


async def set_duty(tx: Tx, data: DutyIn) -> Duty:
    await _require_profile(tx)
    if not data.on_duty:
        if data.until is not None or data.location is not None:
            raise InvalidInput.field("on_duty", "going off duty takes no until or location")
        values: dict[str, Any] = {
            "on_duty": False,
            "on_duty_until": None,
            "live_location": None,
            "live_location_at": None,
        }
    else:
        if data.until is not None and data.until.tzinfo is None:
            raise InvalidInput.field("until", "needs a time zone offset")
        if data.until is not None and not tx.now < data.until <= tx.now + MAX_DUTY:
            raise InvalidInput.field("until", "must be in the next 24 hours")
        values = {
            "on_duty": True,
            "on_duty_until": data.until or tx.now + MAX_DUTY,
            "live_location": data.location.to_geography() if data.location else None,
            "live_location_at": tx.now if data.location else None,
        }
    await tx.conn.execute(
        update(volunteers)
        .where(volunteers.c.user_id == tx.principal.user_id)
        .values(**values, updated_at=tx.now)
    )
    return Duty(
        on_duty=values["on_duty"],
        until=values["on_duty_until"],
        sharing_location=values["live_location"] is not None,
    )
