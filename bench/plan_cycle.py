"""A coordinator's batch plan end to end: candidates from the DB, solve, write, commit.

    .venv/bin/python -m bench.plan_cycle [--needs 10000 --volunteers 100000 --repeat 3]

Starts a private cluster under .state/bench-plan-pg (kept between runs: the volunteers load
once, by COPY), seeds the demo borough with --volunteers people, and inserts --needs open
one-to-three-slot needs for tomorrow around the town centre into a programme of their own.
Then, through the whole HTTP stack:
  POST /v1/plans            the full cycle: needs, candidates (<= 50 per need, one set-based
                            statement), scoring, solve, greedy, the plan row, the response
  POST /v1/plans/{id}/commit  the plan's choices into offers and outbox rows
and on the very edges the plan used (re-fetched once, outside the timed cycle), interleaved
--repeat times: our `matching.batch.solve`, a plain OR-Tools reference
(`bench.batch_plan.reference`) and greedy. It also reads EXPLAIN of the candidate statement
to show the per-need scan stays index-ordered.

Measured here (2 cores, 100k volunteers): the candidate statement costs ~75 ms a need under
row-level security, so the request's 15 s statement timeout caps a plan at ~150 needs and
10k needs would take ~12 minutes of candidate fetching: run with --needs 50..100. The
solver alone at 10k x 100k is `bench.batch_plan`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.migrate import upgrade
from app.db.tenancy import tenant_transaction
from app.demo_population import TOWN_CENTRE
from app.factory import create_app
from app.identity.tokens import DEV_ISSUER, DevIssuer, TokenIdentity
from app.needs import facts
from app.plans import proposal
from app.seed import seed
from app.settings import Environment, Settings
from bench.batch_plan import reference
from geo import candidates
from infra.localdb import LocalCluster
from matching.batch import greedy, solve
from matching.model import Plan

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "demo-coordinator-reading-council"
PROGRAMME = "Batch plan benchmark"

SETUP = """
INSERT INTO programmes (org_id, name, kind)
SELECT id, :name, 'community_support' FROM organisations WHERE slug = 'reading-council'
ON CONFLICT (org_id, name) DO NOTHING
"""
CLEAR = """
DELETE FROM outbox;
DELETE FROM offers;
DELETE FROM plans;
DELETE FROM needs WHERE programme_id = (SELECT id FROM programmes WHERE name = :name);
"""
# Needs spread like the volunteers (app.demo_population), 09:00-20:00 tomorrow (London), an
# hour each: inside the 2 days of availability spans the bulk loader writes.
NEEDS = """
INSERT INTO needs (org_id, programme_id, title, mode, location, min_vetting, windows,
                   duration_minutes, slots, dispatch, status)
SELECT p.org_id, p.id, 'Benchmark need ' || n, 'in_person',
       ST_SetSRID(ST_MakePoint(:lon + 0.04 * g.x, :lat + 0.025 * g.y), 4326)::geography,
       'none',
       tstzmultirange(tstzrange(d + interval '9 hours', d + interval '20 hours')),
       60, 1 + (n % 3), 'manual', 'open'
  FROM programmes p,
       (SELECT (date_trunc('day', now() AT TIME ZONE 'Europe/London') + interval '1 day')
                 AT TIME ZONE 'Europe/London' AS d) day,
       generate_series(1, :needs) n,
       LATERAL (SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * r) AS x,
                       sqrt(-2 * ln(1 - random())) * sin(2 * pi() * r) AS y
                  FROM (SELECT random() AS r, n) s) g
 WHERE p.name = :name
