"""Coverage layers: the hexagon GeoJSON and vector tiles, from the worker's snapshot and
computed on the spot, p50/p99, with the snapshot's refresh time.

    .venv/bin/python -m bench.coverage [--volunteers 2000,1000000] [--requests 60]
                                       [--live-requests 10] [--fresh] [--no-tables]

For each size: a database `coverage_<size>` in the cluster under .state/bench-pg, seeded with
the demo borough (kept between runs: seeding 1M takes minutes; --fresh re-creates it). Then
one refresh of the Reading council's snapshot (the worker's job, timed), and, interleaved,
through `codeliver serve` (real uvicorn) as the council's coordinator:
  hexes r13/r14    GET /v1/coverage/hexes over the town (0.25 x 0.12 degrees)
  tile z11..z14    GET /v1/coverage/tiles/{z}/{x}/{y}.mvt on the town centre
  ... live         the same with `at` (another period: no snapshot, computed on the spot
                   from the volunteers' kept facts, geo/volunteer_facts.py)
  ... tables       the same on the spot from the source tables, measured first, before
                   the facts are built (their rebuild is timed between the two)
  raw tile z13     geo.coverage's snapshot read and tile statement alone (owner, no HTTP)
  facts copy/sql   the r13 hexes' supply on the spot in this process (owner, no HTTP): the
                   facts and the arithmetic, through the process's copy of the kept facts
                   (geo/kept_facts.py) and through the kept-facts statement, interleaved
Feature counts come from decoding the responses.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import mapbox_vector_tile
import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.coverage import supply
from app.db.tables import organisations, volunteers
from app.demo_population import TOWN_CENTRE
from app.seed import seed
from bench.common import fresh_database, pct, served, start_cluster, token
from geo import access, coverage, volunteer_facts
from geo.coverage import Scope, tile_bounds, tile_resolution
from geo.hexgrid import Window, hex_size, mercator

SUBJECT = "demo-coordinator-reading-council"
BBOX = "-1.10,51.40,-0.85,51.52"
ZOOMS = (11, 12, 13, 14)


def tile_of(z: int) -> tuple[int, int]:
    lat, lon = TOWN_CENTRE
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def _features(body: bytes) -> int:
    return sum(len(layer["features"]) for layer in mapbox_vector_tile.decode(body).values())


async def _prepared(size: int, fresh: bool) -> tuple[str, str]:
    cluster, state = start_cluster()
    name = f"coverage_{size}"
    owner_url = state.url(owner=True, database=name)
    seeded = 0
    exists = name in cluster.psql("SELECT datname FROM pg_database").split()
    if not fresh and exists:
        engine = create_async_engine(owner_url)
        async with engine.connect() as conn:
            seeded = await conn.scalar(select(func.count()).select_from(volunteers)) or 0
        await engine.dispose()
    if seeded < size:
        await fresh_database(cluster, name)
        t0 = time.perf_counter()
        await seed(owner_url, volunteers=size, progress=False)
        print(f"seeded {size} volunteers in {time.perf_counter() - t0:.0f} s")
    return owner_url, state.url(database=name)


async def on_the_spot(owner: AsyncEngine, org_id: UUID, copy: bool) -> int:
    """The r13 hexes' supply computed on the spot, as supply.for_view does it."""
    now = datetime.now(UTC) + timedelta(minutes=1)
    scope = Scope([org_id], None, now, now + supply.PERIOD, 3)
    west, south, east, north = (float(v) for v in BBOX.split(","))
    (x0, x1), (y0, y1) = mercator(np.array([west, east]), np.array([south, north]))
    size = hex_size(13)
    async with owner.connect() as conn:
        facts = await access.facts(conn, scope, (west, south, east, north), now, copy=copy)
    window = Window.around(size, float(x0), float(y0), float(x1), float(y1))
    found = await asyncio.to_thread(supply._view, size, facts, window)
    return len(found.cells)


