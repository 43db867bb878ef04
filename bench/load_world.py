"""bench/load_mix.py's world: the demo borough with its bulk volunteers, then, as the owner,
open needs of the Reading council, five offered to each of a few hundred of its approved
volunteers (what the volunteers poll, sync and answer), and the tokens and ids the locust
users need, written to a JSON file for bench/locustfile.py."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.dialects.postgresql.ranges import MultiRange
from sqlalchemy.ext.asyncio import create_async_engine

from app.coverage import supply
from app.db.tables import needs, offers
from app.seed import ORGS, seed
from bench.common import token
from bench.coverage import tile_of

OFFERED_NEEDS = 40  # open needs of the council
OFFERS_EACH = 5  # of them offered to each bench volunteer (a volunteer's few open offers)
SLOTS = 3


async def make_world(owner_url: str, volunteers: int, people: int, path: Path) -> dict[str, Any]:
    """Seeds the demo borough with `volunteers`, offers the council's open needs to `people`
    of its approved volunteers, refreshes the coverage snapshots and writes the world."""
    await seed(owner_url, volunteers=volunteers, progress=False)
    engine = create_async_engine(owner_url)
    start = datetime.now(UTC) + timedelta(days=1)
    try:
        async with engine.begin() as conn:
            orgs = {
                slug: (org_id, programme_id)
                for slug, org_id, programme_id in (
                    await conn.execute(
                        text(
                            "SELECT DISTINCT ON (o.slug) o.slug, o.id, p.id FROM organisations o"
                            " JOIN programmes p ON p.org_id = o.id"
                            " ORDER BY o.slug, p.min_vetting <> 'none', p.name"
                        )
                    )
                ).all()
            }
            council, programme = orgs["reading-council"]
            picked = (
                await conn.execute(
                    text(
                        "SELECT u.id, u.subject FROM users u JOIN volunteers v ON v.user_id = u.id"
                        " JOIN memberships m ON m.user_id = u.id AND m.org_id = :org"
                        " AND m.role = 'volunteer' AND m.status = 'approved'"
                        " ORDER BY u.subject LIMIT :n"
                    ),
                    {"org": council, "n": people},
                )
            ).all()
            need_ids = []
            for n in range(OFFERED_NEEDS):
                begins = start + timedelta(hours=3 * n)
                need_ids.append(
                    await conn.scalar(
                        insert(needs)
                        .values(
                            org_id=council,
                            programme_id=programme,
                            title=f"Load {n}",
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
                )
            await conn.execute(
                insert(offers),
                [
                    {
                        "org_id": council,
                        "need_id": need_id,
                        "volunteer_id": user_id,
                        "wave": 1,
                        "source": "manual",
                        "expires_at": start + timedelta(days=30),
                    }
                    for i, (user_id, _) in enumerate(picked)
                    for need_id in (need_ids * 2)[i % OFFERED_NEEDS :][:OFFERS_EACH]
                ],
            )
        await refresh_snapshots(owner_url)
        async with engine.connect() as conn:  # the seed's statistics, before any step
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    world = {
        "volunteers": [token(subject) for _, subject in picked],
        "caseworkers": [
            {
                "token": token(f"demo-caseworker-{org.slug}"),
                "programme_id": str(orgs[org.slug][1]),
                "needs": [str(n) for n in need_ids] if org.slug == "reading-council" else [],
            }
            for org in ORGS
        ],
        "coordinators": [token(f"demo-coordinator-{org.slug}") for org in ORGS],
        "start": start.isoformat(),
        "tiles": [[z, *tile_of(z)] for z in (12, 13, 14)],
    }
    await asyncio.to_thread(path.write_text, json.dumps(world))
    return world


async def refresh_snapshots(owner_url: str) -> None:
    """Each organisation's coverage snapshot, as the worker keeps them: a coordinator's map
    is of their one organisation (supply.scope_id)."""
    engine = create_async_engine(owner_url)
    try:
        async with engine.connect() as conn:
            org_ids = list((await conn.execute(text("SELECT id FROM organisations"))).scalars())
        for org_id in org_ids:
            await supply.refresh(engine, [org_id])
    finally:
        await engine.dispose()
