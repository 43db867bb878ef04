"""How evenly the cascade shares offers out, and what the remote candidate pool costs.

    .venv/bin/python -m bench.ranking_fairness [--volunteers 2000] [--copies 2]
        [--min-pool 0,30] [--old-remote]
    .venv/bin/python -m bench.ranking_fairness --explain 100000

Seeds the demo borough in a scratch database (afresh for each `--min-pool`), adds
`--copies` more of each seeded automatic need that is due (one-off, so more of the demo's
needs come at once), runs every cascade step that is due (first waves, as the worker would)
and prints, for in-person and remote offers: offers, volunteers offered, the most offers to
one person, and the Gini coefficient of offers over every approved volunteer (0: all
alike; 1: one person gets everything). `--min-pool` sets matching.cascade.MIN_POOL (0: as
before, `POOL` per offer to make); `--old-remote` puts back the remote walk in id order from
the lowest id.

With `--explain N`: seeds N volunteers instead and prints EXPLAIN ANALYZE of the remote
candidates statement for one remote need (pool 40), as it is and as it was: volunteers
walked, whether anything sorts, execution time.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import matching.cascade
from app.db.engine import STATEMENT_SETTINGS
from app.db.tables import needs
from app.needs import cascade, facts
from app.seed import seed
from bench.common import fresh_database, start_cluster
from geo import candidates

DATABASE = "bench_ranking"
# Offers per approved volunteer (zeros included), by the need's mode.
OFFERS = """
SELECT n.mode, coalesce(x.offers, 0) AS offers
  FROM (SELECT DISTINCT user_id FROM memberships
         WHERE role = 'volunteer' AND status = 'approved') m
 CROSS JOIN (VALUES ('in_person'), ('remote')) n(mode)
  LEFT JOIN (SELECT o.volunteer_id, t.mode, count(*) AS offers
               FROM offers o JOIN needs t ON t.id = o.need_id
              GROUP BY o.volunteer_id, t.mode) x
         ON x.volunteer_id = m.user_id AND x.mode = n.mode
"""


def _copies(copies: int) -> str:
    """Copies of the due automatic needs, as one-off needs (no series)."""
    skip = {"id", "series_id", "series_index", "created_at", "updated_at"}
    cols = ", ".join(c.name for c in needs.c if c.name not in skip)
    return f"""
INSERT INTO needs ({cols})
SELECT {cols} FROM needs, generate_series(1, {int(copies)})
 WHERE dispatch = 'auto' AND next_step_at <= now()"""  # noqa: S608 - column names, an int


def gini(values: list[int]) -> float:
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n


def old_remote() -> None:
    """The remote eligible statement as it was: id order from the lowest id."""
    c: Any = candidates
    inner = f"SELECT {c._FACTS} {c._JOINS} WHERE {c._ELIGIBLE} ORDER BY v.user_id LIMIT :limit"
    need = c._NEED.format(params=c._ONE)
    candidates.STATEMENTS[(True, False)] = c._RECORD.format(need=need, inner=inner)


async def run(volunteers: int, copies: int, min_pool: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    url = state.url(owner=True, database=DATABASE)
    await seed(url, volunteers=volunteers, progress=False)
    matching.cascade.MIN_POOL = min_pool
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(_copies(copies)))
        t0 = time.perf_counter()
        stepped = await cascade.run_due(engine)
        seconds = time.perf_counter() - t0
        async with engine.connect() as conn:
            rows = (await conn.execute(text(OFFERS))).all()
    finally:
        await engine.dispose()
    print(f"MIN_POOL={min_pool}: {stepped} needs stepped in {seconds:.1f} s")
    for mode in ("in_person", "remote"):
        counts = [int(r.offers) for r in rows if r.mode == mode]
        offered = sum(1 for c in counts if c)
        print(
            f"  {mode:9}  offers {sum(counts):5}  volunteers offered {offered:5} of"
            f" {len(counts)}  max {max(counts)}  Gini {gini(counts):.2f}"
        )


# A remote need of a council client, tomorrow, when the bulk seed's people are available.
REMOTE_NEED = """
INSERT INTO needs (org_id, programme_id, client_id, title, mode, min_vetting, windows,
                   duration_minutes, slots, dispatch, status)
SELECT t.org_id, t.programme_id, t.client_id, 'Bench: remote', 'remote', 'none',
       tstzmultirange(tstzrange(now() + interval '2 hours', now() + interval '26 hours')),
       60, 1, 'manual', 'open'
  FROM needs t JOIN organisations o ON o.id = t.org_id
 WHERE o.slug = 'reading-council' AND t.client_id IS NOT NULL
 ORDER BY t.id LIMIT 1
RETURNING id
"""


async def explain(volunteers: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    url = state.url(owner=True, database=DATABASE)
    await seed(url, volunteers=volunteers, progress=False)
    # as the app's engines: no JIT (docs/decisions.md, 10)
    engine = create_async_engine(url, connect_args={"server_settings": STATEMENT_SETTINGS})
    try:
        async with engine.begin() as conn:
            need_id = await conn.scalar(text(REMOTE_NEED))
        async with engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE"))
            row = await facts.load(conn, need_id)
            assert row is not None
            params = facts.query_of(row, datetime.now(UTC)).params() | {"limit": 40}
            for label in ("now", "before"):
                if label == "before":
                    old_remote()
                how = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
                got = await conn.execute(text(how + candidates.STATEMENTS[(True, False)]), params)
                plan = "\n".join(got.scalars())
                walked = re.search(r"on (?:memberships m|volunteers v) \(actual rows=(\d+)", plan)
                took = re.search(r"Execution Time: ([\d.]+) ms", plan)
                print(
                    f"{label:6}  {volunteers} volunteers: walked"
                    f" {walked[1] if walked else '?'} rows in id order,"
                    f" sorts: {'Sort' in plan}, hashes: {'Hash' in plan},"
                    f" execution {took[1] if took else '?'} ms"
                )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--min-pool", default=str(matching.cascade.MIN_POOL))
    parser.add_argument("--old-remote", action="store_true")
    parser.add_argument("--explain", type=int, default=0)
    args = parser.parse_args()
    if args.explain:
        asyncio.run(explain(args.explain))
        return
    if args.old_remote:
        old_remote()
    for min_pool in (int(p) for p in args.min_pool.split(",")):
        asyncio.run(run(args.volunteers, args.copies, min_pool))


if __name__ == "__main__":
    main()
