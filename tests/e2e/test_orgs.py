"""Organisations: platform admins create them; bad input is a clear 4xx with no write."""

from __future__ import annotations

import httpx
import pytest

from tests.support import World

pytestmark = pytest.mark.anyio

GOOD = {"name": "Camden Council", "slug": "camden", "kind": "council"}


@pytest.fixture
async def admin(world: World) -> dict[str, str]:
    return await world.person("root", platform_admin=True)


async def test_a_platform_admin_creates_an_organisation(
    client: httpx.AsyncClient, admin: dict[str, str], world: World
) -> None:
    r = await client.post("/v1/orgs", json=GOOD, headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["slug"] == "camden"
    assert body["time_zone"] == "Europe/London"
    assert await world.count("audit_log", "action = 'organisation.created'") == 1
    again = await client.post("/v1/orgs", json=GOOD, headers=admin)
    assert again.status_code == 409
    assert again.json()["type"] == "http://test/problems/conflict"


async def test_nobody_else_may(client: httpx.AsyncClient, world: World) -> None:
    await world.org("acme")
    headers = await world.person("boss", org="acme", role="org_admin")
    r = await client.post("/v1/orgs", json=GOOD, headers=headers)
    assert r.status_code == 403
    assert await world.count("organisations", "slug = 'camden'") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "role": "org_admin"}, "role"),
        ({**GOOD, "org_id": "00000000-0000-0000-0000-000000000000"}, "org_id"),
        ({**GOOD, "kind": "bank"}, "kind"),
        ({**GOOD, "slug": "Not A Slug"}, "slug"),
        ({**GOOD, "name": ""}, "name"),
        ({**GOOD, "name": "   "}, "name"),
        ({**GOOD, "name": "x" * 5000}, "name"),
        ({**GOOD, "name": 42}, "name"),
        ({**GOOD, "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"name": "No slug", "kind": "council"}, "slug"),
    ],
)
async def test_bad_input_names_the_field(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    world: World,
    body: dict[str, object],
    field: str,
) -> None:
    r = await client.post("/v1/orgs", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert field in [e["field"] for e in problem["errors"]], problem
    assert await world.count("organisations") == 0


@pytest.mark.parametrize("raw", [b"{", b"", b"[1, 2", b"\xff\xfe", b'{"name": "a",}'])
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, admin: dict[str, str], raw: bytes
) -> None:
    r = await client.post(
        "/v1/orgs", content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code in {400, 422}, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "body"


async def test_an_array_instead_of_an_object(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post("/v1/orgs", json=[GOOD], headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"


async def test_an_oversized_body_is_413(
    client: httpx.AsyncClient, admin: dict[str, str], world: World
) -> None:
    r = await client.post("/v1/orgs", json={**GOOD, "name": "x" * 2_000_000}, headers=admin)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await world.count("organisations") == 0


async def test_unknown_routes_and_methods_are_problems(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.get("/v1/nothing-here", headers=admin)
    assert r.status_code == 404
    assert r.json()["status"] == 404
    r = await client.delete("/v1/orgs", headers=admin)
    assert r.status_code == 405
    assert r.json()["status"] == 405
