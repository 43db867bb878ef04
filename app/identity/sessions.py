"""Server sessions for the console's pages: a verified ID token exchanged for a cookie.

A Firebase ID token becomes a Firebase session cookie (firebase-admin's
`create_session_cookie`; checked by `verify_session_cookie` with revocation on every page;
sign-out revokes the user's sessions with `revoke_refresh_tokens`). Firebase cannot mint
session cookies for the development issuer's tokens, so a development token becomes the
smallest honest equivalent (docs/decisions.md, 41): a JWT signed with the development
issuer's key, for the console's audience only, with a session id that sign-out revokes. The
revoked ids live in this process's memory, as the development issuer is for one local
process; a session lasts `SESSION_TTL` at most either way.

Either way the session names the same issuer and subject as the ID token did, so the
console's caller is the API's caller: same `codeliver_login()`, same row-level security.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

import jwt

from app.errors import InvalidToken
from app.identity.tokens import DEV_ISSUER, DevIssuer, FirebaseVerifier, TokenIdentity, Verifiers

SESSION_TTL = timedelta(hours=8)  # a working day; Firebase allows 5 minutes to 14 days
COOKIE = "codeliver_session"
DEV_SESSION_ISSUER = "codeliver-dev-session"
CONSOLE_AUDIENCE = "codeliver-console"


class Sessions:
    def __init__(self, verifiers: Verifiers) -> None:
        self.verifiers = verifiers
        found = verifiers.verifiers
        self.dev = next((v for v in found if isinstance(v, DevIssuer)), None)
        self.firebase = next((v for v in found if isinstance(v, FirebaseVerifier)), None)
        self._revoked: dict[str, float] = {}  # development session id -> its expiry

    async def open(self, id_token: str) -> str:
        """The session cookie's value for an ID token the API would accept."""
        identity = await self.verifiers.verify(id_token)
        if self.dev is not None and identity.issuer == DEV_ISSUER:
            return self._dev_session(identity)
        if self.firebase is not None and identity.issuer == self.firebase.issuer:
            return await self.firebase.create_session(id_token, SESSION_TTL)
        raise InvalidToken("Token issuer not accepted")

    def _dev_session(self, identity: TokenIdentity) -> str:
        assert self.dev is not None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": DEV_SESSION_ISSUER,
            "aud": CONSOLE_AUDIENCE,
            "sub": identity.subject,
            "sid": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + int(SESSION_TTL.total_seconds()),
        }
        if identity.email:
            claims |= {"email": identity.email, "email_verified": True}
        if identity.name:
            claims["name"] = identity.name
        return self.dev.sign(claims)

    def _dev_claims(self, cookie: str) -> dict[str, Any]:
        assert self.dev is not None
        try:
            claims: dict[str, Any] = jwt.decode(
                cookie,
                self.dev.public_key,
                algorithms=["EdDSA"],
                audience=CONSOLE_AUDIENCE,
                issuer=DEV_SESSION_ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "sid"]},
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"Invalid session: {exc}") from exc
        if claims["sid"] in self._revoked:
            raise InvalidToken("The session was signed out")
        return claims

    async def check(self, cookie: str) -> TokenIdentity:
        """The caller a session cookie stands for; `InvalidToken` if it is not current."""
        try:
            issuer = jwt.decode(cookie, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("Invalid session") from exc
        if self.dev is not None and issuer == DEV_SESSION_ISSUER:
            claims = self._dev_claims(cookie)
            return TokenIdentity(
                issuer=DEV_ISSUER,
                subject=claims["sub"],
                email=claims.get("email"),
                name=claims.get("name"),
            )
        if self.firebase is not None and issuer == self.firebase.session_issuer:
            return await self.firebase.verify_session(cookie)
        raise InvalidToken("Session issuer not accepted")

    async def close(self, cookie: str) -> None:
        """Sign out: the session is refused from now on (a Firebase user's every session)."""
        identity = await self.check(cookie)
        if identity.issuer == DEV_ISSUER:
            claims = self._dev_claims(cookie)
            now = time.time()
            self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp > now}
            self._revoked[claims["sid"]] = float(claims["exp"])
        elif self.firebase is not None:
            await self.firebase.revoke(identity.subject)
