"""The worker's supply snapshots: maps of the current week read them, equal to computing on the
spot; other weeks, stale snapshots and other organisations never do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import mapbox_vector_tile
import pytest
from sqlalchemy import func, select, text, update

from app.coverage import supply
from app.db.tables import coverage_snapshots, coverage_supply
from app.worker import default_jobs
from tests.scenario import READING, Scenario
from tests.support import World

pytestmark = pytest.mark.anyio
BBOX = "-1.1,51.40,-0.85,51.52"
TILE = "/v1/coverage/tiles/13/4073/2725.mvt"  # Reading town centre


async def _map(s: Scenario, world: World) -> tuple[Any, dict[str, str]]:
    org = await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    programme = await s.programme(org)
    await s.volunteer("reading-council", "vol-a", km=2.0, on_duty=True, hours=3)
    await s.volunteer("reading-council", "vol-b", km=6.0, hours=2)
    away = (READING[0] + 0.03, READING[1] - 0.05)
    await s.volunteer("reading-council", "vol-c", away, km=4.0, hours=5)
    for _ in range(3):
        await s.need(org, programme, await s.client(org), slots=2)
    return org, headers


async def _hexes(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(
        "/v1/coverage/hexes", params={"bbox": BBOX, "resolution": 13} | params, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _cells(body: Any) -> dict[str, Any]:
    return {f["id"]: f["properties"] for f in body["features"]}


async def test_a_snapshot_answers_exactly_as_computing_on_the_spot(
    client: httpx.AsyncClient, world: World
) -> None:
    s = Scenario(world)
    org, headers = await _map(s, world)
    computed = await _hexes(client, headers)
    tile_before = await client.get(TILE, headers=headers)

    cells = await supply.refresh(s.owner, [org])
    assert cells
    snapped = await _hexes(client, headers)
    tile_after = await client.get(TILE, headers=headers)

    async with s.owner.connect() as conn:
        snapshot = (await conn.execute(select(coverage_snapshots))).one()
        rows = await conn.scalar(select(func.count()).select_from(coverage_supply))
    assert snapshot.volunteers == 3
    assert rows == cells
    assert snapped["supply_as_of"] == snapshot.refreshed_at.isoformat()
    assert computed["supply_as_of"] != snapped["supply_as_of"]
    assert _cells(snapped) == _cells(computed)
    assert max(c["volunteers"] for c in _cells(snapped).values()) == 2
    assert tile_after.headers["x-supply-as-of"] == snapshot.refreshed_at.isoformat()
    decoded = [mapbox_vector_tile.decode(t.content) for t in (tile_before, tile_after)]
    assert decoded[0]["hexes"]["features"]
    assert decoded[0] == decoded[1]
    assert tile_before.headers["etag"] == tile_after.headers["etag"]


async def test_only_a_fresh_snapshot_of_the_current_week_answers(
    client: httpx.AsyncClient, world: World
) -> None:
    s = Scenario(world)
    org, headers = await _map(s, world)
    await supply.refresh(s.owner, [org])
    await s.volunteer("reading-council", "vol-late", km=8.0, hours=1)

    def most(body: Any) -> int:
        return max(c["volunteers"] for c in _cells(body).values())

    assert most(await _hexes(client, headers)) == 2, "the snapshot, from before vol-late"
    at = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert most(await _hexes(client, headers, at=at)) == 3, "another period: computed"

    async with s.owner.begin() as conn:
        await conn.execute(
            update(coverage_snapshots).values(
                refreshed_at=coverage_snapshots.c.refreshed_at - timedelta(hours=1)
            )
        )
    assert most(await _hexes(client, headers)) == 3, "a stale snapshot: computed"

    await supply.refresh(s.owner, [org])
    assert most(await _hexes(client, headers)) == 3, "refreshed"


async def test_an_older_refresh_never_replaces_a_newer_one(world: World) -> None:
    s = Scenario(world)
    org = await world.org("reading-council")
    await s.volunteer("reading-council", "vol-a", km=2.0, hours=3)
    now = datetime.now(UTC)
    assert await supply.refresh(s.owner, [org], now)
    assert await supply.refresh(s.owner, [org], now - timedelta(seconds=5)) is None
    async with s.owner.connect() as conn:
        assert await conn.scalar(select(coverage_snapshots.c.refreshed_at)) == now


async def test_another_organisations_snapshot_stays_theirs(
    client: httpx.AsyncClient, world: World
) -> None:
    s = Scenario(world)
    org, _ = await _map(s, world)
    await supply.refresh(s.owner, [org])
    theirs = await world.org("berkshire-nhs")
    headers = await world.person("coord-nhs", org="berkshire-nhs", role="coordinator")
    await supply.refresh(s.owner, [theirs])
    body = await _hexes(client, headers)
    assert body["features"] == []


async def test_the_worker_refreshes_every_organisation(
    client: httpx.AsyncClient, world: World
) -> None:
    s = Scenario(world)
    org, _ = await _map(s, world)
    await world.org("berkshire-nhs")
    assert "codeliver_coverage_snapshots 0.0" in (await client.get("/metrics")).text
    (job,) = [j for j in default_jobs() if j.name == "coverage-snapshots"]
    assert await job.run(s.owner) == 2
    assert await job.run(s.owner) == 0, "a second worker waking now finds nothing due"
    scrape = (await client.get("/metrics")).text
    assert "codeliver_coverage_snapshots 2.0" in scrape
    age = next(
        line for line in scrape.splitlines()
        if line.startswith("codeliver_coverage_snapshot_oldest_age_seconds ")
    )  # fmt: skip
    assert 0 <= float(age.split()[1]) < 60
    async with s.owner.connect() as conn:
        snapshots = dict(
            (
                await conn.execute(
                    select(coverage_snapshots.c.scope_id, coverage_snapshots.c.volunteers)
                )
            ).all()
        )
    assert snapshots[org] == 3
    assert len(snapshots) == 2


async def test_a_volunteer_living_outside_the_view_who_reaches_it_counts(
    client: httpx.AsyncClient, world: World
) -> None:
    s = Scenario(world)
    org, headers = await _map(s, world)
    far = (READING[0] + 0.9, READING[1] + 1.2)  # ~130 km away, reaching 150 km
    await s.volunteer("reading-council", "vol-far", far, km=150.0, hours=4)
    at = {"at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    live = _cells(await _hexes(client, headers, **at))
    await supply.refresh(s.owner, [org])
    snapped = _cells(await _hexes(client, headers))
    assert max(c["volunteers"] for c in live.values()) == 3
    assert {k: c["volunteers"] for k, c in live.items()} == {
        k: c["volunteers"] for k, c in snapped.items()
    }


async def test_a_refresh_another_worker_holds_is_skipped_not_repeated(world: World) -> None:
    s = Scenario(world)
    org = await world.org("reading-council")
    await s.volunteer("reading-council", "vol-a", km=2.0, hours=3)
    async with s.owner.connect() as other_worker:
        held = text("SELECT pg_advisory_lock(hashtextextended('coverage:' || :org, 0))")
        await other_worker.execute(held, {"org": str(org)})
        assert await supply.refresh(s.owner, [org]) is None
        await other_worker.rollback()
        released = text("SELECT pg_advisory_unlock(hashtextextended('coverage:' || :org, 0))")
        await other_worker.execute(released, {"org": str(org)})
    assert await supply.refresh(s.owner, [org])
