"""The API process's copy of the kept volunteer facts (geo/kept_facts.py, decisions.md 66): on a
seeded world a map on the spot through it is the same as through the kept-facts statement,
before and after changes the job has not applied yet and after it has; the copy is read
again exactly when the worker rewrote rows; a copy is per scope and follows row-level
security (one organisation's coordinator never gets another's facts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.coverage import supply
from app.db.tables import organisations
from app.db.tenancy import tenant_transaction
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.seed import ORGS, ensure_member, seed
from app.worker import default_jobs
from geo import access, kept_facts, volunteer_facts
from geo.coverage import Scope
from matching.coverage import LEVELS, accessible
from tests.support import World

pytestmark = pytest.mark.anyio
BBOX = "-1.10,51.40,-0.85,51.52"
BOX = (-1.10, 51.40, -0.85, 51.52)
SUBJECT = "copy-coordinator"


async def _seeded(world: World) -> list[UUID]:
    kept_facts.COPIES.clear()
    await seed(world.db.owner_url, volunteers=1500, progress=False)
    async with world.owner.begin() as conn:
        for org in ORGS:
            await ensure_member(conn, SUBJECT, "Copy Coordinator", org.slug, "coordinator")
        ids = (await conn.scalars(select(organisations.c.id).order_by(organisations.c.id))).all()
    await volunteer_facts.rebuild(world.owner, datetime.now(UTC))
    return list(ids)


async def _both(world: World, scope: Scope) -> tuple[access.Facts, access.Facts]:
    async with world.owner.connect() as conn:
        statement = await access.facts(conn, scope, BOX, scope.start, copy=False)
        copy = await access.facts(conn, scope, BOX, scope.start)
    return statement, copy


def _same(statement: access.Facts, copy: access.Facts) -> None:
    assert statement.need_ids == copy.need_ids
    assert len(statement.supply) == len(copy.supply) > 100
    order = [np.lexsort((f.supply.org, f.supply.person)) for f in (statement, copy)]
    for column in ("person", "org", "lon", "lat", "radius_m", "hours", "level", "words"):
        a, b = (getattr(f.supply, column)[o] for f, o in zip((statement, copy), order, strict=True))
        assert np.array_equal(a, b), column
    duty = [f.supply.on_duty for f in (statement, copy)]
    assert duty[0] is not None
    assert duty[1] is not None
    assert np.array_equal(duty[0][order[0]], duty[1][order[1]])
    shares = [accessible(f.supply, f.demand) for f in (statement, copy)]
    assert shares[0].sum() > 0
    assert np.array_equal(shares[0], shares[1])
    assert len(statement.reach) == len(copy.reach)
    assert sorted(statement.reach.hours) == sorted(copy.reach.hours)


def _copy(org_ids: list[UUID]) -> kept_facts.Kept | None:
    return kept_facts.COPIES._kept.get(frozenset(org_ids))


async def test_the_copy_answers_as_the_statement_and_is_read_again_when_rewritten(
    world: World,
) -> None:
    org_ids = await _seeded(world)
    start = datetime.now(UTC) + timedelta(hours=5, minutes=7)
    scope = Scope(org_ids, None, start, start + supply.PERIOD, 3)
    _same(*await _both(world, scope))
    first = _copy(org_ids)
    assert first is not None
    assert len(first) > 1000
    _same(*await _both(world, scope))
    assert _copy(org_ids) is first  # unchanged: the same copy

    async with world.owner.begin() as conn:  # queued, not applied: the copy stays, exact
        await conn.execute(
            text("""UPDATE volunteers SET on_duty = true, max_hours_per_week = 1
                     WHERE user_id IN (SELECT user_id FROM volunteers ORDER BY user_id LIMIT 40)""")
        )
        await conn.execute(
            text("""DELETE FROM volunteer_availability WHERE user_id IN
                    (SELECT user_id FROM volunteers ORDER BY user_id DESC LIMIT 40)""")
        )
        await conn.execute(
            text("""UPDATE memberships SET status = 'suspended' WHERE role = 'volunteer'
                     AND user_id IN (SELECT user_id FROM volunteers ORDER BY user_id
                                     OFFSET 300 LIMIT 30)""")
        )
    assert await world.count("coverage_volunteer_changes") >= 100
    _same(*await _both(world, scope))
    assert _copy(org_ids) is first

    (job,) = [j for j in default_jobs() if j.name == "coverage-volunteer-facts"]
    assert (await job.run(world.owner)).users >= 100  # rows rewritten: a new version
    _same(*await _both(world, scope))
    second = _copy(org_ids)
    assert second is not None
    assert second is not first
    assert second.version != first.version
    assert (await job.run(world.owner)).users == 0  # nothing rewritten: the same version
    _same(*await _both(world, scope))
    assert _copy(org_ids) is second


async def _hexes(client: httpx.AsyncClient, world: World, subject: str, at: datetime) -> Any:
    response = await client.get(
        "/v1/coverage/hexes",
        params={"bbox": BBOX, "resolution": 14, "at": at.isoformat()},
        headers=world.headers(subject),
    )
    assert response.status_code == 200, response.text
    return response.json()["features"]


async def test_a_map_through_the_copy_is_the_statement_s_for_each_organisation(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seeded(world)
    at = datetime.now(UTC) + timedelta(minutes=9)
    reading = await world.org("reading-council")
    other = next(o for o in await _org_ids(world) if o != reading)
    subjects = {reading: "copy-only-reading", other: "copy-only-other"}
    async with world.owner.begin() as conn:
        for org, subject in subjects.items():
            slug = await conn.scalar(select(organisations.c.slug).where(organisations.c.id == org))
            await ensure_member(conn, subject, "Only One", str(slug), "coordinator")
    through_copy = {o: await _hexes(client, world, s, at) for o, s in subjects.items()}
    across = await _hexes(client, world, SUBJECT, at)
    for org in subjects:  # one copy per scope, holding that organisation's rows only
        copy = _copy([org])
        assert copy is not None
        assert copy.org_ids == [org]
        assert len(copy) == await _facts_rows(world, org)
    assert _copy(await _org_ids(world)) is not None

    async def no_copy(*_: Any) -> None:
        return None

    monkeypatch.setattr(access, "_from_copy", no_copy)
    for org, subject in subjects.items():
        assert through_copy[org] == await _hexes(client, world, subject, at)
    assert across == await _hexes(client, world, SUBJECT, at)
    assert any(f["properties"]["supply_hours"] for f in across)
    assert through_copy[reading] != through_copy[other]


async def test_a_copy_is_read_under_the_caller_s_row_level_security(world: World) -> None:
    await _seeded(world)
    reading = await world.org("reading-council")
    levels = [level.value for level in LEVELS]
    async with world.owner.connect() as conn:
        everything = await kept_facts.load(conn, await _org_ids(world), levels)
    assert everything is not None
    assert len(everything) > await _facts_rows(world, reading)
    subject = "copy-rls-reading"
    await world.person(subject, org="reading-council", role="coordinator")
    app = create_async_engine(world.db.app_url)
    try:  # asking for every organisation, as the app's login in their tenant: only its own
        identity = TokenIdentity(issuer=DEV_ISSUER, subject=subject)
        async with tenant_transaction(app, identity) as tx:
            seen = await kept_facts.load(tx.conn, await _org_ids(world), levels)
    finally:
        await app.dispose()
    assert seen is not None
    assert len(seen) == await _facts_rows(world, reading)
    assert set(np.unique(seen.org).tolist()) == {seen.org_ids.index(reading)}


def test_copies_answer_only_their_scope_and_version() -> None:
    a, b, c = (UUID(int=n) for n in (1, 2, 3))
    copies = kept_facts.Copies(size=2)
    kept = {o: _empty(o) for o in (a, b, c)}
    copies.put([a], kept[a])
    assert copies.get([a], kept[a].version) is kept[a]
    assert copies.get([a], UUID(int=99)) is None  # rewritten since: not this copy
    assert copies.get([a], None) is None  # no facts at all
    assert copies.get([b], kept[a].version) is None  # another scope
    assert copies.get([a, b], kept[a].version) is None
    copies.put([b], kept[b])
    copies.put([c], kept[c])  # the least recently used goes
    assert copies.get([a], kept[a].version) is None
    assert copies.get([c], kept[c].version) is kept[c]


def _empty(org: UUID) -> kept_facts.Kept:
    none = np.zeros(0)
    ints = np.zeros(0, dtype=np.int64)
    users = np.zeros(0, dtype="S16")
    return kept_facts.Kept(
        UUID(int=org.int + 1000), [org], ints, users, ints, none, none, none, none, none,
        np.zeros(0, dtype=np.bool_), none, none, none, [], ints, ints, ints, ints, none, none,
    )  # fmt: skip


async def _org_ids(world: World) -> list[UUID]:
    async with world.owner.connect() as conn:
        ids = await conn.scalars(select(organisations.c.id).order_by(organisations.c.id))
        return list(ids.all())


async def _facts_rows(world: World, org: UUID) -> int:
    async with world.owner.connect() as conn:
        return await _count(conn, org)


async def _count(conn: AsyncConnection, org: UUID) -> int:
    query = text("SELECT count(*) FROM coverage_volunteer_facts WHERE org_id = :org")
    return int(await conn.scalar(query, {"org": org}) or 0)
