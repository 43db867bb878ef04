"""A report as CSV: one row per need the summary counts (the same filters: organisations,
programme, period), the data a commissioner's analyst wants, and nothing of the client: no
name, address, phone, title or description; the place only as the service areas the need's
coarse location lies in, left out for an area the summary suppresses (the k rule)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text

from app import audit
from app.coverage.report import area_metrics, report_scope
from app.db.tenancy import Tx
from geo import areas
from geo.coverage import Scope

COLUMNS = (
    "need_id",
    "org_id",
    "programme_id",
    "programme",
    "created_at",
    "first_offer_at",
    "filled_at",
    "status",
    "urgency",
    "mode",
    "slots",
    "filled",
    "duration_minutes",
    "completed_assignments",
    "no_shows",
    "minutes_given",
    "hours_given",
    "time_to_first_offer_s",
    "time_to_fill_s",
    "outcome",
    "outcome_at",
    "service_areas",
)

# The needs of app/coverage/metrics.py SUMMARY_SQL's `t`, with their assignments' figures.
ROWS_SQL = text("""
SELECT n.id, n.org_id, n.programme_id, p.name AS programme, n.created_at, n.first_offer_at,
       n.filled_at, n.status, n.urgency, n.mode, n.slots, n.filled, n.duration_minutes,
       n.outcome, n.outcome_at,
       count(a.id) FILTER (WHERE a.status = 'completed') AS completed,
       count(a.id) FILTER (WHERE a.status = 'no_show') AS no_shows,
       coalesce(sum(a.minutes) FILTER (WHERE a.status = 'completed'), 0) AS minutes_given,
       extract(epoch FROM n.first_offer_at - n.created_at) AS first_offer_s,
       extract(epoch FROM n.filled_at - n.created_at) AS fill_s
  FROM needs n JOIN programmes p ON p.id = n.programme_id
  LEFT JOIN assignments a ON a.need_id = n.id
 WHERE n.org_id = ANY (CAST(:org_ids AS uuid[]))
   AND (CAST(:programme_id AS uuid) IS NULL OR n.programme_id = CAST(:programme_id AS uuid))
   AND n.created_at >= :start AND n.created_at < :end AND n.status NOT IN ('draft', 'cancelled')
 GROUP BY n.id, p.name ORDER BY n.created_at, n.id
""")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as a CSV cell: instants in ISO 8601, and words a spreadsheet would run as a
    formula (staff's names for programmes and areas) quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 3))
    if not isinstance(value, str):
        return str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


async def rows(tx: Tx, scope: Scope) -> list[list[str]]:
    orgs, programme_id, start, end = scope.org_ids, scope.programme_id, scope.start, scope.end
    shown = {
        UUID(a.service_area_id): a.name
        for a in (
            area_metrics(r, scope.k_min)
            for r in await areas.report(tx.conn, orgs, programme_id, start, end)
        )
        if not a.suppressed
    }
    in_areas = await areas.need_areas(tx.conn, orgs, programme_id, start, end)
    params = {"org_ids": orgs, "programme_id": programme_id, "start": start, "end": end}
    found = await tx.conn.execute(ROWS_SQL, params)
    return [
        [
            cell(v)
            for v in (
                r.id,
                r.org_id,
                r.programme_id,
                r.programme,
                r.created_at,
                r.first_offer_at,
                r.filled_at,
                r.status,
                r.urgency,
                r.mode,
                r.slots,
                r.filled,
                r.duration_minutes,
                r.completed,
                r.no_shows,
                int(r.minutes_given),
                round(int(r.minutes_given) / 60, 2),
                _seconds(r.first_offer_s),
                _seconds(r.fill_s),
                r.outcome,
                r.outcome_at,
                "; ".join(shown[a] for a in in_areas.get(r.id, []) if a in shown),
            )
        ]
        for r in found
    ]


async def needs_csv(
    tx: Tx, programme_id: UUID | None, start: datetime | None, end: datetime | None, k_min: int
) -> tuple[bytes, str]:
    """The CSV and its file name. Audited once per organisation as a read of its report."""
    scope = await report_scope(tx, programme_id, start, end, k_min)
    found = await rows(tx, scope)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(found)
    await record_export(tx, scope, "csv", len(found))
    name = f"needs-{scope.start.date().isoformat()}-{scope.end.date().isoformat()}.csv"
    return out.getvalue().encode(), name


async def record_export(tx: Tx, scope: Scope, kind: str, needs: int) -> None:
    details = {
        "format": kind,
        "from": scope.start.isoformat(),
        "to": scope.end.isoformat(),
        "needs": needs,
    }
    subject = str(scope.programme_id or "all")
    for org_id in scope.org_ids:
        await audit.record(tx, "report.read", "report", subject, org_id=org_id, details=details)
