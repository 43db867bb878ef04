"""A need as matching sees it: the need row with its programme's policy, read once into a
typed `NeedRow` and turned into the pure core's structs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.rows import AnyRow
from app.db.tables import assignments, needs, programmes, volunteers
from geo import candidates
from matching import cascade, eligibility, scoring
from matching.model import SERVED, Dispatch, Mode, Need, OfferPolicy, Ranked, Urgency
from matching.status import NeedStatus
from matching.vetting import DbsLevel
from notifications.quiet import quiet_until


def shown_fields(row: AnyRow) -> dict[str, Any]:
    """The typed values of the columns every need row carries (NeedRow, SummaryRow)."""
    m = row._mapping
    return {
        "mode": Mode(m["mode"]),
        "windows": tuple(m["windows"]),
        "urgency": Urgency(m["urgency"]),
        "required_skills": tuple(m["required_skills"]),
        "languages": tuple(m["languages"]),
    }


@dataclass(frozen=True, slots=True)
class NeedRow:
    """The columns of a need and its programme that use cases read (`load`'s row)."""

    id: UUID
    org_id: UUID
    programme_id: UUID
    client_id: UUID | None
    created_by: UUID | None
    title: str
    description: str | None
    mode: Mode
    location: Any  # WKBElement: the exact place, for the assigned volunteer only
    coarse_location: Any  # WKBElement: the ~500 m cell everyone else sees
    required_skills: tuple[str, ...]
    languages: tuple[str, ...]
    min_vetting: DbsLevel  # the need's own: already the stricter of it and the programme's
    windows: tuple[Range[datetime], ...]  # alternatives; never empty
    duration_minutes: int
    slots: int
    filled: int
    urgency: Urgency
    dispatch: Dispatch
    status: NeedStatus
    series_id: UUID | None
    continuity_volunteer_id: UUID | None
    continuity_same_as_last: bool
    waves_sent: int
    escalated_at: datetime | None
    # the programme's
    kind: str
    wave_size: int
    offer_timeout_s: int
    alert_cap: int
    max_waves: int
    checkin_radius_m: int
    stale_claim_timeout_s: int

    @classmethod
    def of(cls, row: AnyRow) -> NeedRow:
        """From a result row holding (at least) these columns."""
        m = row._mapping
        return cls(
            **{f.name: m[f.name] for f in fields(cls)}
            | shown_fields(row)
            | {
                "min_vetting": DbsLevel(m["min_vetting"]),
                "dispatch": Dispatch(m["dispatch"]),
                "status": NeedStatus(m["status"]),
            }
        )


_PROGRAMME = frozenset(
    ("kind", "wave_size", "offer_timeout_s", "alert_cap", "max_waves", "checkin_radius_m")
) | {"stale_claim_timeout_s"}
_COLUMNS = tuple((programmes if f.name in _PROGRAMME else needs).c[f.name] for f in fields(NeedRow))


# Needs with their programme's policy: add a WHERE clause.
NEEDS = select(*_COLUMNS).select_from(
    needs.join(programmes, programmes.c.id == needs.c.programme_id)
)


async def load(
    conn: AsyncConnection, need_id: UUID, *, lock: bool = False, skip_locked: bool = False
) -> NeedRow | None:
    """The need row with its programme's policy, or None (unknown, or hidden from the caller
    by row-level security, or locked by another worker when `skip_locked`)."""
    stmt = statement(need_id)
    if lock:
        stmt = stmt.with_for_update(of=needs, skip_locked=skip_locked)
    row = (await conn.execute(stmt)).one_or_none()
    return None if row is None else NeedRow.of(row)


async def load_many(conn: AsyncConnection, need_ids: Sequence[UUID]) -> list[NeedRow]:
    """The rows of the given needs that the caller may see, in the order given (one
    statement: the open-call feed reads a page of needs at once; none for no ids)."""
    if not need_ids:
        return []
    rows = (await conn.execute(NEEDS.where(needs.c.id.in_(need_ids)))).all()
    by_id = {row.id: NeedRow.of(row) for row in rows}
    return [by_id[need_id] for need_id in need_ids if need_id in by_id]


def statement(need_id: UUID) -> Select[Any]:
    """The need row with its programme's policy (what `load` runs; benchmarks run it raw)."""
    return NEEDS.where(needs.c.id == need_id)


def starts_at(row: NeedRow) -> datetime:
    return min(_bound(r.lower) for r in row.windows)


def ends_at(row: NeedRow) -> datetime:
    return max(_bound(r.upper) for r in row.windows)


def _bound(at: datetime | None) -> datetime:
    if at is None:  # pragma: no cover - windows are checked bounded when posted
        raise ValueError("a need's window is unbounded")
    return at


def need_of(row: NeedRow, continuity_volunteer_id: UUID | None = None) -> Need:
    return Need(
        id=row.id,
        mode=Mode(row.mode),  # plans pass raw rows (with `pending`) too
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


def policy_of(row: NeedRow) -> OfferPolicy:
    return OfferPolicy(
        wave_size=row.wave_size,
        alert_cap=row.alert_cap,
        max_waves=row.max_waves,
        offer_timeout_s=row.offer_timeout_s,
    )


def query_of(row: NeedRow, at: datetime) -> candidates.Query:
    """The candidate search for the need, as of the deciding instant `at`."""
    return candidates.Query(
        need_id=row.id,
        remote=row.mode == Mode.REMOTE,
        min_vetting=DbsLevel(row.min_vetting),
        last_day=ends_at(row).astimezone(UTC).date(),
        at=at,
        micro=eligibility.is_micro_task(row.kind),
    )


def offer_expiry(row: NeedRow, now: datetime) -> datetime:
    return cascade.offer_expiry(policy_of(row), starts_at(row), now)


def is_urgent(row: NeedRow) -> bool:
    """Urgent offers are pushed through quiet hours (notifications.dispatcher)."""
    return cascade.is_urgent(row.urgency)


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


async def _last_volunteer(conn: AsyncConnection, client_id: UUID) -> UUID | None:
    """Who last helped this client: "same as last time" continuity."""
    stmt = (
        select(assignments.c.volunteer_id)
        .select_from(assignments.join(needs, needs.c.id == assignments.c.need_id))
        .where(
            needs.c.client_id == client_id,
            assignments.c.status.in_(SERVED),
        )
        .order_by(assignments.c.accepted_at.desc())
        .limit(1)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def rank(conn: AsyncConnection, row: NeedRow, limit: int, at: datetime) -> list[Ranked]:
    """The need's eligible volunteers, ranked and explained; the one asked for by name (or
    last time's) is looked up too, as they may live beyond the nearest few."""
    wanted = row.continuity_volunteer_id
    if wanted is None and row.continuity_same_as_last and row.client_id is not None:
        wanted = await _last_volunteer(conn, row.client_id)
    query = query_of(row, at)
    pool = await candidates.eligible(conn, query, limit)
    if wanted is not None and all(c.volunteer_id != wanted for c in pool):
        pool += await candidates.named(conn, query, [wanted])
    return scoring.rank(need_of(row, wanted), pool, policy_of(row))
