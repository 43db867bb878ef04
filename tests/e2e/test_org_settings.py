"""An organisation's settings through the API: read by its coordinators and admins, changed by
its org admins only, validated field by field, conditional on the ETag read (If-Match), audited
before and after; another organisation's settings, members and invitations are never
reachable."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from tests.support import World

pytestmark = pytest.mark.anyio


@pytest.fixture
async def orgs(world: World) -> dict[str, uuid.UUID]:
    return {"a": await world.org("org-a"), "b": await world.org("org-b", kind="charity")}


async def _audit(world: World, org_id: uuid.UUID) -> list[dict[str, object]]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT details FROM audit_log WHERE action = 'organisation.updated'"
                " AND org_id = :org ORDER BY at, id"
            ),
            {"org": org_id},
        )
        return [dict(r.details) for r in rows]


async def test_admins_change_the_settings_and_the_audit_log_keeps_before_and_after(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    admin = await world.person("admin-a", org="org-a", role="org_admin")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    url = f"/v1/orgs/{orgs['a']}"
    read = await client.get(url, headers=coordinator)
    assert read.status_code == 200, read.text
    assert read.json()["time_zone"] == "Europe/London"
    assert read.json()["safeguarding_retention_months"] == 72

    # Coordinators read; only org admins change, and a refusal writes nothing.
    refused = await client.patch(url, headers=coordinator, json={"name": "Renamed"})
    assert refused.status_code == 403
    assert (await client.get(url, headers=admin)).json()["name"] == read.json()["name"]

    r = await client.patch(
        url,
        headers=admin,
        json={
            "name": "  Reading Borough Council ",
            "time_zone": "Europe/Dublin",
            "safeguarding_retention_months": 120,
            "vetting_recheck_months": 24,
        },
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["name"] == "Reading Borough Council"
    assert changed["time_zone"] == "Europe/Dublin"
    assert (changed["safeguarding_retention_months"], changed["vetting_recheck_months"]) == (
        120,
        24,
    )
    assert changed["slug"] == "org-a"
    assert (await client.get(url, headers=coordinator)).json() == changed
    [entry] = await _audit(world, orgs["a"])
    assert entry["before"] == {
        "name": "Org A",
        "time_zone": "Europe/London",
        "safeguarding_retention_months": 72,
        "vetting_recheck_months": 36,
    }
    assert entry["after"] == {
        "name": "Reading Borough Council",
        "time_zone": "Europe/Dublin",
        "safeguarding_retention_months": 120,
        "vetting_recheck_months": 24,
    }
    # The same values again change nothing and record nothing.
    again = await client.patch(url, headers=admin, json={"time_zone": "Europe/Dublin"})
    assert again.status_code == 200
    assert len(await _audit(world, orgs["a"])) == 1
    # Caseworkers and volunteers of the organisation may not read its settings.
    caseworker = await world.person("case-a", org="org-a", role="caseworker")
    assert (await client.get(url, headers=caseworker)).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"safeguarding_retention_months": 11}, "safeguarding_retention_months"),
        ({"safeguarding_retention_months": 1201}, "safeguarding_retention_months"),
        ({"safeguarding_retention_months": "72"}, "safeguarding_retention_months"),
        ({"vetting_recheck_months": 0}, "vetting_recheck_months"),
        ({"name": ""}, "name"),
        ({"slug": "new-slug"}, "slug"),
        ({"kind": "charity"}, "kind"),
        ({}, "body"),
    ],
)
async def test_bad_settings_are_422_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient,
    world: World,
    orgs: dict[str, uuid.UUID],
    change: dict[str, object],
    field: str,
) -> None:
    admin = await world.person("admin-a", org="org-a", role="org_admin")
    url = f"/v1/orgs/{orgs['a']}"
    before = (await client.get(url, headers=admin)).json()
    body = {"name": "Should not stick", **change} if change else {}
    r = await client.patch(url, headers=admin, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert (await client.get(url, headers=admin)).json() == before
    assert await _audit(world, orgs["a"]) == []


async def test_a_change_against_a_stale_etag_is_412_and_writes_nothing(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    admin = await world.person("admin-a", org="org-a", role="org_admin")
    other_admin = await world.person("admin-a2", org="org-a", role="org_admin")
    url = f"/v1/orgs/{orgs['a']}"
    read = await client.get(url, headers=admin)
    tag = read.headers["etag"]
    assert tag.startswith('"')
    assert tag.endswith('"')
    assert read.headers["cache-control"] == "private, no-cache"
    same = await client.get(url, headers={**admin, "If-None-Match": tag})
    assert (same.status_code, same.content) == (304, b"")

    # Someone else changes it meanwhile: the first admin's change is refused, not merged.
    theirs = await client.patch(
        url, headers={**other_admin, "If-Match": tag}, json={"time_zone": "Europe/Lisbon"}
    )
    assert theirs.status_code == 200, theirs.text
    new_tag = theirs.headers["etag"]
    assert new_tag != tag
    stale = await client.patch(
        url, headers={**admin, "If-Match": tag}, json={"time_zone": "Europe/Paris"}
    )
    assert stale.status_code == 412, stale.text
    assert stale.json()["type"].endswith("/problems/precondition-failed")
    weak = await client.patch(
        url, headers={**admin, "If-Match": f"W/{new_tag}"}, json={"time_zone": "Europe/Paris"}
    )
    assert weak.status_code == 412  # If-Match compares strongly
    now = await client.get(url, headers=admin)
    assert now.json()["time_zone"] == "Europe/Lisbon"
    assert now.headers["etag"] == new_tag
    assert len(await _audit(world, orgs["a"])) == 1

    fresh = await client.patch(
        url, headers={**admin, "If-Match": f'"nope", {new_tag}'}, json={"time_zone": "Europe/Paris"}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["time_zone"] == "Europe/Paris"
    assert (await client.get(url, headers=admin)).headers["etag"] == fresh.headers["etag"]


async def test_another_organisations_settings_and_members_are_never_reachable(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    await world.person("admin-a", org="org-a", role="org_admin")
    admin_b = await world.person("admin-b", org="org-b", role="org_admin")
    invite = {"email": "new.person@example.org", "role": "caseworker"}
    owner_a = await world.person("admin-a", org="org-a", role="org_admin")
    assert (
        await client.post(f"/v1/orgs/{orgs['a']}/members", headers=owner_a, json=invite)
    ).status_code == 201
    url = f"/v1/orgs/{orgs['a']}"
    before = (await client.get(url, headers=owner_a)).json()
    for r in (
        await client.get(url, headers=admin_b),
        await client.patch(url, headers=admin_b, json={"name": "Taken over"}),
        await client.patch(url, headers={**admin_b, "If-Match": "*"}, json={"name": "Taken"}),
        await client.get(f"{url}/members", headers=admin_b),
        await client.get(f"{url}/invitations", headers=admin_b),
        await client.get(f"/v1/orgs/{uuid.uuid4()}", headers=admin_b),
    ):
        assert r.status_code == 404, r.text
        assert "Org A" not in r.text
        assert "new.person" not in r.text
    assert (await client.get(url, headers=owner_a)).json() == before
    assert await _audit(world, orgs["a"]) == []
    # Their own is theirs to change.
    mine = await client.patch(f"/v1/orgs/{orgs['b']}", headers=admin_b, json={"name": "B"})
    assert mine.status_code == 200
