"""The coverage map checked against what fails (issue 13, part 2).

At the start of the run's week, on a copy of the world of its own, the caseworker posts every
need the week will bring (`needs.create`, dispatch `manual`: nobody is offered anything), and
the coordinator reads the map through the real use case (`app/coverage/service.py: hexes`,
computed on the spot at every resolution). That is the map a coordinator would see on the
Monday if the week's requests were all in: the forecast. After each policy's week, the needs
that went unfilled or escalated are placed in the same cells (`geo/coverage.py: need_cells`):

- recall: the share of failed in-person needs that fall in cells the map calls gaps
  (gap_hours > 0);
- precision: the share of gap cells holding at least one failed need.

The map's supply is the hours volunteers are expected to give: at the start of the week the
world has no offers yet, so the share of offers accepted is the prior; the run reports it
beside the share its own week's offers were accepted at.

The k rule is a display rule, not part of the measure: the forecast reads the map with k = 1.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import VirtualClock
from app.coverage import service as coverage
from app.db.tenancy import tenant_transaction
from app.errors import CodeliverError
from app.locations import Location
from app.needs import service as needs
from app.needs.schemas import NeedIn, Window
from app.simulation.build import CASEWORKER, COORDINATOR, Built, identity
from app.simulation.loop import SERIES_RULE
from app.simulation.world import CENTRE, KM_PER_DEG_LAT, NeedSpec, World
from geo.coverage import need_cells
from infra.localdb import ClusterState, LocalCluster
from matching.model import Dispatch, Mode, Urgency
from matching.vetting import DbsLevel

RESOLUTIONS = (11, 12, 13, 14, 15)
FIGURE_RESOLUTIONS = (12, 13, 14)
GAP_FLOOR = 0.05  # hours: below this a cell is covered (the figures are rounded to 0.1)
Engines = Callable[[ClusterState, str, VirtualClock], tuple[AsyncEngine, AsyncEngine]]

# In person, and failed by the end of the run: escalated, expired, or still short of
# volunteers after its window began.
_FAILED = text("""
SELECT id FROM needs
 WHERE mode <> 'remote' AND coarse_location IS NOT NULL
   AND (escalated_at IS NOT NULL OR status = 'expired'
        OR (status IN ('open', 'partially_filled') AND lower(windows) < :end))
""")


# The week's own record, as geo/access.py reads an organisation's: accepted of answered.
ACCEPTANCE_SQL = text("""
SELECT count(*) FILTER (WHERE status = 'accepted') AS accepted, count(*) AS answered
  FROM offers WHERE status IN ('accepted', 'declined', 'expired') AND created_at < :end
""")


@dataclass
class Forecast:
    """Per resolution: the gap cells ("i,j" -> gap hours) and their outlines (lon, lat)."""

    gaps: dict[int, dict[str, float]] = field(default_factory=dict)
    outlines: dict[int, dict[str, list[list[float]]]] = field(default_factory=dict)
    cells: dict[int, int] = field(default_factory=dict)  # cells with demand
    refused: int = 0
    acceptance: float = 1.0  # the share of offers accepted the map was computed with


def _bbox(world: World) -> tuple[float, float, float, float]:
    km = world.model.borough_km + 1.0
    dlat = km / KM_PER_DEG_LAT
    dlon = dlat / math.cos(math.radians(CENTRE[0]))
    return CENTRE[1] - dlon, CENTRE[0] - dlat, CENTRE[1] + dlon, CENTRE[0] + dlat


def _need_in(world: World, built: Built, spec: NeedSpec, start: datetime) -> NeedIn:
    """The need the run will post for `spec` (as `loop.Week.on_post` does), dispatched
    by hand: its window where the run will put it."""
    kind = world.model.kinds[spec.kind]
    origin = start.replace(hour=0, minute=0, second=0, microsecond=0)
    posted = origin + timedelta(seconds=spec.posted_s)
    if posted < start:
        posted += timedelta(days=world.model.days)
    begins = posted + timedelta(seconds=spec.start_s - spec.posted_s)
    ends = begins + max(timedelta(hours=2), timedelta(minutes=kind.minutes + 30))
    return NeedIn(
        programme_id=built.programmes[kind.programme],
        client_id=built.clients[spec.client],
        title=spec.kind.replace("_", " ").capitalize(),
        mode=Mode.REMOTE if kind.remote else Mode.IN_PERSON,
        location=None if kind.remote else Location(lat=spec.lat, lon=spec.lon),
        required_skills=list(kind.skills),
        languages=list(spec.languages),
        min_vetting=DbsLevel(kind.vetting),
        windows=[Window(start=begins, end=ends)],
        duration_minutes=kind.minutes,
        slots=kind.slots,
        urgency=Urgency(spec.urgency),
        recurrence=SERIES_RULE.format(count=kind.weekly_series) if kind.weekly_series else None,
        dispatch=Dispatch.MANUAL,
    )


async def forecast(
    cluster: LocalCluster,
    state: ClusterState,
    template: str,
    world: World,
    built: Built,
    start: datetime,
    engines: Engines,
) -> Forecast:
    """The map at the start of the week with the week's needs in, on a copy of its own."""
    name = f"{template}_forecast"
    await asyncio.to_thread(cluster.drop_database, name)
    await asyncio.to_thread(cluster.create_database, name, template=template)
    engine, system = engines(state, name, VirtualClock(start))
    found = Forecast()
    try:
        for spec in world.needs:
            try:
                async with tenant_transaction(engine, identity(CASEWORKER)) as tx:
                    await needs.create(tx, _need_in(world, built, spec, start))
            except CodeliverError:
                found.refused += 1
        async with tenant_transaction(engine, identity(COORDINATOR)) as tx:
            scope = await coverage.scope_for(tx, None, None, 1)
            for r in RESOLUTIONS:
                hexes = await coverage.hexes(tx, scope, _bbox(world), r, None)
                props = [(f.id, f.properties, f.geometry) for f in hexes.features]
                found.cells[r] = sum(1 for _, p, _ in props if p.needs)
                found.gaps[r] = {
                    cell: p.gap_hours or 0.0
                    for cell, p, _ in props
                    if (p.gap_hours or 0.0) > GAP_FLOOR
                }
                found.outlines[r] = {
                    cell: g.coordinates[0] for cell, _, g in props if cell in found.gaps[r]
                }
                found.acceptance = hexes.method.acceptance
    finally:
        await engine.dispose()
        await system.dispose()
        await asyncio.to_thread(cluster.drop_database, name)
    return found


