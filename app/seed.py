"""Demo data: a synthetic borough around Reading town centre. Idempotent: re-running adds
nothing that is already there (every row has a natural key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.db.tables import (
    clients,
    contact_channels,
    devices,
    memberships,
    needs,
    organisations,
    users,
    vetting_checks,
    volunteer_availability,
)
from app.db.tables import volunteers as volunteers_table
from app.demo_casework import seed_casework
from app.demo_population import TOWN_CENTRE, profile_row, volunteer
from app.identity.tokens import DEV_ISSUER
from app.volunteers.availability import expand
from app.volunteers.schedule import SPAN_HORIZON


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


BATCH = 500
BULK_ABOVE = 20_000  # more volunteers than this load by COPY (app.bulk_seed)
TEXT_ONLY_EVERY = 10  # one demo volunteer in ten has no app: offers reach them by text


def text_only_phone(n: int) -> str | None:
    """The phone of demo volunteer `n` if they have no app: from Ofcom's range for drama
    (07700 900000 to 900999), never anyone's real number; the first 1,000 such only."""
    if n % TEXT_ONLY_EVERY != TEXT_ONLY_EVERY - 1 or n // TEXT_ONLY_EVERY >= 1000:
        return None
    return f"+447700900{n // TEXT_ONLY_EVERY:03d}"


@dataclass(frozen=True)
class SeedReport:
    organisations: int
    users: int
    memberships: int
    volunteers: int
    clients: int
    needs: int


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


async def seed(owner_url: str, *, volunteers: int = 2000, progress: bool = True) -> SeedReport:
    engine = create_async_engine(owner_url)
    small = 0 if volunteers > BULK_ABOVE else volunteers
    try:
        async with engine.begin() as conn:
            with Progress(disable=not progress, transient=True) as bar:
                need = bar.add_task("Seeding the demo borough", total=len(ORGS) + small + 1)
                await ensure_user(conn, PLATFORM_ADMIN, "Platform Admin", platform_admin=True)
                bar.advance(need)
                org_ids = []
                for org in ORGS:
                    org_ids.append(await _ensure_org(conn, org))
                    await seed_casework(conn, org_ids[-1], org.slug, org.kind, TOWN_CENTRE)
                    bar.advance(need)
                for start in range(0, small, BATCH):
                    batch = range(start, min(start + BATCH, small))
                    await _seed_volunteers(conn, batch, org_ids)
                    bar.advance(need, len(batch))
        if small < volunteers:  # its own connection: the organisations must be committed first
            from app.bulk_seed import bulk_volunteers  # here: it imports app.seed

            with Progress(disable=not progress, transient=True) as bar:
                await bulk_volunteers(owner_url, range(volunteers), org_ids, bar)
        async with engine.connect() as conn:
            counts = [
                await conn.scalar(select(func.count()).select_from(t))
                for t in (organisations, users, memberships, volunteers_table, clients, needs)
            ]
        return SeedReport(*(int(c or 0) for c in counts))
    finally:
        await engine.dispose()


async def _ensure_org(conn: AsyncConnection, org: DemoOrg) -> Any:
    await conn.execute(
        insert(organisations)
        .values(slug=org.slug, name=org.name, kind=org.kind)
        .on_conflict_do_nothing(index_elements=["slug"])
    )
    for role in STAFF_ROLES:
        subject = f"demo-{role.replace('_', '-')}-{org.slug}"
        await ensure_member(conn, subject, f"{role.title()} at {org.name}", org.slug, role)
    return await conn.scalar(select(organisations.c.id).where(organisations.c.slug == org.slug))


async def _seed_volunteers(conn: AsyncConnection, numbers: range, org_ids: list[Any]) -> None:
    """One batch, in bulk statements; only people not seeded before get rows."""
    today = date.today()
    people = [volunteer(n, centre=TOWN_CENTRE, orgs=len(org_ids), today=today) for n in numbers]
    phones = {p.subject: text_only_phone(n) for n, p in zip(numbers, people, strict=True)}
    await conn.execute(
        insert(users).on_conflict_do_nothing(),
        [
            {"issuer": DEV_ISSUER, "subject": p.subject, "display_name": p.display_name}
            for p in people
        ],
    )
    ids = dict(
        (
            await conn.execute(
                select(users.c.subject, users.c.id).where(
                    users.c.issuer == DEV_ISSUER, users.c.subject.in_([p.subject for p in people])
                )
            )
        ).all()
    )
    fresh = (
        set(
            (
                await conn.execute(
                    insert(volunteers_table)
                    .on_conflict_do_nothing()
                    .returning(volunteers_table.c.user_id),
                    [
                        profile_row(p, ids[p.subject])
                        | {"availability": msgspec.to_builtins(p.availability)}
                        for p in people
                    ],
                )
            )
            .scalars()
            .all()
        )
        if people
        else set()
    )
    new = [p for p in people if ids[p.subject] in fresh]
    if not new:
        return
    await conn.execute(
        insert(memberships).on_conflict_do_nothing(),
        [
            {
                "org_id": org_ids[i],
                "user_id": ids[p.subject],
                "role": "volunteer",
                "status": p.status,
            }
            for p in new
            for i in p.orgs
        ],
    )
    await conn.execute(
        insert(vetting_checks),
        [
            {
                "org_id": org_ids[i],
                "user_id": ids[p.subject],
                "level": p.vetting_level,
                "checked_on": p.checked_on,
                "id_verified": p.vetting_level != "none",
                "expires_on": p.checked_on + relativedelta(months=36) if p.checked_on else None,
            }
            for p in new
            for i in p.orgs
        ],
    )
    # A phone each, so `make run` shows the pushes the cascade sends (the log transport
    # prints them; with real Firebase settings FCM would refuse these tokens and they go);
    # the text-only volunteers have a verified number instead, their only channel, so
    # offers go to them by text (the log transport prints those, or Notify sends them).
    now = datetime.now(UTC)
    apps = [p for p in new if phones[p.subject] is None]
    if apps:
        await conn.execute(
            insert(devices).on_conflict_do_nothing(),
            [
                {
                    "user_id": ids[p.subject],
                    "token": f"demo-device-{p.subject}",
                    "token_kind": "token",
                    "platform": ("android", "ios")[n % 2],
                }
                for n, p in enumerate(apps)
            ],
        )
    texters = [p for p in new if phones[p.subject] is not None]
    if texters:
        await conn.execute(
            insert(contact_channels).on_conflict_do_nothing(),
            [
                {
                    "user_id": ids[p.subject],
                    "channel": "sms",
                    "address": phones[p.subject],
                    "position": 0,
                    "verified_at": now,
                }
                for p in texters
            ],
        )
    spans = [
        {"user_id": ids[p.subject], "span": Range(a, b)}
        for p in new
        for a, b in expand(p.availability, now, now + SPAN_HORIZON)
    ]
    if spans:
        await conn.execute(insert(volunteer_availability), spans)
