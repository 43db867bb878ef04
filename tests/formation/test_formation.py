"""The formation: a primary and two secondaries under a monitor (a commit waits for one of
them), PgBouncer in front,
and the API's core flows through it (docs/scaling.md, "The formation")."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.coverage.supply import refresh
from app.db.engine import create_engine
from app.db.migrate import upgrade
from app.db.tables import organisations, programmes
from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.seed import ensure_member
from bench.failover import app_settings
from infra import pooler
from infra.formation import NODES, Formation

pytestmark = [pytest.mark.anyio, pytest.mark.formation]
_HOURS = timedelta(hours=2)


def test_the_secondaries_replicate_synchronously(formation: Formation) -> None:
    state = formation.state()
    assert state is not None
    assert formation.status() == "running"
    formation.wait_healthy()  # the monitor may hold a secondary unhealthy for a moment
    primary = formation.primary(state)
    secondaries = sorted(set(NODES) - {primary})
    assert len(secondaries) == 2
    sync = pooler.psql(state.ports[primary], "SHOW synchronous_standby_names", user="postgres")
    assert sync is not None
    # A commit waits for one of the two: losing either leaves replication synchronous.
    assert sync.startswith("ANY 1 ("), sync
    assert sync.count("pgautofailover_standby_") == 2, sync
    made = pooler.psql(
        state.ports[primary],
        "CREATE TABLE IF NOT EXISTS probe (n int); INSERT INTO probe VALUES (7); SELECT 1",
        user="postgres",
    )
    assert made == "1"
    for secondary in secondaries:  # each has it a moment later (one had it at the commit)
        seen = None
        for _ in range(20):
            seen = pooler.psql(state.ports[secondary], "SELECT sum(n) FROM probe", user="postgres")
            if seen == "7":
                break
            time.sleep(0.1)
        assert seen == "7"
        assert (
            pooler.psql(state.ports[secondary], "SELECT pg_is_in_recovery()", user="postgres")
            == "t"
        )


async def test_the_core_flows_run_through_the_pooler(
    formation: Formation, app_state_dir: Path
) -> None:
    state = formation.state()
    assert state is not None
    formation.wait_healthy()
    primary = formation.primary(state)
    assert primary is not None
    assert formation.create_database("flows")
    await asyncio.to_thread(upgrade, state.node_url(primary, database="flows"))
    owner = create_async_engine(state.node_url(primary, database="flows"))
    async with owner.begin() as conn:
        await conn.execute(insert(organisations).values(slug="org-a", name="A", kind="council"))
        org_id = await conn.scalar(select(organisations.c.id))
        await ensure_member(conn, "case-a", "Case A", "org-a", "caseworker")
        programme_id = await conn.scalar(
            insert(programmes)
            .values(org_id=org_id, name="Flows", kind="community_support")
            .returning(programmes.c.id)
        )
    await owner.dispose()
    settings = app_settings(app_state_dir, state)
    settings = msgspec.structs.replace(
        settings, live_database_url=state.direct_url(database="flows")
    )
    app = create_app(
        settings,
        database_url=state.pooled_url(database="flows"),
        system_database_url=state.pooled_url(owner=True, database="flows"),
    )
    issuer = DevIssuer(app_state_dir / "dev-issuer.pem")

    def as_(subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.issue(subject, ttl_s=600)}"}

    before = _pooled_transactions(state.ports["pooler"])
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f") as client,
    ):
        for n in range(3):  # more than once: no prepared statement may clash or go missing
            r = await client.post(
                "/v1/volunteers/me",
                headers=as_(f"vol-{n}"),
                json={
                    "display_name": f"Vol {n}",
                    "home": {"lat": 51.45, "lon": -0.97},
                    "max_travel_km": 5,
                    "travel_mode": "walk",
                },
            )
            assert r.status_code == 201, r.text
            assert (
                await client.get("/v1/volunteers/me", headers=as_(f"vol-{n}"))
            ).status_code == 200
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        r = await client.post(
            "/v1/needs",
            headers=as_("case-a"),
            json={
                "programme_id": str(programme_id),
                "title": "Through the pooler",
                "mode": "remote",
                "windows": [{"start": start.isoformat(), "end": (start + _HOURS).isoformat()}],
                "duration_minutes": 30,
            },
        )
        assert r.status_code == 201, r.text
        need = await client.get(f"/v1/needs/{r.json()['need']['id']}", headers=as_("case-a"))
        assert need.status_code == 200
        # The live channel LISTENs directly (a session), not through the pooler.
        await asyncio.wait_for(app.state.live.listening.wait(), 10)
        # The coverage refresh's lock is transaction-scoped: it holds through PgBouncer.
        system = create_engine(state.pooled_url(owner=True, database="flows"), settings)
        try:
            assert await refresh(system, [org_id]) is not None
        finally:
            await system.dispose()
    assert _pooled_transactions(state.ports["pooler"]) > before + 10


def _pooled_transactions(port: int) -> int:
    """Transactions PgBouncer has served on the `flows` database."""
    out = pooler.psql(port, "SHOW STATS", user="postgres", database="pgbouncer") or ""
    for line in out.splitlines():
        cells = line.split("|")
        if cells[0] == "flows":
            return int(cells[1])
    return 0