async def score(system: AsyncEngine, found: Forecast, end: datetime) -> dict[str, Any]:
    """Precision and recall of the forecast's gap cells against this run's failed needs."""
    by_resolution: dict[str, Any] = {}
    async with system.connect() as conn:
        failed: list[UUID] = list((await conn.execute(_FAILED, {"end": end})).scalars())
        points: list[list[float]] = []  # coarse locations: the same at every resolution
        for r in RESOLUTIONS:
            rows = await need_cells(conn, failed, r)
            points = [[row.lon, row.lat] for row in rows]
            cells = [f"{row.i},{row.j}" for row in rows]
            gaps = found.gaps[r]
            hit = sum(1 for c in cells if c in gaps)
            right = len(set(gaps) & set(cells))
            by_resolution[str(r)] = {
                "gap_cells": len(gaps),
                "demand_cells": found.cells[r],
                "failed_needs": len(cells),
                "failed_in_gaps": hit,
                "gap_cells_with_failures": right,
                "recall": round(hit / len(cells), 3) if cells else None,
                "precision": round(right / len(gaps), 3) if gaps else None,
            }
        week = (await conn.execute(ACCEPTANCE_SQL, {"end": end})).one()
    acceptance = {
        "map": found.acceptance,
        "week": round(week.accepted / week.answered, 3) if week.answered else None,
        "answered_offers": week.answered,
    }
    return {"by_resolution": by_resolution, "failed_points": points, "acceptance": acceptance}


def table(document: dict[str, Any]) -> Table:
    t = Table(title="The coverage map against what failed: recall / precision (gap cells)")
    t.add_column("resolution")
    results = document["policies"]
    for name in results:
        t.add_column(document["labels"][name], justify="right")
    for r in RESOLUTIONS:
        row = []
        for res in results.values():
            c = res["coverage_truth"]["by_resolution"][str(r)]
            recall, precision = (_f(c["recall"]), _f(c["precision"]))
            row.append(f"{recall} / {precision} ({c['gap_cells']})")
        t.add_row(str(r), *row)
    return t


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def show(document: dict[str, Any], console: Console) -> None:
    if any("coverage_truth" in r for r in document["policies"].values()):
        console.print(table(document))
        for name, r in document["policies"].items():
            if a := r.get("coverage_truth", {}).get("acceptance"):
                console.print(
                    f"{document['labels'][name]}: the map's expected share of offers accepted"
                    f" {a['map']}; the week's {a['week']} of {a['answered_offers']} answered"
                )


def figure(path: Path, document: dict[str, Any]) -> None:
    """The map's gap cells (shaded by gap hours) with each policy's failed needs on them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    truth = document["coverage_map"]
    fig, axes = plt.subplots(1, len(FIGURE_RESOLUTIONS), figsize=(6 * len(FIGURE_RESOLUTIONS), 6))
    for ax, r in zip(axes, FIGURE_RESOLUTIONS, strict=True):
        gaps, outlines = truth["gaps"][str(r)], truth["outlines"][str(r)]
        top = max(gaps.values(), default=1.0)
        for cell, ring in outlines.items():
            shade = 0.25 + 0.75 * gaps[cell] / top
            ax.add_patch(Polygon(ring, facecolor=(0.9, 0.4, 0.0, shade), edgecolor="grey"))
        for i, (name, res) in enumerate(document["policies"].items()):
            c = res["coverage_truth"]["by_resolution"][str(r)]
            label = (
                f"failed, {document['labels'][name]}: recall {_f(c['recall'])}, "
                f"precision {_f(c['precision'])}"
            )
            if pts := res["coverage_truth"]["failed_points"]:
                xs, ys = zip(*pts, strict=True)
                ax.scatter(xs, ys, s=14, marker="x", color=f"C{i}", label=label)
        ax.set_title(f"resolution {r}: {len(gaps)} gap cells", fontsize=9)
        ax.autoscale_view()
        ax.set_aspect(1 / math.cos(math.radians(CENTRE[0])))
        ax.set(xlabel="longitude", ylabel="latitude")
        ax.legend(fontsize=7)
    fig.suptitle("Gap cells of the map at the start of the week, and the needs that failed")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plain(found: Forecast) -> dict[str, Any]:
    """The forecast for simulation.json (and the figure)."""
    return {
        "method": "e2sfca",
        "resolutions": list(RESOLUTIONS),
        "refused": found.refused,
        "gaps": {str(r): g for r, g in found.gaps.items()},
        "outlines": {str(r): o for r, o in found.outlines.items()},
    }
