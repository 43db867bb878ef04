"""The subject-access export: everything held about the caller, as one document, audited as
a read of their record (so the document lists its own entry)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from app import audit
from app.assignments import service as assignments_service
from app.db.tables import (
    assignments,
    audit_log,
    memberships,
    organisations,
    outbox,
    users,
    vetting_checks,
    volunteers,
)
from app.db.tenancy import Tx
from app.locations import Location
from app.notify import channels
from app.offers import service as offers_service
from app.rights.inventory import WITHHELD, kept
from app.rights.schemas import (
    Account,
    AuditRecord,
    LiveLocation,
    MembershipRecord,
    MessageRecord,
    VettingRecord,
    VolunteerExport,
)
from app.volunteers import devices, schedule, service
from app.volunteers.schedule import AvailabilityView
from app.volunteers.schemas import Volunteer

SUBJECT = "volunteer"


async def _account(tx: Tx) -> Account:
    row = (await tx.conn.execute(select(users).where(users.c.id == tx.principal.user_id))).one()
    return Account(
        user_id=row.id,
        email=row.email,
        display_name=row.display_name,
        identity_provider=row.issuer,
        created_at=row.created_at,
    )


async def _profile(tx: Tx) -> tuple[Volunteer | None, LiveLocation | None, AvailabilityView | None]:
    row = (
        await tx.conn.execute(
            select(volunteers.c.live_location, volunteers.c.live_location_at).where(
                volunteers.c.user_id == tx.principal.user_id
            )
        )
    ).one_or_none()
    if row is None:
        return None, None, None
    live = (
        LiveLocation(location=Location.from_geography(row.live_location), at=row.live_location_at)
        if row.live_location is not None
        else None
    )
    return await service.me(tx), live, await schedule.view(tx)


async def _memberships(tx: Tx) -> list[MembershipRecord]:
    stmt = (
        select(*memberships.c, organisations.c.name.label("org_name"))
        .join(organisations, organisations.c.id == memberships.c.org_id)
        .where(memberships.c.user_id == tx.principal.user_id)
        .order_by(memberships.c.created_at, memberships.c.org_id, memberships.c.role)
    )
    return [
        MembershipRecord(
            org_id=r.org_id,
            org_name=r.org_name,
            role=r.role,
            status=r.status,
            status_reason=r.status_reason,
            status_changed_at=r.status_changed_at,
            external_id=r.external_id,
            created_at=r.created_at,
        )
        for r in await tx.conn.execute(stmt)
    ]


async def _vetting(tx: Tx) -> list[VettingRecord]:
    stmt = (
        select(vetting_checks)
        .where(vetting_checks.c.user_id == tx.principal.user_id)
        .order_by(vetting_checks.c.recorded_at, vetting_checks.c.id)
    )
    return [
        VettingRecord(
            org_id=r.org_id,
            level=r.level,
            checked_on=r.checked_on,
            expires_on=r.expires_on,
            id_verified=r.id_verified,
            barred_children=r.barred_children,
            barred_adults=r.barred_adults,
            update_service=r.update_service,
            notes=r.notes,
            recorded_at=r.recorded_at,
        )
        for r in await tx.conn.execute(stmt)
    ]


async def _messages(tx: Tx) -> list[MessageRecord]:
    stmt = (
        select(outbox.c.kind, outbox.c.status, outbox.c.channel, outbox.c.created_at)
        .add_columns(outbox.c.sent_at)
        .where(outbox.c.user_id == tx.principal.user_id)
        .order_by(outbox.c.id)
    )
    return [MessageRecord(**r._mapping) for r in await tx.conn.execute(stmt)]


async def _audit(tx: Tx) -> list[AuditRecord]:
    me = tx.principal.user_id
    stmt = (
        select(audit_log)
        .where(audit_log.c.subject_type == SUBJECT, audit_log.c.subject_id == str(me))
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    return [
        AuditRecord(
            at=r.at,
            action=r.action,
            org_id=r.org_id,
            by="you" if r.actor_user_id == me else "staff",
            reason=r.reason,
        )
        for r in await tx.conn.execute(stmt)
    ]


async def retention(tx: Tx) -> list[tuple[UUID, int | None]]:
    """Each organisation holding a record of the caller that erasure would keep (enrolled,
    checked or assigned there), with its retention in months."""
    me = tx.principal.user_id
    held = (
        select(memberships.c.org_id)
        .where(memberships.c.user_id == me, memberships.c.role == "volunteer")
        .union(
            select(vetting_checks.c.org_id).where(vetting_checks.c.user_id == me),
            select(assignments.c.org_id).where(assignments.c.volunteer_id == me),
        )
        .subquery()
    )
    stmt = select(held.c.org_id, organisations.c.safeguarding_retention_months).outerjoin(
        organisations, organisations.c.id == held.c.org_id
    )
    return [(r.org_id, r.safeguarding_retention_months) for r in await tx.conn.execute(stmt)]


async def export(tx: Tx) -> VolunteerExport:
    me = tx.principal.user_id
    await audit.record(tx, f"{SUBJECT}.exported", SUBJECT, me, org_id=None, reason="subject access")
    profile, live, availability = await _profile(tx)
    return VolunteerExport(
        exported_at=tx.now,
        account=await _account(tx),
        profile=profile,
        live_location=live,
        availability=availability,
        memberships=await _memberships(tx),
        vetting_checks=await _vetting(tx),
        devices=await devices.list_mine(tx),
        channels=await channels.list_mine(tx),
        offers=await offers_service.every_offer_of_mine(tx),
        assignments=await assignments_service.every_assignment_of_mine(tx),
        messages=await _messages(tx),
        audit=await _audit(tx),
        kept_on_erasure=kept(await retention(tx), tx.now.date()),
        not_included=dict(WITHHELD),
    )


__all__ = ["export", "retention"]
