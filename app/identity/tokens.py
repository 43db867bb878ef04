"""Bearer token verifiers: a local development issuer and Firebase Authentication.

A verifier turns a token into a `TokenIdentity` (issuer, subject, verified e-mail) or raises
`Unauthenticated`. Roles never come from the token: they come from our database.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from litestar import Request
from litestar.datastructures import State

from app.errors import InvalidToken, Unavailable

DEV_ISSUER = "codeliver-dev"
AUDIENCE = "codeliver"


@dataclass(frozen=True)
class TokenIdentity:
    issuer: str
    subject: str
    email: str | None = None  # only when the identity provider verified it
    name: str | None = None


Caller = Request[TokenIdentity, str, State]  # a request that passed authentication


class TokenVerifier(Protocol):
    def accepts(self, unverified_claims: dict[str, Any]) -> bool: ...

    async def verify(self, token: str) -> TokenIdentity: ...


class DevIssuer:
    """Ed25519-signed JWTs with a key generated into the ignored state folder."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._private = self._load_or_create()
        self._public: Ed25519PublicKey = self._private.public_key()

    def _load_or_create(self) -> Ed25519PrivateKey:
        if self.key_file.exists():
            key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
            assert isinstance(key, Ed25519PrivateKey)
            return key
        key = Ed25519PrivateKey.generate()
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = self.key_file.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # secret from birth
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        try:
            os.link(tmp, self.key_file)  # the first writer wins; the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return self._load_or_create()

    def issue(
        self, subject: str, *, ttl_s: int, email: str | None = None, name: str | None = None
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": DEV_ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + ttl_s,
        }
        if email:
            claims |= {"email": email, "email_verified": True}
        if name:
            claims["name"] = name
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        """Any claims under the development key (the console's development sessions)."""
        return jwt.encode(claims, self._private, algorithm="EdDSA")

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._public

    def accepts(self, unverified_claims: dict[str, Any]) -> bool:
        return unverified_claims.get("iss") == DEV_ISSUER

    async def verify(self, token: str) -> TokenIdentity:
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                issuer=DEV_ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"Invalid token: {exc}") from exc
        return _identity(DEV_ISSUER, claims)


class FirebaseVerifier:
    """Firebase Authentication ID tokens, verified by firebase-admin (Google's key set)."""

    def __init__(self, project_id: str, credentials_file: Path | None) -> None:
        import firebase_admin
        from firebase_admin import credentials

        cred = credentials.Certificate(str(credentials_file)) if credentials_file else None
        self.issuer = f"https://securetoken.google.com/{project_id}"
        self.session_issuer = f"https://session.firebase.google.com/{project_id}"
        self._app = firebase_admin.initialize_app(
            cred, {"projectId": project_id}, name=f"codeliver-auth-{id(self)}"
        )

    def accepts(self, unverified_claims: dict[str, Any]) -> bool:
        return unverified_claims.get("iss") == self.issuer

    async def verify(self, token: str) -> TokenIdentity:
        from firebase_admin import auth

        try:
            # Blocking (it may fetch Google's public keys): keep it off the event loop.
            claims = await asyncio.to_thread(auth.verify_id_token, token, self._app)
        except auth.ExpiredIdTokenError as exc:
            raise InvalidToken("The token has expired") from exc
        except (auth.InvalidIdTokenError, ValueError) as exc:
            raise InvalidToken(f"Invalid token: {exc}") from exc
        except auth.CertificateFetchError as exc:  # Google's keys unreachable: not the caller's
            raise Unavailable("Cannot verify Firebase tokens right now") from exc
        # firebase-admin skips the expiry check against the Auth emulator; never trust that.
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time() - 30:
            raise InvalidToken("The token has expired")
        return _identity(self.issuer, claims)

    async def create_session(self, id_token: str, expires_in: timedelta) -> str:
        """A Firebase session cookie for a verified ID token (firebase-admin calls Google)."""
        from firebase_admin import auth, exceptions

        try:
            cookie = await asyncio.to_thread(
                auth.create_session_cookie, id_token, expires_in, self._app
            )
        except (exceptions.FirebaseError, ValueError) as exc:
            raise InvalidToken(f"Cannot open a session: {exc}") from exc
        return cookie.decode() if isinstance(cookie, bytes) else str(cookie)

    async def verify_session(self, cookie: str) -> TokenIdentity:
        """A session cookie, checked for revocation and disabled users as well."""
        from firebase_admin import auth, exceptions

        try:
            claims = await asyncio.to_thread(auth.verify_session_cookie, cookie, True, self._app)
        except auth.CertificateFetchError as exc:
            raise Unavailable("Cannot verify Firebase sessions right now") from exc
        except (exceptions.FirebaseError, ValueError) as exc:
            raise InvalidToken(f"Invalid session: {exc}") from exc
        return _identity(self.issuer, claims)  # the same person as their ID tokens

    async def revoke(self, subject: str) -> None:
        """Every session and refresh token of the user (Firebase revokes per user)."""
        from firebase_admin import auth

        await asyncio.to_thread(auth.revoke_refresh_tokens, subject, self._app)

    def close(self) -> None:
        import firebase_admin

        firebase_admin.delete_app(self._app)


def _identity(issuer: str, claims: dict[str, Any]) -> TokenIdentity:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise InvalidToken("Invalid token: bad subject")
    email = claims.get("email") if claims.get("email_verified") is True else None
    name = claims.get("name")
    return TokenIdentity(
        issuer=issuer,
        subject=subject,
        email=email.lower() if isinstance(email, str) else None,
        name=name[:200] if isinstance(name, str) else None,
    )


class Verifiers:
    """Routes a token to the verifier of its issuer; unknown issuers are refused."""

    def __init__(self, verifiers: list[TokenVerifier]) -> None:
        self.verifiers = verifiers

    async def verify(self, token: str) -> TokenIdentity:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("Malformed bearer token") from exc
        for verifier in self.verifiers:
            if verifier.accepts(unverified):
                return await verifier.verify(token)
        raise InvalidToken("Token issuer not accepted")
