"""Accept under contention: the endpoint vs the raw conditional UPDATE it guards vs an empty route.

    .venv/bin/python -m bench.accept [--racers 200 --rounds 20]

Creates a scratch database in the cluster under .state/bench-pg with the demo organisations
and `--racers` approved volunteers of the council. Each round makes a 1-slot remote need
offered to every racer, then, in rotating order so that all share the machine's noise:
  empty      every racer at once: GET /health/live through uvicorn
  endpoint   every racer at once: POST /v1/offers/{their offer}/accept through uvicorn
             (`codeliver serve` in its own process, its pool of db_pool_size +
             db_max_overflow connections)
  raw        every racer at once: UPDATE needs SET filled = filled + 1 WHERE id = $1 AND
             filled < slots on a 1-slot need of its own, autocommit, from an asyncpg pool
             as large as the app's, as the owner (the bare guarded update: the app role
             would need a codeliver_login() transaction to see the need at all)
Each sample is one racer's latency from the start of the round. Checks each round: exactly
one 200 and the rest 409 (no 5xx), exactly one raw UPDATE that changed a row.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from app.db.engine import STATEMENT_SETTINGS
from app.identity.tokens import DEV_ISSUER
from app.seed import seed
from bench.common import dsn, fresh_database, p50, pct, served, settings, start_cluster, token

DATABASE = "bench_accept"
RACERS = """
WITH made AS (
  INSERT INTO users (issuer, subject, display_name)
  SELECT $1, 'bench-racer-' || i, 'Racer ' || i FROM generate_series(1, $2) AS i
  RETURNING id, subject, display_name),
joined AS (
  INSERT INTO memberships (org_id, user_id, role, status)
  SELECT $3, id, 'volunteer', 'approved' FROM made)
INSERT INTO volunteers (user_id, display_name, home, max_travel_km, travel_mode,
                        max_hours_per_week, max_active_assignments)
SELECT id, display_name, 'SRID=4326;POINT(-0.9712 51.4551)', 10, 'walk', 80, 20 FROM made
RETURNING user_id, (SELECT subject FROM made WHERE made.id = user_id) AS subject
"""
# Each round's need gets its own hour, so a winner of earlier rounds has no conflict.
NEED = """
INSERT INTO needs (org_id, programme_id, title, mode, min_vetting, windows, duration_minutes,
                   slots, dispatch, status)
VALUES ($1, $2, $3, 'remote', 'none',
        tstzmultirange(tstzrange(now() + make_interval(days => 1, hours => $4),
                                 now() + make_interval(days => 1, hours => $4 + 1))),
        30, 1, 'manual', 'open')
RETURNING id
"""
OFFERS = """
INSERT INTO offers (org_id, need_id, volunteer_id, wave, source, expires_at)
SELECT $1, $2, v, 1, 'manual', now() + interval '1 day' FROM unnest($3::uuid[]) AS v
RETURNING id, volunteer_id
"""
UPDATE = "UPDATE needs SET filled = filled + 1 WHERE id = $1 AND filled < slots"


@dataclass(frozen=True)
class Crowd:
    org_id: uuid.UUID
    programme_id: uuid.UUID
    ids: list[uuid.UUID]
    headers: list[dict[str, str]]


async def make_crowd(owner: Any, racers: int) -> Crowd:
    org_id = await owner.fetchval("SELECT id FROM organisations WHERE slug = 'reading-council'")
    programme_id = await owner.fetchval(
        "SELECT id FROM programmes WHERE org_id = $1 ORDER BY id LIMIT 1", org_id
    )
    rows = await owner.fetch(RACERS, DEV_ISSUER, racers, org_id)
    headers = [{"Authorization": f"Bearer {token(r['subject'])}"} for r in rows]
    return Crowd(org_id, programme_id, [r["user_id"] for r in rows], headers)


async def need(owner: Any, crowd: Crowd, n: int, *, offered: bool) -> tuple[Any, list[Any]]:
    """A 1-slot need (round n) and, when offered, each racer's offer id, in crowd order."""
    need_id = await owner.fetchval(NEED, crowd.org_id, crowd.programme_id, f"Race {n}", n)
    if not offered:
        return need_id, []
    made = {
        r["volunteer_id"]: r["id"]
        for r in await owner.fetch(OFFERS, crowd.org_id, need_id, crowd.ids)
    }
    return need_id, [made[v] for v in crowd.ids]


