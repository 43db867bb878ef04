"""Test helpers: build organisations and people with the owner's connection, mint tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from litestar import Litestar
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.tables import (
    memberships,
    organisations,
    users,
    vetting_checks,
    volunteer_availability,
    volunteers,
)
from app.identity.tokens import DEV_ISSUER, DevIssuer
from app.seed import ensure_member, ensure_user


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """`app` through its lifespan, and a client speaking ASGI to it."""
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass(frozen=True)
class Db:
    app_url: str
    owner_url: str
    name: str


class World:
    """Organisations and people for one test, written directly (bypassing the API)."""

    def __init__(self, db: Db, issuer: DevIssuer) -> None:
        self.db = db
        self.issuer = issuer
        self.owner: AsyncEngine = create_async_engine(db.owner_url)

    async def close(self) -> None:
        await self.owner.dispose()

    async def org(self, slug: str, kind: str = "council") -> UUID:
        async with self.owner.begin() as conn:
            await conn.execute(
                insert(organisations)
                .values(slug=slug, name=slug.replace("-", " ").title(), kind=kind)
                .on_conflict_do_nothing()
            )
            org_id = await conn.scalar(
                select(organisations.c.id).where(organisations.c.slug == slug)
            )
        assert org_id is not None
        return UUID(str(org_id))

    async def person(
        self,
        subject: str,
        *,
        org: str | None = None,
        role: str | None = None,
        platform_admin: bool = False,
    ) -> dict[str, str]:
        """Ensure the person (and membership); return request headers with their token."""
        async with self.owner.begin() as conn:
            await ensure_user(conn, subject, subject.replace("-", " ").title())
            if org and role:
                await ensure_member(conn, subject, subject, org, role)
            if platform_admin:
                await conn.execute(
                    update(users)
                    .where(users.c.subject == subject, users.c.issuer == DEV_ISSUER)
                    .values(is_platform_admin=True)
                )
        return self.headers(subject)

    def headers(self, subject: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(subject, ttl_s=600, **claims)}"}

    async def count(self, table: str, where: str = "true") -> int:
        async with self.owner.connect() as conn:
            return int(await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}")) or 0)  # noqa: S608

    async def volunteer(
        self,
        subject: str,
        *,
        org: str,
        at: tuple[float, float] = (51.4551, -0.9712),
        status: str = "approved",
        vetting: str | None = None,
        vetting_expires: date | None = None,
        available_days: int = 30,
        **profile: Any,
    ) -> UUID:
        """A volunteer of `org` living at `at` (lat, lon), available around the clock for
        `available_days`, with an ID-verified check at `vetting` when given."""
        async with self.owner.begin() as conn:
            await ensure_member(conn, subject, subject, org, "volunteer")
            user_id = await conn.scalar(
                select(users.c.id).where(users.c.subject == subject, users.c.issuer == DEV_ISSUER)
            )
            org_id = await conn.scalar(
                select(organisations.c.id).where(organisations.c.slug == org)
            )
            await conn.execute(
                update(memberships)
                .where(memberships.c.user_id == user_id, memberships.c.org_id == org_id)
                .values(status=status)
            )
            lat, lon = at
            values = {
                "user_id": user_id,
                "display_name": subject.replace("-", " ").title(),
                "home": f"SRID=4326;POINT({lon} {lat})",
                "max_travel_km": 10.0,
                "travel_mode": "walk",
                "max_hours_per_week": 20,
                "max_active_assignments": 5,
                **profile,
            }
            await conn.execute(insert(volunteers).values(**values).on_conflict_do_nothing())
            if available_days:
                start = datetime.now(UTC) - timedelta(days=1)
                await conn.execute(
                    insert(volunteer_availability)
                    .values(
                        user_id=user_id,
                        span=Range(start, start + timedelta(days=available_days)),
                    )
                    .on_conflict_do_nothing()
                )
            if vetting is not None:
                today = datetime.now(UTC).date()
                await conn.execute(
                    insert(vetting_checks).values(
                        org_id=org_id,
                        user_id=user_id,
                        level=vetting,
                        checked_on=today - timedelta(days=30),
                        expires_on=vetting_expires or today + timedelta(days=365),
                        id_verified=True,
                    )
                )
        return UUID(str(user_id))
