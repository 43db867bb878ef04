"""The roster's filters (issue 16, part 2): a coordinator finds whose DBS check lapses
soon, has lapsed, is missing or meets a level, and who has missed a visit; never another
organisation's volunteers; bad filters are a 422 naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.scenario import Scenario
from tests.support import World

pytestmark = pytest.mark.anyio
ORG = "reading-council"


async def _names(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> set[str]:
    r = await client.get("/v1/volunteers", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return {v["display_name"] for v in r.json()["items"]}


async def test_the_roster_filters_by_vetting_level_and_no_shows(
    client: httpx.AsyncClient, world: World
) -> None:
    today = datetime.now(UTC).date()
    org = await world.org(ORG)
    await world.org("berkshire-nhs")
    coordinator = await world.person("coord", org=ORG, role="coordinator")
    for name, level, days in (
        ("v-valid", "enhanced", 200),
        ("v-soon", "enhanced", 20),
        ("v-fifty", "basic", 50),
        ("v-lapsed", "enhanced", -3),
        ("v-noshow", "basic", 300),
    ):
        await world.volunteer(
            name, org=ORG, vetting=level, vetting_expires=today + timedelta(days=days)
        )
    await world.volunteer("v-none", org=ORG)
    await world.volunteer(
        "v-theirs", org="berkshire-nhs", vetting="enhanced", vetting_expires=today + timedelta(5)
    )
    s = Scenario(world)
    need = await s.need(org, await s.programme(org), window_start=datetime.now(UTC) - timedelta(2))
    missed = await world.volunteer("v-noshow", org=ORG)
    await s.assignment(org, need, missed, status="no_show")

    everyone = {"V Valid", "V Soon", "V Fifty", "V Lapsed", "V Noshow", "V None"}
    assert await _names(client, coordinator) == everyone
    assert await _names(client, coordinator, vetting="lapsing") == {"V Soon"}
    assert await _names(client, coordinator, vetting="lapsing", within_days=60) == {
        "V Soon",
        "V Fifty",
    }
    assert await _names(client, coordinator, vetting="lapsed") == {"V Lapsed"}
    assert await _names(client, coordinator, vetting="none") == {"V None"}
    valid = {"V Valid", "V Soon", "V Fifty", "V Noshow"}
    assert await _names(client, coordinator, vetting="valid") == valid
    assert await _names(client, coordinator, level="enhanced") == {"V Valid", "V Soon"}
    assert await _names(client, coordinator, level="basic") == valid  # enhanced meets basic
    assert await _names(client, coordinator, no_shows="true") == {"V Noshow"}
    assert await _names(client, coordinator, no_shows="false") == everyone - {"V Noshow"}
    both = {"vetting": "lapsing", "within_days": 60, "level": "enhanced", "status": "approved"}
    assert await _names(client, coordinator, **both) == {"V Soon"}
    assert await _names(client, coordinator, status="pending", vetting="lapsing") == set()

    for bad, field in (
        ({"vetting": "soon"}, "vetting"),
        ({"vetting": "lapsing", "within_days": 0}, "within_days"),
        ({"within_days": 400}, "within_days"),
        ({"level": "gold"}, "level"),
        ({"no_shows": "maybe"}, "no_shows"),
    ):
        r = await client.get("/v1/volunteers", headers=coordinator, params=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == field
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (bad, r.text)


async def test_the_roster_filters_by_programme_and_counts_no_shows(
    client: httpx.AsyncClient, world: World
) -> None:
    """A programme's filter is matching's rule for its level, today: a check meeting it,
    identity verified, not expired, on no barred list; another organisation's programme is
    a 422 naming the filter, as is a malformed id."""
    today = datetime.now(UTC).date()
    org = await world.org(ORG)
    other = await world.org("berkshire-nhs")
    coordinator = await world.person("coord", org=ORG, role="coordinator")
    later = today + timedelta(days=100)
    await world.volunteer("v-children", org=ORG, vetting="enhanced_children", vetting_expires=later)
    await world.volunteer("v-enhanced", org=ORG, vetting="enhanced", vetting_expires=later)
    await world.volunteer("v-lapsed", org=ORG, vetting="enhanced_children", vetting_expires=today)
    barred = await world.volunteer(
        "v-barred", org=ORG, vetting="enhanced_children", vetting_expires=later
    )
    unverified = await world.volunteer(
        "v-unverified", org=ORG, vetting="enhanced_both", vetting_expires=later
    )
    await world.volunteer("v-none", org=ORG)
    s = Scenario(world)
    family = await s.programme(org, "Family support")
    errands = await s.programme(org, "Errands")
    theirs = await s.programme(other, "Lifts")
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE programmes SET min_vetting = 'enhanced_children' WHERE id = :p"),
            {"p": family},
        )
        await conn.execute(
            text("UPDATE vetting_checks SET barred_children = true WHERE user_id = :u"),
            {"u": barred},
        )
        await conn.execute(
            text("UPDATE vetting_checks SET id_verified = false WHERE user_id = :u"),
            {"u": unverified},
        )
    assert await _names(client, coordinator, programme=str(family)) == {"V Children"}
    assert await _names(client, coordinator, programme=str(errands)) == {
        "V Children",
        "V Enhanced",
        "V Lapsed",
        "V Unverified",
        "V None",
    }
    assert await _names(client, coordinator, programme=str(family), status="pending") == set()

    missed = await world.volunteer("v-enhanced", org=ORG)
    for days in (2, 3):
        need = await s.need(org, errands, window_start=datetime.now(UTC) - timedelta(days))
        await s.assignment(org, need, missed, status="no_show")
    r = await client.get("/v1/volunteers", headers=coordinator)
    counts = {v["display_name"]: v["no_shows"] for v in r.json()["items"]}
    assert counts["V Enhanced"] == 2
    assert counts["V Children"] == 0
    record = await client.get(f"/v1/volunteers/{missed}", headers=coordinator)
    assert record.json()["no_shows"] == 2

    for bad in (str(theirs), "not-an-id", "null"):
        r = await client.get("/v1/volunteers", headers=coordinator, params={"programme": bad})
        assert r.status_code in (400, 422), (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "programme" in r.text, (bad, r.text)
