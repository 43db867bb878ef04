"""Demo data: a synthetic borough around Reading town centre. Idempotent: re-running adds
nothing that is already there (every row has a natural key)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.db.tables import memberships, organisations, users
from app.identity.tokens import DEV_ISSUER

TOWN_CENTRE = (51.4543, -0.9781)  # Reading, Berkshire (lat, lon)


@dataclass(frozen=True)
class DemoOrg:
    slug: str
    name: str
    kind: str


ORGS = (
    DemoOrg("reading-council", "Reading Borough Council (demo)", "council"),
    DemoOrg("berkshire-nhs", "Royal Berkshire NHS Foundation Trust (demo)", "nhs_trust"),
    DemoOrg("reading-helpers", "Reading Good Neighbours (demo charity)", "charity"),
)
STAFF_ROLES = ("org_admin", "coordinator", "caseworker")
PLATFORM_ADMIN = "demo-platform-admin"


@dataclass(frozen=True)
class SeedReport:
    organisations: int
    users: int
    memberships: int


async def ensure_user(
    conn: AsyncConnection, subject: str, name: str, *, platform_admin: bool = False
) -> object:
    await conn.execute(
        insert(users)
        .values(
            issuer=DEV_ISSUER,
            subject=subject,
            display_name=name,
            email=f"{subject}@demo.codeliver.invalid",
            is_platform_admin=platform_admin,
        )
        .on_conflict_do_nothing(index_elements=["issuer", "subject"])
    )
    return await conn.scalar(
        select(users.c.id).where(users.c.issuer == DEV_ISSUER, users.c.subject == subject)
    )


async def ensure_member(
    conn: AsyncConnection, subject: str, name: str, org_slug: str, role: str
) -> None:
    user_id = await ensure_user(conn, subject, name)
    org_id = await conn.scalar(select(organisations.c.id).where(organisations.c.slug == org_slug))
    if org_id is None:
        raise LookupError(f"no organisation with slug {org_slug!r}")
    await conn.execute(
        insert(memberships)
        .values(org_id=org_id, user_id=user_id, role=role)
        .on_conflict_do_nothing()
    )


async def seed(owner_url: str, *, volunteers: int = 60, progress: bool = True) -> SeedReport:
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            with Progress(disable=not progress, transient=True) as bar:
                task = bar.add_task("Seeding the demo borough", total=len(ORGS) + volunteers + 1)
                await ensure_user(conn, PLATFORM_ADMIN, "Platform Admin", platform_admin=True)
                bar.advance(task)
                for org in ORGS:
                    await conn.execute(
                        insert(organisations)
                        .values(slug=org.slug, name=org.name, kind=org.kind)
                        .on_conflict_do_nothing(index_elements=["slug"])
                    )
                    for role in STAFF_ROLES:
                        subject = f"demo-{role.replace('_', '-')}-{org.slug}"
                        await ensure_member(
                            conn, subject, f"{role.title()} at {org.name}", org.slug, role
                        )
                    bar.advance(task)
                for n in range(volunteers):
                    # Volunteers may serve several organisations: every third serves two.
                    homes = [ORGS[n % len(ORGS)]] + (
                        [ORGS[(n + 1) % len(ORGS)]] if n % 3 == 0 else []
                    )
                    for org in homes:
                        await ensure_member(
                            conn,
                            f"demo-volunteer-{n:03d}",
                            f"Volunteer {n:03d}",
                            org.slug,
                            "volunteer",
                        )
                    bar.advance(task)
            counts = [
                await conn.scalar(select(func.count()).select_from(t))
                for t in (organisations, users, memberships)
            ]
        return SeedReport(*(int(c or 0) for c in counts))
    finally:
        await engine.dispose()
