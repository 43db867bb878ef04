"""The volunteers' kept coverage facts (geo/volunteer_facts.py, decisions.md 59): on a seeded
world a map computed on the spot from them answers exactly as from the source tables, before
and after a change the job has not applied yet and after it has; they follow row-level
security."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.coverage import supply
from app.db.tables import organisations
from app.db.tenancy import tenant_transaction
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.seed import ORGS, ensure_member, seed
from app.worker import default_jobs
from geo import access, volunteer_facts
from geo.coverage import Scope
from matching.coverage import accessible
from tests.support import World

pytestmark = pytest.mark.anyio
BBOX = "-1.10,51.40,-0.85,51.52"
BOX = (-1.10, 51.40, -0.85, 51.52)
SUBJECT = "facts-coordinator"


async def _seeded(world: World) -> list[UUID]:
    await seed(world.db.owner_url, volunteers=1500, progress=False)
    async with world.owner.begin() as conn:
        for org in ORGS:  # a coordinator of every organisation: one scope across them
            await ensure_member(conn, SUBJECT, "Facts Coordinator", org.slug, "coordinator")
        ids = (await conn.scalars(select(organisations.c.id).order_by(organisations.c.id))).all()
    return list(ids)


async def _both(engine: AsyncEngine, scope: Scope) -> tuple[access.Facts, access.Facts]:
    async with engine.connect() as conn:
        tables = await access.facts(conn, scope, BOX, scope.start, kept=False)
        kept = await access.facts(conn, scope, BOX, scope.start)
    return tables, kept


def _same(tables: access.Facts, kept: access.Facts) -> None:
    assert tables.need_ids == kept.need_ids
    assert len(tables.supply) == len(kept.supply) > 100
    order = [np.lexsort((f.supply.org, f.supply.lat, f.supply.lon)) for f in (tables, kept)]
    for column in ("org", "lon", "lat", "radius_m", "hours", "level", "words", "on_duty"):
        a, b = (getattr(f.supply, column)[o] for f, o in zip((tables, kept), order, strict=True))
        assert np.array_equal(a, b), column
    assert len(np.unique(tables.supply.person)) == len(np.unique(kept.supply.person))
    shares = [accessible(f.supply, f.demand) for f in (tables, kept)]
    assert shares[0].sum() > 0
    np.testing.assert_allclose(shares[0], shares[1], rtol=1e-9, atol=1e-9)
    assert len(tables.reach) == len(kept.reach)
    assert sorted(tables.reach.hours) == pytest.approx(sorted(kept.reach.hours), abs=1e-9)


async def test_kept_facts_answer_as_the_tables_through_changes_not_yet_applied(
    world: World,
) -> None:
    org_ids = await _seeded(world)
    start = datetime.now(UTC) + timedelta(hours=3)
    scope = Scope(org_ids, None, start, start + supply.PERIOD, 3)
    done = await volunteer_facts.rebuild(world.owner, datetime.now(UTC))
    assert done.rebuilt
    assert done.users > 1000
    assert await world.count("coverage_volunteer_changes") == 0
    _same(*await _both(world.owner, scope))

    # Changes of every kind, queued by the triggers and not applied yet: still the same.
    async with world.owner.begin() as conn:
        await conn.execute(
            text("""UPDATE volunteers SET on_duty = true, max_hours_per_week = 1
                     WHERE user_id IN (SELECT user_id FROM volunteers ORDER BY user_id LIMIT 40)""")
        )
        await conn.execute(
            text("""DELETE FROM volunteer_availability WHERE user_id IN
                    (SELECT user_id FROM volunteers ORDER BY user_id DESC LIMIT 40)""")
        )
        await conn.execute(
            text("""INSERT INTO vetting_checks (org_id, user_id, level, id_verified,
                                                barred_adults, recorded_at, checked_on, expires_on)
                    SELECT m.org_id, m.user_id, 'basic', true, true, :at,
                           CAST(:day AS date), CAST(:day AS date) + 365
                      FROM memberships m
                     WHERE m.role = 'volunteer' ORDER BY m.user_id OFFSET 100 LIMIT 30"""),
            {"at": datetime.now(UTC) + timedelta(days=1), "day": datetime.now(UTC).date()},
        )
        await conn.execute(
            text("""UPDATE memberships SET status = 'suspended' WHERE role = 'volunteer'
                     AND user_id IN (SELECT user_id FROM volunteers ORDER BY user_id
                                     OFFSET 300 LIMIT 30)""")
        )
    queued = await world.count("coverage_volunteer_changes")
    assert 100 <= queued <= 140
    _same(*await _both(world.owner, scope))

    # The worker's job applies them: the queue empties, the answer stays.
    (job,) = [j for j in default_jobs() if j.name == "coverage-volunteer-facts"]
    done = await job.run(world.owner)
    assert isinstance(done, volunteer_facts.Refreshed)
    assert not done.rebuilt
    assert done.users == queued
    assert await world.count("coverage_volunteer_changes") == 0
    _same(*await _both(world.owner, scope))


async def _hexes(client: httpx.AsyncClient, world: World, at: datetime) -> Any:
    response = await client.get(
        "/v1/coverage/hexes",
        params={"bbox": BBOX, "resolution": 14, "at": at.isoformat()},
        headers=world.headers(SUBJECT),
    )
    assert response.status_code == 200, response.text
    return {f["id"]: f["properties"] for f in response.json()["features"]}


async def test_a_map_on_the_spot_is_the_same_from_the_kept_facts(
    client: httpx.AsyncClient, world: World
) -> None:
    await _seeded(world)
    at = datetime.now(UTC) + timedelta(minutes=5)
    from_tables = await _hexes(client, world, at)
    await volunteer_facts.rebuild(world.owner, datetime.now(UTC))
    from_facts = await _hexes(client, world, at)
    assert any(cell["supply_hours"] for cell in from_tables.values())
    assert from_facts.keys() == from_tables.keys()
    for cell, figures in from_tables.items():
        assert from_facts[cell] == pytest.approx(figures, abs=1e-6), cell


async def test_the_kept_facts_follow_row_level_security(world: World) -> None:
    await _seeded(world)
    await volunteer_facts.rebuild(world.owner, datetime.now(UTC))
    reading = await world.org("reading-council")
    app = create_async_engine(world.db.app_url)
    try:
        async with app.connect() as conn:  # no tenant: nothing
            assert await conn.scalar(text("SELECT count(*) FROM coverage_volunteer_facts")) == 0
        async with app.begin() as conn:  # the app may not write them
            with pytest.raises(Exception, match="permission denied"):
                await conn.execute(text("DELETE FROM coverage_volunteer_facts"))
    finally:
        await app.dispose()
    async with world.owner.connect() as conn:
        orgs = await conn.scalar(
            text("SELECT count(DISTINCT org_id) FROM coverage_volunteer_facts")
        )
    assert orgs == len(ORGS)
    assert reading in await _orgs_seen_by(world, "reading-council")
    assert await _orgs_seen_by(world, "reading-council") == {reading}


async def _orgs_seen_by(world: World, slug: str) -> set[UUID]:
    """The organisations whose facts a coordinator of `slug` alone reads (as the app's
    login, in their tenant transaction)."""
    subject = f"only-{slug}"
    await world.person(subject, org=slug, role="coordinator")
    app = create_async_engine(world.db.app_url)
    try:
        identity = TokenIdentity(issuer=DEV_ISSUER, subject=subject)
        async with tenant_transaction(app, identity) as tx:
            rows = await tx.conn.scalars(
                text("SELECT DISTINCT org_id FROM coverage_volunteer_facts")
            )
            return set(rows.all())
    finally:
        await app.dispose()
