"""Coverage layers on the demo borough: the hexagon GeoJSON and vector tiles, p50/p99.

    .venv/bin/python -m bench.coverage [--volunteers 2000] [--requests 60]

Starts a private cluster under .state/bench-pg, seeds the demo borough (idempotent), then
measures, interleaved, through the whole HTTP stack as the Reading council coordinator:
  hexes r13/r14   GET /v1/coverage/hexes over the town (~0.25 x 0.12 degrees)
  tile z12..z14   GET /v1/coverage/tiles/{z}/{x}/{y}.mvt on the town centre
  raw tile z13    the tile's SQL alone on an owner connection (no HTTP, no tenancy)
Feature counts come from decoding the responses.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import mapbox_vector_tile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from app.coverage.service import PERIOD
from app.db.migrate import upgrade
from app.db.tables import organisations
from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.seed import TOWN_CENTRE, seed
from app.settings import Environment, Settings
from geo import coverage
from geo.coverage import Scope
from infra.localdb import LocalCluster

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "demo-coordinator-reading-council"
BBOX = "-1.10,51.40,-0.85,51.52"


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def tile_of(z: int) -> tuple[int, int]:
    lat, lon = TOWN_CENTRE
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


async def main(volunteers: int, requests: int) -> None:
    cluster = LocalCluster(ROOT / ".state" / "bench-pg", durable=False)
    state = cluster.start()
    await asyncio.to_thread(upgrade, state.url(owner=True))
    t0 = time.perf_counter()
    await seed(state.url(owner=True), volunteers=volunteers, progress=False)
    print(f"seeded {volunteers} volunteers in {time.perf_counter() - t0:.1f} s")
    settings = Settings(
        env=Environment.TEST,
        state_dir=ROOT / ".state" / "bench",
        rate_limit_per_minute=0,
        log_level="WARNING",
    )
    headers = {
        "Authorization": "Bearer "
        + DevIssuer(settings.state_dir / "dev-issuer.pem").issue(SUBJECT, ttl_s=3600)
    }
    owner = create_async_engine(state.url(owner=True))
    async with owner.connect() as conn:
        org_id = await conn.scalar(
            select(organisations.c.id).where(organisations.c.slug == "reading-council")
        )
    now = datetime.now(UTC)
    scope = Scope([org_id], None, now, now + PERIOD, 3)
    samples: dict[str, list[float]] = defaultdict(list)
    features: dict[str, int] = {}
    app = create_app(settings, database_url=state.url())
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client,
    ):
        for i in range(requests + 5):
            for resolution in (13, 14):
                name = f"hexes r{resolution}"
                start = time.perf_counter()
                r = await client.get(
                    "/v1/coverage/hexes",
                    params={"bbox": BBOX, "resolution": resolution},
                    headers=headers,
                )
                elapsed = time.perf_counter() - start
                assert r.status_code == 200, r.text
                features[name] = len(r.json()["features"])
                if i >= 5:
                    samples[name].append(elapsed)
            for z in (12, 13, 14):
                x, y = tile_of(z)
                name = f"tile z{z}"
                start = time.perf_counter()
                r = await client.get(f"/v1/coverage/tiles/{z}/{x}/{y}.mvt", headers=headers)
                elapsed = time.perf_counter() - start
                assert r.status_code == 200, r.text
                layers = mapbox_vector_tile.decode(r.content)
                features[name] = sum(len(layer["features"]) for layer in layers.values())
                if i >= 5:
                    samples[name].append(elapsed)
            x, y = tile_of(13)
            async with owner.connect() as conn:
                start = time.perf_counter()
                body = await coverage.tile(conn, scope, 13, x, y)
                elapsed = time.perf_counter() - start
            features["raw tile z13"] = sum(
                len(layer["features"]) for layer in mapbox_vector_tile.decode(body).values()
            )
            if i >= 5:
                samples["raw tile z13"].append(elapsed)
    await owner.dispose()
    cluster.stop()
    print(f"{'what':<14} {'features':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in samples.items():
        print(f"{name:<14} {features[name]:>8} {_pct(values, 0.5):8.1f} {_pct(values, 0.99):8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.volunteers, args.requests))
