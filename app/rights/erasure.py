"""Erasure at the volunteer's own request, in one transaction: their pending offers declined
and their coming assignments withdrawn through the offer and assignment use cases (slots
reopen, the cascade goes on), what can go deleted, and what safeguarding needs kept under
the user id as a pseudonym (`app/rights/inventory.py` says what, why and until when)."""

from __future__ import annotations

from sqlalchemy import delete, exists, select, text

from app import audit
from app.assignments import service as assignments_service
from app.db.tables import (
    assignments,
    contact_channels,
    devices,
    idempotency_keys,
    offers,
    vetting_checks,
    volunteers,
)
from app.db.tenancy import Tx
from app.errors import Conflict
from app.offers import service as offers_service
from app.rights.export import SUBJECT, retention
from app.rights.inventory import DELETED, SIGN_IN, kept
from app.rights.schemas import Erasure
from matching.model import ACTIVE_ASSIGNMENT, AssignmentStatus, OfferStatus

WHY = "the volunteer erased their data"
_ERASE_ME = text("SELECT codeliver_erase_me(:at)")


def _refuse_staff(tx: Tx) -> None:
    p = tx.principal
    if p.platform_admin or any(m.role != "volunteer" for m in p.memberships):
        raise Conflict(
            "staff accounts are closed by their organisation: ask an org admin to take your "
            "staff roles away first"
        )


async def _holds_anything(tx: Tx) -> bool:
    me = tx.principal.user_id
    held = select(
        exists().where(volunteers.c.user_id == me)
        | exists().where(vetting_checks.c.user_id == me)
        | exists().where(offers.c.volunteer_id == me)
        | exists().where(assignments.c.volunteer_id == me)
        | exists().where(devices.c.user_id == me)
        | exists().where(contact_channels.c.user_id == me)
    )
    return bool(tx.principal.memberships) or bool(await tx.conn.scalar(held))


async def _withdraw_coming(tx: Tx) -> int:
    """Give back every assignment not yet started; a visit under way must end first."""
    stmt = select(assignments.c.id, assignments.c.status).where(
        assignments.c.volunteer_id == tx.principal.user_id,
        assignments.c.status.in_(ACTIVE_ASSIGNMENT),
    )
    active = (await tx.conn.execute(stmt.order_by(assignments.c.id))).all()
    if any(r.status == AssignmentStatus.CHECKED_IN for r in active):
        raise Conflict("a visit is under way: complete it before erasing your data")
    for row in active:
        await assignments_service.withdraw(tx, row.id, WHY)
    return len(active)


async def _decline_open(tx: Tx) -> int:
    stmt = select(offers.c.id).where(
        offers.c.volunteer_id == tx.principal.user_id,
        offers.c.status == OfferStatus.PENDING,
        offers.c.expires_at > tx.now,
    )
    open_offers = (await tx.conn.scalars(stmt.order_by(offers.c.id))).all()
    for offer_id in open_offers:
        await offers_service.decline(tx, offer_id, None)
    return len(open_offers)


async def _delete_own(tx: Tx) -> None:
    """What the volunteer's own row-level security lets them delete (availability goes with
    the profile)."""
    me = tx.principal.user_id
    for table in (devices, contact_channels, idempotency_keys):
        await tx.conn.execute(delete(table).where(table.c.user_id == me))
    await tx.conn.execute(delete(volunteers).where(volunteers.c.user_id == me))


async def erase(tx: Tx) -> Erasure:
    _refuse_staff(tx)
    me = tx.principal.user_id
    if not await _holds_anything(tx):
        return Erasure(
            erased_at=None,
            reference=None,
            withdrawn_from=[],
            offers_declined=0,
            assignments_withdrawn=0,
            deleted=[],
            kept=[],
            sign_in=SIGN_IN,
        )
    withdrawn = await _withdraw_coming(tx)
    declined = await _decline_open(tx)
    keeping = kept(await retention(tx), tx.now.date())
    orgs = sorted({m.org_id for m in tx.principal.memberships}, key=str)
    for org_id in orgs:  # while still a member: the log's append policy checks it
        until = next((k.until for k in keeping if k.org_id == org_id), None)
        await audit.record(
            tx, f"{SUBJECT}.erased", SUBJECT, me, org_id=org_id, details={"kept_until": str(until)}
        )
    await audit.record(tx, f"{SUBJECT}.erased", SUBJECT, me, org_id=None)
    await _delete_own(tx)
    await tx.conn.execute(_ERASE_ME, {"at": tx.now})
    return Erasure(
        erased_at=tx.now,
        reference=me,
        withdrawn_from=orgs,
        offers_declined=declined,
        assignments_withdrawn=withdrawn,
        deleted=list(DELETED),
        kept=keeping,
        sign_in=SIGN_IN,
    )
