"""Stored availability: the declared weekly pattern and its materialised UTC spans.

Spans for the next weeks live in `volunteer_availability` (tstzrange, GiST-indexed), so
"who is available for this window" is one set-based query. They are rewritten whenever a
volunteer changes their availability and extended daily by the worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import structlog
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import clock_of
from app.db.tables import volunteer_availability, volunteers
from app.db.tenancy import Tx
from app.errors import InvalidInput, NotFound
from app.volunteers.availability import Availability, expand, validate

SPAN_HORIZON = timedelta(weeks=8)
BATCH = 500
log = structlog.get_logger(__name__)


class AvailabilityView(msgspec.Struct, kw_only=True):
    declared: Availability
    upcoming: list[tuple[datetime, datetime]]  # the next available spans (UTC), at most 20


async def _write_spans(
    conn: AsyncConnection, user_id: object, declared: Availability, now: datetime
) -> None:
    spans = expand(declared, now, now + SPAN_HORIZON)
    await conn.execute(
        delete(volunteer_availability).where(volunteer_availability.c.user_id == user_id)
    )
    if spans:
        await conn.execute(
            insert(volunteer_availability),
            [{"user_id": user_id, "span": Range(start, end)} for start, end in spans],
        )


async def replace(tx: Tx, declared: Availability) -> AvailabilityView:
    user_id = tx.principal.user_id
    zone = await tx.conn.scalar(
        select(volunteers.c.time_zone).where(volunteers.c.user_id == user_id)
    )
    if zone is None:
        raise NotFound("No volunteer profile yet: sign up with POST /v1/volunteers/me")
    if declared.time_zone != zone:
        raise InvalidInput.field("time_zone", f"must be your profile's time zone, {zone}")
    validate(declared, today=tx.now.astimezone(ZoneInfo(zone)).date())
    await tx.conn.execute(
        update(volunteers)
        .where(volunteers.c.user_id == user_id)
        .values(availability=msgspec.to_builtins(declared), updated_at=tx.now)
    )
    await _write_spans(tx.conn, user_id, declared, tx.now)
    return await view(tx)


async def view(tx: Tx) -> AvailabilityView:
    user_id = tx.principal.user_id
    row = (
        await tx.conn.execute(
            select(volunteers.c.availability, volunteers.c.time_zone).where(
                volunteers.c.user_id == user_id
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFound("No volunteer profile yet: sign up with POST /v1/volunteers/me")
    declared = msgspec.convert(row.availability or {"time_zone": row.time_zone}, Availability)
    spans = (
        await tx.conn.scalars(
            select(volunteer_availability.c.span)
            .where(
                volunteer_availability.c.user_id == user_id,
                func.upper(volunteer_availability.c.span) > tx.now,
            )
            .order_by(volunteer_availability.c.span)
            .limit(20)
        )
    ).all()
    return AvailabilityView(
        declared=declared, upcoming=[(span.lower, span.upper) for span in spans]
    )


async def end_lapsed_duty(engine: AsyncEngine) -> None:
    """Worker job: duty that has run out ends, and its live location is erased."""
    now = clock_of(engine).now()
    async with engine.begin() as conn:
        await conn.execute(
            update(volunteers)
            .where(volunteers.c.on_duty, volunteers.c.on_duty_until <= now)
            .values(on_duty=False, on_duty_until=None, live_location=None, live_location_at=None)
        )


async def roll_spans_forward(engine: AsyncEngine) -> None:
    """Worker job: keep every volunteer's materialised spans SPAN_HORIZON ahead.

    Runs with the worker's system login, across organisations, in batches. Rows a volunteer
    is changing right now are skipped (their own update rewrites the spans), and one bad
    row is logged and skipped rather than stopping everyone after it.
    """
    now, after = clock_of(engine).now(), None
    while True:
        async with engine.begin() as conn:
            stmt = (
                select(volunteers.c.user_id, volunteers.c.availability)
                .where(volunteers.c.availability != text("'{}'::jsonb"))
                .order_by(volunteers.c.user_id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            if after is not None:
                stmt = stmt.where(volunteers.c.user_id > after)
            rows = (await conn.execute(stmt)).all()
            for row in rows:
                try:
                    async with conn.begin_nested():
                        declared = msgspec.convert(row.availability, Availability)
                        await _write_spans(conn, row.user_id, declared, now)
                except Exception:
                    log.exception("availability not rolled forward", user_id=str(row.user_id))
        if len(rows) < BATCH:
            return
        after = rows[-1].user_id
