"""Members: coordinators and org admins invite staff; tenants never see each other."""

from __future__ import annotations

import asyncio
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


async def _user_id(world: World, subject: str) -> str:
    async with world.owner.connect() as conn:
        found = await conn.scalar(text("SELECT id FROM users WHERE subject = :s"), {"s": subject})
    return str(found)


async def test_a_role_is_taken_away_or_changed_with_its_reason_and_an_admin_always_stays(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    base = f"/v1/orgs/{orgs['a']}/members"
    admin = await world.person("admin-a", org="org-a", role="org_admin")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    case = await world.person("case-a", org="org-a", role="caseworker")
    case_id, admin_id = await _user_id(world, "case-a"), await _user_id(world, "admin-a")
    why = {"reason": "Moved to the hospital discharge team"}

    # The caseworker works; made a coordinator by the coordinator, one step, audited.
    assert (await client.get("/v1/needs", headers=case)).status_code == 200
    r = await client.post(
        f"{base}/{case_id}/change-role",
        headers=coordinator,
        json={"role": "caseworker", "to": "coordinator"} | why,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["user_id"], r.json()["role"]) == (case_id, "coordinator")
    roles = await client.get("/v1/me", headers=case)
    assert [m["role"] for m in roles.json()["memberships"]] == ["coordinator"]
    changed = "action = 'membership.changed' AND reason = 'Moved to the hospital discharge team'"
    assert await world.count("audit_log", changed) == 1

    # Taken away: at once, the API refuses them the organisation's needs.
    r = await client.post(
        f"{base}/{case_id}/remove", headers=admin, json={"role": "coordinator"} | why
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/v1/me", headers=case)).json()["memberships"] == []
    gone = await client.get(f"/v1/orgs/{orgs['a']}/members", headers=case)
    assert gone.status_code == 404  # no longer a member: the organisation is unknown to them
    assert await world.count("audit_log", "action = 'membership.removed'") == 1
    again = await client.post(
        f"{base}/{case_id}/remove", headers=admin, json={"role": "coordinator"} | why
    )
    assert again.status_code == 404

    # Refused, each writing nothing: no reason, a volunteer, a role beyond the caller's,
    # the last admin, another organisation's.
    colleague = await world.person("case-a2", org="org-a", role="caseworker")
    other = await world.person("admin-b", org="org-b", role="org_admin")
    before = await world.count("memberships")
    coord_id = await _user_id(world, "coord-a")
    cases = [
        (coordinator, f"{base}/{coord_id}/remove", {"role": "coordinator"}, 422, "reason"),
        (coordinator, f"{base}/{coord_id}/remove", {"role": "volunteer"} | why, 422, "role"),
        (coordinator, f"{base}/{admin_id}/remove", {"role": "org_admin"} | why, 403, None),
        (admin, f"{base}/{admin_id}/remove", {"role": "org_admin"} | why, 409, None),
        (
            admin,
            f"{base}/{admin_id}/change-role",
            {"role": "org_admin", "to": "caseworker"} | why,
            409,
            None,
        ),
        (
            admin,
            f"{base}/{coord_id}/change-role",
            {"role": "coordinator", "to": "coordinator"} | why,
            422,
            "to",
        ),
        (colleague, f"{base}/{coord_id}/remove", {"role": "coordinator"} | why, 403, None),
    ]
    for headers, url, body, status, field in cases:
        r = await client.post(url, headers=headers, json=body)
        assert r.status_code == status, (url, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert r.json()["errors"][0]["field"] == field, r.json()
    other = await world.person("admin-b", org="org-b", role="org_admin")
    r = await client.post(
        f"{base}/{coord_id}/remove", headers=other, json={"role": "coordinator"} | why
    )
    assert r.status_code in (403, 404)
    assert await world.count("memberships") == before

    # With a second admin, the first may step down.
    r = await client.post(
        f"/v1/orgs/{orgs['a']}/members",
        headers=admin,
        json={"user_id": coord_id, "role": "org_admin"},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{base}/{admin_id}/remove", headers=admin, json={"role": "org_admin"} | why
    )
    assert r.status_code == 204, r.text


async def test_two_admins_removing_each_other_at_once_leave_one(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    base = f"/v1/orgs/{orgs['a']}/members"
    one = await world.person("admin-1", org="org-a", role="org_admin")
    two = await world.person("admin-2", org="org-a", role="org_admin")
    ids = await _user_id(world, "admin-1"), await _user_id(world, "admin-2")
    why = {"role": "org_admin", "reason": "Tidying up"}
    answers = await asyncio.gather(
        client.post(f"{base}/{ids[1]}/remove", headers=one, json=why),
        client.post(f"{base}/{ids[0]}/remove", headers=two, json=why),
    )
    # The loser is refused by the last-admin rule (409) if it got there first, or, once the
    # winner's removal committed, is no longer a member: 404 as for any organisation not
    # theirs (principal.require_role), or 403 if its login still held the role.
    codes = sorted(a.status_code for a in answers)
    assert codes in ([204, 403], [204, 404], [204, 409]), [a.text for a in answers]
    assert await world.count("memberships", f"org_id = '{orgs['a']}' AND role = 'org_admin'") == 1


async def test_open_invitations_are_listed_and_revoked_with_a_reason(
    client: httpx.AsyncClient, world: World, orgs: dict[str, uuid.UUID]
) -> None:
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    for email in ("one@example.org", "two@example.org"):
        r = await client.post(
            f"/v1/orgs/{orgs['a']}/members",
            headers=coordinator,
            json={"email": email, "role": "caseworker"},
        )
        assert r.status_code == 201, r.text
    url = f"/v1/orgs/{orgs['a']}/invitations"
    listed = await client.get(url, headers=coordinator)
    assert listed.status_code == 200, listed.text
    assert [i["email"] for i in listed.json()] == ["one@example.org", "two@example.org"]
    first = listed.json()[0]["id"]
    r = await client.post(f"{url}/{first}/revoke", headers=coordinator, json={"reason": "x"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason"
    r = await client.post(
        f"{url}/{first}/revoke", headers=coordinator, json={"reason": "Left before starting"}
    )
    assert r.status_code == 204, r.text
    assert [i["email"] for i in (await client.get(url, headers=coordinator)).json()] == [
        "two@example.org"
    ]
    revoked = "action = 'invitation.revoked' AND reason = 'Left before starting'"
    assert await world.count("audit_log", revoked) == 1
    # Signing in with the revoked address grants nothing.
    me = await client.get("/v1/me", headers=world.headers("late-uid", email="one@example.org"))
    assert me.json()["memberships"] == []
    again = await client.post(
        f"{url}/{first}/revoke", headers=coordinator, json={"reason": "Twice"}
    )
    assert again.status_code == 404
    other = await world.person("coord-b", org="org-b", role="coordinator")
    theirs = await client.get(url, headers=other)
    assert theirs.status_code in (403, 404)
    assert "two@example.org" not in theirs.text
    case = await world.person("case-a", org="org-a", role="caseworker")
    assert (await client.get(url, headers=case)).status_code == 403
