"""Sign-ups per second from one API process, and the server CPU each costs (issue 17).

    .venv/bin/python -m bench.signup [--signups 3000] [--concurrency 32]

One `codeliver serve` process (bench.common.served_process) against a scratch cluster seeded
with the demo borough. In one run, each at the same concurrency over keep-alive connections:
  empty    GET /health/live: the HTTP stack alone (no database, no token)
  signup   POST /v1/volunteers/me as a new person joining one organisation: token check,
           first login (the user row), the profile, the membership, the audit, the answer
  raw      asyncpg from this process, as the owner: BEGIN; INSERT users; INSERT volunteers;
           INSERT memberships; COMMIT (the rows a sign-up must write, and nothing else)
For each: requests per second, p50/p99 latency, and for the two HTTP kinds the server
process's CPU per request (user + system, from /proc). Tokens are signed before the clock
starts: the bench's own CPU is not the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from app.identity.tokens import DEV_ISSUER
from app.seed import ORGS, seed
from bench.common import (
    cpu_seconds,
    dsn,
    fresh_database,
    pct,
    served_process,
    start_cluster,
    token,
)

DATABASE = "bench_signup"
ORG = ORGS[0].slug


def body(n: int) -> dict[str, Any]:
    return {
        "display_name": f"Sign-up {n}",
        "home": {"lat": 51.45 + (n % 100) / 1000, "lon": -0.97 - (n % 77) / 1000},
        "max_travel_km": 5,
        "travel_mode": "walk",
        "languages": ["en"],
        "organisations": [ORG],
    }


async def _drive(
    n: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """Wall seconds for calls 0..n-1 spread over `concurrency` workers, and each call's time."""
    queue = iter(range(n))
    times: list[float] = []

    async def worker() -> None:
        for i in queue:
            t0 = time.perf_counter()
            await call(i)
            times.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, times


async def main(signups: int, concurrency: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner_url, app_url = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    await seed(owner_url, volunteers=0, progress=False)
    warm = 200
    headers = [{"Authorization": f"Bearer {token(f'bench-signup-{i}')}"} for i in range(signups)]
    owner = await asyncpg.connect(dsn(owner_url))
    org_id = await owner.fetchval("SELECT id FROM organisations WHERE slug = $1", ORG)
    pool = await asyncpg.create_pool(dsn(owner_url), min_size=concurrency, max_size=concurrency)
    results: dict[str, tuple[float, list[float], float | None]] = {}
    try:
        async with served_process(app_url, owner_url) as (client, pid):

            async def empty(i: int) -> None:
                assert (await client.get("/health/live")).status_code == 200

            async def signup(i: int) -> None:
                r = await client.post("/v1/volunteers/me", json=body(i), headers=headers[i])
                assert r.status_code == 201, r.text

            async def raw(i: int) -> None:
                await _raw_signup(pool, org_id, i)

            await _drive(warm, concurrency, empty)
            for name, call, n in (("empty", empty, signups), ("signup", signup, signups)):
                before = cpu_seconds(pid)
                wall, times = await _drive(n, concurrency, call)
                results[name] = (wall, times, (cpu_seconds(pid) - before) / n)
            wall, times = await _drive(signups, concurrency, raw)
            results["raw"] = (wall, times, None)
    finally:
        await pool.close()
        await owner.close()
    _report(results, signups, concurrency)


async def _raw_signup(pool: Any, org_id: object, i: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        user_id = await conn.fetchval(
            "INSERT INTO users (issuer, subject) VALUES ($1, $2) RETURNING id",
            DEV_ISSUER,
            f"bench-raw-{i}",
        )
        await conn.execute(
            "INSERT INTO volunteers (user_id, display_name, home, max_travel_km, travel_mode,"
            " languages, max_hours_per_week, max_active_assignments)"
            " VALUES ($1, $2, ST_MakePoint($3, $4)::geography, 5, 'walk', '{en}', 6, 2)",
            user_id,
            f"Raw {i}",
            -0.97,
            51.45,
        )
        await conn.execute(
            "INSERT INTO memberships (user_id, org_id, role, status, created_by)"
            " VALUES ($1, $2, 'volunteer', 'pending', $1)",
            user_id,
            org_id,
        )


def _report(
    results: dict[str, tuple[float, list[float], float | None]], n: int, concurrency: int
) -> None:
    print(f"{n} requests of each kind at concurrency {concurrency}, one server process")
    print(f"{'what':<7} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms':>14}")
    for name, (wall, times, cpu) in results.items():
        cpu_text = f"{cpu * 1000:14.2f}" if cpu is not None else f"{'-':>14}"
        print(
            f"{name:<7} {n / wall:8.0f} {pct(times, 0.5):8.2f} {pct(times, 0.99):8.2f} {cpu_text}"
        )
    signup_rate = n / results["signup"][0]
    print(f"sign-ups/s {signup_rate:.0f} (target >= 400); raw writes/s {n / results['raw'][0]:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--signups", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.signups, args.concurrency))
