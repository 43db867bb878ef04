"""The candidates endpoint vs the raw asyncpg statement it runs vs an empty route.

    .venv/bin/python -m bench.candidates [--volunteers 100000,1000000] [--requests 2000]

Creates a scratch database in the cluster under .state/bench-pg, seeds the demo borough and
grows it to each size in turn (bulk COPY), adds a few in-person manual needs in Reading
(windows in the next day, when the bulk seed's people have availability), then measures
in one run, interleaved and in rotating order so that all share the machine's noise:
  empty      GET /health/live through uvicorn (HTTP, ASGI, no database, no auth)
  endpoint   GET /v1/needs/{id}/candidates?limit=10 as the demo caseworker, through uvicorn
             (`codeliver serve` in its own process: uvloop, httptools, the app's pool)
  raw app    the endpoint's prepared statement (geo.candidates.STATEMENTS, same text, same
             arguments, limit 10 x cascade.POOL), as the app role in a transaction after
             codeliver_login() for the caseworker: row-level security applies as in the app
  raw owner  the same statement as the owner (no row-level security)
  login      the codeliver_login() round trip every request pays (for the breakdown)
  other SQL  the endpoint's other statements (need load, names), raw, in one transaction
Then prints EXPLAIN (ANALYZE, BUFFERS) of the statement as the app role, and checks that the
plan is a KNN scan ordered by the GiST index, as a custom and as a generic plan.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import select, text

from app.db.engine import STATEMENT_SETTINGS
from app.db.tables import volunteers
from app.identity.tokens import DEV_ISSUER
from app.needs import cascade, facts
from app.seed import seed
from bench.common import (
    CASEWORKER,
    dsn,
    fresh_database,
    p50,
    pct,
    positional,
    served,
    start_cluster,
    timed,
    token,
)
from geo.candidates import STATEMENTS, index_ordered

DATABASE = "bench_candidates"
LIMIT = 10
LOGIN = "SELECT * FROM codeliver_login($1, $2, NULL, NULL)"
# A few in-person needs of the council's clients, tomorrow-ish, half of them needing a skill
# that ~40 % of volunteers have: the index walk stops after 40 eligible people either way.
NEEDS = """
INSERT INTO needs (org_id, programme_id, client_id, title, mode, location, coarse_location,
                   min_vetting, windows, duration_minutes, slots, dispatch, status,
                   required_skills)
SELECT t.org_id, t.programme_id, t.client_id, 'Bench: ' || t.title, 'in_person', t.location,
       t.coarse_location, t.min_vetting,
       tstzmultirange(tstzrange(now() + interval '2 hours', now() + interval '26 hours')),
       60, 1, 'manual', 'open',
       CASE WHEN t.n % 2 = 0 THEN '{}'::text[] ELSE '{shopping}'::text[] END
  FROM (SELECT t.*, row_number() OVER (ORDER BY t.id) AS n
          FROM needs t JOIN organisations o ON o.id = t.org_id
         WHERE o.slug = 'reading-council' AND t.mode = 'in_person'
           AND t.client_id IS NOT NULL AND t.series_id IS NULL
         ORDER BY t.id LIMIT $1) t
RETURNING id, mode, min_vetting, windows,
          (SELECT kind FROM programmes p WHERE p.id = programme_id) AS kind
