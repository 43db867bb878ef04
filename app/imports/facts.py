"""What an import compares its rows with: the organisation's rules and the volunteers that
the rows' e-mails and external ids name (row-level security applies, as everywhere)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, true

from app.db.rows import AnyRow
from app.db.tables import memberships, organisations, users, volunteers
from app.db.tenancy import Tx
from app.errors import NotFound
from app.identity.principal import MANAGERS
from app.locations import Location
from app.volunteers.service import current_vetting_query
from app.volunteers.vocabulary import vocabulary
from matching.vetting import DbsLevel
from matching.volunteer_import import Check, Known, Profile, Row

IMPORT_ISSUER = "codeliver:import"  # users an import brought in, before they sign in
PROFILE_COLUMNS = (
    "display_name",
    "max_travel_km",
    "travel_mode",
    "skills",
    "languages",
    "max_hours_per_week",
    "max_active_assignments",
    "preferred_kinds",
    "quiet_hours_start",
    "quiet_hours_end",
    "time_zone",
)
LOOKUP_CHUNK = 5_000  # e-mails per statement: big enough for few round trips


@dataclass(frozen=True)
class OrgRules:
    org_id: UUID
    slug: str
    today: date
    recheck_months: int
    vocabulary: frozenset[str]


async def org_rules(tx: Tx, org_id: UUID) -> OrgRules:
    """Coordinators and org admins of the organisation only; another tenant's is a 404."""
    tx.principal.require_role(org_id, *MANAGERS)
    org = (
        await tx.conn.execute(
            select(
                organisations.c.slug,
                organisations.c.time_zone,
                organisations.c.vetting_recheck_months,
            ).where(organisations.c.id == org_id)
        )
    ).one_or_none()
    if org is None:
        raise NotFound("Organisation not found")
    return OrgRules(
        org_id=org_id,
        slug=org.slug,
        today=tx.now.astimezone(ZoneInfo(org.time_zone)).date(),
        recheck_months=int(org.vetting_recheck_months),
        vocabulary=await vocabulary(tx, [org_id]),
    )


async def org_by_slug(tx: Tx, slug: str) -> UUID:
    org_id = await tx.conn.scalar(select(organisations.c.id).where(organisations.c.slug == slug))
    if org_id is None:
        raise NotFound(f"no organisation {slug!r} that you can see")
    return UUID(str(org_id))


def _profile(r: AnyRow) -> Profile | None:
    if r.display_name is None:
        return None
    home = Location.from_geography(r.home)
    return Profile(
        display_name=r.display_name,
        lat=home.lat,
        lon=home.lon,
        max_travel_km=r.max_travel_km,
        travel_mode=r.travel_mode,
        skills=tuple(r.skills),
        languages=tuple(r.languages),
        max_hours_per_week=r.max_hours_per_week,
        max_active_assignments=r.max_active_assignments,
        preferred_kinds=tuple(r.preferred_kinds),
        quiet_hours_start=r.quiet_hours_start,
        quiet_hours_end=r.quiet_hours_end,
        time_zone=r.time_zone,
    )


def _check(r: AnyRow) -> Check | None:
    if r.level is None:
        return None
    return Check(
        level=DbsLevel(r.level),
        checked_on=r.checked_on,
        id_verified=r.id_verified,
        barred_children=r.barred_children,
        barred_adults=r.barred_adults,
        update_service=r.update_service,
    )


def _known(r: AnyRow) -> Known:
    return Known(
        user_id=r.user_id,
        email=r.email,
        external_id=r.external_id,
        imported=r.issuer == IMPORT_ISSUER,
        profile=_profile(r),
        check=_check(r),
    )


async def known(
    tx: Tx, org_id: UUID, rows: Sequence[Row], *, lock: bool = False
) -> tuple[dict[str, Known], dict[str, Known]]:
    """The organisation's volunteers the rows name: (by external id, by e-mail). With
    `lock`, their memberships stay locked until the transaction ends, so no one else's
    change lands between this read and the apply's write."""
    by_id: dict[str, Known] = {}
    by_email: dict[str, Known] = {}
    for start in range(0, len(rows), LOOKUP_CHUNK):
        chunk = rows[start : start + LOOKUP_CHUNK]
        emails = [r.email for r in chunk]
        ids = [r.external_id for r in chunk if r.external_id]
        check = current_vetting_query(memberships.c.user_id, org_id)
        stmt = (
            select(
                memberships.c.user_id,
                memberships.c.external_id,
                users.c.email,
                users.c.issuer,
                *(volunteers.c[name] for name in PROFILE_COLUMNS),
                volunteers.c.home,
                check.c.level,
                check.c.checked_on,
                check.c.id_verified,
                check.c.barred_children,
                check.c.barred_adults,
                check.c.update_service,
            )
            .select_from(memberships)
            .join(users, users.c.id == memberships.c.user_id)
            .outerjoin(volunteers, volunteers.c.user_id == memberships.c.user_id)
            .outerjoin(check, true())
            .where(
                memberships.c.org_id == org_id,
                memberships.c.role == "volunteer",
                or_(users.c.email.in_(emails), memberships.c.external_id.in_(ids)),
            )
        )
        if lock:
            stmt = stmt.with_for_update(of=memberships)
        for r in (await tx.conn.execute(stmt)).all():
            k = _known(r)
            if k.external_id:
                by_id[k.external_id] = k
            if k.email:
                by_email[k.email] = k
    return by_id, by_email
