"""A crowd of volunteers and a need offered to all of them, for races on accept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.dialects.postgresql.ranges import MultiRange

from app.db.tables import needs, offers, programmes
from tests.support import World

HOME = (51.4551, -0.9712)


async def make_crowd(world: World, size: int) -> dict[str, Any]:
    """`size` approved volunteers of org-a, a caseworker and a programme."""
    org_id = await world.org("org-a")
    await world.person("case-a", org="org-a", role="caseworker")
    subjects = [f"racer-{i:03d}" for i in range(size)]
    ids = [await world.volunteer(s, org="org-a", at=HOME) for s in subjects]
    async with world.owner.begin() as conn:
        programme_id = await conn.scalar(
            insert(programmes)
            .values(org_id=org_id, name="Races", kind="community_support")
            .returning(programmes.c.id)
        )
    return {"org_id": org_id, "programme_id": programme_id, "subjects": subjects, "ids": ids}


async def need_offered_to_all(world: World, crowd: dict[str, Any], slots: int) -> list[UUID]:
    """A manual need with `slots` slots and a pending offer to every racer; the offer ids."""
    start = datetime.now(UTC) + timedelta(days=1)
    async with world.owner.begin() as conn:
        need_id = await conn.scalar(
            insert(needs)
            .values(
                org_id=crowd["org_id"],
                programme_id=crowd["programme_id"],
                title="Race",
                mode="remote",
                min_vetting="none",
                windows=MultiRange([Range(start, start + timedelta(hours=1))]),
                duration_minutes=30,
                slots=slots,
                dispatch="manual",
                status="open",
            )
            .returning(needs.c.id)
        )
        made = await conn.execute(
            insert(offers).returning(offers.c.id, offers.c.volunteer_id),
            [
                {
                    "org_id": crowd["org_id"],
                    "need_id": need_id,
                    "volunteer_id": v,
                    "wave": 1,
                    "source": "manual",
                    "expires_at": start,
                }
                for v in crowd["ids"]
            ],
        )
        by_volunteer = {r.volunteer_id: r.id for r in made}
    return [by_volunteer[v] for v in crowd["ids"]]
