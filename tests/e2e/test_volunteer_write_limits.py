"""Defence in depth: even SQL run in a volunteer's own transaction (row-level security as the
app role) changes only what their paths change, and takes a slot only through their offer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.tenancy import Tx, tenant_transaction
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from tests.e2e.cascade_world import Casework, ctx, need, offers_of
from tests.support import Db, World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]  # the fixture, imported

VOL0 = TokenIdentity(issuer=DEV_ISSUER, subject="vol-0")


@pytest.fixture
async def app_engine(db: Db) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db.app_url)
    yield engine
    await engine.dispose()


async def _refused(engine: AsyncEngine, sql: str, params: dict[str, Any], match: str) -> None:
    with pytest.raises(DBAPIError, match=match):
        async with tenant_transaction(engine, VOL0) as tx:
            await tx.conn.execute(text(sql), params)


async def _rows(engine: AsyncEngine, sql: str, params: dict[str, Any]) -> int:
    async with tenant_transaction(engine, VOL0) as tx:
        result = await tx.conn.execute(text(sql), params)
        return int(result.rowcount)


async def _assigned(client: httpx.AsyncClient, ctx: Casework, world: World) -> Any:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, slots=3))
    assert r.status_code == 201, r.text
    need_id = r.json()["need"]["id"]
    mine = (await client.get("/v1/volunteers/me/offers", headers=world.headers("vol-0"))).json()
    r = await client.post(
        f"/v1/offers/{mine['items'][0]['id']}/accept", headers=world.headers("vol-0")
    )
    assert r.status_code == 200, r.text
    return need_id, r.json()["id"]


async def test_a_volunteer_changes_only_their_paths_columns(
    client: httpx.AsyncClient, ctx: Casework, world: World, app_engine: AsyncEngine
) -> None:
    need_id, assignment_id = await _assigned(client, ctx, world)
    ids = {"need": need_id, "assignment": assignment_id}
    only = "a volunteer may change only"
    await _refused(app_engine, "UPDATE needs SET title = 'x' WHERE id = :need", ids, only)
    await _refused(app_engine, "UPDATE needs SET slots = 9 WHERE id = :need", ids, only)
    await _refused(
        app_engine, "UPDATE needs SET filled = filled + 2 WHERE id = :need", ids, "one slot"
    )
    await _refused(
        app_engine, "UPDATE assignments SET minutes = 5, offer_id = NULL WHERE id = :assignment",
        ids, only,
    )  # fmt: skip
    await _refused(
        app_engine, "UPDATE offers SET explanation = '[]' WHERE need_id = :need", ids, only
    )
    # what their own paths do still works: the fill count by one, their assignment's notes
    assert await _rows(app_engine, "UPDATE needs SET filled = filled WHERE id = :need", ids) == 1
    assert (
        await _rows(app_engine, "UPDATE assignments SET note = 'ok' WHERE id = :assignment", ids)
        == 1
    )
    # and nobody deletes an assignment through the app
    await _refused(
        app_engine, "DELETE FROM assignments WHERE id = :assignment", ids, "permission denied"
    )


async def test_a_volunteer_takes_a_slot_only_through_their_offer(
    client: httpx.AsyncClient, ctx: Casework, world: World, app_engine: AsyncEngine
) -> None:
    # vol-0 is offered the first need; a second need goes to named vol-5 only
    await _assigned(client, ctx, world)
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, dispatch="manual"))
    assert r.status_code == 201, r.text
    other = r.json()["need"]["id"]
    assert await offers_of(client, ctx, other) == []
    async with tenant_transaction(app_engine, VOL0) as tx:
        me = tx.principal.user_id
        org = await _org(tx, ctx)
    params = {"need": other, "me": me, "org": org}
    insert = (
        "INSERT INTO assignments (org_id, need_id, volunteer_id, offer_id)"
        " VALUES (:org, :need, :me, {offer})"
    )
    await _refused(app_engine, insert.format(offer="NULL"), params, "row-level security")
    # nor by pointing at an offer of another need
    async with world.owner.connect() as conn:
        theirs = await conn.scalar(text("SELECT id FROM offers WHERE volunteer_id = :me"), params)
    await _refused(
        app_engine, insert.format(offer=":offer"), params | {"offer": theirs}, "row-level security"
    )


async def _org(tx: Tx, ctx: Casework) -> Any:
    return await tx.conn.scalar(
        text("SELECT org_id FROM programmes WHERE id = :id"), {"id": ctx.programme["id"]}
    )
