"""The `codeliver simulate` command: options to a run, the run to a table, JSON and PNG."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from app.settings import Settings, SettingsError

QUICK: dict[str, Any] = {"volunteers": 200, "days": 1, "needs_per_volunteer_day": 0.15}


def _world_file(path: str) -> dict[str, Any]:
    text = Path(path).read_text()
    loaded: dict[str, Any] = tomllib.loads(text) if path.endswith(".toml") else json.loads(text)
    return loaded


def options(args: argparse.Namespace) -> Any:
    from app.simulation import Options
    from app.simulation.policies import BY_NAME, POLICIES, Policy, variant
    from app.simulation.response import CaseworkerModel
    from app.simulation.world import WorldModel

    model = WorldModel()
    if args.quick:
        model = replace(model, **QUICK)
    if args.world:
        model = model.overridden(_world_file(args.world))
    if args.volunteers is not None:
        model = replace(model, volunteers=args.volunteers)
    if args.days is not None:
        model = replace(model, days=args.days)
    policies: tuple[Policy, ...] = POLICIES
    if args.policies:
        unknown = [p for p in args.policies.split(",") if p not in BY_NAME]
        if unknown:
            raise SettingsError(f"unknown policies: {', '.join(unknown)}")
        policies = tuple(BY_NAME[p] for p in args.policies.split(","))
    try:
        policies += tuple(variant(spec) for spec in args.variant or ())
    except ValueError as error:
        raise SettingsError(str(error)) from None
    if len({p.name for p in policies}) < len(policies):
        raise SettingsError("two policies or variants share a name")
    caseworker = CaseworkerModel()
    if args.follow_ups is not None:
        if args.follow_ups < 0:
            raise SettingsError("--follow-ups must be 0 or more")
        caseworker = replace(caseworker, follow_ups=args.follow_ups)
    return Options(
        seed=args.seed, model=model, policies=policies, keep=args.keep, caseworker=caseworker
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    from app.simulation import coverage_truth, report, simulate, write_outputs
    from infra.localdb import LocalCluster

    if settings.database_url:
        print(
            "codeliver simulate needs the private cluster: unset CODELIVER_DATABASE_URL",
            file=sys.stderr,
        )
        return 2
    console = Console(stderr=True)
    opts = replace(options(args), progress=console.print)
    # A cluster of its own, not durable (its databases live for one run), like the tests'.
    cluster = LocalCluster(settings.state_dir / "sim-pg", durable=False)
    was_running = cluster.state() is not None and cluster.status() == "running"
    state = cluster.start()
    try:
        document = asyncio.run(simulate(cluster, state, opts))
    finally:
        if not was_running and not args.keep:
            cluster.stop()
    report.show(document["policies"], document["labels"], Console())
    coverage_truth.show(document, Console())
    json_path, png_path = write_outputs(document, Path(args.out))
    console.print(f"report: {json_path}, figure: {png_path} ({document['wall_seconds']} s)")
    broken = sum(r["violations"] for r in document["policies"].values())
    disagree = [n for n, r in document["policies"].items() if not r["agrees_with_metrics"]]
    if disagree:
        console.print(f"[red]the report and GET /v1/metrics/summary disagree for {disagree}[/red]")
    return 1 if broken or disagree else 0
