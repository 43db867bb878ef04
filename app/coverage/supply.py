"""Supply for a map view, and the worker's snapshots of it.

Supply is the costly half of a coverage map: per cell, the volunteers with hours to give whose
radius reaches it; per open need, its accessible supply hours, each volunteer's capped hours
shared among the needs they could take (E2SFCA, matching/coverage.py, decisions.md 34). The
worker recomputes each organisation's supply for the coming week on every resolution
(`refresh_due`, every `coverage_refresh_s`) and swaps it in whole, in one transaction. A view
of the current week for one organisation reads the snapshot when it is fresh enough; any other
view (another week, the staff of several organisations at once, a stale or missing snapshot)
computes the supply of the volunteers who reach it, on the spot: slower, never wrong.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import clock_of
from app.db.tables import (
    coverage_need_supply,
    coverage_snapshots,
    coverage_supply,
    organisations,
)
from app.db.tenancy import Tx
from geo import access, coverage
from geo.access import Facts
from geo.coverage import MAX_RESOLUTION, MIN_RESOLUTION, Access, Scope, to_degrees
from geo.hexgrid import Supply, Volunteers, Window, hex_size, supply
from matching.coverage import Method, accessible

PERIOD = timedelta(days=7)
log = structlog.get_logger(__name__)


METHOD = Method()


@dataclass(frozen=True)
class ViewSupply:
    cells: Access
    as_of: datetime  # when they were computed (a snapshot's period starts then)


async def for_view(
    tx: Tx,
    scope: Scope,
    resolution: int,
    box: tuple[float, float, float, float],
    max_age: timedelta | None,
) -> ViewSupply:
    """`box`: west, south, east, north in EPSG:3857 metres. `max_age`: how old a snapshot
    may be to answer (None: the view is not of the current week, compute it)."""
    size = hex_size(resolution)
    window = Window.around(size, *box)
    now = tx.now
    if max_age is not None and len(scope.org_ids) == 1:
        found = await coverage.read_snapshot(
            tx.conn, scope.org_ids[0], resolution, window, now - max_age
        )
        if found is not None:
            need_ids, hours = await coverage.read_need_supply(tx.conn, scope.org_ids[0])
            return ViewSupply(Access(found[1], need_ids, hours), found[0])
    west, south = to_degrees(box[0], box[1])
    east, north = to_degrees(box[2], box[3])
    async with tx.reads() as conn:  # the scope is authorised: the caller's staff orgs
        facts = await access.facts(conn, scope, (west, south, east, north), now)
    return ViewSupply(await asyncio.to_thread(_view, size, facts, window), now)


def _view(size: float, facts: Facts, window: Window) -> Access:
    hours = accessible(facts.supply, facts.demand)
    return Access(supply(size, facts.reach, window=window), facts.need_ids, hours)


def all_resolutions(volunteers: Volunteers) -> dict[int, Supply]:
    return {
        resolution: supply(hex_size(resolution), volunteers)
        for resolution in range(MIN_RESOLUTION, MAX_RESOLUTION + 1)
    }


_CLAIM = text("SELECT pg_try_advisory_lock(hashtextextended('coverage:' || :org, 0))")
_RELEASE = text("SELECT pg_advisory_unlock(hashtextextended('coverage:' || :org, 0))")


async def refresh(
    engine: AsyncEngine,
    org_id: UUID,
    now: datetime | None = None,
    *,
    due_before: datetime | None = None,
) -> int | None:
    """Recompute one organisation's snapshot; returns the cells written, or None when
    another worker is at it or it was refreshed since (`due_before`) or later (`now`).
    The engine logs in as the system: it reads the organisation's volunteers and writes."""
    now = now or clock_of(engine).now()
    key = {"org": str(org_id)}
    async with engine.connect() as claim:
        # A session lock held while computing: workers that wake together split the
        # organisations instead of each computing all of them.
        claimed = await claim.scalar(_CLAIM, key)
        await claim.commit()
        if not claimed:
            return None
        try:
            return await _refresh(engine, org_id, now, due_before)
        finally:
            await claim.execute(_RELEASE, key)
            await claim.commit()


async def _refresh(
    engine: AsyncEngine, org_id: UUID, now: datetime, due_before: datetime | None
) -> int | None:
    began = time.perf_counter()
    async with engine.connect() as conn:
        last = await conn.scalar(
            select(coverage_snapshots.c.refreshed_at).where(coverage_snapshots.c.org_id == org_id)
        )
        if last is not None and (last >= now or (due_before and last >= due_before)):
            return None  # a newer snapshot is never replaced by an older one
        facts = await access.facts(conn, Scope([org_id], None, now, now + PERIOD, 0), None, now)
        await conn.rollback()
    grids = await asyncio.to_thread(all_resolutions, facts.reach)
    shares = await asyncio.to_thread(accessible, facts.supply, facts.demand)
    async with engine.begin() as conn:
        await conn.execute(delete(coverage_supply).where(coverage_supply.c.org_id == org_id))
        await conn.execute(
            delete(coverage_need_supply).where(coverage_need_supply.c.org_id == org_id)
        )
        for resolution, cells in grids.items():
            if len(cells):
                await coverage.write_snapshot(conn, org_id, resolution, cells)
        if facts.need_ids:
            await coverage.write_need_supply(conn, org_id, facts.need_ids, shares)
        values = {
            "period_start": now,
            "period_end": now + PERIOD,
            "refreshed_at": now,
            "volunteers": len(facts.reach),
            "seconds": round(time.perf_counter() - began, 3),
        }
        await conn.execute(
            insert(coverage_snapshots)
            .values(org_id=org_id, **values)
            .on_conflict_do_update(index_elements=["org_id"], set_=values)
        )
    return sum(len(cells) for cells in grids.values())


async def refresh_due(engine: AsyncEngine, every: timedelta) -> int:
    """Refresh the organisations whose snapshot is missing or about `every` old; returns how
    many this worker refreshed. One organisation failing never stops the others."""
    now = clock_of(engine).now()
    due_before = now - every * 0.9
    async with engine.connect() as conn:
        org_ids = list(
            (
                await conn.scalars(
                    select(organisations.c.id)
                    .outerjoin(coverage_snapshots)
                    .where(
                        (coverage_snapshots.c.refreshed_at.is_(None))
                        | (coverage_snapshots.c.refreshed_at < due_before)
                    )
                    .order_by(coverage_snapshots.c.refreshed_at.nulls_first())
                )
            ).all()
        )
    done = 0
    for org_id in org_ids:
        began = time.perf_counter()
        try:
            cells = await refresh(engine, org_id, now, due_before=due_before)
        except Exception:  # the next cycle retries; the maps compute on the spot meanwhile
            log.exception("coverage snapshot failed", org_id=str(org_id))
            continue
        done += cells is not None
        log.debug(
            "coverage snapshot", org_id=str(org_id), cells=cells, s=time.perf_counter() - began
        )
    return done
