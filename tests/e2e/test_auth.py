"""Every way a bearer token can be wrong gets a 401 problem, never a 500."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.identity.tokens import AUDIENCE, DEV_ISSUER
from tests.support import World

pytestmark = pytest.mark.anyio


def _forged(**claims: object) -> str:
    now = int(time.time())
    body = {"iss": DEV_ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 60}
    return jwt.encode({**body, **claims}, Ed25519PrivateKey.generate(), algorithm="EdDSA")


def _unsigned() -> str:
    now = int(time.time())
    claims = {"iss": DEV_ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 60}
    return jwt.encode(claims, None, algorithm="none")


@pytest.mark.parametrize(
    ("authorization", "bearer_error"),
    [
        (None, None),
        ("Basic YWxpY2U6c2VjcmV0", None),  # no bearer credentials: no error code (RFC 6750)
        ("Bearer ", "invalid_token"),
        ("Bearer not.a.jwt", "invalid_token"),
        ("Bearer " + _forged(), "invalid_token"),
        ("Bearer " + _unsigned(), "invalid_token"),
    ],
    ids=["missing", "basic", "empty", "garbage", "wrong-key", "alg-none"],
)
async def test_bad_credentials_get_401_problem(
    client: httpx.AsyncClient, authorization: str | None, bearer_error: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    r = await client.get("/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="codeliver"')
    if bearer_error:
        assert f'error="{bearer_error}"' in challenge
    else:
        assert "error=" not in challenge
    body = r.json()
    assert body["status"] == 401
    assert body["type"] == "http://test/problems/unauthenticated"
    assert body["title"] == "Unauthorized"
    assert body["detail"]


async def test_expired_and_wrong_audience_tokens(client: httpx.AsyncClient, world: World) -> None:
    expired = world.issuer.issue("alice", ttl_s=-120)
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]
    assert r.headers["www-authenticate"] == 'Bearer realm="codeliver", error="invalid_token"'
    now = int(time.time())
    wrong_aud = jwt.encode(
        {"iss": DEV_ISSUER, "aud": "other-api", "sub": "a", "iat": now, "exp": now + 60},
        world.issuer._private,
        algorithm="EdDSA",
    )
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {wrong_aud}"})
    assert r.status_code == 401
    assert "udience" in r.json()["detail"]


async def test_public_routes_need_no_token(client: httpx.AsyncClient) -> None:
    for path in ("/health/live", "/health/ready", "/metrics", "/schema/openapi.json"):
        assert (await client.get(path)).status_code == 200, path


async def test_a_new_person_is_provisioned_with_no_roles(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get("/v1/me", headers=world.headers("newcomer", name="New Comer"))
    assert r.status_code == 200
    body = r.json()
    assert body["display_name"] == "New Comer"
    assert body["memberships"] == []
    assert body["platform_admin"] is False
    again = await client.get("/v1/me", headers=world.headers("newcomer"))
    assert again.json()["user_id"] == body["user_id"]
    assert await world.count("users", "subject = 'newcomer'") == 1