"""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.0f}"


async def _prepare(owner_url: str, needs: int, volunteers: int) -> Any:
    t0 = time.perf_counter()
    await asyncio.to_thread(upgrade, owner_url)
    await seed(owner_url, volunteers=volunteers, progress=False)
    engine = create_async_engine(owner_url)
    async with engine.begin() as conn:
        await conn.execute(text(SETUP), {"name": PROGRAMME})
        for statement in CLEAR.strip().split(";")[:-1]:
            await conn.execute(text(statement), {"name": PROGRAMME})
        lat, lon = TOWN_CENTRE
        params = {"name": PROGRAMME, "needs": needs, "lat": lat, "lon": lon}
        await conn.execute(text(NEEDS), params)
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE needs, offers, assignments, plans"))
        programme = await conn.scalar(
            text("SELECT id FROM programmes WHERE name = :name"), {"name": PROGRAMME}
        )
        explain = await conn.execute(
            text("EXPLAIN " + candidates.MANY_STATEMENTS[(False, False)]),
            candidates.many_params(
                [
                    facts.query_of(r, datetime.now(UTC))
                    for r in await proposal.needs_of(conn, programme, *_period())
                ][:100]
            )
            | {"limit": proposal.EDGES_PER_NEED},
        )
        plan_text = "\n".join(explain.scalars())
    await engine.dispose()
    ordered = "Order By: (home <-> needs.location)" in plan_text
    print(
        f"setup {time.perf_counter() - t0:.1f} s; candidate scan index-ordered per need: "
        f"{'yes' if ordered else 'NO'}"
    )
    return programme


def _period() -> tuple[Any, Any]:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return now, now + timedelta(days=7)


async def main(needs: int, volunteers: int, repeat: int) -> None:
    cluster = LocalCluster(ROOT / ".state" / "bench-plan-pg", durable=False)
    state = cluster.start()
    try:
        programme = await _prepare(state.url(owner=True), needs, volunteers)
        await _run(state.url(), state.url(owner=True), programme, repeat)
    finally:
        cluster.stop()


async def _run(app_url: str, system_url: str, programme: Any, repeat: int) -> None:
    settings = Settings(
        env=Environment.TEST,
        state_dir=ROOT / ".state" / "bench",
        rate_limit_per_minute=0,
        log_level="WARNING",
    )
    token = DevIssuer(settings.state_dir / "dev-issuer.pem").issue(SUBJECT, ttl_s=3600)
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(settings, database_url=app_url, system_database_url=system_url)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600
        ) as client,
    ):
        engine = app.state.engine
        start, end = _period()
        body = {"programme_id": str(programme), "from": start.isoformat(), "to": end.isoformat()}
        t0 = time.perf_counter()
        r = await client.post("/v1/plans", headers=headers, json=body)
        cycle = time.perf_counter() - t0
        assert r.status_code == 201, r.text
        plan = r.json()
        totals = plan["totals"]
        # The same edges again (nothing changed in between), for the side-by-side solves.
        identity = TokenIdentity(DEV_ISSUER, SUBJECT)
        async with tenant_transaction(engine, identity) as tx:
            found = await proposal.needs_of(tx.conn, programme, start, end)
            inst = await proposal.gather(tx.conn, found, tx.now)
        t0 = time.perf_counter()
        r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=headers)
        commit = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        committed = r.json()
    args = (inst.slots, inst.capacity, inst.edges)
    times: dict[str, list[float]] = {"solve": [], "reference": [], "greedy": []}
    plans: dict[str, Plan] = {}
    for _ in range(repeat):
        for name, planner in (("solve", solve), ("reference", reference), ("greedy", greedy)):
            t = time.perf_counter()
            plans[name] = planner(*args)
            times[name].append(time.perf_counter() - t)
    _report(totals, cycle, commit, committed, plans, times, len(plan["choices"]))


def _report(
    totals: dict[str, Any],
    cycle: float,
    commit: float,
    committed: dict[str, Any],
    plans: dict[str, Plan],
    times: dict[str, list[float]],
    choices: int,
) -> None:
    print(
        f"{totals['needs']} needs, {totals['open_slots']} open slots, "
        f"{totals['candidate_edges']} candidate edges over {totals['candidate_volunteers']} "
        f"volunteers (history read: {totals['history_used']})"
    )
    opt = plans["reference"].total_cost
    ref_t = statistics.median(times["reference"])
    print(f"{'step':<34} {'ms':>9} {'filled':>7} {'total cost':>11} {'cost/opt':>9} {'t/ref':>6}")

    def row(name: str, ms: str, plan: Plan | None = None, t: float | None = None) -> None:
        cost = (
            f"{plan.filled:7d} {plan.total_cost:11d} {plan.total_cost / opt:9.4f}" if plan else ""
        )
        ratio = f" {t / ref_t:6.2f}" if t is not None else ""
        print(f"{name:<34} {ms:>9} {cost}{ratio}")

    rest = cycle * 1000 - sum(
        totals[k] for k in ("candidates_ms", "scoring_ms", "solve_ms", "greedy_ms")
    )
    row("candidates from the DB", f"{totals['candidates_ms']:9.0f}")
    row("eligibility + scoring (Python)", f"{totals['scoring_ms']:9.0f}")
    in_app = Plan((), totals["filled_slots"], totals["total_cost"])
    row("solve, in the request", f"{totals['solve_ms']:9.0f}", in_app)
    row("greedy, in the request", f"{totals['greedy_ms']:9.0f}")
    row("needs query, plan row, JSON, HTTP", f"{rest:9.0f}")
    row("FULL CYCLE POST /v1/plans", _ms(cycle))
    for name in ("solve", "reference", "greedy"):
        t = statistics.median(times[name])
        row(f"{name} (same edges, median)", _ms(t), plans[name], t)
    row(f"commit -> {committed['offered']} offers", _ms(commit))
    print(f"plan choices {choices}; commit skipped {committed['skipped']} {committed['reasons']}")
    assert plans["solve"].total_cost == opt, "solve must cost the optimum"
    assert plans["solve"].filled == plans["reference"].filled
    assert (totals["filled_slots"], totals["total_cost"]) == (plans["solve"].filled, opt)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.needs, args.volunteers, args.repeat))
