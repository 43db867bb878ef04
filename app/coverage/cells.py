"""Use case: one map cell's unfilled needs, for the coordinator's panel.

The same scope, period and supply as the map (app.coverage.service: scope_for,
app.coverage.supply: for_view), so each need's unmet hours add up to the cell's gap. The k
rule holds as on the map: a cell describing fewer than k clients lists no need. Returning
needs to staff counts as reading their clients (titles are caseworkers' words): audited as
every staff read of needs is.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import numpy as np

from app import audit
from app.coverage import supply
from app.coverage.schemas import CellNeed, CellNeeds
from app.db.rows import AnyRow
from app.db.tenancy import Tx
from app.locations import Location
from app.needs.status import NeedStatus
from geo import cells
from geo.coverage import Scope
from matching.model import Dispatch, Escalation, Urgency

DEFAULT_REASON = "coverage map"


async def needs_in(
    tx: Tx,
    scope: Scope,
    resolution: int,
    cell: tuple[int, int],
    max_age: timedelta | None,
    reason: str | None,
) -> CellNeeds:
    i, j = cell
    # A cell off the map (every i,j of the pattern is a cell, some beyond Web Mercator's
    # square at this resolution) holds no need, as an empty one does.
    on_map = cells.cell_in_grid(resolution, i, j)
    rows = await cells.cell_needs(tx.conn, scope, resolution, i, j) if on_map else []
    clients = rows[0].clients if rows else 0
    suppressed = 1 <= clients < scope.k_min
    shown = [] if suppressed else rows
    hours: dict[UUID, float] = {}
    as_of = tx.now
    if shown:  # the figures of the needs listed, from the map's own supply
        box = cells.cell_box(resolution, i, j)
        found = await supply.for_view(tx, scope, resolution, box, max_age)
        view, as_of = found.cells, found.as_of
        hours = dict(zip(view.need_ids, np.asarray(view.need_hours).tolist(), strict=True))
    await audit.record_client_reads(
        tx,
        ((r.client_id, r.org_id) for r in shown if r.client_id is not None),
        reason,
        DEFAULT_REASON,
    )
    return CellNeeds(
        cell=f"{i},{j}",
        resolution=resolution,
        period_start=scope.start.isoformat(),
        period_end=scope.end.isoformat(),
        k_min=scope.k_min,
        suppressed=suppressed,
        total=None if suppressed else (rows[0].total if rows else 0),
        needs=[_need(r, hours.get(r.id, 0.0)) for r in shown],
        supply_as_of=as_of.isoformat(),
    )


def _need(row: AnyRow, supply_hours: float) -> CellNeed:
    demand = (row.slots - row.filled) * row.duration_minutes / 60
    return CellNeed(
        id=row.id,
        org_id=row.org_id,
        programme_id=row.programme_id,
        title=row.title,
        status=NeedStatus(row.status),
        urgency=Urgency(row.urgency),
        dispatch=Dispatch(row.dispatch),
        slots=row.slots,
        filled=row.filled,
        duration_minutes=row.duration_minutes,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        waves_sent=row.waves_sent,
        escalated_at=row.escalated_at,
        escalation_reason=(
            None if row.escalation_reason is None else Escalation(row.escalation_reason)
        ),
        coarse_location=Location(lat=row.lat, lon=row.lon),
        demand_hours=round(demand, 1),
        supply_hours=round(supply_hours, 1),
        unmet_hours=round(max(demand - supply_hours, 0.0), 1),
    )
