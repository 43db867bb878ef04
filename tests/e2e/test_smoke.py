from __future__ import annotations

import httpx
import pytest

from app.db.migrate import head_revision
from tests.support import World

pytestmark = pytest.mark.anyio


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["migration"] == head_revision()


async def test_me(client: httpx.AsyncClient, world: World) -> None:
    await world.org("acme")
    headers = await world.person("alice", org="acme", role="coordinator")
    r = await client.get("/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    assert [m["role"] for m in r.json()["memberships"]] == ["coordinator"]
