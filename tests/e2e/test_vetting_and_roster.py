"""Coordinators approve, suspend and vet volunteers; eligibility expires by itself."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from sqlalchemy import text

from tests.e2e.test_volunteers import SIGN_UP
from tests.support import World

pytestmark = pytest.mark.anyio


@pytest.fixture
async def setup(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    org_a, org_b = await world.org("org-a"), await world.org("org-b")
    val = world.headers("val")
    r = await client.post(
        "/v1/volunteers/me", headers=val, json={**SIGN_UP, "organisations": ["org-a"]}
    )
    assert r.status_code == 201
    return {
        "org_a": org_a,
        "org_b": org_b,
        "val": val,
        "val_id": r.json()["user_id"],
        "coordinator": await world.person("coord-a", org="org-a", role="coordinator"),
        "caseworker": await world.person("case-a", org="org-a", role="caseworker"),
        "outsider": await world.person("coord-b", org="org-b", role="coordinator"),
    }


async def test_approve_suspend_reinstate(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World
) -> None:
    coordinator, vid = setup["coordinator"], setup["val_id"]
    roster = (await client.get("/v1/volunteers?status=pending", headers=coordinator)).json()
    assert [v["user_id"] for v in roster["items"]] == [vid]
    r = await client.post(f"/v1/volunteers/{vid}/approve", headers=coordinator, json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert (
        await client.post(f"/v1/volunteers/{vid}/approve", headers=coordinator, json={})
    ).status_code == 409
    r = await client.post(f"/v1/volunteers/{vid}/suspend", headers=coordinator, json={})
    assert r.status_code == 422  # a suspension needs a reason
    r = await client.post(
        f"/v1/volunteers/{vid}/suspend",
        headers=coordinator,
        json={"reason": "complaint under review"},
    )
    assert r.json()["status"] == "suspended"
    assert r.json()["status_reason"] == "complaint under review"
    me = (await client.get("/v1/volunteers/me", headers=setup["val"])).json()
    assert me["enrolments"][0]["status"] == "suspended"
    assert (
        await world.count("audit_log", "action IN ('volunteer.approved', 'volunteer.suspended')")
        == 2
    )


async def test_vetting_is_recorded_with_history_and_expires(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World
) -> None:
    coordinator, vid = setup["coordinator"], setup["val_id"]
    checked = date.today() - timedelta(days=30)
    r = await client.put(
        f"/v1/volunteers/{vid}/vetting",
        headers=coordinator,
        json={"level": "enhanced_children", "checked_on": checked.isoformat(), "id_verified": True},
    )
    assert r.status_code == 200, r.text
    vetting = r.json()["vetting"]
    assert vetting["valid_today"] is True
    assert vetting["expires_on"] == (checked + relativedelta(years=3)).isoformat()
    # A check recorded long ago has lapsed by itself: no job had to run.
    old = date.today() - timedelta(days=4 * 365)
    r = await client.put(
        f"/v1/volunteers/{vid}/vetting",
        headers=coordinator,
        json={"level": "enhanced", "checked_on": old.isoformat(), "id_verified": True},
    )
    assert r.json()["vetting"]["valid_today"] is False
    assert len(r.json()["vetting_history"]) == 2
    mine = (await client.get("/v1/volunteers/me", headers=setup["val"])).json()
    assert mine["enrolments"][0]["vetting"]["level"] == "enhanced"
    assert mine["enrolments"][0]["vetting"]["valid_today"] is False


async def test_who_may_vet(client: httpx.AsyncClient, setup: dict[str, Any], world: World) -> None:
    vid = setup["val_id"]
    body = {"level": "basic", "checked_on": date.today().isoformat(), "id_verified": True}
    assert (
        await client.put(f"/v1/volunteers/{vid}/vetting", headers=setup["caseworker"], json=body)
    ).status_code == 403
    assert (
        await client.put(f"/v1/volunteers/{vid}/vetting", headers=setup["val"], json=body)
    ).status_code == 403  # never one's own
    assert (
        await client.put(f"/v1/volunteers/{vid}/vetting", headers=setup["outsider"], json=body)
    ).status_code == 404
    # Even a volunteer who is also a coordinator here cannot vet themselves.
    await world.person("val", org="org-a", role="coordinator")
    r = await client.put(f"/v1/volunteers/{vid}/vetting", headers=setup["val"], json=body)
    assert r.status_code == 409
    assert await world.count("vetting_checks") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": "basic", "id_verified": True}, "checked_on"),
        ({"level": "platinum", "checked_on": "2026-01-01", "id_verified": True}, "level"),
        ({"level": "basic", "checked_on": "2999-01-01", "id_verified": True}, "checked_on"),
        ({"level": "basic", "checked_on": "yesterday", "id_verified": True}, "checked_on"),
        ({"level": "basic", "checked_on": "2026-01-01"}, "id_verified"),
        (
            {
                "level": "basic",
                "checked_on": "2026-01-01",
                "id_verified": True,
                "expires_on": "2099-01-01",
            },
            "expires_on",
        ),
    ],
)
async def test_bad_vetting_is_422(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World, body: dict[str, Any], field: str
) -> None:
    r = await client.put(
        f"/v1/volunteers/{setup['val_id']}/vetting", headers=setup["coordinator"], json=body
    )
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await world.count("vetting_checks") == 0


async def test_other_organisations_and_volunteers_see_nothing(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World
) -> None:
    vid = setup["val_id"]
    outsider = setup["outsider"]
    assert (await client.get("/v1/volunteers", headers=outsider)).json()["items"] == []
    for method, path, body in (
        ("GET", f"/v1/volunteers/{vid}", None),
        ("POST", f"/v1/volunteers/{vid}/approve", {}),
        ("POST", f"/v1/volunteers/{vid}/suspend", {"reason": "spite"}),
    ):
        r = await client.request(method, path, headers=outsider, json=body)
        assert r.status_code == 404, (path, r.text)
        assert "Val" not in r.text
    # A fellow volunteer of the same organisation cannot read the roster, even through SQL.
    other = world.headers("other-vol")
    await client.post(
        "/v1/volunteers/me", headers=other, json={**SIGN_UP, "organisations": ["org-a"]}
    )
    assert (await client.get("/v1/volunteers", headers=other)).status_code == 403
    async with world.owner.begin() as conn:
        status = await conn.scalar(
            text(
                "SELECT status FROM memberships m JOIN users u "
                "ON u.id = m.user_id WHERE u.subject = 'val'"
            )
        )
    assert status == "pending"


async def test_nobody_approves_themselves(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World
) -> None:
    me = await world.person("val", org="org-a", role="coordinator")
    r = await client.post(f"/v1/volunteers/{setup['val_id']}/approve", headers=me, json={})
    assert r.status_code == 409


async def test_pending_volunteers_do_not_see_the_organisations_programmes(
    client: httpx.AsyncClient, setup: dict[str, Any]
) -> None:
    await client.post(
        "/v1/programmes",
        headers=setup["coordinator"],
        json={"name": "Secret plans", "kind": "other"},
    )
    listed = (await client.get("/v1/programmes", headers=setup["val"])).json()
    assert listed["items"] == []
    await client.post(
        f"/v1/volunteers/{setup['val_id']}/approve", headers=setup["coordinator"], json={}
    )
    listed = (await client.get("/v1/programmes", headers=setup["val"])).json()
    assert [p["name"] for p in listed["items"]] == ["Secret plans"]
