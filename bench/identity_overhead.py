"""What a signed-in request costs: the raw login query vs the HTTP endpoints around it.

    .venv/bin/python -m bench.identity_overhead [--requests 2000]

Starts a private cluster under .state/bench-pg, seeds the demo borough, then measures in
one run, interleaved, so the ratios hold on a noisy machine:
  raw      asyncpg: BEGIN; SELECT codeliver_login(...); COMMIT (what every request pays)
  live     GET /health/live through the whole ASGI stack (no database, no auth)
  me       GET /v1/me (token check + login transaction + one query + encoding)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import asyncpg
import httpx

from app.db.migrate import upgrade
from app.factory import create_app
from app.identity.tokens import DEV_ISSUER, DevIssuer
from app.seed import seed
from app.settings import Environment, Settings
from bench.common import pct
from infra.localdb import LocalCluster

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "demo-coordinator-reading-council"


async def main(requests: int) -> None:
    cluster = LocalCluster(ROOT / ".state" / "bench-pg", durable=False)
    state = cluster.start()
    await asyncio.to_thread(upgrade, state.url(owner=True))  # Alembic runs its own loop
    await seed(state.url(owner=True), volunteers=60, progress=False)
    settings = Settings(
        env=Environment.TEST,
        state_dir=ROOT / ".state" / "bench",
        rate_limit_per_minute=0,
        log_level="WARNING",
    )
    token = DevIssuer(settings.state_dir / "dev-issuer.pem").issue(SUBJECT, ttl_s=3600)
    app = create_app(settings, database_url=state.url())
    raw = await asyncpg.connect(state.url().replace("+asyncpg", ""))
    login = await raw.prepare("SELECT * FROM codeliver_login($1, $2, NULL, NULL)")
    samples: dict[str, list[float]] = {"raw": [], "live": [], "me": []}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):
        for i in range(requests + 100):
            t0 = time.perf_counter()
            async with raw.transaction():
                await login.fetch(DEV_ISSUER, SUBJECT)
            t1 = time.perf_counter()
            assert (await client.get("/health/live")).status_code == 200
            t2 = time.perf_counter()
            assert (await client.get("/v1/me", headers=headers)).status_code == 200
            t3 = time.perf_counter()
            if i >= 100:  # warm-up
                samples["raw"].append(t1 - t0)
                samples["live"].append(t2 - t1)
                samples["me"].append(t3 - t2)
    await raw.close()
    cluster.stop()
    base = statistics.median(samples["raw"])
    print(f"{'what':<6} {'p50 ms':>8} {'p99 ms':>8} {'x raw p50':>10}")
    for name, values in samples.items():
        print(
            f"{name:<6} {pct(values, 0.5):8.3f} {pct(values, 0.99):8.3f} "
            f"{statistics.median(values) / base:10.1f}"
        )
    overhead = statistics.median(samples["me"]) - statistics.median(samples["live"]) - base
    print(
        f"/v1/me minus (empty route + raw login): {overhead * 1000:.3f} ms "
        "(token verification, pool checkout, SQLAlchemy, the org query, encoding)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
