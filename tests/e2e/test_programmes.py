"""Programmes and their offer policies: coordinators manage them inside their organisation."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support import World

pytestmark = pytest.mark.anyio

PRESCRIPTIONS = {
    "name": "Prescription runs",
    "kind": "community_support",
    "min_vetting": "basic",
    "wave_size": 4,
    "offer_timeout_s": 600,
}


@pytest.fixture
async def coordinator(world: World) -> dict[str, str]:
    await world.org("org-a")
    await world.org("org-b")
    return await world.person("coord-a", org="org-a", role="coordinator")


async def test_create_read_update(
    client: httpx.AsyncClient, coordinator: dict[str, str], world: World
) -> None:
    r = await client.post("/v1/programmes", json=PRESCRIPTIONS, headers=coordinator)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["alert_cap"] == 12  # defaults fill the rest of the policy
    assert created["min_vetting"] == "basic"
    r = await client.patch(
        f"/v1/programmes/{created['id']}",
        headers=coordinator,
        json={"alert_cap": 30, "min_vetting": "enhanced_children"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["alert_cap"], r.json()["wave_size"]) == (30, 4)
    got = await client.get(f"/v1/programmes/{created['id']}", headers=coordinator)
    assert got.json()["min_vetting"] == "enhanced_children"
    assert await world.count("audit_log", "subject_type = 'programme'") == 2
    again = await client.post("/v1/programmes", json=PRESCRIPTIONS, headers=coordinator)
    assert again.status_code == 409


async def test_volunteers_of_the_organisation_may_read_but_not_manage(
    client: httpx.AsyncClient, coordinator: dict[str, str], world: World
) -> None:
    created = (await client.post("/v1/programmes", json=PRESCRIPTIONS, headers=coordinator)).json()
    for role in ("volunteer", "caseworker"):
        headers = await world.person(f"{role}-a", org="org-a", role=role)
        assert (
            await client.get(f"/v1/programmes/{created['id']}", headers=headers)
        ).status_code == 200
        assert (
            await client.post(
                "/v1/programmes", json={**PRESCRIPTIONS, "name": "x"}, headers=headers
            )
        ).status_code == 403
        assert (
            await client.patch(
                f"/v1/programmes/{created['id']}", json={"alert_cap": 1}, headers=headers
            )
        ).status_code == 403


async def test_other_organisations_see_nothing(
    client: httpx.AsyncClient, coordinator: dict[str, str], world: World
) -> None:
    created = (await client.post("/v1/programmes", json=PRESCRIPTIONS, headers=coordinator)).json()
    outsider = await world.person("coord-b", org="org-b", role="coordinator")
    for r in (
        await client.get(f"/v1/programmes/{created['id']}", headers=outsider),
        await client.patch(
            f"/v1/programmes/{created['id']}", json={"alert_cap": 1}, headers=outsider
        ),
        await client.get(f"/v1/programmes/{uuid.uuid4()}", headers=outsider),
    ):
        assert r.status_code == 404
        assert "Prescription" not in r.text
    listed = await client.get("/v1/programmes", headers=outsider)
    assert listed.json()["items"] == []
    org_a = await world.org("org-a")
    r = await client.post(
        "/v1/programmes", headers=outsider, json={**PRESCRIPTIONS, "org_id": str(org_a)}
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"wave_size": 0}, "wave_size"),
        ({"offer_timeout_s": 10**9}, "offer_timeout_s"),
        ({"min_vetting": "mega"}, "min_vetting"),
        ({"kind": "party"}, "kind"),
        ({"name": ""}, "name"),
        ({"status": "open"}, "status"),
        ({"alert_cap": "many"}, "alert_cap"),
    ],
)
async def test_bad_policies_are_422(
    client: httpx.AsyncClient,
    coordinator: dict[str, str],
    world: World,
    change: dict[str, object],
    field: str,
) -> None:
    r = await client.post("/v1/programmes", json={**PRESCRIPTIONS, **change}, headers=coordinator)
    assert r.status_code == 422
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await world.count("programmes") == 0


async def test_staff_of_two_organisations_must_name_one(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.org("org-a")
    b = await world.org("org-b")
    await world.person("busy", org="org-a", role="coordinator")
    headers = await world.person("busy", org="org-b", role="coordinator")
    r = await client.post("/v1/programmes", json=PRESCRIPTIONS, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "org_id"
    r = await client.post(
        "/v1/programmes", json={**PRESCRIPTIONS, "org_id": str(b)}, headers=headers
    )
    assert r.status_code == 201
    assert r.json()["org_id"] == str(b)


async def test_an_empty_patch_and_pagination(
    client: httpx.AsyncClient, coordinator: dict[str, str]
) -> None:
    ids = []
    for n in range(5):
        body = {**PRESCRIPTIONS, "name": f"Programme {n}"}
        ids.append(
            (await client.post("/v1/programmes", json=body, headers=coordinator)).json()["id"]
        )
    r = await client.patch(f"/v1/programmes/{ids[0]}", json={}, headers=coordinator)
    assert r.status_code == 422
    page = (await client.get("/v1/programmes?limit=2", headers=coordinator)).json()
    seen = [p["id"] for p in page["items"]]
    while page["next_cursor"]:
        page = (
            await client.get(
                f"/v1/programmes?limit=2&cursor={page['next_cursor']}", headers=coordinator
            )
        ).json()
        seen += [p["id"] for p in page["items"]]
    assert seen == ids
