"""The candidates statement stays a KNN walk of the volunteers' GiST index on realistic data,
as the owner and as the app role under row-level security (docs/traps.md: an added GIN index
once turned it into BitmapAnd + Sort after autovacuum, silently)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.bulk_seed import bulk_volunteers
from app.db.tenancy import register_system, tenant_transaction
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.needs import cascade, facts
from app.seed import ORGS, seed
from geo.candidates import NAMED_MANY_STATEMENT, STATEMENTS, index_ordered, many_params
from tests.support import Db

pytestmark = pytest.mark.anyio

PEOPLE = 10_000  # enough for the planner's estimates to matter; ~5 s to load by COPY
CASEWORKER = TokenIdentity(issuer=DEV_ISSUER, subject="demo-caseworker-reading-council")
# An in-person need of a council client in the next day, when the bulk seed's people have
# availability; manual, so nothing else acts on it.
NEED = """
INSERT INTO needs (org_id, programme_id, client_id, title, mode, location, coarse_location,
                   min_vetting, windows, duration_minutes, slots, dispatch, status)
SELECT t.org_id, t.programme_id, t.client_id, 'Plan check', 'in_person', t.location,
       t.coarse_location, t.min_vetting,
       tstzmultirange(tstzrange(now() + interval '2 hours', now() + interval '26 hours')),
       60, 1, 'manual', 'open'
  FROM needs t JOIN organisations o ON o.id = t.org_id
 WHERE o.slug = 'reading-council' AND t.mode = 'in_person' AND t.client_id IS NOT NULL
 ORDER BY t.id LIMIT 1
RETURNING id
"""


@pytest.fixture
async def owner(db: Db) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db.owner_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def need_id(db: Db, owner: AsyncEngine) -> UUID:
    await seed(db.owner_url, volunteers=0, progress=False)
    async with owner.begin() as conn:
        slugs: dict[str, UUID] = dict(
            (await conn.execute(text("SELECT slug, id FROM organisations"))).all()
        )
        need: UUID = await conn.scalar(text(NEED))
    await bulk_volunteers(db.owner_url, range(PEOPLE), [slugs[o.slug] for o in ORGS], None)
    async with owner.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("ANALYZE"))
    return need


async def plan(conn: AsyncConnection, need_id: UUID) -> str:
    """EXPLAIN of the statement the candidates endpoint runs for the need, as it runs it."""
    row = await facts.load(conn, need_id)
    assert row is not None
    params: dict[str, Any] = facts.query_of(row, datetime.now(UTC)).params() | {
        "limit": 10 * cascade.POOL
    }
    explained = await conn.execute(text("EXPLAIN " + STATEMENTS[(False, False)]), params)
    return "\n".join(explained.scalars())


async def test_as_the_owner_the_plan_is_an_index_ordered_knn_scan(
    owner: AsyncEngine, need_id: UUID
) -> None:
    async with owner.begin() as conn:
        explained = await plan(conn, need_id)
    assert index_ordered(explained), explained


async def test_a_caseworkers_search_runs_index_ordered_on_the_system_login(
    db: Db, need_id: UUID
) -> None:
    """Under row-level security the planner drives from memberships and sorts
    (bench/README.md, 'Candidates'), so use cases authorise under it, then search on the
    system login in a read-only transaction (Tx.reads)."""
    app = create_async_engine(db.app_url)
    system = create_async_engine(db.owner_url)
    register_system(app, system)
    try:
        async with tenant_transaction(app, CASEWORKER) as tx, tx.reads() as reader:
            explained = await plan(reader, need_id)
            with pytest.raises(DBAPIError, match="read-only"):
                await reader.execute(text("UPDATE needs SET title = title WHERE false"))
    finally:
        await app.dispose()
        await system.dispose()
    assert index_ordered(explained), explained


async def test_a_named_volunteers_availability_is_probed_by_their_own_key(
    owner: AsyncEngine, need_id: UUID
) -> None:
    """The facts of named volunteers (a claim, the open-call feed, an explanation) test
    availability per volunteer, by `pk_volunteer_availability`: as an EXISTS in the select
    list the planner hashed every volunteer available in the need's windows, per need
    (docs/traps.md; 3.6 ms a need at 2,000 volunteers, most of a feed visit)."""
    async with owner.begin() as conn:
        row = await facts.load(conn, need_id)
        assert row is not None
        someone = await conn.scalar(text("SELECT user_id FROM volunteers LIMIT 1"))
        query = facts.query_of(row, datetime.now(UTC))
        for statement, params in (
            (STATEMENTS[(False, True)], query.params()),
            (NAMED_MANY_STATEMENT, many_params([query] * 20)),
        ):
            explained = "\n".join(
                (
                    await conn.execute(text("EXPLAIN " + statement), params | {"ids": [someone]})
                ).scalars()
            )
            assert "hashed SubPlan" not in explained, explained
            assert "pk_volunteer_availability" in explained, explained