async def race(calls: list[Callable[[], Awaitable[Any]]]) -> tuple[list[float], list[Any]]:
    """Every call at once; each one's latency from the common start, and its result."""
    start = time.perf_counter()

    async def one(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
        result = await call()
        return time.perf_counter() - start, result

    done = await asyncio.gather(*(one(c) for c in calls))
    return [t for t, _ in done], [r for _, r in done]


def endpoint_calls(client: httpx.AsyncClient, crowd: Crowd, offers: list[Any]) -> list[Any]:
    def call(offer_id: Any, headers: dict[str, str]) -> Callable[[], Awaitable[int]]:
        async def go() -> int:
            return (await client.post(f"/v1/offers/{offer_id}/accept", headers=headers)).status_code

        return go

    return [call(o, h) for o, h in zip(offers, crowd.headers, strict=True)]


def raw_calls(pool: Any, need_id: Any, racers: int) -> list[Any]:
    async def go() -> str:
        async with pool.acquire() as conn:
            return str(await conn.execute(UPDATE, need_id))

    return [go] * racers


def empty_calls(client: httpx.AsyncClient, racers: int) -> list[Any]:
    async def go() -> int:
        return (await client.get("/health/live")).status_code

    return [go] * racers


async def one_round(
    n: int, owner: Any, pool: Any, client: httpx.AsyncClient, crowd: Crowd
) -> dict[str, list[float]]:
    racers = len(crowd.ids)
    _, offers = await need(owner, crowd, n, offered=True)
    raw_need, _ = await need(owner, crowd, n, offered=False)
    kinds = {
        "empty": empty_calls(client, racers),
        "endpoint": endpoint_calls(client, crowd, offers),
        "raw": raw_calls(pool, raw_need, racers),
    }
    order = list(kinds)[n % 3 :] + list(kinds)[: n % 3]
    samples: dict[str, list[float]] = {}
    for kind in order:
        samples[kind], results = await race(kinds[kind])
        check(kind, results, racers)
    return samples


def check(kind: str, results: list[Any], racers: int) -> None:
    counts = Counter(results)
    expected: Counter[Any] = {  # type: ignore[assignment]
        "empty": Counter({200: racers}),
        "endpoint": Counter({200: 1, 409: racers - 1}),
        "raw": Counter({"UPDATE 1": 1, "UPDATE 0": racers - 1}),
    }[kind]
    if counts != expected:
        raise AssertionError(f"{kind}: {dict(counts)}, expected {dict(expected)}")


async def main(racers: int, rounds: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner_url, app_url = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    await seed(owner_url, volunteers=0, progress=False)
    owner = await asyncpg.connect(dsn(owner_url))
    size = settings().db_pool_size + settings().db_max_overflow
    pool = await asyncpg.create_pool(
        dsn(owner_url), min_size=size, max_size=size, server_settings=STATEMENT_SETTINGS
    )
    samples: dict[str, list[float]] = {"empty": [], "raw": [], "endpoint": []}
    try:
        crowd = await make_crowd(owner, racers)
        async with served(app_url, owner_url) as client:
            await one_round(0, owner, pool, client, crowd)  # warm-up: connections, caches
            for n in range(1, rounds + 1):
                for kind, values in (await one_round(n, owner, pool, client, crowd)).items():
                    samples[kind] += values
    finally:
        await pool.close()
        await owner.close()
    print(f"{racers} racers x {rounds} rounds, exactly one 200 (and one UPDATE 1) per round")
    print(f"{'what':<9} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, values in samples.items():
        print(f"{kind:<9} {p50(values):8.2f} {pct(values, 0.99):8.2f}")
    ratio = p50(samples["endpoint"]) / (p50(samples["raw"]) + p50(samples["empty"]))
    print(f"endpoint p50 / (raw p50 + empty p50) = {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--racers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.racers, args.rounds))
