"""A small world for cascade tests: an organisation, staff, a programme with a tight offer
policy, a client at HOME and six volunteers at rising distances north of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from tests.support import World

HOME = {"lat": 51.4551, "lon": -0.9712}


def window(days: float = 2, hours: int = 2) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def near(metres_north: float) -> tuple[float, float]:
    return HOME["lat"] + metres_north / 111_320, HOME["lon"]


@dataclass(frozen=True)
class Casework:
    """An organisation's casework for a test (the `ctx` fixtures): its staff's request
    headers, a programme and a client as the API returned them, and volunteers and needs by
    name."""

    coordinator: dict[str, str]
    caseworker: dict[str, str]
    programme: dict[str, Any]
    client: dict[str, Any]
    vols: dict[str, UUID] = field(default_factory=dict)
    needs: list[UUID] = field(default_factory=list)


@pytest.fixture
async def ctx(client: httpx.AsyncClient, world: World) -> Casework:
    await world.org("org-a")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    caseworker = await world.person("case-a", org="org-a", role="caseworker")
    programme = (
        await client.post(
            "/v1/programmes",
            headers=coordinator,
            json={
                "name": "Prescriptions",
                "kind": "community_support",
                "wave_size": 2,
                "alert_cap": 4,
                "max_waves": 3,
            },
        )
    ).json()
    person = (
        await client.post(
            "/v1/clients",
            headers=caseworker,
            json={"name": "Ada Client", "address": "1 Secret Road", "location": HOME},
        )
    ).json()
    ids: dict[str, UUID] = {}
    for i in range(6):  # vol-0 nearest ... vol-5 furthest, all within 2 km
        ids[f"vol-{i}"] = await world.volunteer(f"vol-{i}", org="org-a", at=near(200 + 300 * i))
    return Casework(coordinator, caseworker, programme, person, vols=ids)


def need(ctx: Casework, **extra: Any) -> dict[str, Any]:
    return {
        "programme_id": ctx.programme["id"],
        "client_id": ctx.client["id"],
        "title": "Collect a prescription",
        "windows": [window()],
        "duration_minutes": 60,
        **extra,
    }


async def offers_of(client: httpx.AsyncClient, ctx: Casework, need_id: str) -> list[Any]:
    r = await client.get(f"/v1/needs/{need_id}/offers", headers=ctx.caseworker)
    assert r.status_code == 200, r.text
    return list(r.json())


async def lapse_pending_offers(world: World) -> None:
    """Time passes: every pending offer lapses and its need's step falls due."""
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE offers SET expires_at = now() - interval '1 s',"
                " created_at = now() - interval '1 h' WHERE status = 'pending'"
            )
        )
        await conn.execute(text("UPDATE needs SET next_step_at = now()"))
