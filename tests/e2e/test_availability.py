"""Availability through the API: stored as declared, materialised as UTC spans that one
set-based, indexed query can search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.volunteers.schedule import roll_spans_forward
from tests.e2e.test_volunteers import SIGN_UP
from tests.support import World

pytestmark = pytest.mark.anyio

WEEKDAY_MORNINGS = {
    "time_zone": "Europe/London",
    "weekly": [{"day": d, "start": "09:00:00", "end": "12:00:00"} for d in range(1, 6)],
}


@pytest.fixture
async def val(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    headers = world.headers("val")
    assert (
        await client.post("/v1/volunteers/me", headers=headers, json=SIGN_UP)
    ).status_code == 201
    return headers


async def test_declared_availability_becomes_spans(
    client: httpx.AsyncClient, val: dict[str, str], world: World
) -> None:
    r = await client.put("/v1/volunteers/me/availability", headers=val, json=WEEKDAY_MORNINGS)
    assert r.status_code == 200, r.text
    upcoming = r.json()["upcoming"]
    assert upcoming
    for start, end in upcoming:
        begins, ends = datetime.fromisoformat(start), datetime.fromisoformat(end)
        # a morning in progress is shown from now on; every other one whole
        assert ends - begins == timedelta(hours=3) or begins <= datetime.now(UTC) < ends
        assert begins.weekday() < 5
    assert await world.count("volunteer_availability") in range(38, 42)  # ~8 weeks x 5
    declared = (await client.get("/v1/volunteers/me/availability", headers=val)).json()
    assert declared["declared"]["weekly"] == WEEKDAY_MORNINGS["weekly"]


async def test_who_is_available_is_one_indexed_query(
    client: httpx.AsyncClient, val: dict[str, str], world: World
) -> None:
    await client.put("/v1/volunteers/me/availability", headers=val, json=WEEKDAY_MORNINGS)
    next_monday = datetime.now(UTC).date() + timedelta(days=7 - datetime.now(UTC).weekday())
    start = datetime(next_monday.year, next_monday.month, next_monday.day, 9, 30, tzinfo=UTC)
    window = {"a": start, "b": start + timedelta(hours=1)}  # inside 09:00-12:00 GMT or BST
    query = "SELECT user_id FROM volunteer_availability WHERE span @> tstzrange(:a, :b)"
    async with world.owner.begin() as conn:
        found = (await conn.execute(text(query), window)).scalars().all()
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await conn.execute(text("EXPLAIN " + query), window)).scalars().all())
    assert len(found) == 1
    assert "ix_volunteer_availability_span" in plan, plan


async def test_the_worker_rolls_spans_forward(
    client: httpx.AsyncClient, val: dict[str, str], world: World
) -> None:
    await client.put("/v1/volunteers/me/availability", headers=val, json=WEEKDAY_MORNINGS)
    async with world.owner.begin() as conn:
        await conn.execute(text("DELETE FROM volunteer_availability"))
    await roll_spans_forward(world.owner)
    assert await world.count("volunteer_availability") >= 38


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weekly": [{"day": 8, "start": "09:00:00", "end": "10:00:00"}]}, "weekly[0].day"),
        ({"weekly": [{"day": 1, "start": "10:00:00", "end": "09:00:00"}]}, "weekly[0].end"),
        (
            {
                "weekly": [
                    {"day": 1, "start": "09:00:00", "end": "11:00:00"},
                    {"day": 1, "start": "10:00:00", "end": "12:00:00"},
                ]
            },
            "weekly[1]",
        ),
        ({"time_zone": "America/New_York"}, "time_zone"),
        ({"away_until": "2026-12-01T00:00:00"}, "away_until"),
        ({"exceptions": [{"date": "2020-01-01", "available": False}]}, "exceptions[0].date"),
        ({"weekly": "mornings"}, "weekly"),
        ({"holidays": []}, "holidays"),
        ({"away_until": "0001-01-01T00:00:00+01:00"}, "away_until"),
    ],
)
async def test_bad_availability_is_422_and_changes_nothing(
    client: httpx.AsyncClient, val: dict[str, str], world: World, change: dict[str, Any], field: str
) -> None:
    await client.put("/v1/volunteers/me/availability", headers=val, json=WEEKDAY_MORNINGS)
    before = await world.count("volunteer_availability")
    r = await client.put(
        "/v1/volunteers/me/availability", headers=val, json={**WEEKDAY_MORNINGS, **change}
    )
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert await world.count("volunteer_availability") == before
