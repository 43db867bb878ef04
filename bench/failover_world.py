"""bench/failover.py's world: a council, its caseworker and programme, approved volunteers
("racers") and needs of a few slots offered to every one of them, written as the owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.dialects.postgresql.ranges import MultiRange
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import (
    needs,
    offers,
    organisations,
    programmes,
    users,
    volunteer_availability,
    volunteers,
)
from app.seed import ensure_member

SLOTS = 2
HOME = "SRID=4326;POINT(-0.9712 51.4551)"


async def make_world(owner: AsyncEngine, racers: int, need_count: int) -> dict[str, Any]:
    """The council, its caseworker and programme, approved racers and needs offered to all."""
    start = datetime.now(UTC) + timedelta(days=1)
    async with owner.begin() as conn:
        await conn.execute(insert(organisations).values(slug="org-a", name="Org A", kind="council"))
        org_id = await conn.scalar(
            select(organisations.c.id).where(organisations.c.slug == "org-a")
        )
        await ensure_member(conn, "case-a", "Case A", "org-a", "caseworker")
        programme_id = await conn.scalar(
            insert(programmes)
            .values(org_id=org_id, name="Failover", kind="community_support")
            .returning(programmes.c.id)
        )
        subjects = [f"racer-{i:03d}" for i in range(racers)]
        for subject in subjects:
            await ensure_member(conn, subject, subject, "org-a", "volunteer")
        await conn.execute(text("UPDATE memberships SET status = 'approved'"))
        ids = list(
            (
                await conn.execute(
                    insert(volunteers).returning(volunteers.c.user_id),
                    [
                        {
                            "user_id": uid,
                            "display_name": subject,
                            "home": HOME,
                            "max_travel_km": 10.0,
                            "travel_mode": "walk",
                            "max_hours_per_week": 80,
                            "max_active_assignments": 20,
                        }
                        for uid, subject in (
                            await conn.execute(
                                select(users.c.id, users.c.subject).where(
                                    users.c.subject.in_(subjects)
                                )
                            )
                        ).all()
                    ],
                )
            ).scalars()
        )
        await conn.execute(
            insert(volunteer_availability),
            [
                {"user_id": v, "span": Range(start - timedelta(days=2), start + timedelta(days=30))}
                for v in ids
            ],
        )
        by_user = dict(
            (
                await conn.execute(select(users.c.id, users.c.subject).where(users.c.id.in_(ids)))
            ).all()
        )
        offer_ids: dict[str, list[UUID]] = {by_user[v]: [] for v in ids}
        for n in range(need_count):
            begins = start + timedelta(hours=2 * n)
            need_id = await conn.scalar(
                insert(needs)
                .values(
                    org_id=org_id,
                    programme_id=programme_id,
                    title=f"Race {n}",
                    mode="remote",
                    min_vetting="none",
                    windows=MultiRange([Range(begins, begins + timedelta(hours=1))]),
                    duration_minutes=30,
                    slots=SLOTS,
                    dispatch="manual",
                    status="open",
                )
                .returning(needs.c.id)
            )
            made = await conn.execute(
                insert(offers).returning(offers.c.id, offers.c.volunteer_id),
                [
                    {
                        "org_id": org_id,
                        "need_id": need_id,
                        "volunteer_id": v,
                        "wave": 1,
                        "source": "manual",
                        "expires_at": begins,
                    }
                    for v in ids
                ],
            )
            for offer_id, volunteer_id in made.all():
                offer_ids[by_user[volunteer_id]].append(offer_id)
    return {"programme_id": str(programme_id), "offers": offer_ids, "start": start}
