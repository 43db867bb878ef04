"""Build coverage and metrics scenarios row by row with the owner's connection (the endpoints
that write offers and assignments belong to another slice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.dialects.postgresql.ranges import MultiRange

from app.db.tables import (
    assignments,
    clients,
    memberships,
    needs,
    offers,
    programmes,
    users,
    volunteer_availability,
    volunteers,
)
from app.seed import ensure_member
from geo.privacy import coarsen_location
from tests.support import World

NOW = datetime.now(UTC).replace(microsecond=0)
READING = (51.4543, -0.9781)


def point(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


class Scenario:
    def __init__(self, world: World) -> None:
        self.world = world
        self.owner = world.owner

    async def _insert(self, table: Any, **values: Any) -> Any:
        async with self.owner.begin() as conn:
            return await conn.scalar(insert(table).values(**values).returning(table.c[0]))

    async def programme(self, org_id: UUID, name: str = "Errands") -> Any:
        return await self._insert(programmes, org_id=org_id, name=name, kind="community_support")

    async def volunteer(
        self,
        org: str,
        subject: str,
        at: tuple[float, float] = READING,
        *,
        km: float = 3.0,
        on_duty: bool = False,
        hours: float = 0.0,
        status: str = "approved",
    ) -> Any:
        async with self.owner.begin() as conn:
            await ensure_member(conn, subject, subject, org, "volunteer")
            user_id = await conn.scalar(select(users.c.id).where(users.c.subject == subject))
            await conn.execute(
                memberships.update()
                .where(memberships.c.user_id == user_id, memberships.c.role == "volunteer")
                .values(status=status)
            )
            await conn.execute(
                insert(volunteers).values(
                    user_id=user_id,
                    display_name=subject,
                    home=point(*at),
                    max_travel_km=km,
                    travel_mode="car",
                    max_hours_per_week=10,
                    max_active_assignments=2,
                    on_duty=on_duty,
                )
            )
            if hours:
                span = Range(NOW + timedelta(hours=1), NOW + timedelta(hours=1 + hours))
                await conn.execute(
                    insert(volunteer_availability).values(user_id=user_id, span=span)
                )
        return user_id

    async def client(self, org_id: UUID, at: tuple[float, float] = READING) -> Any:
        return await self._insert(clients, org_id=org_id, name="A Client", location=point(*at))

    async def need(
        self,
        org_id: UUID,
        programme_id: UUID,
        client_id: UUID | None = None,
        at: tuple[float, float] | None = READING,
        **values: Any,
    ) -> Any:
        start = values.pop("window_start", NOW + timedelta(days=1))
        row: dict[str, Any] = {
            "org_id": org_id,
            "programme_id": programme_id,
            "client_id": client_id,
            "title": "Prescription run",
            "mode": "in_person" if at else "remote",
            "location": point(*at) if at else None,
            "coarse_location": point(*coarsen_location(*at)) if at else None,
            "min_vetting": "none",
            "windows": MultiRange([Range(start, start + timedelta(hours=4))]),
            "duration_minutes": 60,
            "slots": 1,
            "dispatch": "auto",
            "status": "open",
        }
        return await self._insert(needs, **(row | values))

    async def offer(
        self, org_id: UUID, need_id: UUID, volunteer_id: UUID, created_at: datetime, **values: Any
    ) -> Any:
        row = {
            "org_id": org_id,
            "need_id": need_id,
            "volunteer_id": volunteer_id,
            "wave": 1,
            "source": "cascade",
            "created_at": created_at,
            "expires_at": created_at + timedelta(minutes=15),
        }
        return await self._insert(offers, **(row | values))

    async def assignment(
        self, org_id: UUID, need_id: UUID, volunteer_id: UUID, **values: Any
    ) -> Any:
        row = {"org_id": org_id, "need_id": need_id, "volunteer_id": volunteer_id}
        if values.get("status", "accepted") not in ("accepted", "checked_in"):
            row["ended_at"] = values.get("accepted_at", NOW)
        return await self._insert(assignments, **(row | values))
