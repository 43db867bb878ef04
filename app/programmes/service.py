"""Use cases for programmes (coordinators and org admins manage them)."""

from __future__ import annotations

from uuid import UUID

import msgspec
from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from app import audit
from app.db.rows import AnyRow
from app.db.tables import needs, programmes
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.principal import MANAGERS
from app.needs.service import OPEN_STATES
from app.pagination import decode_cursor, page_of
from app.programmes.schemas import Programme, ProgrammeIn, ProgrammePatch
from matching.vetting import DbsLevel, stricter


def _programme(row: AnyRow) -> Programme:
    return msgspec.convert({str(k): v for k, v in row._mapping.items()}, Programme)


async def create(tx: Tx, data: ProgrammeIn) -> Programme:
    org_id = tx.principal.acting_org(data.org_id, *MANAGERS)
    values = msgspec.structs.asdict(data) | {"org_id": org_id, "name": data.name.strip()}
    row = (
        await tx.conn.execute(
            insert(programmes).values(**values).on_conflict_do_nothing().returning(*programmes.c)
        )
    ).one_or_none()
    if row is None:
        raise Conflict(f"A programme named {data.name!r} already exists here")
    await audit.record(tx, "programme.created", "programme", row.id, org_id=org_id)
    return _programme(row)


async def get(tx: Tx, programme_id: UUID) -> Programme:
    row = (
        await tx.conn.execute(select(programmes).where(programmes.c.id == programme_id))
    ).one_or_none()
    if row is None:  # row-level security hides other organisations' programmes
        raise NotFound("Programme not found")
    return _programme(row)


async def update_programme(tx: Tx, programme_id: UUID, patch: ProgrammePatch) -> Programme:
    current = await get(tx, programme_id)
    tx.principal.require_role(current.org_id, *MANAGERS)
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    if not changes:
        raise InvalidInput.field("body", "nothing to change")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    stmt = (
        update(programmes)
        .where(programmes.c.id == programme_id)
        .values(**changes, updated_at=tx.now)
        .returning(*programmes.c)
    )
    try:
        async with tx.conn.begin_nested():
            row = (await tx.conn.execute(stmt)).one()
    except Exception as exc:
        if "uq_programmes_org_name" in str(exc):
            raise Conflict("Another programme here already has that name") from exc
        raise
    if "min_vetting" in changes:
        await _raise_open_needs_vetting(tx, programme_id, changes["min_vetting"])
    await audit.record(
        tx,
        "programme.updated",
        "programme",
        programme_id,
        org_id=current.org_id,
        details={"fields": sorted(changes)},
    )
    return _programme(row)


async def list_programmes(
    tx: Tx, *, org_id: UUID | None, limit: int, cursor: str | None
) -> tuple[list[Programme], str | None]:
    stmt = select(programmes).order_by(programmes.c.created_at, programmes.c.id).limit(limit + 1)
    if org_id is not None:
        stmt = stmt.where(programmes.c.org_id == org_id)
    if cursor:
        at, last_id, _ = decode_cursor(cursor)
        key = tuple_(programmes.c.created_at, programmes.c.id)
        stmt = stmt.where(key > tuple_(at, last_id))
    rows = (await tx.conn.execute(stmt)).all()
    return page_of([_programme(r) for r in rows], limit, key=lambda p: (p.created_at, p.id))


async def _raise_open_needs_vetting(tx: Tx, programme_id: UUID, minimum: DbsLevel) -> None:
    """A stricter programme minimum reaches needs already posted: they are never dispatched
    to volunteers vetted only for the old rule. (A looser one leaves them as they are.)"""
    rows = (
        await tx.conn.execute(
            select(needs.c.id, needs.c.min_vetting)
            .where(needs.c.programme_id == programme_id, needs.c.status.in_(OPEN_STATES))
            .with_for_update()
        )
    ).all()
    for row in rows:
        needed = stricter(DbsLevel(row.min_vetting), minimum)
        if needed.value != row.min_vetting:
            await tx.conn.execute(
                update(needs)
                .where(needs.c.id == row.id)
                .values(min_vetting=needed.value, updated_at=tx.now)
            )
