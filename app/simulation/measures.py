"""The report's arithmetic (pure): Gini and Lorenz curves, percentiles, ratios.

`gini` is the formula of `GET /v1/metrics/summary` (app/coverage/metrics.py, SUMMARY_SQL):
2 * sum(rank * x) / (n * sum(x)) - (n + 1) / n over the values sorted ascending, ranks from
1, and none when nothing was counted. The run checks that the two agree on the offers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def gini(values: Sequence[float]) -> float | None:
    total, n = sum(values), len(values)
    if n == 0 or total <= 0:
        return None
    ranked = sum(r * x for r, x in enumerate(sorted(values), start=1))
    return 2.0 * ranked / (n * total) - (n + 1.0) / n


def lorenz(values: Sequence[float]) -> list[tuple[float, float]]:
    """(share of people, share of the total they hold), poorest first, from (0, 0)."""
    ordered, total = sorted(values), sum(values)
    points, running = [(0.0, 0.0)], 0.0
    for i, x in enumerate(ordered, start=1):
        running += x
        points.append((i / len(ordered), running / total if total else 0.0))
    return points


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, like PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low, high = math.floor(at), math.ceil(at)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None
