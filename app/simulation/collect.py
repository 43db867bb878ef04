"""One policy's figures after its week: read from the simulation database and the run's
tally, computed with `app.simulation.measures`, and checked against the metrics use case
behind `GET /v1/metrics/summary`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.coverage import metrics
from app.simulation import invariants as inv
from app.simulation.build import Built
from app.simulation.loop import Week
from app.simulation.measures import gini, lorenz, percentile, ratio
from app.simulation.record import Tally
from app.simulation.world import World


@dataclass
class Feasibility:
    """Who could take which need, by the world model alone (no load): the same for every
    policy (each policy's process fills its own)."""

    eligible: dict[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    # (need n, occurrence) -> the volunteers (n) who could take it


def feasibility(world: World, rows: dict[UUID, inv.Occurrence], known: Feasibility) -> None:
    """Fill `known` with the occurrences of `rows` not judged yet."""
    for occ in rows.values():
        key = (occ.spec.n, occ.index)
        if key not in known.eligible:
            known.eligible[key] = frozenset(v.n for v in world.volunteers if inv.could_take(v, occ))


_OFFERS = text("SELECT volunteer_id, count(*) FROM offers GROUP BY volunteer_id")
_OFFERS_BY_NEED = text("SELECT need_id, count(*) FROM offers GROUP BY need_id")
_ASSIGNMENTS = text(
    "SELECT need_id, volunteer_id, status FROM assignments"
    " WHERE status IN ('accepted', 'checked_in', 'completed')"
)
_NEEDS = text("SELECT id, status, filled, slots, escalation_reason, series_id FROM needs")


async def figures(
    system: AsyncEngine, week: Week, tally: Tally, feasible: Feasibility, built: Built
) -> dict[str, Any]:
    feasibility(week.world, {i: o for i, o in tally.rows.items() if o.start < week.end}, feasible)
    world, start = week.world, week.start
    async with system.connect() as conn:
        offers_by = {r[0]: int(r[1]) for r in await conn.execute(_OFFERS)}
        offers_of = {r[0]: int(r[1]) for r in await conn.execute(_OFFERS_BY_NEED)}
        held = (await conn.execute(_ASSIGNMENTS)).all()
        rows = {r.id: r for r in await conn.execute(_NEEDS)}
        summary = await metrics.summary(
            conn, [built.org_id], None, start - timedelta(days=2), week.end + timedelta(days=2)
        )
    horizon = start + timedelta(days=world.model.days)
    counted = {i: o for i, o in tally.rows.items() if o.start < week.end and i in rows}
    eligible_of = {i: feasible.eligible[(o.spec.n, o.index)] for i, o in counted.items()}
    feasible_ids = [i for i in counted if eligible_of[i]]
    filled_ids = [i for i in feasible_ids if rows[i].filled >= rows[i].slots]
    # The ceiling: enough of the eligible would say yes if asked while free. The same for
    # every policy (the answers are seeded by need and volunteer), so "feasible" (someone
    # eligible exists) is read against what asking could ever fill.
    spec_of = {v.n: v for v in world.volunteers}
    fillable_ids = [
        i
        for i in feasible_ids
        if sum(week.would_accept(counted[i], spec_of[n]) for n in eligible_of[i]) >= rows[i].slots
    ]
    filled_fillable = sum(1 for i in fillable_ids if rows[i].filled >= rows[i].slots)
    by_user = built.by_user
    people = [built.volunteers[v.n] for v in world.volunteers]
    on_duty = [built.volunteers[v.n] for v in world.volunteers if v.on_duty]
    need_count = Counter(n for i in counted if tally.posted[i] < horizon for n in eligible_of[i])
    # On duty and eligible for three or more of the week's needs: who fairness is about.
    regular_ns = [v.n for v in world.volunteers if v.on_duty and need_count[v.n] >= 3]
    regulars = [built.volunteers[n] for n in regular_ns]
    held_by = Counter(a.volunteer_id for a in held)
    fill_minutes: dict[str, list[float]] = {}
    for i in filled_ids:
        taken = sorted(tally.taken.get(i, []))
        slots = rows[i].slots
        if len(taken) >= slots:
            minutes = (taken[slots - 1] - tally.posted[i]).total_seconds() / 60
            fill_minutes.setdefault(counted[i].spec.urgency, []).append(minutes)
    travel = [
        week.minutes(by_user[a.volunteer_id], counted[a.need_id])
        for a in held
        if a.need_id in counted and not counted[a.need_id].kind.remote and a.volunteer_id in by_user
    ]
    slots_filled = sum(rows[i].filled for i in counted)
    alerts = sum(offers_of.get(i, 0) for i in counted)  # the same needs as the slots
    offers_total = sum(offers_by.values())
    unfilled = Counter(
        rows[i].escalation_reason or rows[i].status for i in feasible_ids if i not in filled_ids
    )
    offers_gini = gini([offers_by.get(u, 0) for u in people])
    return {
        "needs": len(counted),
        "feasible_needs": len(feasible_ids),
        "filled_feasible": len(filled_ids),
        "fill_rate": ratio(len(filled_ids), len(feasible_ids)),
        "fillable_needs": len(fillable_ids),
        "filled_fillable": filled_fillable,
        "fill_rate_fillable": ratio(filled_fillable, len(fillable_ids)),
        "time_to_fill_min": {
            u: {"p50": _round(percentile(m, 0.5)), "p90": _round(percentile(m, 0.9)), "n": len(m)}
            for u, m in sorted(fill_minutes.items())
        },
        "offers": offers_total,
        "follow_ups": sum(tally.follow_ups.values()),
        "filled_after_follow_up": sum(1 for i in filled_ids if i in tally.follow_ups),
        "filled_slots": slots_filled,
        "alerts_per_filled_slot": ratio(alerts, slots_filled),
        "on_duty_offered_share": ratio(sum(1 for u in on_duty if offers_by.get(u)), len(on_duty)),
        "eligible_3_offered_share": ratio(
            sum(1 for u in regulars if offers_by.get(u)), len(regulars)
        ),
        "eligible_3_volunteers": len(regulars),
        "offers_gini": _round(offers_gini, 4),
        "assignments_gini": _round(gini([held_by.get(u, 0) for u in people]), 4),
        "offers_gini_eligible_3": _round(gini([offers_by.get(u, 0) for u in regulars]), 4),
        # The same people's opportunity: how unequal the number of needs each could take is.
        # Offers spread more evenly than this only if the cascade prefers the less placed.
        "eligible_3_needs_gini": _round(gini([need_count[n] for n in regular_ns]), 4),
        "mean_travel_min": _round(sum(travel) / len(travel) if travel else None),
        "escalations": dict(
            Counter(r.escalation_reason for r in rows.values() if r.escalation_reason)
        ),
        "unfilled_by_reason": dict(unfilled),
        "series_continuity": _continuity(held, rows),
        "invariants": inv.summarise(tally.violations),
        "refused": dict(sorted(tally.refused.items())),
        "unanswerable": dict(sorted(tally.unanswerable.items())),
        "pushes": len(week.transport.sent),
        "cascade_steps": tally.steps,
        "metrics_summary": {
            "offers": summary.offers,
            "filled_slots": summary.filled_slots,
            "offers_gini": summary.offers_gini,
            "alerts_per_filled_slot": summary.alerts_per_filled_slot,
        },
        "agrees_with_metrics": _agrees(summary, offers_total, offers_gini),
        "lorenz_offers": lorenz([offers_by.get(u, 0) for u in people]),
        "fill_over_week": _fill_curve(tally, filled_ids, start, world.model.days),
    }


def _continuity(held: Sequence[Any], rows: dict[UUID, Any]) -> float | None:
    """Of series with two or more occurrences taken, the share kept by one volunteer."""
    people: dict[UUID, set[UUID]] = {}
    for a in held:
        series = rows[a.need_id].series_id if a.need_id in rows else None
        if series is not None:
            people.setdefault(series, set()).add(a.volunteer_id)
    taken = Counter(rows[a.need_id].series_id for a in held if a.need_id in rows)
    multi = [s for s, n in taken.items() if s is not None and n >= 2]
    return ratio(sum(1 for s in multi if len(people[s]) == 1), len(multi))


def _agrees(summary: Any, offers: int, offers_gini: float | None) -> bool:
    """The report's offers and Gini equal what the coordinator's metrics show (the same
    population: every approved volunteer of the organisation)."""
    same_gini = (offers_gini is None) == (summary.offers_gini is None) and (
        offers_gini is None or abs(round(offers_gini, 4) - summary.offers_gini) < 1e-3
    )
    return bool(summary.offers == offers and same_gini)


def _fill_curve(
    tally: Tally, filled: list[UUID], start: datetime, days: int
) -> list[tuple[float, int]]:
    """(hours since the start, needs filled by then), hour by hour."""
    at = sorted(max(tally.taken[i]) for i in filled if tally.taken.get(i))
    points, k = [], 0
    for hour in range(0, 24 * (days + 1) + 1):
        cut = start + timedelta(hours=hour)
        while k < len(at) and at[k] <= cut:
            k += 1
        points.append((float(hour), k))
    return points


def _round(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)
