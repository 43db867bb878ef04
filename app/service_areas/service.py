"""Use cases for service areas (coordinators and org admins draw them; staff read them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import delete, insert, select, tuple_, update

from app import audit
from app.db.rows import AnyRow
from app.db.tables import service_areas
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.principal import MANAGERS, STAFF
from app.pagination import decode_cursor, page_of
from app.service_areas.schemas import (
    AreaSummary,
    MultiPolygon,
    MultiPolygonIn,
    PolygonIn,
    ServiceArea,
    ServiceAreaIn,
    ServiceAreaPatch,
)
from geo import areas
from geo.boundaries import Boundary, BoundaryError, parse_boundary

PERIOD = timedelta(days=7)
_COLUMNS = [c for c in service_areas.c if c.name != "boundary"]


def _boundary(value: PolygonIn | MultiPolygonIn) -> Boundary:
    try:
        return parse_boundary(msgspec.to_builtins(value))
    except BoundaryError as exc:
        raise InvalidInput.field("boundary", str(exc)) from None


def _area(row: AnyRow, repair: str | None = None) -> ServiceArea:
    fields = set(ServiceArea.__struct_fields__)
    values = {k: v for k, v in row._mapping.items() if k in fields}
    return ServiceArea(
        **values,
        boundary=msgspec.json.decode(row.boundary_geojson, type=MultiPolygon),
        repair=repair,
    )


async def _write(tx: Tx, stmt: Any) -> Any:
    try:
        async with tx.conn.begin_nested():
            return (
                await tx.conn.execute(
                    stmt.returning(*_COLUMNS, areas.boundary_geojson(service_areas.c.boundary))
                )
            ).one()
    except Exception as exc:
        if "uq_service_areas_org_name" in str(exc):
            raise Conflict("Another service area here already has that name") from exc
        raise


async def create(tx: Tx, data: ServiceAreaIn) -> ServiceArea:
    org_id = tx.principal.acting_org(data.org_id, *MANAGERS)
    boundary = _boundary(data.boundary)
    values = msgspec.structs.asdict(data) | {
        "org_id": org_id,
        "name": data.name.strip(),
        "boundary": areas.boundary_value(boundary.geometry),
        "created_by": tx.principal.user_id,
    }
    row = await _write(tx, insert(service_areas).values(**values))
    await audit.record(tx, "service_area.created", "service_area", row.id, org_id=org_id)
    return _area(row, boundary.repair)


async def get(tx: Tx, area_id: UUID, *, with_summary: bool = False, k_min: int = 3) -> ServiceArea:
    row = (
        await tx.conn.execute(
            select(*_COLUMNS, areas.boundary_geojson(service_areas.c.boundary)).where(
                service_areas.c.id == area_id
            )
        )
    ).one_or_none()
    if row is None:  # row-level security hides other organisations' areas
        raise NotFound("Service area not found")
    tx.principal.require_role(row.org_id, *STAFF)
    area = _area(row)
    if with_summary:
        area.summary = await _summary(tx, area_id, k_min)
    return area


async def _summary(tx: Tx, area_id: UUID, k_min: int) -> AreaSummary:
    now = tx.now
    row = await areas.summary(tx.conn, area_id, now, now + PERIOD)
    hidden = 0 < row.clients < k_min
    return AreaSummary(
        area_km2=round(row.area_km2, 2),
        volunteers=row.volunteers,
        on_duty=row.on_duty,
        needs=None if hidden else row.needs,
        open_slots=None if hidden else row.open_slots,
        demand_hours=None if hidden else round(row.demand_hours, 1),
        suppressed=hidden,
    )


async def change(tx: Tx, area_id: UUID, patch: ServiceAreaPatch) -> ServiceArea:
    current = await get(tx, area_id)
    tx.principal.require_role(current.org_id, *MANAGERS)
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    if not changes:
        raise InvalidInput.field("body", "nothing to change")
    repair = None
    if "boundary" in changes:
        boundary = _boundary(changes["boundary"])
        changes["boundary"], repair = areas.boundary_value(boundary.geometry), boundary.repair
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    stmt = (
        update(service_areas)
        .where(service_areas.c.id == area_id)
        .values(**changes, updated_at=tx.now)
    )
    row = await _write(tx, stmt)
    await audit.record(
        tx,
        "service_area.updated",
        "service_area",
        area_id,
        org_id=current.org_id,
        details={"fields": sorted(changes)},
    )
    return _area(row, repair)


async def remove(tx: Tx, area_id: UUID) -> None:
    current = await get(tx, area_id)
    tx.principal.require_role(current.org_id, *MANAGERS)
    await tx.conn.execute(delete(service_areas).where(service_areas.c.id == area_id))
    await audit.record(tx, "service_area.deleted", "service_area", area_id, org_id=current.org_id)


async def list_areas(
    tx: Tx, *, org_id: UUID | None, limit: int, cursor: str | None
) -> tuple[list[ServiceArea], str | None]:
    stmt = (
        select(*_COLUMNS, areas.boundary_geojson(service_areas.c.boundary))
        .order_by(service_areas.c.created_at, service_areas.c.id)
        .limit(limit + 1)
    )
    if org_id is not None:
        stmt = stmt.where(service_areas.c.org_id == org_id)
    if cursor:
        at, last_id, _ = decode_cursor(cursor)
        key = tuple_(service_areas.c.created_at, service_areas.c.id)
        stmt = stmt.where(key > tuple_(at, last_id))
    rows = (await tx.conn.execute(stmt)).all()
    return page_of([_area(r) for r in rows], limit, key=lambda a: (a.created_at, a.id))
