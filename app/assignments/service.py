"""Use cases for assignments: the volunteer's list and detail, check-in, completion and
withdrawal; the caseworker's no-show and the need's outcome.

Every change locks the need first, then the assignment, like every other path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, select, update

from app import audit, sync
from app.assignments.schemas import (
    Assignment,
    CheckInIn,
    ClientContact,
    CompleteIn,
    NeedOutcomeIn,
    to_assignment,
)
from app.db.rows import AnyRow
from app.db.tables import assignments, clients, needs, programmes
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.principal import STAFF
from app.locations import Location
from app.needs import facts, slots
from app.needs.facts import NeedRow
from app.needs.status import NeedStatus, transition
from app.needs.summary import NEED_COLUMNS, SummaryRow, need_summary
from geo.sites import distance_to_need
from matching import assignments as rules
from matching.model import ACTIVE_ASSIGNMENT, AssignmentStatus
from notifications.outbox import Kind, Message, enqueue


async def _need(tx: Tx, need_id: UUID) -> NeedRow:
    row = await facts.load(tx.conn, need_id, lock=True)
    if row is None:  # pragma: no cover - the assignment makes the need visible
        raise NotFound("Need not found")
    return row


async def _assignment(tx: Tx, assignment_id: UUID, *, lock: bool = False) -> Any:
    """An assignment the caller may see (their own, or their organisation's for staff)."""
    stmt = select(assignments).where(assignments.c.id == assignment_id)
    row = (await tx.conn.execute(stmt)).one_or_none()
    if row is None:
        raise NotFound("Assignment not found")
    if lock:  # the need first, then the assignment
        need = await _need(tx, row.need_id)
        row = (await tx.conn.execute(stmt.with_for_update())).one()
        return row, need
    return row, None


async def _own(tx: Tx, assignment_id: UUID) -> tuple[Any, Any]:
    row, need = await _assignment(tx, assignment_id, lock=True)
    if row.volunteer_id != tx.principal.user_id:
        raise NotFound("Assignment not found")
    return row, need


async def _set(tx: Tx, row: AnyRow, **values: Any) -> AnyRow:
    stmt = (
        update(assignments)
        .where(assignments.c.id == row.id)
        .values(**values, updated_at=tx.now)
        .returning(*assignments.c)
    )
    return (await tx.conn.execute(stmt)).one()


def _staff_of(row: NeedRow) -> list[UUID]:
    return [row.created_by] if row.created_by is not None else []


async def _detail(tx: Tx, row: AnyRow, need: NeedRow, reason: str | None) -> Assignment:
    """The volunteer's view: exact location and the client's contact only while active."""
    out = to_assignment(row, need_summary(need, need.id))
    if row.status not in ACTIVE_ASSIGNMENT:
        return out
    if need.location is not None:
        out.location = Location.from_geography(need.location)
    if need.client_id is not None:
        client = (
            await tx.conn.execute(select(clients).where(clients.c.id == need.client_id))
        ).one_or_none()
        if client is not None and client.erased_at is None:
            out.client = ClientContact(
                name=client.name,
                phone=client.phone,
                address=client.address,
                preferred_language=client.preferred_language,
            )
            await audit.record_client_reads(
                tx, [(client.id, client.org_id)], reason, "assigned volunteer"
            )
    return out


async def mine(tx: Tx, assignment_id: UUID, reason: str | None) -> Assignment:
    row, _ = await _assignment(tx, assignment_id)
    if row.volunteer_id != tx.principal.user_id:
        raise NotFound("Assignment not found")
    need = await facts.load(tx.conn, row.need_id)
    if need is None:  # pragma: no cover - the assignment makes the need visible
        raise NotFound("Need not found")
    return await _detail(tx, row, need, reason)


# The caller's assignments, every one or the active ones: constants, so that app.sync builds
# each page once (the caller is a bound parameter).
_ALL_MINE = (
    select(*assignments.c, *NEED_COLUMNS)
    .select_from(
        assignments.join(needs, needs.c.id == assignments.c.need_id).join(
            programmes, programmes.c.id == needs.c.programme_id
        )
    )
    .where(assignments.c.volunteer_id == bindparam("me"))
)
_ACTIVE_MINE = _ALL_MINE.where(assignments.c.status.in_(ACTIVE_ASSIGNMENT))


async def list_mine(
    tx: Tx, *, since: str | None, active_only: bool, limit: int
) -> tuple[list[Assignment], str | None]:
    """The caller's assignments in the order their changes committed. `next_cursor` is always
    the resume point: passed back as `since`, it returns only what changed after it (an
    empty page when nothing did), for offline-first sync (app.sync)."""
    rows, next_cursor = await sync.page(
        tx.conn,
        _ACTIVE_MINE if active_only else _ALL_MINE,
        assignments.c.sync_xid,
        assignments.c.id,
        since,
        limit,
        settled_only=since is not None,
        params={"me": tx.principal.user_id},
    )
    return [to_assignment(r, need_summary(SummaryRow.of(r), r.need_id)) for r in rows], next_cursor


async def every_assignment_of_mine(tx: Tx) -> list[Assignment]:
    """Every assignment of the caller's with its need's coarse facts only, never the exact
    place or the client (their export: that detail is the audited assignment view's)."""
    stmt = (
        select(*assignments.c, *NEED_COLUMNS)
        .select_from(
            assignments.join(needs, needs.c.id == assignments.c.need_id).join(
                programmes, programmes.c.id == needs.c.programme_id
            )
        )
        .where(assignments.c.volunteer_id == tx.principal.user_id)
        .order_by(assignments.c.accepted_at, assignments.c.id)
    )
    rows = await tx.conn.execute(stmt)
    return [to_assignment(r, need_summary(SummaryRow.of(r), r.need_id)) for r in rows]


async def check_in(tx: Tx, assignment_id: UUID, data: CheckInIn) -> Assignment:
    now = tx.now
    row, need = await _own(tx, assignment_id)
    refusal = rules.check_in_refusal(
        AssignmentStatus(row.status), facts.starts_at(need), facts.ends_at(need), now
    )
    if refusal:
        raise Conflict(refusal)
    distance = None
    if need.location is not None:
        if data.lat is None or data.lon is None:
            raise InvalidInput.field("lat", "an in-person need needs your location to check in")
        distance = await distance_to_need(tx.conn, need.id, data.lat, data.lon)
        if refusal := rules.geofence_refusal(distance, need.checkin_radius_m):
            raise InvalidInput.field("lat", refusal)
    row = await _set(
        tx, row, status=AssignmentStatus.CHECKED_IN, checked_in_at=now, check_in_distance_m=distance
    )
    status = NeedStatus(need.status)
    if status in (NeedStatus.PARTIALLY_FILLED, NeedStatus.FILLED):
        await tx.conn.execute(
            update(needs)
            .where(needs.c.id == need.id)
            .values(status=transition(status, NeedStatus.IN_PROGRESS).value, status_changed_at=now)
        )
    await audit.record(tx, "assignment.checked_in", "assignment", row.id, org_id=row.org_id)
    payload = {"need_id": str(need.id), "assignment_id": str(row.id)}
    await enqueue(
        tx.conn,
        [Message(u, Kind.NEED_CHECKED_IN, payload, org_id=need.org_id) for u in _staff_of(need)],
        now=now,
    )
    # No client contact here: an idempotent replay would return it after the assignment
    # ended. The app reads it from GET /v1/volunteers/me/assignments/{id} (audited).
    return to_assignment(row, need_summary(need, need.id))


async def _finish_need_if_done(tx: Tx, need: NeedRow, now: datetime) -> None:
    """An under-way need whose volunteers have all finished is completed."""
    active = await tx.conn.scalar(
        select(func.count()).where(
            assignments.c.need_id == need.id, assignments.c.status.in_(ACTIVE_ASSIGNMENT)
        )
    )
    current = (await tx.conn.execute(select(needs.c.status).where(needs.c.id == need.id))).one()
    if active == 0 and current.status == NeedStatus.IN_PROGRESS:
        await tx.conn.execute(
            update(needs)
            .where(needs.c.id == need.id)
            .values(status=NeedStatus.COMPLETED.value, status_changed_at=now, next_step_at=now)
        )
        payload = {"need_id": str(need.id)}
        await enqueue(
            tx.conn,
            [Message(u, Kind.NEED_COMPLETED, payload, org_id=need.org_id) for u in _staff_of(need)],
            now=tx.now,
        )


async def complete(tx: Tx, assignment_id: UUID, data: CompleteIn) -> Assignment:
    now = tx.now
    row, need = await _own(tx, assignment_id)
    if refusal := rules.completion_refusal(AssignmentStatus(row.status)):
        raise Conflict(refusal)
    row = await _set(
        tx,
        row,
        status=AssignmentStatus.COMPLETED,
        completed_at=now,
        ended_at=now,
        minutes=data.minutes,
        outcome=data.outcome,
        note=data.note,
    )
    await _finish_need_if_done(tx, need, now)
    await audit.record(tx, "assignment.completed", "assignment", row.id, org_id=row.org_id)
    return to_assignment(row, need_summary(need, need.id))


async def _leave(
    tx: Tx, row: AnyRow, need: NeedRow, status: AssignmentStatus, reason: str | None
) -> AnyRow:
    now = tx.now
    ended = await _set(
        tx, row, status=status, ended_at=now, end_reason=reason, ended_by=tx.principal.user_id
    )
    await slots.give_back(tx.conn, need, now)
    await _finish_need_if_done(tx, need, now)  # the others may all have finished already
    payload = {"need_id": str(need.id), "assignment_id": str(row.id), "why": status}
    messages = [
        Message(u, Kind.NEED_VOLUNTEER_LEFT, payload, org_id=need.org_id) for u in _staff_of(need)
    ]
    if row.volunteer_id != tx.principal.user_id:
        messages.append(
            Message(row.volunteer_id, Kind.ASSIGNMENT_CANCELLED, payload, org_id=need.org_id)
        )
    await enqueue(tx.conn, messages, now=tx.now)
    await audit.record(
        tx, f"assignment.{status}", "assignment", row.id, org_id=row.org_id, reason=reason
    )
    return ended


async def withdraw(tx: Tx, assignment_id: UUID, reason: str) -> Assignment:
    """The volunteer gives the slot back before starting; the cascade offers it again."""
    row, need = await _own(tx, assignment_id)
    if refusal := rules.withdrawal_refusal(AssignmentStatus(row.status)):
        raise Conflict(refusal)
    row = await _leave(tx, row, need, AssignmentStatus.WITHDRAWN, reason)
    return to_assignment(row, need_summary(need, need.id))


async def no_show(tx: Tx, assignment_id: UUID, note: str | None) -> Assignment:
    """Staff record that the volunteer did not come: it counts against their reliability."""
    row, need = await _assignment(tx, assignment_id, lock=True)
    tx.principal.require_role(row.org_id, *STAFF)
    refusal = rules.no_show_refusal(AssignmentStatus(row.status), facts.starts_at(need), tx.now)
    if refusal:
        raise Conflict(refusal)
    row = await _leave(tx, row, need, AssignmentStatus.NO_SHOW, note)
    return to_assignment(row, need_summary(need, need.id))


async def record_outcome(tx: Tx, need_id: UUID, data: NeedOutcomeIn) -> None:
    """The caseworker's word on how it went for the person: what matters most."""
    now = tx.now
    need = await facts.load(tx.conn, need_id, lock=True)
    if need is None:
        raise NotFound("Need not found")
    tx.principal.require_role(need.org_id, *STAFF)
    if refusal := rules.outcome_refusal(NeedStatus(need.status)):
        raise Conflict(refusal)
    await tx.conn.execute(
        update(needs)
        .where(needs.c.id == need_id)
        .values(outcome=data.outcome.value, outcome_note=data.note, outcome_at=now)
    )
    await audit.record(tx, "need.outcome", "need", need_id, org_id=need.org_id)


async def of_need(tx: Tx, need_id: UUID) -> list[Assignment]:
    need = await facts.load(tx.conn, need_id)
    if need is None:
        raise NotFound("Need not found")
    tx.principal.require_role(need.org_id, *STAFF)
    stmt = (
        select(assignments)
        .where(assignments.c.need_id == need_id)
        .order_by(assignments.c.accepted_at, assignments.c.id)
    )
    return [to_assignment(r) for r in await tx.conn.execute(stmt)]