"""
ROWS = ("empty", "endpoint", "raw app", "raw owner", "login", "other SQL")


@dataclass(frozen=True)
class Need:
    id: uuid.UUID
    statement: tuple[str, list[Any]]  # the candidates statement and its arguments
    load: tuple[str, list[Any]]  # facts.load's statement
    names: tuple[str, list[Any]] = ("", [])  # service._names' statement for the result


async def make_needs(owner: Any, count: int = 4) -> list[Need]:
    made = []
    for row in await owner.fetch(NEEDS, count):
        params = facts.query_of(SimpleNamespace(**dict(row)), datetime.now(UTC)).params()
        statement = positional(
            text(STATEMENTS[(False, False)]), params | {"limit": LIMIT * cascade.POOL}
        )
        made.append(Need(row["id"], statement, positional(facts.statement(row["id"]), {})))
    return made


@dataclass(frozen=True)
class Raw:
    """The raw side: asyncpg connections as the app role and as the owner."""

    app: Any
    owner: Any

    async def statement(self, need: Need) -> dict[str, float]:
        sql, args = need.statement
        async with self.app.transaction():
            login = await timed(lambda: self.app.fetch(LOGIN, DEV_ISSUER, CASEWORKER))
            query = await timed(lambda: self.app.fetch(sql, *args))
        return {"login": login, "raw app": query}

    async def as_owner(self, need: Need) -> dict[str, float]:
        sql, args = need.statement
        return {"raw owner": await timed(lambda: self.owner.fetch(sql, *args))}

    async def other_sql(self, need: Need) -> dict[str, float]:
        async with self.app.transaction():
            await self.app.fetch(LOGIN, DEV_ISSUER, CASEWORKER)
            t = await timed(lambda: self.app.fetch(need.load[0], *need.load[1]))
            if need.names[0]:
                t += await timed(lambda: self.app.fetch(need.names[0], *need.names[1]))
        return {"other SQL": t}


async def with_names(raw: Raw, need: Need) -> Need:
    """The need with the names query the endpoint runs for its result (checked equal)."""
    sql, args = need.statement
    async with raw.app.transaction():
        await raw.app.fetch(LOGIN, DEV_ISSUER, CASEWORKER)
        rows = await raw.app.fetch(sql, *args)
    ids = [r["user_id"] for r in rows][:LIMIT]
    stmt = select(volunteers.c.user_id, volunteers.c.display_name)
    names = positional(stmt.where(volunteers.c.user_id.in_(ids)), {})
    return Need(need.id, need.statement, need.load, names)


Step = Callable[[], Awaitable[dict[str, float]]]


def steps(client: httpx.AsyncClient, raw: Raw, need: Need, headers: dict[str, str]) -> list[Step]:
    async def empty() -> dict[str, float]:
        return {"empty": await timed(lambda: _ok(client.get("/health/live")))}

    async def endpoint() -> dict[str, float]:
        url = f"/v1/needs/{need.id}/candidates"
        params = {"limit": LIMIT}
        call = lambda: _ok(client.get(url, params=params, headers=headers), LIMIT)  # noqa: E731
        return {"endpoint": await timed(call)}

    return [
        empty,
        endpoint,
        lambda: raw.statement(need),
        lambda: raw.as_owner(need),
        lambda: raw.other_sql(need),
    ]


async def _ok(call: Awaitable[httpx.Response], count: int | None = None) -> None:
    response = await call
    assert response.status_code == 200, response.text
    assert count is None or len(response.json()) == count, response.text


async def measure(
    client: httpx.AsyncClient, raw: Raw, needs: list[Need], requests: int
) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {token(CASEWORKER)}"}
    per_need = [steps(client, raw, need, headers) for need in needs]
    samples: dict[str, list[float]] = {name: [] for name in ROWS}
    warmup = min(100, max(1, requests // 10))
    for i in range(requests + warmup):
        round_ = per_need[i % len(needs)]
        shift = (i // len(needs)) % len(round_)  # rotate who goes first
        for step in round_[shift:] + round_[:shift]:
            for name, seconds in (await step()).items():
                if i >= warmup:
                    samples[name].append(seconds)
    return samples


async def explain(raw: Raw, need: Need, *, generic: bool) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) as the app role in the caseworker's tenant transaction."""
    sql, args = need.statement
    async with raw.app.transaction():
        await raw.app.fetch(LOGIN, DEV_ISSUER, CASEWORKER)
        if generic:
            await raw.app.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        rows = await raw.app.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
    return "\n".join(r[0] for r in rows)


def report(size: int, samples: dict[str, list[float]]) -> list[str]:
    lines = [
        f"{size:>10} {name:<10} {p50(values):8.3f} {pct(values, 0.99):8.3f}"
        for name, values in samples.items()
    ]
    ratio = p50(samples["endpoint"]) / (p50(samples["raw app"]) + p50(samples["empty"]))
    owner = p50(samples["endpoint"]) / (p50(samples["raw owner"]) + p50(samples["empty"]))
    lines.append(
        f"{size:>10} endpoint p50 / (raw app p50 + empty p50) = {ratio:.2f} (target <= 1.3;"
        f" with raw owner: {owner:.2f}); endpoint p99 {pct(samples['endpoint'], 0.99):.2f} ms"
    )
    return lines


async def run_size(state: Any, size: int, requests: int) -> list[str]:
    owner_url, app_url = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    await seed(owner_url, volunteers=size, progress=False)
    owner = await asyncpg.connect(dsn(owner_url), server_settings=STATEMENT_SETTINGS)
    app = await asyncpg.connect(dsn(app_url), server_settings=STATEMENT_SETTINGS)
    try:
        needs = await make_needs(owner)
        await owner.execute("ANALYZE")
        raw = Raw(app, owner)
        needs = [await with_names(raw, need) for need in needs]
        for generic in (False, True):
            plan = await explain(raw, needs[0], generic=generic)
            kind = "generic" if generic else "custom"
            print(f"-- {size} volunteers, {kind} plan as the app role --\n{plan}\n")
            verdict = "index-ordered KNN" if index_ordered(plan) else "NOT INDEX-ORDERED"
            print(f"-- {kind} plan: {verdict} --\n")
        async with served(app_url, owner_url) as client:
            samples = await measure(client, raw, needs, requests)
    finally:
        await app.close()
        await owner.close()
    return report(size, samples)


async def main(sizes: list[int], requests: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    lines = []
    for size in sorted(sizes):
        lines += await run_size(state, size, requests)
        print(f"{'volunteers':>10} {'what':<10} {'p50 ms':>8} {'p99 ms':>8}")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", default="100000,1000000")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main([int(n) for n in args.volunteers.split(",")], args.requests))
