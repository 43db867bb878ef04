"""The service survives a database restart under load (docs/promises.md): fast 503s while the
database is down, full recovery after, and no write lost or doubled.

A cluster of its own (the suite's shared one stays up): volunteers keep signing up, each
retrying with one Idempotency-Key as a phone would, while PostgreSQL is stopped (fast
shutdown: in-flight transactions are cut) and started again."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.migrate import upgrade
from app.db.tables import volunteers
from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.settings import Settings
from infra.localdb import ClusterState, LocalCluster, free_port
from tests.support import serving

pytestmark = pytest.mark.anyio
PEOPLE = 30
DOWN_S = 3.0


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[tuple[LocalCluster, ClusterState]]:
    local = LocalCluster(tmp_path / "pg", port=free_port())
    state = local.start()
    upgrade(state.url(owner=True))
    try:
        yield local, state
    finally:
        local.destroy()


async def test_a_database_restart_under_load_loses_nothing(
    own_cluster: tuple[LocalCluster, ClusterState], settings: Settings
) -> None:
    local, state = own_cluster
    # A short pool wait: while the database is down, answers come in seconds, not minutes.
    settings = msgspec.structs.replace(settings, db_pool_timeout_s=2.0)
    app = create_app(settings, database_url=state.url(), system_database_url=state.url(owner=True))
    issuer = DevIssuer(settings.state_dir / "dev-issuer.pem")
    statuses: Counter[int] = Counter()
    slowest_503 = 0.0
    rng = random.Random(5)

    async def volunteer(n: int, client: httpx.AsyncClient) -> int:
        """Sign up, retrying one key until it sticks; the status that stuck."""
        nonlocal slowest_503
        await asyncio.sleep(rng.uniform(0, DOWN_S + 2))  # some start while it is down
        headers = {
            "Authorization": f"Bearer {issuer.issue(f'restart-{n}', ttl_s=600)}",
            "Idempotency-Key": f"sign-up-{n}",
        }
        body = {
            "display_name": f"Restart {n}",
            "home": {"lat": 51.45, "lon": -0.97},
            "max_travel_km": 5,
            "travel_mode": "walk",
        }
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            began = time.monotonic()
            r = await client.post("/v1/volunteers/me", json=body, headers=headers)
            statuses[r.status_code] += 1
            if r.status_code != 503:
                return r.status_code
            slowest_503 = max(slowest_503, time.monotonic() - began)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"]
            await asyncio.sleep(0.2)
        return 0

    async def restart() -> None:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(local.stop)
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(local.start)

    async with serving(app) as client:
        *outcomes, _ = await asyncio.gather(
            *(volunteer(n, client) for n in range(PEOPLE)), restart()
        )
        ready = await client.get("/health/ready")

    assert ready.status_code == 200, ready.text
    assert outcomes == [201] * PEOPLE, statuses
    assert set(statuses) <= {201, 503}, statuses  # never a 500, never a 409 from a retry
    assert statuses[503] > 0, "the database was down while requests came in"
    assert slowest_503 < 15, f"a 503 took {slowest_503:.1f} s"  # a hang guard, not a timing
    owner = create_async_engine(state.url(owner=True))
    async with owner.connect() as conn:
        signed_up = await conn.scalar(select(func.count()).select_from(volunteers))
    await owner.dispose()
    assert signed_up == PEOPLE
