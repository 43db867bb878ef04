"""Supply for a map view, and the worker's snapshots of it.

Supply is the costly half of a coverage map: per cell, the volunteers with hours to give whose
radius reaches it; per open need, its accessible supply hours, each volunteer's capped hours
shared among the needs they could take (E2SFCA, matching/coverage.py, decisions.md 35). The
worker recomputes each scope's supply for the coming week on every resolution (`refresh_due`,
every `coverage_refresh_s`) and swaps it in whole, in one transaction. A scope is one
organisation, or the set of organisations one member of staff works across (their map is of
all of them at once, computed over them together: summing each organisation's snapshot
would count a volunteer approved in two of them twice). A view of the current week reads its
scope's snapshot when it is fresh enough; any other view (another week, a stale or missing
snapshot) computes the supply of the volunteers who reach it, on the spot: slower, never
wrong.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

import structlog
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import clock_of
from app.db.tables import (
    coverage_snapshots,
    memberships,
    organisations,
)
from app.db.tenancy import Tx
from app.identity.principal import STAFF
from geo import access, coverage, volunteer_facts
from geo.access import Facts
from geo.coverage import MAX_RESOLUTION, MIN_RESOLUTION, Access, Scope, to_degrees
from geo.hexgrid import Supply, Volunteers, Window, hex_size, supply
from geo.volunteer_facts import Refreshed
from matching.coverage import Acceptance, Method, accessible

PERIOD = timedelta(days=7)
SCOPES = UUID("5b0f6f3e-9a57-4c1e-8d0b-2f6c3a1e7d42")  # the namespace of scope names
log = structlog.get_logger(__name__)


METHOD = Method()


@dataclass(frozen=True)
class ViewSupply:
    cells: Access
    as_of: datetime  # when they were computed (a snapshot's period starts then)
    acceptance: Acceptance  # the share of offers accepted the hours were computed with


def scope_id(org_ids: Sequence[UUID]) -> UUID:
    """The name of a snapshot's scope: an organisation's own id, or for a set of them a name
    derived from the sorted set (the same set, the same name, whoever asks)."""
    unique = sorted(set(org_ids))
    if len(unique) == 1:
        return unique[0]
    return uuid5(SCOPES, ",".join(str(o) for o in unique))


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
    if max_age is not None:
        key = scope_id(scope.org_ids)
        found = await coverage.read_snapshot(tx.conn, key, resolution, window, now - max_age)
        if found is not None:
            need_ids, hours = await coverage.read_need_supply(tx.conn, key)
            return ViewSupply(
                Access(found.cells, need_ids, hours), found.refreshed_at, found.acceptance
            )
    west, south = to_degrees(box[0], box[1])
    east, north = to_degrees(box[2], box[3])
    async with tx.reads() as conn:  # the scope is authorised: the caller's staff orgs
        facts = await access.facts(conn, scope, (west, south, east, north), now)
    return ViewSupply(await asyncio.to_thread(_view, size, facts, window), now, facts.acceptance)


def _view(size: float, facts: Facts, window: Window) -> Access:
    hours = accessible(facts.supply, facts.demand)
    return Access(supply(size, facts.reach, window=window), facts.need_ids, hours)


def all_resolutions(volunteers: Volunteers) -> dict[int, Supply]:
    return {
        resolution: supply(hex_size(resolution), volunteers)
        for resolution in range(MIN_RESOLUTION, MAX_RESOLUTION + 1)
    }


_CLAIM = text("SELECT pg_try_advisory_xact_lock(hashtextextended('coverage:' || :scope, 0))")


async def refresh(
    engine: AsyncEngine,
    org_ids: Sequence[UUID],
    now: datetime | None = None,
    *,
    due_before: datetime | None = None,
) -> int | None:
    """Recompute the snapshot of one scope (an organisation, or a set of them); returns the
    cells written, or None when another worker is at it or it was refreshed since
    (`due_before`) or later (`now`). The engine logs in as the system: it reads the
    organisations' volunteers and writes."""
    now = now or clock_of(engine).now()
    key = {"scope": str(scope_id(org_ids))}
    async with engine.begin() as claim:
        # A lock held while computing: workers that wake together split the scopes instead
        # of each computing all of them. Transaction-scoped, so that it holds through a
        # transaction-mode pooler (PgBouncer) too; it ends with the claim's transaction.
        if not await claim.scalar(_CLAIM, key):
            return None
        return await _refresh(engine, sorted(set(org_ids)), now, due_before)


