"""Gap alerts: an area whose unfilled demand stays above its threshold for longer than its
delay tells its coordinators once (one outbox row each), and again only after it recovered.

Row-driven (the state lives in the area's `gap_since` / `alerted_at`), areas locked with SKIP
LOCKED, so any number of workers can run it and a restart loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import clock_of
from app.db.tables import memberships, outbox, service_areas
from geo import areas

KIND = "coverage.gap_alert"
PERIOD = timedelta(days=7)


@dataclass(frozen=True)
class AlertState:
    gap_since: datetime | None
    alerted_at: datetime | None


def next_state(
    state: AlertState, demand_hours: float, threshold: float, after: timedelta, now: datetime
) -> tuple[AlertState, bool]:
    """The area's new state, and whether to notify now."""
    if demand_hours <= threshold:
        return AlertState(None, None), False  # recovered (or never in a gap): re-armed
    since = state.gap_since or now
    if state.alerted_at is None and now - since >= after:
        return AlertState(since, now), True
    return AlertState(since, state.alerted_at), False


async def check_gap_alerts(engine: AsyncEngine, now: datetime | None = None) -> int:
    """One pass over every area at `now` (the engine's clock by default); returns how many
    alerts went out."""
    now = now or clock_of(engine).now()
    sent = 0
    async with engine.begin() as conn:
        for area in await areas.alert_candidates(conn, now, now + PERIOD):
            state, notify = next_state(
                AlertState(area.gap_since, area.alerted_at),
                area.demand_hours,
                area.alert_threshold_hours,
                timedelta(minutes=area.alert_after_minutes),
                now,
            )
            await conn.execute(
                update(service_areas)
                .where(service_areas.c.id == area.id)
                .values(
                    gap_since=state.gap_since,
                    alerted_at=state.alerted_at,
                    last_demand_hours=area.demand_hours,
                    checked_at=now,
                )
            )
            if notify:
                sent += await _notify(conn, area, now)
    return sent


async def run_gap_alerts(engine: AsyncEngine) -> None:
    await check_gap_alerts(engine)


async def _notify(conn: AsyncConnection, area: Any, now: datetime) -> int:
    """One message per approved coordinator: the area and figures, no client data."""
    coordinators = (
        await conn.execute(
            select(memberships.c.user_id).where(
                memberships.c.org_id == area.org_id,
                memberships.c.role == "coordinator",
                memberships.c.status == "approved",
            )
        )
    ).scalars()
    payload = {
        "area_id": str(area.id),
        "area_name": area.name,
        "unfilled_hours": round(area.demand_hours, 1),
        "threshold_hours": area.alert_threshold_hours,
        "since": area.gap_since.isoformat() if area.gap_since else now.isoformat(),
    }
    rows = [
        {
            "org_id": area.org_id,
            "user_id": user_id,
            "kind": KIND,
            "payload": payload,
            "collapse_key": f"gap:{area.id}",
            "next_attempt_at": now,
        }
        for user_id in coordinators
    ]
    if rows:
        await conn.execute(insert(outbox), rows)
    return len(rows)
