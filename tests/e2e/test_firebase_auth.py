"""Firebase Authentication ID tokens through the real firebase-admin verifier.

Offline, firebase-admin can only verify against the Auth emulator's unsigned tokens; that
still runs its full claim checks (issuer, audience, expiry, subject) in our code path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import jwt
import msgspec
import pytest

from app.factory import create_app
from app.settings import Settings
from tests.support import Db, serving

pytestmark = pytest.mark.anyio
PROJECT = "demo-codeliver"


def _emulator_token(**overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "sub": "fb-uid-1",
        "user_id": "fb-uid-1",
        "auth_time": now,
        "iat": now,
        "exp": now + 600,
        "email": "Vol@Example.org",
        "email_verified": True,
        "name": "Val Volunteer",
        "firebase": {"sign_in_provider": "password"},
    }
    return jwt.encode({**claims, **overrides}, None, algorithm="none")


@pytest.fixture
async def firebase_client(
    settings: Settings, db: Db, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    configured = msgspec.structs.replace(settings, firebase_project_id=PROJECT)
    app = create_app(configured, database_url=db.app_url)
    async with serving(app) as c:
        yield c


async def test_a_firebase_id_token_signs_in(firebase_client: httpx.AsyncClient) -> None:
    r = await firebase_client.get(
        "/v1/me", headers={"Authorization": f"Bearer {_emulator_token()}"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "vol@example.org"
    assert r.json()["display_name"] == "Val Volunteer"


@pytest.mark.parametrize(
    "claims",
    [{"aud": "another-project"}, {"exp": int(time.time()) - 3600}, {"sub": ""}],
    ids=["wrong-audience", "expired", "no-subject"],
)
async def test_bad_firebase_tokens_are_401(
    firebase_client: httpx.AsyncClient, claims: dict[str, object]
) -> None:
    token = _emulator_token(**claims)
    r = await firebase_client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