async def _refresh(
    engine: AsyncEngine, org_ids: list[UUID], now: datetime, due_before: datetime | None
) -> int | None:
    began = time.perf_counter()
    key = scope_id(org_ids)
    async with engine.connect() as conn:
        last = await conn.scalar(
            select(coverage_snapshots.c.refreshed_at).where(coverage_snapshots.c.scope_id == key)
        )
        if last is not None and (last >= now or (due_before and last >= due_before)):
            return None  # a newer snapshot is never replaced by an older one
        scope = Scope(org_ids, None, now, now + PERIOD, 0)
        facts = await access.facts(conn, scope, None, now, copy=False)  # no copy kept here
        await conn.rollback()
    grids = await asyncio.to_thread(all_resolutions, facts.reach)
    shares = await asyncio.to_thread(accessible, facts.supply, facts.demand)
    async with engine.begin() as conn:
        # The old snapshot's cells and shares go with it (ON DELETE CASCADE).
        await conn.execute(delete(coverage_snapshots).where(coverage_snapshots.c.scope_id == key))
        await conn.execute(
            insert(coverage_snapshots).values(
                scope_id=key,
                org_ids=org_ids,
                period_start=now,
                period_end=now + PERIOD,
                refreshed_at=now,
                volunteers=len(facts.reach),
                seconds=round(time.perf_counter() - began, 3),
                acceptance=facts.acceptance.share,
                acceptance_offers=facts.acceptance.offers,
            )
        )
        for resolution, cells in grids.items():
            if len(cells):
                await coverage.write_snapshot(conn, key, resolution, cells)
        if facts.need_ids:
            await coverage.write_need_supply(conn, key, facts.need_ids, shares)
    return sum(len(cells) for cells in grids.values())


# The sets of organisations whose staff see them together: each member of staff of several
# (approved, a staff role) sees the map of all of theirs at once (app/coverage/service.py:
# staff_orgs).
_STAFF_SETS = (
    select(func.array_agg(aggregate_order_by(memberships.c.org_id, memberships.c.org_id)))
    .where(memberships.c.status == "approved", memberships.c.role.in_([r.value for r in STAFF]))
    .group_by(memberships.c.user_id)
    .having(func.count() > 1)
)


async def scopes(conn: AsyncConnection) -> list[list[UUID]]:
    """Every scope a map can be of: each organisation, and each set of organisations a
    member of staff works across."""
    orgs = [[o] for o in (await conn.scalars(select(organisations.c.id))).all()]
    sets = {tuple(ids) for ids in (await conn.scalars(_STAFF_SETS)).all()}
    return orgs + [list(ids) for ids in sorted(sets)]


async def refresh_facts(engine: AsyncEngine, rebuild_every: timedelta) -> Refreshed:
    """The volunteers' kept coverage facts: the queued changes, or all of them when due."""
    done = await volunteer_facts.refresh(engine, clock_of(engine).now(), rebuild_every)
    log.debug("coverage volunteer facts", rebuilt=done.rebuilt, users=done.users, s=done.seconds)
    return done


async def refresh_due(engine: AsyncEngine, every: timedelta) -> int:
    """Refresh the scopes whose snapshot is missing or about `every` old, oldest first, and
    drop the snapshots of sets no one sees together any more; returns how many this worker
    refreshed. One scope failing never stops the others."""
    now = clock_of(engine).now()
    due_before = now - every * 0.9
    async with engine.begin() as conn:
        wanted = {scope_id(ids): ids for ids in await scopes(conn)}
        rows = await conn.execute(
            select(coverage_snapshots.c.scope_id, coverage_snapshots.c.refreshed_at)
        )
        last: dict[UUID, datetime] = {row.scope_id: row.refreshed_at for row in rows}
        gone = [key for key in last if key not in wanted]
        if gone:
            await conn.execute(
                delete(coverage_snapshots).where(coverage_snapshots.c.scope_id.in_(gone))
            )
    due = sorted(
        (key for key in wanted if last.get(key) is None or last[key] < due_before),
        key=lambda k: (last.get(k) is not None, last.get(k) or now),
    )
    done = 0
    for key in due:
        began = time.perf_counter()
        try:
            cells = await refresh(engine, wanted[key], now, due_before=due_before)
        except Exception:  # the next cycle retries; the maps compute on the spot meanwhile
            log.exception("coverage snapshot failed", scope_id=str(key))
            continue
        done += cells is not None
        log.debug(
            "coverage snapshot", scope_id=str(key), cells=cells, s=time.perf_counter() - began
        )
    return done
