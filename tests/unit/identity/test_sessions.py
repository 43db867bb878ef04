"""Console sessions: what an ID token becomes, and what is refused. The development path
runs for real; the Firebase path with firebase-admin's three calls stubbed (minting a
session cookie needs Google, or an emulator, and a service account)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from app.errors import InvalidToken
from app.identity import sessions as module
from app.identity.sessions import SESSION_TTL, Sessions
from app.identity.tokens import DEV_ISSUER, DevIssuer, FirebaseVerifier, TokenIdentity, Verifiers

pytestmark = pytest.mark.anyio


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path / "dev-issuer.pem")


async def test_a_development_token_becomes_a_revocable_session(issuer: DevIssuer) -> None:
    sessions = Sessions(Verifiers([issuer]))
    token = issuer.issue("case", ttl_s=600, email="Case@Example.org")
    cookie = await sessions.open(token)
    claims = jwt.decode(cookie, options={"verify_signature": False})
    assert claims["aud"] == "codeliver-console"
    assert claims["exp"] - claims["iat"] == SESSION_TTL.total_seconds()
    identity = await sessions.check(cookie)
    # The API's caller exactly: same issuer and subject, so the same codeliver_login().
    assert identity == TokenIdentity(issuer=DEV_ISSUER, subject="case", email="case@example.org")
    other = await sessions.open(token)
    await sessions.close(cookie)
    with pytest.raises(InvalidToken, match="signed out"):
        await sessions.check(cookie)
    assert (await sessions.check(other)).subject == "case"  # only that session ended


async def test_tokens_and_sessions_do_not_stand_in_for_each_other(
    issuer: DevIssuer, tmp_path: Path
) -> None:
    sessions = Sessions(Verifiers([issuer]))
    token = issuer.issue("case", ttl_s=600)
    with pytest.raises(InvalidToken):
        await sessions.check(token)  # an ID token is not a session
    cookie = await sessions.open(token)
    with pytest.raises(InvalidToken, match="issuer not accepted"):
        await Verifiers([issuer]).verify(cookie)  # nor is a session a bearer token
    stranger = DevIssuer(tmp_path / "another-key.pem")
    with pytest.raises(InvalidToken):
        await Sessions(Verifiers([stranger])).check(cookie)  # another key's signature
    expired = issuer.sign(jwt.decode(cookie, options={"verify_signature": False}) | {"exp": 1})
    with pytest.raises(InvalidToken):
        await sessions.check(expired)
    with pytest.raises(InvalidToken):
        await sessions.open("not a token")


async def test_a_firebase_token_becomes_a_firebase_session_cookie(
    issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from firebase_admin import auth

    firebase = FirebaseVerifier("demo-codeliver", None)
    calls: list[tuple[str, Any]] = []
    session_claims = {"iss": firebase.session_issuer, "sub": "fb-uid", "aud": "demo-codeliver"}
    cookie = jwt.encode(session_claims, "k" * 32, algorithm="HS256")

    async def verify_id_token(token: str) -> TokenIdentity:
        return TokenIdentity(issuer=firebase.issuer, subject="fb-uid")

    def create_session_cookie(token: str, expires_in: timedelta, app: Any) -> bytes:
        calls.append(("create", expires_in))
        return cookie.encode()

    def verify_session_cookie(value: str, check_revoked: bool, app: Any) -> dict[str, Any]:
        calls.append(("verify", check_revoked))
        if ("revoke", "fb-uid") in calls:
            raise auth.RevokedSessionCookieError("revoked")
        return session_claims | {"email": "fb@example.org", "email_verified": True}

    def revoke_refresh_tokens(uid: str, app: Any) -> None:
        calls.append(("revoke", uid))

    monkeypatch.setattr(firebase, "verify", verify_id_token)
    monkeypatch.setattr(auth, "create_session_cookie", create_session_cookie)
    monkeypatch.setattr(auth, "verify_session_cookie", verify_session_cookie)
    monkeypatch.setattr(auth, "revoke_refresh_tokens", revoke_refresh_tokens)
    try:
        sessions = Sessions(Verifiers([issuer, firebase]))
        made = await sessions.open(jwt.encode({"iss": firebase.issuer}, "k" * 32))
        assert made == cookie
        identity = await sessions.check(made)
        assert identity.issuer == firebase.issuer  # the ID token's issuer: the same user row
        assert identity.subject == "fb-uid"
        assert identity.email == "fb@example.org"
        await sessions.close(made)
        with pytest.raises(InvalidToken):
            await sessions.check(made)
        assert calls[0] == ("create", module.SESSION_TTL)
        assert ("verify", True) in calls  # always checked for revocation
        assert ("revoke", "fb-uid") in calls
    finally:
        firebase.close()
