"""Two API processes keep one rate limit: each settles what its callers spent in PostgreSQL."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.factory import create_app
from app.identity.ratelimit import TokenBuckets
from app.identity.shared_limits import RateSettlement
from app.settings import Settings
from tests.support import Db, World, serving

pytestmark = pytest.mark.anyio


def settlement_of(app: Litestar) -> RateSettlement:
    settlement: RateSettlement = app.state.rate_settlement
    return settlement


async def codes(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[int]:
    return [(await client.get("/v1/me", headers=headers)).status_code for _ in range(n)]


async def test_two_processes_keep_one_limit_once_they_settle(
    settings: Settings, db: Db, world: World
) -> None:
    # One token a second, a burst of 3; settled by hand here (the loop would every minute).
    limited = msgspec.structs.replace(
        settings, rate_limit_per_minute=60, rate_limit_burst=3, rate_limit_settle_s=60
    )
    a, b = (create_app(limited, database_url=db.app_url) for _ in range(2))
    alice, bob = world.headers("alice"), world.headers("bob")
    async with AsyncExitStack() as stack:
        on_a = await stack.enter_async_context(serving(a))
        on_b = await stack.enter_async_context(serving(b))
        assert await codes(on_a, alice, 2) == [200, 200]
        assert await settlement_of(a).settle_once() == 1
        # Alone, b would allow 3 more; what a spent is settled when b settles.
        assert await codes(on_b, alice, 2) == [200, 200]
        assert await settlement_of(b).settle_once() == 1
        limited_on_b = await on_b.get("/v1/me", headers=alice)
        assert limited_on_b.status_code == 429  # 3 - 2 - 2: in debt
        assert int(limited_on_b.headers["retry-after"]) >= 1
        await on_a.get("/v1/me", headers=bob)  # a has something to settle
        assert await settlement_of(a).settle_once() == 1  # bob's; alice spent nothing on a
        assert await codes(on_b, bob, 2) == [200, 200]
        # Together the two allowed alice 4 of a burst of 3: the excess is owed, not forgiven.
        owner = create_async_engine(db.owner_url)
        async with owner.connect() as conn:
            rows = (await conn.execute(text("SELECT key, tokens FROM rate_buckets"))).all()
        await owner.dispose()
    assert len(rows) == 2
    assert min(tokens for _, tokens in rows) < 0
    # The rows name nobody: a digest, never the caller's subject or address.
    assert all(len(key) == 32 and "alice" not in key and "bob" not in key for key, _ in rows)


async def test_debt_is_paid_off_at_the_limits_rate(settings: Settings, db: Db) -> None:
    engine = create_async_engine(db.app_url)
    here, there = TokenBuckets(per_minute=60, burst=3), TokenBuckets(per_minute=60, burst=3)
    try:
        for buckets in (here, there):
            assert [buckets.take("caller", now=0.0) for _ in range(3)] == [0, 0, 0]
            await RateSettlement(engine, buckets, 60).settle_once()
        # here settled first (3 - 3 = 0), there second (0 - 3 = -3, plus the little refill).
        wait = there.take("caller")
        assert 3 <= wait <= 4
        assert here.wait("caller") == 1  # here holds what was left when it settled: 0
    finally:
        await engine.dispose()


async def test_an_unreachable_database_keeps_the_ledger_and_limits_alone() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    buckets = TokenBuckets(per_minute=60, burst=2)
    assert buckets.take("caller") == 0
    assert await RateSettlement(engine, buckets, 60).settle_once() == 0
    assert buckets.spent() == {"caller": 1.0}  # kept for the next settlement
    assert buckets.take("caller") == 0
    assert buckets.take("caller") >= 1  # still limited here, alone
    await engine.dispose()


async def test_without_a_settlement_interval_each_process_limits_alone(
    settings: Settings, db: Db
) -> None:
    alone = msgspec.structs.replace(settings, rate_limit_per_minute=60, rate_limit_settle_s=0)
    app = create_app(alone, database_url=db.app_url)
    async with serving(app):
        assert app.state.rate_settlement is None
