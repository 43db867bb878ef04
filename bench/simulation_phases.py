"""Where a simulated week's time goes: `codeliver simulate`, timed phase by phase.

    PYTHONPATH=$PWD .venv/bin/python -m bench.simulation_phases [simulate's options]
        [--start 2026-12-03T18:00:00+00:00]

Runs the simulation of docs/simulation.md (cluster under .state/sim-pg) with timers around
the migration, the build, each policy's event handlers, worker steps and per-step look
(`Week.after_step`), the push drains, the invariant checks and the figures, and prints
the wall seconds and calls of each. `--start` pins the virtual clock's start (by default
the real time rounded up to the hour), so that two runs on different code post the same
week at the same hours and their figures can be compared.

`--feed-ab` also runs, at every open-call feed visit and in the same transaction, the feed
as it was before it decided a page at once (a statement per listed need for its row and
one for the caller's facts), alternating which goes first; it prints both times and counts
the visits where the two lists differ (there should be none).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import app.simulation as sim
from app.assignments import open_calls
from app.db.tenancy import Tx
from app.needs import facts, slots
from app.needs.schemas import NeedSummary
from app.needs.summary import need_summary
from app.simulation import invariants, loop
from app.simulation.command import options
from geo.sites import open_calls_near
from infra.localdb import LocalCluster
from notifications.dispatcher import Dispatcher

ROOT = Path(__file__).resolve().parent.parent
SPENT: defaultdict[str, float] = defaultdict(float)
CALLS: Counter[str] = Counter()


def _timed(owner: Any, name: str) -> None:
    inner = getattr(owner, name)

    async def timed(*args: Any, **kw: Any) -> Any:
        # The week's policy names the key; the dispatcher's `policy` is its retry policy.
        policy = getattr(getattr(args[0], "policy", None), "name", None) if args else None
        key = name if policy is None else f"{policy}.{name}"
        began = time.perf_counter()
        try:
            return await inner(*args, **kw)
        finally:
            SPENT[key] += time.perf_counter() - began
            CALLS[key] += 1

    setattr(owner, name, timed)


def _instrument() -> None:
    for name in dir(loop.Week):
        if name.startswith("on_") or name in ("worker_steps", "after_step"):
            _timed(loop.Week, name)
    _timed(Dispatcher, "run_once")
    _timed(invariants, "load_breaks")
    _timed(sim, "build")
    _timed(sim, "figures")
    migrate: Callable[[str], None] = getattr(sim, "upgrade")  # noqa: B009

    def upgrade(url: str) -> None:
        began = time.perf_counter()
        migrate(url)
        SPENT["migrate"] += time.perf_counter() - began
        CALLS["migrate"] += 1

    setattr(sim, "upgrade", upgrade)  # noqa: B010


async def _feed_one_by_one(
    tx: Tx, lat: float, lon: float, radius_km: float, limit: int
) -> list[NeedSummary]:
    """The feed before it decided a page at once: a row and a refusal per listed need."""
    user = tx.principal.user_id
    ids = await open_calls_near(
        tx.conn,
        user,
        lat,
        lon,
        radius_km * 1000,
        open_calls.OK_LEVELS,
        limit * open_calls.FEED_SCAN,
        tx.now,
    )
    shown: list[NeedSummary] = []
    for need_id in ids:
        row = await facts.load(tx.conn, need_id)
        if row and slots.has_room(row) and await open_calls.claim_refusal(tx, row) is None:
            shown.append(need_summary(row, row.id))
            if len(shown) == limit:
                break
    return shown


def _feed_ab() -> None:
    batched = open_calls.feed
    visits = 0

    async def both(tx: Tx, lat: float, lon: float, radius_km: float, limit: int) -> Any:
        nonlocal visits
        visits += 1
        ways = [("feed, a page at once", batched), ("feed, one need at a time", _feed_one_by_one)]
        results: dict[str, list[NeedSummary]] = {}
        for name, way in ways if visits % 2 else ways[::-1]:
            began = time.perf_counter()
            results[name] = await way(tx, lat, lon, radius_km, limit)
            SPENT[name] += time.perf_counter() - began
            CALLS[name] += 1
        first, second = ([n.id for n in r] for r in results.values())
        CALLS["feed lists differ"] += first != second
        if visits % 500 == 0:
            print(
                ", ".join(f"{n} {SPENT[n] / CALLS[n] * 1000:.1f} ms" for n, _ in ways), flush=True
            )
        return results[ways[0][0]]

    setattr(open_calls, "feed", both)  # noqa: B010


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--volunteers", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--world")
    parser.add_argument("--policies")
    parser.add_argument("--variant", action="append")
    parser.add_argument("--follow-ups", type=int)
    parser.add_argument("--start", type=datetime.fromisoformat)
    parser.add_argument("--out", default=str(ROOT / ".state" / "sim-phases"))
    parser.add_argument("--feed-ab", action="store_true")
    args = parser.parse_args()
    args.keep = False
    if args.start is not None:
        setattr(sim, "clock_start", lambda _now: args.start)  # noqa: B010
    _instrument()
    if args.feed_ab:
        _feed_ab()
    opts = replace(options(args), progress=lambda line: print(time.strftime("%H:%M:%S"), line))
    cluster = LocalCluster(ROOT / ".state" / "sim-pg", durable=False)
    began = time.perf_counter()
    try:
        document = asyncio.run(sim.simulate(cluster, cluster.start(), opts))
    finally:
        cluster.stop()
    sim.write_outputs(document, Path(args.out))
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(f"total {time.perf_counter() - began:.1f} s, python CPU {used.ru_utime:.1f} s")
    for key in sorted(SPENT, key=lambda k: -SPENT[k]):
        print(f"{key:32s} {SPENT[key]:8.1f} s  {CALLS[key]:7d} calls")
    for name, r in document["policies"].items():
        broken = sum(e["count"] for e in r["invariants"].values())
        print(f"{name}: {r['wall_seconds']} s, {broken} violations")


if __name__ == "__main__":
    main()
