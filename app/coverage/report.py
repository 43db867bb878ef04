"""The metrics report of a period: the figures overall and per programme, the period of the
same length before it, and per service area under k-suppression (as on the map)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select

from app.coverage import metrics
from app.coverage.schemas import AreaMetrics, MetricsReport, PreviousPeriod, ProgrammeMetrics
from app.coverage.service import scope_for
from app.db.rows import AnyRow
from app.db.tables import programmes as programmes_table
from app.db.tenancy import Tx
from app.errors import InvalidInput
from geo import areas
from geo.coverage import Scope

MAX_METRICS_SPAN = timedelta(days=366)
MAX_PROGRAMMES = 50
DEFAULT_SPAN = timedelta(days=30)


def period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """[from, to): `to` defaults to now, `from` to 30 days before `to`."""
    end = end or now
    start = start or end - DEFAULT_SPAN
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise InvalidInput.field(name, "needs a UTC offset")
    if end <= start:
        raise InvalidInput.field("to", "must be after from")
    if end - start > MAX_METRICS_SPAN:
        raise InvalidInput.field("from", "the period is at most 366 days")
    return start, end


async def report_scope(
    tx: Tx, programme_id: UUID | None, start: datetime | None, end: datetime | None, k_min: int
) -> Scope:
    """The caller's staff organisations (or the programme's: 404 when not theirs) and the
    period, checked."""
    first, last = period(start, end, tx.now)
    scope = await scope_for(tx, programme_id, first, k_min)
    return Scope(scope.org_ids, programme_id, first, last, k_min)


def area_metrics(row: AnyRow, k_min: int) -> AreaMetrics:
    hidden = 0 < row.clients < k_min
    return AreaMetrics(
        service_area_id=str(row.id),
        name=row.name,
        suppressed=hidden,
        needs=None if hidden else row.needs,
        filled=None if hidden else row.filled,
        filled_slots=None if hidden else int(row.filled_slots),
        completed_hours=None if hidden else round(int(row.completed_minutes) / 60, 2),
        outcomes_recorded=None if hidden else row.outcomes_recorded,
    )


async def metrics_report(
    tx: Tx, programme_id: UUID | None, start: datetime | None, end: datetime | None, k_min: int
) -> MetricsReport:
    return await report_of(tx, await report_scope(tx, programme_id, start, end, k_min))


async def report_of(tx: Tx, scope: Scope) -> MetricsReport:
    orgs, first, last, programme_id, k_min = (
        scope.org_ids,
        scope.start,
        scope.end,
        scope.programme_id,
        scope.k_min,
    )
    stmt = (
        select(programmes_table.c.id, programmes_table.c.name)
        .where(programmes_table.c.org_id.in_(orgs))
        .order_by(programmes_table.c.name)
        .limit(MAX_PROGRAMMES)
    )
    if programme_id is not None:
        stmt = stmt.where(programmes_table.c.id == programme_id)
    overall = await metrics.summary(tx.conn, orgs, programme_id, first, last)
    per_programme = [
        ProgrammeMetrics(
            programme_id=str(row.id),
            name=row.name,
            # one programme's report: its only programme's figures are the overall ones
            metrics=overall
            if row.id == programme_id
            else await metrics.summary(tx.conn, orgs, row.id, first, last),
        )
        for row in (await tx.conn.execute(stmt)).all()
    ]
    before = first - (last - first)
    area_rows = await areas.report(tx.conn, orgs, programme_id, first, last)
    return MetricsReport(
        period_start=first.isoformat(),
        period_end=last.isoformat(),
        overall=overall,
        programmes=per_programme,
        previous=PreviousPeriod(
            period_start=before.isoformat(),
            period_end=first.isoformat(),
            overall=await metrics.summary(tx.conn, orgs, programme_id, before, first),
        ),
        k_min=k_min,
        service_areas=[area_metrics(row, k_min) for row in area_rows],
    )
