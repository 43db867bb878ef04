"""Test helpers: build organisations and people with the owner's connection, mint tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.tables import organisations, users
from app.identity.tokens import DEV_ISSUER, DevIssuer
from app.seed import ensure_member, ensure_user


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
