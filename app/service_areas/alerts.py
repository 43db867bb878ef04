"""Gap alerts: an area whose unfilled demand stays above its threshold for longer than its
delay tells its coordinators once (one outbox message each, pushed and sent live on
`WS /v1/events` like every other event), and again only after it recovered. The message
names the area; its figure is left out where the area's summary hides it (fewer than k
clients, decisions.md 20).

Row-driven (the state lives in the area's `gap_since` / `alerted_at`), areas locked with SKIP
LOCKED, so any number of workers can run it and a restart loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import clock_of
from app.db.tables import memberships, service_areas
from geo import areas
from notifications.outbox import Kind, Message, enqueue

KIND = Kind.COVERAGE_GAP_ALERT.value
K_MIN = 3  # the default of settings.coverage_k_min
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


async def check_gap_alerts(
    engine: AsyncEngine, now: datetime | None = None, *, k_min: int = K_MIN
) -> int:
    """One pass over every area at `now` (the engine's clock by default); returns how many
    alerts went out. `k_min`: the k rule of the maps and area summaries."""
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
                sent += await _notify(conn, area, now, k_min)
    return sent


async def run_gap_alerts(engine: AsyncEngine, *, k_min: int = K_MIN) -> None:
    await check_gap_alerts(engine, k_min=k_min)


def payload(area: Any, now: datetime, k_min: int) -> dict[str, Any]:
    """The area, never a client; its unfilled hours only where its summary shows them."""
    hidden = 0 < area.clients < k_min
    return {
        "area_id": str(area.id),
        "area_name": area.name,
        **({} if hidden else {"unfilled_hours": round(area.demand_hours, 1)}),
        "suppressed": hidden,
        "threshold_hours": area.alert_threshold_hours,
        "since": area.gap_since.isoformat() if area.gap_since else now.isoformat(),
    }


async def _notify(conn: AsyncConnection, area: Any, now: datetime, k_min: int) -> int:
    """One message per approved coordinator, through the outbox (push and live events)."""
    coordinators = (
        await conn.execute(
            select(memberships.c.user_id).where(
                memberships.c.org_id == area.org_id,
                memberships.c.role == "coordinator",
                memberships.c.status == "approved",
            )
        )
    ).scalars()
    body = payload(area, now, k_min)
    messages = [
        Message(
            user_id,
            Kind.COVERAGE_GAP_ALERT,
            body,
            org_id=area.org_id,
            collapse_key=f"gap:{area.id}",
        )
        for user_id in coordinators
    ]
    return await enqueue(conn, messages, now=now)
