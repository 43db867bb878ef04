"""Offers per second on one primary: the cascade's first waves written by the worker's own
job (issue 17).

    .venv/bin/python -m bench.offer_rate [--needs 300] [--loops 1,4] [--volunteers 2000]

A scratch database seeded with the demo borough and `--volunteers` bulk volunteers. For each
`--loops` count, `--needs` remote needs of the three organisations (the timed cascade,
`dispatch = auto`), due now, are inserted as the owner; then that many `cascade.run_due`
loops (what `codeliver worker` runs, one process, on the system login) step them side by
side: each step loads the need, searches its candidates (geo/candidates.py), ranks them and
writes the first wave's offers, their outbox messages and the need's next step, one
transaction per need. Reported: offers written per second, needs stepped per second and
offers per need, with this process's CPU and PostgreSQL's per offer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.dialects.postgresql.ranges import MultiRange
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_engine
from app.db.tables import needs, offers
from app.needs import cascade
from app.seed import seed
from bench.common import cpu_seconds, fresh_database, settings, start_cluster
from bench.load_mix import cluster_cpu

DATABASE = "bench_offer_rate"


async def _due_needs(owner: AsyncEngine, count: int, round_: int) -> None:
    start = datetime.now(UTC) + timedelta(days=1 + round_)
    async with owner.begin() as conn:
        programmes = (
            await conn.execute(
                text(
                    "SELECT DISTINCT ON (org_id) org_id, id FROM programmes"
                    " ORDER BY org_id, min_vetting <> 'none', name"
                )
            )
        ).all()
        await conn.execute(
            insert(needs),
            [
                {
                    "org_id": programmes[n % len(programmes)][0],
                    "programme_id": programmes[n % len(programmes)][1],
                    "title": f"Offer rate {round_}-{n}",
                    "mode": "remote",
                    "min_vetting": "none",
                    "windows": MultiRange(
                        [
                            Range(
                                start + timedelta(minutes=5 * n),
                                start + timedelta(minutes=5 * n + 60),
                            )
                        ]
                    ),
                    "duration_minutes": 30,
                    "slots": 1,
                    "dispatch": "auto",
                    "status": "open",
                    "next_step_at": datetime.now(UTC),
                }
                for n in range(count)
            ],
        )


async def main(count: int, loops: list[int], volunteers: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner_url = state.url(owner=True, database=DATABASE)
    await seed(owner_url, volunteers=volunteers, progress=False)
    owner = create_engine(owner_url, settings())
    async with owner.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    print(
        f"{volunteers} volunteers, {count} due needs a round; load average"
        f" {os.getloadavg()[0]:.2f} at the start"
    )
    print(
        f"{'loops':>5} {'offers/s':>9} {'needs/s':>8} {'offers/need':>11}"
        f" {'bench CPU ms/offer':>18} {'PG CPU ms/offer':>15}"
    )
    try:
        for round_, n in enumerate([1, *loops]):  # the first round warms up, not reported
            await _due_needs(owner, count if round_ else 20, round_)
            async with owner.connect() as conn:
                before = await conn.scalar(select(func.count()).select_from(offers)) or 0
            cpu0, pg0, t0 = (
                cpu_seconds(os.getpid()),
                cluster_cpu(state.data_dir),
                time.perf_counter(),
            )
            await asyncio.gather(*(cascade.run_due(owner) for _ in range(n)))
            wall = time.perf_counter() - t0
            cpu, pg = cpu_seconds(os.getpid()) - cpu0, cluster_cpu(state.data_dir) - pg0
            async with owner.connect() as conn:
                made = (await conn.scalar(select(func.count()).select_from(offers)) or 0) - before
            if round_ and made:
                print(
                    f"{n:>5} {made / wall:9.0f} {count / wall:8.1f} {made / count:11.1f}"
                    f" {cpu / made * 1000:18.2f} {pg / made * 1000:15.2f}"
                )
    finally:
        await owner.dispose()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--needs", type=int, default=300)
    parser.add_argument("--loops", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4])
    parser.add_argument("--volunteers", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.needs, args.loops, args.volunteers))
