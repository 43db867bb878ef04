"""A need as matching sees it: the need row with its programme's policy, read once and turned
into the pure core's structs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import needs, programmes, volunteers
from geo import candidates
from matching.model import Mode, Need, OfferPolicy, Ranked, Urgency
from matching.vetting import DbsLevel
from notifications.quiet import quiet_until

_COLUMNS = (
    *needs.c,
    programmes.c.kind,
    programmes.c.wave_size,
    programmes.c.offer_timeout_s,
    programmes.c.alert_cap,
    programmes.c.max_waves,
    programmes.c.checkin_radius_m,
    programmes.c.stale_claim_timeout_s,
)


# Needs with their programme's policy: add a WHERE clause.
NEEDS = select(*_COLUMNS).select_from(
    needs.join(programmes, programmes.c.id == needs.c.programme_id)
)


async def load(
    conn: AsyncConnection, need_id: UUID, *, lock: bool = False, skip_locked: bool = False
) -> Any:
    """The need row with its programme's policy, or None (unknown, or hidden from the caller
    by row-level security, or locked by another worker when `skip_locked`)."""
    stmt = statement(need_id)
    if lock:
        stmt = stmt.with_for_update(of=needs, skip_locked=skip_locked)
    return (await conn.execute(stmt)).one_or_none()


def statement(need_id: UUID) -> Select[Any]:
    """The need row with its programme's policy (what `load` runs; benchmarks run it raw)."""
    return NEEDS.where(needs.c.id == need_id)


def starts_at(row: Any) -> datetime:
    start: datetime = min(r.lower for r in row.windows)
    return start


def ends_at(row: Any) -> datetime:
    end: datetime = max(r.upper for r in row.windows)
    return end


def need_of(row: Any, continuity_volunteer_id: UUID | None = None) -> Need:
    return Need(
        id=row.id,
        mode=Mode(row.mode),
        kind=row.kind,
        required_skills=frozenset(row.required_skills),
        languages=frozenset(row.languages),
        min_vetting=DbsLevel(row.min_vetting),
        starts_at=starts_at(row),
        last_day=ends_at(row).astimezone(UTC).date(),
        duration_minutes=row.duration_minutes,
        urgency=Urgency(row.urgency),
        open_slots=row.slots - row.filled,
        client_id=row.client_id,
        continuity_volunteer_id=continuity_volunteer_id or row.continuity_volunteer_id,
    )


def policy_of(row: Any) -> OfferPolicy:
    return OfferPolicy(wave_size=row.wave_size, alert_cap=row.alert_cap, max_waves=row.max_waves)


def query_of(row: Any) -> candidates.Query:
    return candidates.Query(
        need_id=row.id,
        remote=row.mode == Mode.REMOTE,
        min_vetting=DbsLevel(row.min_vetting),
        last_day=ends_at(row).astimezone(UTC).date(),
    )


def offer_expiry(row: Any, now: datetime) -> datetime:
    """The policy's timeout, but never past the need's start (an offer for something already
    under way helps nobody), and never under a minute."""
    expiry = now + timedelta(seconds=row.offer_timeout_s)
    start = starts_at(row)
    if start > now:
        expiry = min(expiry, start)
    return max(expiry, now + timedelta(minutes=1))


def latest_start(row: Any) -> datetime:
    """The last moment a volunteer could start and still finish in a window (the windows
    are alternatives)."""
    return ends_at(row) - timedelta(minutes=row.duration_minutes)


def is_urgent(row: Any) -> bool:
    """Urgent offers are pushed through quiet hours (notifications.dispatcher)."""
    return row.urgency in ("high", "urgent")


async def asleep(
    conn: AsyncConnection, ranked: Sequence[Ranked], now: datetime, expires: datetime
) -> dict[UUID, datetime]:
    """Who is in quiet hours until after the offer would expire, and until when."""
    if not ranked:
        return {}
    rows = (
        await conn.execute(
            select(
                volunteers.c.user_id,
                volunteers.c.quiet_hours_start,
                volunteers.c.quiet_hours_end,
                volunteers.c.time_zone,
            ).where(volunteers.c.user_id.in_([r.volunteer_id for r in ranked]))
        )
    ).all()
    wakes = {row.user_id: quiet_until(row, now) for row in rows}
    return {user: at for user, at in wakes.items() if at is not None and at >= expires}
