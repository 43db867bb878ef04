"""`codeliver simulate`: a simulated week through the real use cases (docs/simulation.md).

The world is built once, through the use cases, in a fresh database of the private cluster
(`codeliver_sim_<seed>`), migrated to head. Each policy then runs on its own copy of it
(`CREATE DATABASE ... TEMPLATE`), with its own virtual clock starting at the same instant,
in its own process (in one process, the policies' Python work shared one core). The copies
are dropped at the end unless `keep`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.clock import WALL, VirtualClock, register_clock
from app.db.engine import STATEMENT_SETTINGS
from app.db.migrate import upgrade
from app.db.tenancy import register_system, tenant_transaction
from app.programmes import service as programmes
from app.simulation import coverage_truth, report
from app.simulation.build import COORDINATOR, Built, build, identity
from app.simulation.collect import Feasibility, figures
from app.simulation.loop import Week
from app.simulation.policies import POLICIES, Policy
from app.simulation.response import CaseworkerModel, ResponseModel
from app.simulation.world import World, WorldModel, generate
from infra.localdb import ClusterState, LocalCluster


@dataclass(frozen=True)
class Options:
    seed: int = 1
    model: WorldModel = field(default_factory=WorldModel)
    response: ResponseModel = field(default_factory=ResponseModel)
    caseworker: CaseworkerModel = field(default_factory=CaseworkerModel)
    policies: tuple[Policy, ...] = POLICIES
    keep: bool = False
    progress: Any = None  # a callable(str) for progress lines


def _engines(
    state: ClusterState, name: str, clock: VirtualClock
) -> tuple[AsyncEngine, AsyncEngine]:
    args = {"connect_args": {"server_settings": dict(STATEMENT_SETTINGS)}}
    engine = create_async_engine(state.url(database=name), **args)
    system = create_async_engine(state.url(owner=True, database=name), **args)
    register_system(engine, system)
    register_clock(engine, clock)
    register_clock(system, clock)
    return engine, system


def clock_start(now: datetime) -> datetime:
    """The real current time rounded up to the hour: ahead of wall time from the first
    step, so that use cases still reading wall time accept what the simulation posts."""
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def _configure(engine: AsyncEngine, built: Built, policy: Policy) -> None:
    if policy.patch is None:
        return
    async with tenant_transaction(engine, identity(COORDINATOR)) as tx:
        for programme_id in built.programmes.values():
            await programmes.update_programme(tx, programme_id, policy.patch)


async def _one_policy(
    cluster: LocalCluster,
    state: ClusterState,
    template: str,
    world: World,
    built: Built,
    policy: Policy,
    opts: Options,
    start: datetime,
    truth: coverage_truth.Forecast,
) -> dict[str, Any]:
    name = f"{template}_{policy.name}"
    await asyncio.to_thread(cluster.drop_database, name)
    await asyncio.to_thread(cluster.create_database, name, template=template)
    clock = VirtualClock(start)
    engine, system = _engines(state, name, clock)
    try:
        await _configure(engine, built, policy)
        began = time.monotonic()
        week = Week(engine, system, clock, world, built, policy, opts.response, opts.caseworker)
        tally = await week.run()
        result = await figures(system, week, tally, Feasibility(), built)
        result["coverage_truth"] = await coverage_truth.score(system, truth, week.end)
        result["wall_seconds"] = round(time.monotonic() - began, 1)
        return result
    finally:
        await engine.dispose()
        await system.dispose()
        if not opts.keep:
            await asyncio.to_thread(cluster.drop_database, name)


def _policy_process(
    cluster: LocalCluster,
    state: ClusterState,
    template: str,
    world: World,
    built: Built,
    policy: Policy,
    opts: Options,
    start: datetime,
    truth: coverage_truth.Forecast,
) -> dict[str, Any]:
    """One policy's run, in a process of its own (its engines, clock and event loop)."""
    return asyncio.run(
        _one_policy(cluster, state, template, world, built, policy, opts, start, truth)
    )


async def simulate(cluster: LocalCluster, state: ClusterState, opts: Options) -> dict[str, Any]:
    say = opts.progress or (lambda _line: None)
    world = generate(opts.model, opts.seed)
    template = f"codeliver_sim_{opts.seed}"
    cluster.drop_database(template)
    cluster.create_database(template)
    began = time.monotonic()
    try:
        await asyncio.to_thread(upgrade, state.url(owner=True, database=template))
        start = clock_start(WALL.now())  # the one wall-time read: where the virtual week begins
        clock = VirtualClock(start)
        engine, system = _engines(state, template, clock)
        try:
            built = await build(engine, system, world, start.date())
        finally:
            await engine.dispose()
            await system.dispose()
        say(f"world built: {len(world.volunteers)} volunteers, {len(world.needs)} needs to post")
        truth = await coverage_truth.forecast(
            cluster, state, template, world, built, start, _engines
        )
        say(f"coverage map at the start: {len(truth.gaps[13])} gap cells at resolution 13")

        # The policies run side by side, each on its own copy, clock and process, all at
        # once: each waits on the database a third of its time, and a policy left alone at
        # the end would leave a core idle. Spawned, not forked: a fork would copy this
        # process's event loop and connection pools.
        quiet = replace(opts, progress=None)  # a callable does not cross processes
        spawn = multiprocessing.get_context("spawn")
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=len(opts.policies), mp_context=spawn) as pool:

            async def one(policy: Policy) -> dict[str, Any]:
                args = (cluster, state, template, world, built, policy, quiet, start, truth)
                result: dict[str, Any] = await loop.run_in_executor(pool, _policy_process, *args)
                say(f"{policy.label}: done in {result['wall_seconds']} s")
                return result

            done = await asyncio.gather(*(one(p) for p in opts.policies))
        results = {p.name: r for p, r in zip(opts.policies, done, strict=True)}
    finally:
        if not opts.keep:
            cluster.drop_database(template)
    report.with_ratios(results)
    return {
        "seed": opts.seed,
        "clock_start": start.isoformat(),
        "volunteers": len(world.volunteers),
        "needs_posted": len(world.needs),
        "days": opts.model.days,
        "wall_seconds": round(time.monotonic() - began, 1),
        "world_model": _plain(opts.model),
        "response_model": _plain(opts.response),
        "caseworker_model": _plain(opts.caseworker),
        "labels": {p.name: p.label for p in opts.policies},
        "policies": results,
        "coverage_map": coverage_truth.plain(truth),
    }


def _plain(model: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(model)


def write_outputs(document: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "simulation.json", out / "simulation.png"
    report.write_json(json_path, document)
    report.figure(png_path, document["policies"], document["labels"])
    coverage_truth.figure(out / "coverage_truth.png", document)
    return json_path, png_path
