"""Keeping a volunteer away from a client: barred by staff, or at the client's request. The
candidate search skips excluded pairs, so they are never offered to each other again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from app import audit
from app.clients import service
from app.db.tables import assignments, client_exclusions, memberships, needs, offers
from app.db.tenancy import Tx
from app.errors import InvalidInput, NotFound
from app.needs import facts, slots
from app.wire import TEXT_PATTERN
from matching.model import ACTIVE_ASSIGNMENT, AssignmentStatus, OfferStatus
from notifications.outbox import Kind, Message, enqueue


class ExclusionIn(msgspec.Struct, forbid_unknown_fields=True):
    volunteer_id: UUID
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=TEXT_PATTERN)]


class Exclusion(msgspec.Struct, kw_only=True):
    client_id: UUID
    volunteer_id: UUID
    reason: str
    created_by: UUID | None
    created_at: datetime


async def add(tx: Tx, client_id: UUID, data: ExclusionIn) -> Exclusion:
    org_id = await service.org_of(tx, client_id)
    member = await tx.conn.scalar(
        select(memberships.c.user_id).where(
            memberships.c.org_id == org_id,
            memberships.c.user_id == data.volunteer_id,
            memberships.c.role == "volunteer",
        )
    )
    if member is None:
        raise InvalidInput.field("volunteer_id", "not a volunteer of this organisation")
    row = (
        await tx.conn.execute(
            insert(client_exclusions)
            .values(
                org_id=org_id,
                client_id=client_id,
                volunteer_id=data.volunteer_id,
                reason=data.reason.strip(),
                created_by=tx.principal.user_id,
            )
            .on_conflict_do_update(
                index_elements=["client_id", "volunteer_id"],
                set_={"reason": data.reason.strip(), "created_by": tx.principal.user_id},
            )
            .returning(*client_exclusions.c)
        )
    ).one()
    await _part(tx, client_id, data.volunteer_id)
    await audit.record(
        tx,
        "client.exclusion_added",
        "client",
        client_id,
        org_id=org_id,
        details={"volunteer_id": str(data.volunteer_id)},
    )
    return msgspec.convert({str(k): v for k, v in row._mapping.items()}, Exclusion)


async def _part(tx: Tx, client_id: UUID, volunteer_id: UUID) -> None:
    """Withdraw the volunteer's open offers for the client's needs and end their active
    assignments there (each need locked first, as on every path), telling them so."""
    now = tx.now
    theirs = or_(
        exists().where(
            offers.c.need_id == needs.c.id,
            offers.c.volunteer_id == volunteer_id,
            offers.c.status == OfferStatus.PENDING,
        ),
        exists().where(
            assignments.c.need_id == needs.c.id,
            assignments.c.volunteer_id == volunteer_id,
            assignments.c.status.in_(ACTIVE_ASSIGNMENT),
        ),
    )
    ids = (
        (
            await tx.conn.execute(
                select(needs.c.id)
                .where(needs.c.client_id == client_id, theirs)
                .order_by(needs.c.id)
            )
        )
        .scalars()
        .all()
    )
    messages: list[Message] = []
    for need_id in ids:
        need = await facts.load(tx.conn, need_id, lock=True)
        if need is None:  # pragma: no cover - selected just above, under the same rules
            continue
        pair = (offers.c.need_id == need_id, offers.c.volunteer_id == volunteer_id)
        withdrawn = await tx.conn.execute(
            update(offers)
            .where(*pair, offers.c.status == OfferStatus.PENDING)
            .values(status=OfferStatus.WITHDRAWN, responded_at=now)
            .returning(offers.c.id)
        )
        for offer_id in withdrawn.scalars():
            payload = {"offer_id": str(offer_id), "need_id": str(need_id)}
            messages.append(Message(volunteer_id, Kind.OFFER_WITHDRAWN, payload))
        ended = await tx.conn.execute(
            update(assignments)
            .where(
                assignments.c.need_id == need_id,
                assignments.c.volunteer_id == volunteer_id,
                assignments.c.status.in_(ACTIVE_ASSIGNMENT),
            )
            .values(
                status=AssignmentStatus.CANCELLED,
                ended_at=now,
                end_reason="kept away from this client",
                ended_by=tx.principal.user_id,
                updated_at=now,
            )
            .returning(assignments.c.id)
        )
        for assignment_id in ended.scalars():
            await slots.give_back(tx.conn, need, now)
            payload = {"assignment_id": str(assignment_id), "need_id": str(need_id)}
            messages.append(Message(volunteer_id, Kind.ASSIGNMENT_CANCELLED, payload))
    await enqueue(tx.conn, messages, now=tx.now)


async def list_for(tx: Tx, client_id: UUID) -> list[Exclusion]:
    await service.org_of(tx, client_id)
    stmt = (
        select(client_exclusions)
        .where(client_exclusions.c.client_id == client_id)
        .order_by(client_exclusions.c.created_at)
    )
    return [
        msgspec.convert({str(k): v for k, v in r._mapping.items()}, Exclusion)
        for r in await tx.conn.execute(stmt)
    ]


async def remove(tx: Tx, client_id: UUID, volunteer_id: UUID) -> None:
    org_id = await service.org_of(tx, client_id)
    gone = await tx.conn.execute(
        delete(client_exclusions).where(
            client_exclusions.c.client_id == client_id,
            client_exclusions.c.volunteer_id == volunteer_id,
        )
    )
    if gone.rowcount == 0:
        raise NotFound("No such exclusion")
    await audit.record(
        tx,
        "client.exclusion_removed",
        "client",
        client_id,
        org_id=org_id,
        details={"volunteer_id": str(volunteer_id)},
    )


async def acquainted(tx: Tx, client_id: UUID) -> list[UUID]:
    """The volunteers who were offered or assigned one of the client's needs, most recent
    first: the people a caseworker may be asked to keep away from the client."""
    await service.org_of(tx, client_id)
    theirs = select(needs.c.id).where(needs.c.client_id == client_id)
    offered = select(offers.c.volunteer_id, offers.c.created_at.label("at")).where(
        offers.c.need_id.in_(theirs)
    )
    held = select(assignments.c.volunteer_id, assignments.c.accepted_at.label("at")).where(
        assignments.c.need_id.in_(theirs)
    )
    met = offered.union_all(held).subquery()
    stmt = (
        select(met.c.volunteer_id)
        .group_by(met.c.volunteer_id)
        .order_by(func.max(met.c.at).desc(), met.c.volunteer_id)
    )
    return list((await tx.conn.execute(stmt)).scalars())
