"""Snapshots per scope (decision 35, migration 0020): a member of staff of several
organisations reads a snapshot of all of theirs at once, computed over them together (a
volunteer approved in two of them counted once, their hours shared across both); staff of
only some of them never read it; a set no one sees together any more is dropped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.coverage import supply
from app.db.tables import coverage_snapshots, memberships, users
from app.db.tenancy import tenant_transaction
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.seed import ensure_member
from app.worker import default_jobs
from tests.scenario import Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio
BBOX = "-1.1,51.40,-0.85,51.52"
SCOPES_IN = "SELECT DISTINCT scope_id FROM {}"


async def _two_orgs(s: Scenario, world: World) -> tuple[Any, Any, dict[str, str]]:
    """Two organisations, a coordinator of both, a volunteer in each and one in both; a need
    of 2 slots in each for two clients each."""
    council = await world.org("reading-council")
    nhs = await world.org("berkshire-nhs")
    await world.person("coord", org="reading-council", role="coordinator")
    both = await world.person("coord", org="berkshire-nhs", role="coordinator")
    await world.person("coord-council", org="reading-council", role="coordinator")
    await s.volunteer("reading-council", "vol-council", km=4.0, hours=3)
    await s.volunteer("berkshire-nhs", "vol-nhs", km=4.0, hours=3)
    await s.volunteer("reading-council", "vol-both", km=4.0, hours=4)
    async with s.owner.begin() as conn:
        await ensure_member(conn, "vol-both", "vol-both", "berkshire-nhs", "volunteer")
        user_id = await conn.scalar(select(users.c.id).where(users.c.subject == "vol-both"))
        await conn.execute(
            memberships.update().where(memberships.c.user_id == user_id).values(status="approved")
        )
    for org in (council, nhs):
        programme = await s.programme(org)
        for _ in range(2):  # four clients in one cell: above the k rule's 3
            await s.need(org, programme, await s.client(org), slots=2)
    return council, nhs, both


async def _hexes(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    response = await client.get(
        "/v1/coverage/hexes", params={"bbox": BBOX, "resolution": 12}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _cells(body: Any) -> dict[str, Any]:
    return {f["id"]: f["properties"] for f in body["features"]}


async def test_staff_of_two_organisations_read_a_snapshot_of_both(
    client: httpx.AsyncClient, world: World
) -> None:
    s = Scenario(world)
    council, nhs, headers = await _two_orgs(s, world)
    computed = await _hexes(client, headers)

    (job,) = [j for j in default_jobs() if j.name == "coverage-snapshots"]
    assert await job.run(s.owner) == 3, "each organisation, and the pair one coordinator sees"
    snapped = await _hexes(client, headers)

    async with s.owner.connect() as conn:
        pair = (
            await conn.execute(
                select(coverage_snapshots).where(
                    coverage_snapshots.c.scope_id == supply.scope_id([nhs, council])
                )
            )
        ).one()
    assert sorted(pair.org_ids) == sorted([council, nhs])
    assert pair.volunteers == 3, "the volunteer in both organisations is one person"
    assert snapped["supply_as_of"] == pair.refreshed_at.isoformat()
    assert computed["supply_as_of"] != snapped["supply_as_of"]
    assert _cells(snapped) == _cells(computed)
    # Both needs in reach of all three: 3 + 3 + 4 hours, each person's counted once (times
    # the share of offers they are expected to accept).
    given = 10.0 * snapped["method"]["acceptance"]
    assert sum(c["supply_hours"] or 0 for c in _cells(snapped).values()) == pytest.approx(given)


async def test_a_set_of_organisations_is_named_by_its_members_alone(world: World) -> None:
    a, b = await world.org("reading-council"), await world.org("berkshire-nhs")
    assert supply.scope_id([a]) == a
    assert supply.scope_id([a, b]) == supply.scope_id([b, a, b])
    assert supply.scope_id([a, b]) not in (a, b)


async def test_staff_of_one_of_them_never_read_the_pairs_snapshot(
    db: Db, client: httpx.AsyncClient, world: World
) -> None:
    s = Scenario(world)
    council, nhs, _ = await _two_orgs(s, world)
    (job,) = [j for j in default_jobs() if j.name == "coverage-snapshots"]
    await job.run(s.owner)
    pair = supply.scope_id([council, nhs])
    engine = create_async_engine(db.app_url)
    try:
        seen = {}
        for subject in ("coord", "coord-council"):
            async with tenant_transaction(engine, TokenIdentity(DEV_ISSUER, subject)) as tx:
                seen[subject] = {
                    table: set(await tx.conn.scalars(text(SCOPES_IN.format(table))))
                    for table in ("coverage_snapshots", "coverage_supply", "coverage_need_supply")
                }
    finally:
        await engine.dispose()
    assert all(ids == {council, nhs, pair} for ids in seen["coord"].values())
    assert all(ids == {council} for ids in seen["coord-council"].values())


async def test_a_set_no_one_sees_together_any_more_is_dropped(world: World) -> None:
    s = Scenario(world)
    council, nhs, _ = await _two_orgs(s, world)
    (job,) = [j for j in default_jobs() if j.name == "coverage-snapshots"]
    await job.run(s.owner)
    async with s.owner.begin() as conn:
        coord = await conn.scalar(select(users.c.id).where(users.c.subject == "coord"))
        await conn.execute(
            delete(memberships).where(memberships.c.user_id == coord, memberships.c.org_id == nhs)
        )
    await job.run(s.owner)
    async with s.owner.connect() as conn:
        left = set((await conn.scalars(select(coverage_snapshots.c.scope_id))).all())
    assert left == {council, nhs}
