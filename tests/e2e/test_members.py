"""Members: coordinators and org admins invite staff; tenants never see each other."""

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


async def test_a_coordinator_invites_a_caseworker_who_then_signs_in(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    r = await client.post(
        f"/v1/orgs/{orgs['a']}/members",
        headers=coordinator,
        json={"email": "Case.Worker@Example.org", "role": "caseworker"},
    )
    assert r.status_code == 201, r.text
    invited = r.json()
    assert invited["invited"] is True
    assert invited["user_id"] is None
    assert invited["email"] == "case.worker@example.org"
    assert await world.count("audit_log", "action = 'invitation.created'") == 1

    # First sign-in with that verified e-mail claims the invitation.
    me = await client.get(
        "/v1/me", headers=world.headers("firebase-uid-1", email="case.worker@example.org")
    )
    assert me.status_code == 200
    assert [m["role"] for m in me.json()["memberships"]] == ["caseworker"]
    assert await world.count("invitations", "claimed_at IS NOT NULL") == 1

    listed = await client.get(f"/v1/orgs/{orgs['a']}/members", headers=coordinator)
    assert me.json()["user_id"] in {m["user_id"] for m in listed.json()["items"]}


async def test_someone_who_signed_in_before_is_invited_later(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    early = world.headers("early-bird", email="early@example.org")
    assert (await client.get("/v1/me", headers=early)).json()["memberships"] == []
    admin = await world.person("admin-a", org="org-a", role="org_admin")
    r = await client.post(
        f"/v1/orgs/{orgs['a']}/members",
        headers=admin,
        json={"email": "early@example.org", "role": "coordinator"},
    )
    # The answer does not reveal that this address already has an account.
    assert r.status_code == 201
    assert r.json()["user_id"] is None
    assert r.json()["invited"] is True
    roles = [m["role"] for m in (await client.get("/v1/me", headers=early)).json()["memberships"]]
    assert roles == ["coordinator"]


async def test_another_tenants_invitation_is_not_reused(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    a = await world.person("coord-a", org="org-a", role="coordinator")
    b = await world.person("coord-b", org="org-b", role="coordinator")
    body = {"email": "shared@example.org", "role": "caseworker", "display_name": "Name From B"}
    assert (
        await client.post(f"/v1/orgs/{orgs['b']}/members", headers=b, json=body)
    ).status_code == 201
    r = await client.post(
        f"/v1/orgs/{orgs['a']}/members",
        headers=a,
        json={"email": "shared@example.org", "role": "caseworker"},
    )
    assert r.status_code == 201
    assert "Name From B" not in r.text
    again = await client.post(
        f"/v1/orgs/{orgs['a']}/members",
        headers=a,
        json={"email": "shared@example.org", "role": "caseworker"},
    )
    assert again.status_code == 409
    me = await client.get("/v1/me", headers=world.headers("sharer", email="shared@example.org"))
    assert len(me.json()["memberships"]) == 2


async def test_an_unverified_email_claims_nothing(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    invite = await client.post(
        f"/v1/orgs/{orgs['a']}/members",
        headers=coordinator,
        json={"email": "x@example.org", "role": "caseworker"},
    )
    import jwt

    from app.identity.tokens import AUDIENCE, DEV_ISSUER

    token = jwt.encode(
        {
            "iss": DEV_ISSUER,
            "aud": AUDIENCE,
            "sub": "sneaky",
            "iat": 1,
            "exp": 2**31,
            "email": "x@example.org",
            "email_verified": False,
        },
        world.issuer._private,
        algorithm="EdDSA",
    )
    assert invite.status_code == 201
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["memberships"] == []
    assert await world.count("invitations", "claimed_at IS NULL") == 1


async def test_adding_an_existing_user_by_id_and_duplicates(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    admin = await world.person("admin-a", org="org-a", role="org_admin")
    colleague = await world.person("colleague", org="org-a", role="caseworker")
    colleague_id = (await client.get("/v1/me", headers=colleague)).json()["user_id"]
    body = {"user_id": colleague_id, "role": "coordinator"}
    r = await client.post(f"/v1/orgs/{orgs['a']}/members", headers=admin, json=body)
    assert r.status_code == 201
    assert r.json()["role"] == "coordinator"
    again = await client.post(f"/v1/orgs/{orgs['a']}/members", headers=admin, json=body)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "caseworker"}, "email"),
        ({"role": "caseworker", "email": "a@b.org", "user_id": str(uuid.uuid4())}, "email"),
        ({"role": "caseworker", "email": "not-an-email"}, "email"),
        ({"role": "emperor", "email": "a@b.org"}, "role"),
        ({"role": "caseworker", "email": "a@b.org", "org_id": str(uuid.uuid4())}, "org_id"),
        ({"role": "caseworker", "user_id": "not-a-uuid"}, "user_id"),
    ],
)
async def test_bad_member_requests(
    client: httpx.AsyncClient,
    world: World,
    orgs: dict[str, uuid.UUID],
    body: dict[str, object],
    field: str,
) -> None:
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    before = await world.count("memberships")
    r = await client.post(f"/v1/orgs/{orgs['a']}/members", headers=coordinator, json=body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await world.count("memberships") == before
    assert await world.count("invitations") == 0


@pytest.mark.parametrize(
    "role",
    [
        "org_admin",  # coordinators cannot grant it
        "volunteer",  # volunteers sign up themselves
    ],
)
async def test_a_role_the_caller_may_not_grant_is_403(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID], role: str
) -> None:
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    before = await world.count("memberships")
    body = {"role": role, "email": "a@b.org"}
    r = await client.post(f"/v1/orgs/{orgs['a']}/members", headers=coordinator, json=body)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "you may grant: caseworker, coordinator"
    assert await world.count("memberships") == before
    assert await world.count("invitations") == 0


async def test_roles_that_may_not_manage_members(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    for role in ("caseworker", "volunteer"):
        headers = await world.person(f"{role}-a", org="org-a", role=role)
        assert (
            await client.get(f"/v1/orgs/{orgs['a']}/members", headers=headers)
        ).status_code == 403
        r = await client.post(
            f"/v1/orgs/{orgs['a']}/members",
            headers=headers,
            json={"email": "z@example.org", "role": "caseworker"},
        )
        assert r.status_code == 403


async def test_other_tenants_see_404_and_nothing_else(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    await world.person("secret-person", org="org-b", role="caseworker")
    outsiders = {
        "coordinator of A": await world.person("coord-a", org="org-a", role="coordinator"),
        "admin of A": await world.person("admin-a", org="org-a", role="org_admin"),
        "no membership": await world.person("loner"),
    }
    for who, headers in outsiders.items():
        for path in (f"/v1/orgs/{orgs['b']}/members", f"/v1/orgs/{uuid.uuid4()}/members"):
            listed = await client.get(path, headers=headers)
            added = await client.post(
                path, headers=headers, json={"email": "spy@example.org", "role": "caseworker"}
            )
            for r in (listed, added):
                assert r.status_code == 404, (who, path, r.text)
                assert "secret" not in r.text
                assert "org-b" not in r.text
    assert await world.count("memberships", f"org_id = '{orgs['b']}'") == 1


async def test_a_user_id_from_another_tenant_is_unknown(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    other = await world.person("other-b", org="org-b", role="caseworker")
    other_id = (await client.get("/v1/me", headers=other)).json()["user_id"]
    admin = await world.person("admin-a", org="org-a", role="org_admin")
    r = await client.post(
        f"/v1/orgs/{orgs['a']}/members",
        headers=admin,
        json={"user_id": other_id, "role": "caseworker"},
    )
    assert r.status_code == 404


async def test_members_are_cursor_paginated(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    # One transaction: every membership gets the same created_at, so the cursor must break
    # ties by user id.
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "WITH u AS (INSERT INTO users (issuer, subject) SELECT 'test', 'worker-' || n "
                "FROM generate_series(1, 6) n RETURNING id) "
                "INSERT INTO memberships (org_id, user_id, role) "
                "SELECT :org, id, 'caseworker' FROM u"
            ),
            {"org": orgs["a"]},
        )
    seen: list[str] = []
    url: str | None = f"/v1/orgs/{orgs['a']}/members?limit=3&role=caseworker"
    while url:
        page = (await client.get(url, headers=coordinator)).json()
        seen += [m["user_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        url = (
            f"/v1/orgs/{orgs['a']}/members?limit=3&role=caseworker&cursor={cursor}"
            if cursor
            else None
        )
    assert len(seen) == len(set(seen)) == 6
    for query, field in (
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("cursor=garbage", "cursor"),
        ("role=king", "role"),
    ):
        r = await client.get(f"/v1/orgs/{orgs['a']}/members?{query}", headers=coordinator)
        assert r.status_code == 422, (query, r.text)
        assert r.json()["errors"][0]["field"] == field
    r = await client.get("/v1/orgs/not-a-uuid/members", headers=coordinator)
    assert r.status_code in {404, 422}
