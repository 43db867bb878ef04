"""Use cases for coverage maps: whose data (the caller's staff organisations, or one
programme's), which period, the supply (app.coverage.supply), then the layers from
geo.coverage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
import numpy as np

from app.coverage import supply
from app.coverage.schemas import (
    BBox,
    CoverageMethod,
    HexCollection,
    HexFeature,
    HexProperties,
    NeedCollection,
    NeedFeature,
    NeedProperties,
    Point,
    Polygon,
    check_cell_count,
)
from app.coverage.supply import METHOD, PERIOD
from app.db.rows import AnyRow
from app.db.tenancy import Tx
from app.errors import Forbidden, InvalidInput
from app.identity.principal import STAFF
from app.programmes import service as programmes
from geo import coverage
from geo.coverage import Scope, tile_bounds, tile_resolution
from geo.hexgrid import mercator
from matching.coverage import Acceptance

MAX_ZOOM = 20
CAPPED_HOURS = "min(weekly hours cap, available hours in the period) - hours committed in it"


def method(acceptance: Acceptance) -> CoverageMethod:
    return CoverageMethod(
        name=METHOD.name,
        decay=METHOD.decay,
        catchment=METHOD.catchment,
        remote_weight=METHOD.remote_weight,
        capped_hours=CAPPED_HOURS,
        acceptance=acceptance.share,
        acceptance_offers=acceptance.offers,
        acceptance_basis=acceptance.basis(),
    )


def method_header(acceptance: Acceptance) -> str:
    """The method in a tile's X-Coverage-Method header."""
    return (
        f"{METHOD.name}; decay={METHOD.decay}; catchment={METHOD.catchment};"
        f" acceptance={acceptance.share}; acceptance_offers={acceptance.offers}"
    )


@dataclass(frozen=True)
class Tile:
    body: bytes
    etag: str  # a digest of the bytes: equal tiles, equal tags
    supply_as_of: datetime  # when its supply figures were computed
    method: str  # `method_header`


def staff_orgs(tx: Tx) -> list[UUID]:
    orgs = sorted(
        {m.org_id for m in tx.principal.memberships if m.status == "approved" and m.role in STAFF}
    )
    if not orgs:
        raise Forbidden("Coverage maps are for the staff of an organisation")
    return orgs


async def scope_for(tx: Tx, programme_id: UUID | None, at: datetime | None, k_min: int) -> Scope:
    """The caller's organisations, or the programme's (404 when it is not theirs)."""
    if programme_id is None:
        org_ids = staff_orgs(tx)
    else:
        programme = await programmes.get(tx, programme_id)
        tx.principal.require_role(programme.org_id, *STAFF)
        org_ids = [programme.org_id]
    start = at or tx.now
    if start.tzinfo is None:
        raise InvalidInput.field("at", "needs a UTC offset")
    return Scope(org_ids, programme_id, start, start + PERIOD, k_min)


async def hexes(
    tx: Tx, scope: Scope, bbox: BBox, resolution: int, max_age: timedelta | None
) -> HexCollection:
    """`max_age`: how old a supply snapshot may be (None: compute, as for another week)."""
    check_cell_count(bbox, resolution)
    (west, east), (south, north) = mercator(np.array(bbox[::2]), np.array(bbox[1::2]))
    found = await supply.for_view(tx, scope, resolution, (west, south, east, north), max_age)
    rows = await coverage.hexes(tx.conn, scope, bbox, resolution, found.cells)
    return HexCollection(
        features=[_hex_feature(row) for row in rows],
        resolution=resolution,
        period_start=scope.start.isoformat(),
        period_end=scope.end.isoformat(),
        k_min=scope.k_min,
        supply_as_of=found.as_of.isoformat(),
        method=method(found.acceptance),
    )


def _hex_feature(row: AnyRow) -> HexFeature:
    cell = f"{row.i},{row.j}"
    return HexFeature(
        id=cell,
        geometry=msgspec.json.decode(row.geometry, type=Polygon),
        properties=HexProperties(
            cell=cell,
            volunteers=row.volunteers,
            on_duty=row.on_duty,
            supply_hours=row.supply_hours,
            needs=row.needs,
            open_slots=row.open_slots,
            demand_hours=row.demand_hours,
            gap_hours=None if row.gap_hours is None else round(row.gap_hours, 1),
            suppressed=row.suppressed,
        ),
    )


async def need_points(tx: Tx, scope: Scope, bbox: BBox) -> NeedCollection:
    rows = await coverage.need_points(tx.conn, scope, bbox)
    return NeedCollection(
        features=[
            NeedFeature(
                geometry=msgspec.json.decode(row.geometry, type=Point),
                properties=NeedProperties(
                    needs=row.needs, open_slots=row.open_slots, demand_hours=row.demand_hours
                ),
            )
            for row in rows
        ]
    )


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput.field("z", f"zoom must be within [0, {MAX_ZOOM}]")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 2**z:
            raise InvalidInput.field(name, f"must be within [0, {2**z - 1}] at zoom {z}")


async def tile(tx: Tx, scope: Scope, z: int, x: int, y: int, max_age: timedelta | None) -> Tile:
    check_tile(z, x, y)
    found = await supply.for_view(tx, scope, tile_resolution(z), tile_bounds(z, x, y), max_age)
    body = await coverage.tile(tx.conn, scope, z, x, y, found.cells)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Tile(body, etag, found.as_of, method_header(found.acceptance))
