"""A report's figures as a person reads them, on the console's page and in the PDF alike:
each measure's words (marked for the console's catalogue, translated where shown) with its
value this period and the one before, written the one way both show them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.coverage.schemas import AreaMetrics, Metrics, MetricsReport, Percentiles

NONE = "\u2013"  # an en dash: no value, nothing to measure in the period


def N_(message: str) -> str:  # gettext's marker, as `make messages` extracts it
    return message


@dataclass(frozen=True)
class Figure:
    label: str  # English words, the catalogue's msgid
    now: str
    before: str


def count(value: int | None) -> str:
    return NONE if value is None else str(value)


def share(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def hours(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


def seconds_as_hours(value: float | None) -> str:
    return NONE if value is None else f"{value / 3600:.1f}"


def ratio(value: float | None) -> str:
    return NONE if value is None else f"{value:.4f}"


def _p50(p: Percentiles) -> float | None:
    return p.p50


def _p90(p: Percentiles) -> float | None:
    return p.p90


MEASURES: list[tuple[str, Callable[[Metrics], str]]] = [
    (N_("Needs posted"), lambda m: count(m.needs)),
    (N_("Needs filled"), lambda m: count(m.filled)),
    (N_("Fill rate"), lambda m: share(m.fill_rate)),
    (N_("Time to fill, median (hours)"), lambda m: seconds_as_hours(_p50(m.time_to_fill_s))),
    (
        N_("Time to fill, 90th percentile (hours)"),
        lambda m: seconds_as_hours(_p90(m.time_to_fill_s)),
    ),
    (N_("Hours given"), lambda m: hours(m.completed_hours)),
    (N_("Volunteers active"), lambda m: count(m.active_volunteers)),
    (N_("Offers made"), lambda m: count(m.offers)),
    (N_("Fairness of offers (Gini, 0 is equal)"), lambda m: ratio(m.offers_gini)),
    (N_("No-show rate"), lambda m: share(m.no_show_rate)),
    (N_("Outcomes recorded"), lambda m: count(m.outcomes_recorded)),
]

OUTCOME_LABELS = {  # the words of the need page's timeline (app/console/timeline.py)
    "done": N_("Helped as planned"),
    "partly_done": N_("Partly done"),
    "not_home": N_("The person was not at home"),
    "not_needed": N_("No longer needed"),
    "referred": N_("Referred to a professional service"),
    "safeguarding_concern": N_("A safeguarding concern was raised"),
}


def key_figures(report: MetricsReport) -> list[Figure]:
    before = report.previous.overall
    return [Figure(label, show(report.overall), show(before)) for label, show in MEASURES]


def outcomes(report: MetricsReport) -> list[tuple[str, int, int]]:
    """(label, this period, the period before) for every outcome category, in order."""
    now, before = report.overall.outcomes, report.previous.overall.outcomes
    return [
        (label, getattr(now, key), getattr(before, key)) for key, label in OUTCOME_LABELS.items()
    ]


def area_rows(areas: list[AreaMetrics]) -> list[tuple[str, bool, list[str]]]:
    """(name, suppressed, [needs, filled, hours given, outcomes recorded])."""
    return [
        (
            a.name,
            a.suppressed,
            [count(a.needs), count(a.filled), hours(a.completed_hours), count(a.outcomes_recorded)],
        )
        for a in areas
    ]
