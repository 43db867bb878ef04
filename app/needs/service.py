"""Use cases for needs: posting (one-off or a weekly series), reading, changing, cancelling."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.dialects.postgresql.ranges import MultiRange

from app import audit
from app.db.rows import AnyRow
from app.db.tables import clients, memberships, needs, organisations, programmes
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.principal import STAFF
from app.locations import Location
from app.needs import cascade
from app.needs.schemas import Continuity, Created, Need, NeedIn, NeedPatch, Window
from app.needs.status import FILLABLE, NeedStatus, is_terminal, status_after_fill, transition
from app.needs.windows import check_windows, occurrence_windows
from app.pagination import decode_cursor, page_of
from app.volunteers.vocabulary import check_languages, check_skills, check_unique
from geo.privacy import coarsen_location
from matching.cascade import first_step_at
from matching.model import Mode
from matching.vetting import DbsLevel, stricter

# Needs that may still be dispatched: cancelled when their client is erased.
OPEN_STATES = ("draft", "open", "partially_filled", "filled")


async def _programme(tx: Tx, programme_id: UUID) -> Any:
    row = (
        await tx.conn.execute(
            select(programmes.c.org_id, programmes.c.min_vetting, organisations.c.time_zone)
            .join(organisations, organisations.c.id == programmes.c.org_id)
            .where(programmes.c.id == programme_id)
        )
    ).one_or_none()
    if row is None:
        raise InvalidInput.field("programme_id", "no such programme")
    return row


async def _client_location(tx: Tx, org_id: UUID, client_id: UUID) -> Location | None:
    row = (
        await tx.conn.execute(
            select(clients.c.location, clients.c.erased_at).where(
                clients.c.id == client_id, clients.c.org_id == org_id
            )
        )
    ).one_or_none()
    if row is None or row.erased_at is not None:
        raise InvalidInput.field("client_id", "no such client in this organisation")
    await audit.record(
        tx, "client.read", "client", client_id, org_id=org_id, reason="location for a need"
    )
    return Location.from_geography(row.location) if row.location is not None else None


async def _location(tx: Tx, org_id: UUID, data: NeedIn) -> Location | None:
    if data.mode is Mode.REMOTE:
        if data.location is not None:
            raise InvalidInput.field("location", "a remote need has no location")
        if data.client_id is not None:
            await _client_location(tx, org_id, data.client_id)  # exists here, not erased
        return None
    # The client is checked even when a location is given: same organisation, not erased.
    client_location = (
        await _client_location(tx, org_id, data.client_id) if data.client_id is not None else None
    )
    if data.location is not None:
        return data.location
    if client_location is not None:
        return client_location
    raise InvalidInput.field(
        "location", "an in-person need needs a location or a client with an address"
    )


async def _check_continuity(tx: Tx, org_id: UUID, continuity: Continuity | None) -> None:
    if continuity is None or continuity.volunteer_id is None:
        return
    enrolled = await tx.conn.scalar(
        select(memberships.c.user_id).where(
            memberships.c.org_id == org_id,
            memberships.c.user_id == continuity.volunteer_id,
            memberships.c.role == "volunteer",
        )
    )
    if enrolled is None:
        raise InvalidInput.field("continuity.volunteer_id", "not a volunteer here")


async def create(tx: Tx, data: NeedIn) -> Created:
    programme = await _programme(tx, data.programme_id)
    org_id = programme.org_id
    tx.principal.require_role(org_id, *STAFF)
    check_windows(data.windows, data.duration_minutes, tx.now)
    check_unique(data.required_skills, "required_skills")
    check_unique(data.languages, "languages")
    check_languages(data.languages)
    await check_skills(tx, data.required_skills, [org_id], field="required_skills")
    await _check_continuity(tx, org_id, data.continuity)
    location = await _location(tx, org_id, data)
    now = tx.now
    series = occurrence_windows(data, programme.time_zone, now)
    series_id = uuid.uuid4() if data.recurrence else None
    min_vetting = stricter(DbsLevel(programme.min_vetting), data.min_vetting)
    base = _row(data, org_id, location, min_vetting, tx.principal.user_id)
    rows = [
        base
        | {
            "series_id": series_id,
            "series_index": i if series_id else None,
            "windows": MultiRange(Range(w.start, w.end) for w in windows),
            "next_step_at": None
            if data.draft
            else first_step_at(min(w.start for w in windows), now),
            # counted by their age (metrics, fairness): the instant, not the server default
            "created_at": now,
            "updated_at": now,
            "status_changed_at": now,
        }
        for i, windows in enumerate(series)
    ]
    created = (await tx.conn.execute(insert(needs).returning(*needs.c), rows)).all()
    # the first wave of every occurrence whose offers are due now
    await cascade.soon(tx, [r.id for r in created if r.next_step_at and r.next_step_at <= now])
    first = min(created, key=lambda r: r.series_index or 0)
    await audit.record(
        tx, "need.created", "need", first.id, org_id=org_id, details={"occurrences": len(created)}
    )
    return Created(need=to_need(first), occurrences=len(created))


def _row(
    data: NeedIn, org_id: UUID, location: Location | None, min_vetting: DbsLevel, created_by: UUID
) -> dict[str, Any]:
    coarse = Location(*coarsen_location(location.lat, location.lon)) if location else None
    continuity = data.continuity or Continuity()
    return {
        "org_id": org_id,
        "programme_id": data.programme_id,
        "client_id": data.client_id,
        "title": data.title.strip(),
        "description": data.description,
        "mode": data.mode.value,
        "location": location.to_geography() if location else None,
        "coarse_location": coarse.to_geography() if coarse else None,
        "required_skills": data.required_skills,
        "languages": data.languages,
        "min_vetting": min_vetting.value,
        "duration_minutes": data.duration_minutes,
        "slots": data.slots,
        "urgency": data.urgency.value,
        "dispatch": data.dispatch.value,
        "status": (NeedStatus.DRAFT if data.draft else NeedStatus.OPEN).value,
        "recurrence": data.recurrence,
        "continuity_volunteer_id": continuity.volunteer_id,
        "continuity_same_as_last": continuity.same_as_last,
        "created_by": created_by,
    }


def to_need(row: AnyRow) -> Need:
    continuity = (
        Continuity(row.continuity_volunteer_id, row.continuity_same_as_last)
        if row.continuity_volunteer_id or row.continuity_same_as_last
        else None
    )
    return Need(
        id=row.id,
        org_id=row.org_id,
        programme_id=row.programme_id,
        client_id=row.client_id,
        title=row.title,
        description=row.description,
        mode=Mode(row.mode),
        location=Location.from_geography(row.location) if row.location is not None else None,
        coarse_location=(
            Location.from_geography(row.coarse_location)
            if row.coarse_location is not None
            else None
        ),
        required_skills=row.required_skills,
        languages=row.languages,
        min_vetting=DbsLevel(row.min_vetting),
        windows=[Window(r.lower, r.upper) for r in row.windows],
        duration_minutes=row.duration_minutes,
        slots=row.slots,
        filled=row.filled,
        urgency=row.urgency,
        dispatch=row.dispatch,
        status=NeedStatus(row.status),
        series_id=row.series_id,
        series_index=row.series_index,
        recurrence=row.recurrence,
        continuity=continuity,
        cancel_reason=row.cancel_reason,
        waves_sent=row.waves_sent,
        escalated_at=row.escalated_at,
        escalation_reason=row.escalation_reason,
        outcome=row.outcome,
        outcome_note=row.outcome_note,
        outcome_at=row.outcome_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def audited(tx: Tx, rows: Sequence[AnyRow], reason: str | None) -> list[Need]:
    """Needs as staff see them. A need carries its client's address and often health
    details, so returning it counts as reading the client: audited like one."""
    await audit.record_client_reads(
        tx,
        ((r.client_id, r.org_id) for r in rows if r.client_id is not None),
        reason,
        "need management",
    )
    return [to_need(r) for r in rows]


async def get(tx: Tx, need_id: UUID, *, lock: bool = False) -> AnyRow:
    stmt = select(needs).where(needs.c.id == need_id)
    row = (await tx.conn.execute(stmt.with_for_update() if lock else stmt)).one_or_none()
    if row is None:  # row-level security: other organisations' needs are unknown here
        raise NotFound("Need not found")
    tx.principal.require_role(row.org_id, *STAFF)
    return row


async def read(tx: Tx, need_id: UUID, reason: str | None) -> Need:
    return (await audited(tx, [await get(tx, need_id)], reason))[0]


async def change(tx: Tx, need_id: UUID, patch: NeedPatch, reason: str | None) -> Need:
    current = await get(tx, need_id, lock=True)
    status = NeedStatus(current.status)
    if is_terminal(status):
        raise Conflict(f"a {status} need cannot be changed")
    values = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    if not values:
        raise InvalidInput.field("body", "nothing to change")
    target = values.pop("status", status)
    if target != status:
        if not (status is NeedStatus.DRAFT and target is NeedStatus.OPEN):
            # Fill states follow assignments and cancellation has its own action.
            raise Conflict(f"cannot move a need from {status} to {target} by editing it")
        windows = [Window(r.lower, r.upper) for r in current.windows]
        check_windows(windows, current.duration_minutes, tx.now)
        values |= {
            "status": NeedStatus.OPEN.value,
            "status_changed_at": tx.now,
            "next_step_at": first_step_at(windows[0].start, tx.now),
        }
    if "slots" in values:
        if values["slots"] < current.filled:
            raise Conflict(f"{current.filled} slots are already filled")
        if status in FILLABLE:
            after = status_after_fill(values["slots"], current.filled, status)
            if after != status:
                values |= {"status": after.value, "status_changed_at": tx.now}
            values["next_step_at"] = tx.now  # more or fewer volunteers wanted
    return await _update(tx, current, values, "need.updated", audit_reason=reason)


async def cancel(tx: Tx, need_id: UUID, reason: str) -> Need:
    current = await get(tx, need_id, lock=True)
    values = {
        "status": transition(NeedStatus(current.status), NeedStatus.CANCELLED).value,
        "status_changed_at": tx.now,
        "cancel_reason": reason,
        "next_step_at": tx.now,  # withdraws its offers, ends its assignments
    }
    return await _update(tx, current, values, "need.cancelled", reason=reason)


async def _update(
    tx: Tx,
    current: AnyRow,
    values: dict[str, Any],
    action: str,
    reason: str | None = None,
    audit_reason: str | None = None,
) -> Need:
    if "urgency" in values:
        values["urgency"] = values["urgency"].value
    row = (
        await tx.conn.execute(
            update(needs)
            .where(needs.c.id == current.id)
            .values(**values, updated_at=tx.now)
            .returning(*needs.c)
        )
    ).one()
    due = row.next_step_at is not None and row.next_step_at <= tx.now
    if due and await cascade.soon(tx, [row.id]):
        row = await get(tx, row.id)
    await audit.record(
        tx,
        action,
        "need",
        current.id,
        org_id=current.org_id,
        reason=reason,
        details={"fields": sorted(k for k in values if k != "status_changed_at")},
    )
    return (await audited(tx, [row], audit_reason))[0]


async def list_needs(
    tx: Tx,
    *,
    status: NeedStatus | None,
    programme_id: UUID | None,
    limit: int,
    cursor: str | None,
    reason: str | None,
    escalated: bool | None = None,
) -> tuple[list[Need], str | None]:
    key = tuple_(needs.c.created_at, needs.c.id)
    stmt = select(needs).order_by(*key.clauses).limit(limit + 1)
    if not tx.principal.platform_admin:
        # Volunteers may see rows of needs offered to them (row-level security), never here.
        stmt = stmt.where(needs.c.org_id.in_(tx.principal.orgs_with(*STAFF)))
    if escalated is not None:
        stmt = stmt.where(
            needs.c.escalated_at.isnot(None) if escalated else needs.c.escalated_at.is_(None)
        )
    if status is not None:
        stmt = stmt.where(needs.c.status == status.value)
    if programme_id is not None:
        stmt = stmt.where(needs.c.programme_id == programme_id)
    if cursor:
        at, last, _ = decode_cursor(cursor)
        stmt = stmt.where(key > tuple_(at, last))
    rows = list((await tx.conn.execute(stmt)).all())
    page = await audited(tx, rows[:limit], reason)  # the extra row is not returned: not read
    return page_of(
        page + [to_need(r) for r in rows[limit:]], limit, key=lambda t: (t.created_at, t.id)
    )


async def erase_client_details(tx: Tx, client_id: UUID) -> None:
    """Part of a client's erasure: their needs keep their numbers (for statistics) but lose
    their words and the exact address, which becomes the coarse cell."""
    await tx.conn.execute(
        update(needs)
        .where(needs.c.client_id == client_id, needs.c.status.in_(OPEN_STATES))
        .values(
            status=NeedStatus.CANCELLED.value,
            status_changed_at=tx.now,
            next_step_at=tx.now,  # the cascade withdraws offers and ends assignments
        )
    )
    await tx.conn.execute(
        update(needs)
        .where(needs.c.client_id == client_id)
        .values(
            title="Need of an erased client",
            description=None,
            cancel_reason=None,
            location=needs.c.coarse_location,
            updated_at=tx.now,
        )
    )
