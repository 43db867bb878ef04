"""The coordinator's numbers for a period: fill rate, speed, alert load, fairness, no-shows,
hours, active volunteers and outcomes by category. Needs count when created in [from, to)
(drafts and cancelled ones left out); offers when made in it; assignments by their need."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.assignments.schemas import Outcome
from app.coverage.schemas import Metrics, OutcomeCounts, Percentiles

_PROGRAMME = "(CAST(:programme_id AS uuid) IS NULL OR {col} = CAST(:programme_id AS uuid))"


def _pct(expr: str, source: str, q: float) -> str:
    return f"(SELECT percentile_cont({q}) WITHIN GROUP (ORDER BY {expr}) FROM {source})"


_FIRST_OFFER = "extract(epoch FROM first_offer_at - created_at)"
_ACCEPT = "extract(epoch FROM accepted_at - offered_at)"
_FILL = "extract(epoch FROM filled_at - created_at)"

SUMMARY_SQL = text(f"""
WITH t AS (
  SELECT * FROM needs
   WHERE org_id = ANY (CAST(:org_ids AS uuid[])) AND {_PROGRAMME.format(col="programme_id")}
     AND created_at >= :start AND created_at < :end AND status NOT IN ('draft', 'cancelled')
),
o AS (
  SELECT o.id, o.volunteer_id FROM offers o JOIN needs n ON n.id = o.need_id
   WHERE o.org_id = ANY (CAST(:org_ids AS uuid[])) AND {_PROGRAMME.format(col="n.programme_id")}
     AND o.created_at >= :start AND o.created_at < :end
),
a AS (
  SELECT a.status, a.minutes, a.volunteer_id, a.accepted_at, f.created_at AS offered_at
    FROM assignments a JOIN t ON t.id = a.need_id LEFT JOIN offers f ON f.id = a.offer_id
),
per_volunteer AS (
  -- offers counted per volunteer first: joined to the volunteers row by row, the offers'
  -- CTE was scanned once per volunteer (a year of 10,000 needs: 0.8 s, bench/reports.py)
  SELECT e.user_id, e.on_duty, coalesce(c.offers, 0) AS offers
    FROM (SELECT DISTINCT m.user_id, v.on_duty FROM memberships m
            JOIN volunteers v ON v.user_id = m.user_id
           WHERE m.org_id = ANY (CAST(:org_ids AS uuid[]))
             AND m.role = 'volunteer' AND m.status = 'approved') e
    LEFT JOIN (SELECT volunteer_id, count(*) AS offers FROM o GROUP BY volunteer_id) c
      ON c.volunteer_id = e.user_id
)
SELECT
  (SELECT count(*) FROM t) AS needs,
  (SELECT count(*) FROM t WHERE filled_at IS NOT NULL) AS filled,
  {_pct(_FIRST_OFFER, "t", 0.5)} AS first_offer_p50,
  {_pct(_FIRST_OFFER, "t", 0.9)} AS first_offer_p90,
  {_pct(_ACCEPT, "a", 0.5)} AS accept_p50, {_pct(_ACCEPT, "a", 0.9)} AS accept_p90,
  {_pct(_FILL, "t", 0.5)} AS fill_p50, {_pct(_FILL, "t", 0.9)} AS fill_p90,
  (SELECT count(*) FROM o) AS offers,
  (SELECT coalesce(sum(filled), 0) FROM t) AS filled_slots,
  (SELECT count(*) FROM per_volunteer WHERE on_duty) AS on_duty,
  (SELECT count(*) FROM per_volunteer WHERE on_duty AND offers > 0) AS on_duty_offered,
  (SELECT CASE WHEN sum(offers) > 0 THEN
            2.0 * sum(r * offers) / (count(*) * sum(offers)) - (count(*) + 1.0) / count(*) END
     FROM (SELECT offers, row_number() OVER (ORDER BY offers) AS r FROM per_volunteer) g) AS gini,
  (SELECT count(*) FROM a WHERE status = 'no_show') AS no_shows,
  (SELECT count(*) FROM a WHERE status IN ('completed', 'no_show')) AS attended,
  (SELECT coalesce(sum(minutes), 0) FROM a WHERE status = 'completed') AS completed_minutes,
  (SELECT count(*) FROM t WHERE outcome IS NOT NULL) AS outcomes,
  (SELECT coalesce(jsonb_object_agg(outcome, n), '{{}}') FROM
     (SELECT outcome, count(*) AS n FROM t WHERE outcome IS NOT NULL GROUP BY outcome) c)
    AS outcome_counts,
  (SELECT count(DISTINCT volunteer_id) FROM a WHERE status = 'completed') AS active_volunteers
""")


def outcome_counts(counted: dict[str, int]) -> OutcomeCounts:
    """Every Outcome category, 0 when none was recorded."""
    return OutcomeCounts(**{o.value: int(counted.get(o.value, 0)) for o in Outcome})


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentiles(p50: Any, p90: Any) -> Percentiles:
    return Percentiles(
        p50=None if p50 is None else round(float(p50), 1),
        p90=None if p90 is None else round(float(p90), 1),
    )


async def summary(
    conn: AsyncConnection,
    org_ids: list[UUID],
    programme_id: UUID | None,
    start: datetime,
    end: datetime,
) -> Metrics:
    params = {"org_ids": org_ids, "programme_id": programme_id, "start": start, "end": end}
    row = (await conn.execute(SUMMARY_SQL, params)).one()
    return Metrics(
        needs=row.needs,
        filled=row.filled,
        fill_rate=_ratio(row.filled, row.needs),
        time_to_first_offer_s=_percentiles(row.first_offer_p50, row.first_offer_p90),
        time_to_accept_s=_percentiles(row.accept_p50, row.accept_p90),
        time_to_fill_s=_percentiles(row.fill_p50, row.fill_p90),
        offers=row.offers,
        filled_slots=int(row.filled_slots),
        alerts_per_filled_slot=_ratio(row.offers, row.filled_slots),
        on_duty_volunteers=row.on_duty,
        on_duty_offered_share=_ratio(row.on_duty_offered, row.on_duty),
        offers_gini=None if row.gini is None else round(float(row.gini), 4),
        no_show_rate=_ratio(row.no_shows, row.attended),
        completed_hours=round(int(row.completed_minutes) / 60, 2),
        outcomes_recorded=row.outcomes,
        outcomes=outcome_counts(row.outcome_counts),
        active_volunteers=row.active_volunteers,
    )