async def measure(
    size: int, requests: int, live_requests: int, fresh: bool, tables: bool = True
) -> None:
    owner_url, app_url = await _prepared(size, fresh)
    owner = create_async_engine(owner_url)
    async with owner.connect() as conn:
        org_id = await conn.scalar(
            select(organisations.c.id).where(organisations.c.slug == "reading-council")
        )
    assert org_id is not None
    async with owner.begin() as conn:  # on the spot from the tables first: no facts yet
        await conn.execute(text("DELETE FROM coverage_volunteer_facts_state"))
    t0 = time.perf_counter()
    cells = await supply.refresh(owner, [org_id]) or 0
    refresh_s = time.perf_counter() - t0
    samples: dict[str, list[float]] = defaultdict(list)
    features: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token(SUBJECT)}"}

    async def sample(name: str, call: Callable[[], Awaitable[int]], keep: bool) -> None:
        start = time.perf_counter()
        features[name] = await call()
        if keep:
            samples[name].append(time.perf_counter() - start)

    async with served(app_url, owner_url) as client:

        def hexes(resolution: int, params: dict[str, str]) -> Callable[[], Awaitable[int]]:
            async def call() -> int:
                r = await client.get(
                    "/v1/coverage/hexes",
                    params={"bbox": BBOX, "resolution": str(resolution)} | params,
                    headers=headers,
                )
                assert r.status_code == 200, r.text
                return len(r.json()["features"])

            return call

        def tile(z: int, params: dict[str, str]) -> Callable[[], Awaitable[int]]:
            async def call() -> int:
                x, y = tile_of(z)
                r = await client.get(
                    f"/v1/coverage/tiles/{z}/{x}/{y}.mvt", params=params, headers=headers
                )
                assert r.status_code == 200, r.text
                return _features(r.content)

            return call

        async def raw_tile() -> int:
            z, (x, y) = 13, tile_of(13)
            now = datetime.now(UTC)
            scope = Scope([org_id], None, now, now + supply.PERIOD, 3)
            resolution = tile_resolution(z)
            async with owner.connect() as conn:
                window = Window.around(hex_size(resolution), *tile_bounds(z, x, y))
                fresh = now - timedelta(days=1)
                found = await coverage.read_snapshot(conn, org_id, resolution, window, fresh)
                assert found is not None, "no snapshot"
                need_ids, hours = await coverage.read_need_supply(conn, org_id)
                access = coverage.Access(found.cells, need_ids, hours)
                return _features(await coverage.tile(conn, scope, z, x, y, access))

        for i in range(live_requests + 5 if tables else 0):
            live = {"at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
            for resolution in (13, 14):
                await sample(f"hexes r{resolution} tables", hexes(resolution, live), i >= 5)
            for z in ZOOMS:
                await sample(f"tile z{z} tables", tile(z, live), i >= 5)
        rebuilt = await volunteer_facts.rebuild(owner, datetime.now(UTC))
        t0 = time.perf_counter()
        await on_the_spot(owner, org_id, True)  # the first: reads this process's copy
        first_copy_s = time.perf_counter() - t0
        for i in range(requests + 5):
            keep = i >= 5
            live = {"at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
            with_live = i < live_requests + 5
            for resolution in (13, 14):
                await sample(f"hexes r{resolution}", hexes(resolution, {}), keep)
                if with_live:
                    await sample(f"hexes r{resolution} live", hexes(resolution, live), keep)
            for z in ZOOMS:
                await sample(f"tile z{z}", tile(z, {}), keep)
                if with_live:
                    await sample(f"tile z{z} live", tile(z, live), keep)
            await sample("raw tile z13", raw_tile, keep)
            if with_live:
                await sample("facts copy r13", lambda: on_the_spot(owner, org_id, True), keep)
                await sample("facts sql r13", lambda: on_the_spot(owner, org_id, False), keep)
    await owner.dispose()
    print(f"\n{size} volunteers: snapshot refresh {refresh_s:.2f} s, {cells} cells, r8..r16")
    print(f"volunteer facts rebuilt in {rebuilt.seconds:.2f} s ({rebuilt.users} volunteers)")
    print(f"first view through a new copy of the kept facts: {first_copy_s:.2f} s")
    print(f"{'what':<18} {'features':>8} {'n':>4} {'p50 ms':>9} {'p99 ms':>9}")
    order = {"live": 1, "tables": 2}
    for name in sorted(samples, key=lambda n: (*n.split()[:2], order.get(n.split()[-1], 0))):
        values: list[Any] = samples[name]
        print(
            f"{name:<18} {features[name]:>8} {len(values):>4}"
            f" {pct(values, 0.5):9.1f} {pct(values, 0.99):9.1f}"
        )


async def main(
    sizes: list[int], requests: int, live_requests: int, fresh: bool, tables: bool
) -> None:
    for size in sizes:
        await measure(size, requests, live_requests, fresh, tables)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", default="2000")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--live-requests", type=int, default=10)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--no-tables", action="store_true", help="skip the `tables` views")
    args = parser.parse_args()
    sizes = [int(v) for v in args.volunteers.split(",")]
    asyncio.run(main(sizes, args.requests, args.live_requests, args.fresh, not args.no_tables))
