"""What an import compares its rows with: the organisation's rules and the volunteers that
the rows' e-mails and external ids name (row-level security applies, as everywhere)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from geoalchemy2 import Geography
from sqlalchemy import select, text

from app.db.rows import AnyRow
from app.db.tables import organisations
from app.db.tenancy import Tx
from app.errors import NotFound
from app.identity.principal import MANAGERS
from app.locations import Location
from app.volunteers.vocabulary import vocabulary
from matching.vetting import DbsLevel
from matching.volunteer_import import Check, Known, Profile, Row

IMPORT_ISSUER = "codeliver:import"  # users an import brought in, before they sign in


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


# The volunteers the rows name, for a manager of the organisation (migration 0021 says why
# it is a function): by e-mail and by external id, locked when applying.
_KNOWN = text("SELECT * FROM codeliver_import_known(:org, :emails, :ids, :lock)").columns(
    home=Geography("POINT", srid=4326)
)
LOOKUP_CHUNK = 5_000  # rows per statement (a dry run looks the whole file up)


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
        params = {
            "org": org_id,
            "emails": [r.email for r in chunk],
            "ids": [r.external_id for r in chunk if r.external_id],
            "lock": lock,
        }
        for r in (await tx.conn.execute(_KNOWN, params)).all():
            k = _known(r)
            if k.external_id:
                by_id[k.external_id] = k
            if k.email:
                by_email[k.email] = k
    return by_id, by_email
