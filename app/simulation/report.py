"""The simulated week's report: a table in the terminal (rich), a JSON file and a figure
(matplotlib: Lorenz curves of offers per policy, needs filled over the week)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROWS: tuple[tuple[str, str], ...] = (
    ("feasible needs filled", "fill_rate"),
    ("  of those someone eligible would accept", "fill_rate_fillable"),
    ("alerts per filled slot", "alerts_per_filled_slot"),
    ("caseworker's next waves after escalation", "follow_ups"),
    ("  needs filled after one", "filled_after_follow_up"),
    ("on-duty volunteers offered", "on_duty_offered_share"),
    ("  of those eligible for >= 3 needs", "eligible_3_offered_share"),
    ("Gini of offers (all volunteers)", "offers_gini"),
    ("Gini of offers (eligible for >= 3)", "offers_gini_eligible_3"),
    ("  Gini of the needs each of them could take", "eligible_3_needs_gini"),
    ("Gini of assignments", "assignments_gini"),
    ("mean travel (min)", "mean_travel_min"),
    ("travel vs nearest-first", "travel_ratio"),
    ("series kept by one volunteer", "series_continuity"),
    ("invariant violations", "violations"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def with_ratios(results: dict[str, dict[str, Any]]) -> None:
    """Travel against nearest-first's, and the violations count, into each result."""
    base = results.get("nearest_first", {}).get("mean_travel_min")
    for r in results.values():
        mine = r.get("mean_travel_min")
        r["travel_ratio"] = round(mine / base, 3) if mine is not None and base else None
        r["violations"] = sum(v["count"] for v in r["invariants"].values())


def table(results: dict[str, dict[str, Any]], labels: dict[str, str]) -> Table:
    t = Table(title="The simulated week, policy by policy")
    t.add_column("measure")
    for name in results:
        t.add_column(labels[name], justify="right")
    for label, key in ROWS:
        t.add_row(label, *(_cell(r.get(key)) for r in results.values()))
    urgencies = sorted({u for r in results.values() for u in r["time_to_fill_min"]})
    for u in urgencies:
        cells = []
        for r in results.values():
            f = r["time_to_fill_min"].get(u)
            cells.append("-" if f is None else f"{_cell(f['p50'])} / {_cell(f['p90'])}")
        t.add_row(f"time to fill p50 / p90 (min), {u}", *cells)
    t.add_row(
        "needs (feasible / someone would accept / filled)",
        *(
            f"{r['feasible_needs']} / {r['fillable_needs']} / {r['filled_feasible']}"
            for r in results.values()
        ),
    )
    return t


def show(results: dict[str, dict[str, Any]], labels: dict[str, str], console: Console) -> None:
    console.print(table(results, labels))
    for name, r in results.items():
        if r["escalations"] or r["unfilled_by_reason"]:
            escalated, unfilled = r["escalations"], r["unfilled_by_reason"]
            console.print(f"{labels[name]}: escalations {escalated}, unfilled {unfilled}")
        for rule, v in r["invariants"].items():
            console.print(f"[red]{labels[name]}: {rule} x{v['count']}[/red]: {v['first']}")


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def figure(path: Path, results: dict[str, dict[str, Any]], labels: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

    fig, (lor, fill) = plt.subplots(1, 2, figsize=(12, 5))
    lor.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect equality")
    for i, (name, r) in enumerate(results.items()):
        colour = f"C{i}"  # one colour per policy in both panels
        if r["offers_gini"] is not None:  # an open call alerts nobody: no curve
            xs, ys = zip(*r["lorenz_offers"], strict=True)
            gini = _cell(r["offers_gini"])
            lor.plot(xs, ys, color=colour, label=f"{labels[name]} (Gini {gini})")
        hours, filled = zip(*r["fill_over_week"], strict=True)
        fill.plot([h / 24 for h in hours], filled, color=colour, label=labels[name])
    lor.set(
        title="Who gets the alerts: Lorenz curves of offers (every volunteer)",
        xlabel="share of volunteers, fewest offers first",
        ylabel="share of all offers",
    )
    fill.set(title="Needs filled over the run", xlabel="day", ylabel="needs filled")
    lor.legend(fontsize=8)
    fill.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
