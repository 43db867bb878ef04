"""A fake Firebase Auth emulator on 127.0.0.1: the three endpoints the JS SDK (firebase 11,
@firebase/auth) calls for e-mail/password sign-in and token refresh, at the paths it uses
with `connectAuthEmulator` (`<emulator>/<API host>/v1/...?key=<web API key>`):

- `identitytoolkit.googleapis.com/v1/accounts:signInWithPassword` (JSON) -> idToken,
  refreshToken, expiresIn; a wrong password -> 400 INVALID_LOGIN_CREDENTIALS, as Firebase
  answers with e-mail enumeration protection on;
- `identitytoolkit.googleapis.com/v1/accounts:lookup` (JSON, after every sign-in) -> the user;
- `securetoken.googleapis.com/v1/token` (form, grant_type=refresh_token) -> snake_case tokens.

The ID tokens come from `issue(subject)`: the tests hand it the app's development issuer, so
the API accepts what the page signed in with. Browsers call it cross-origin: CORS is answered.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from infra.localdb import free_port
from tests import fake_asgi

SIGN_IN = "/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword"
LOOKUP = "/identitytoolkit.googleapis.com/v1/accounts:lookup"
REFRESH = "/securetoken.googleapis.com/v1/token"


@dataclass(frozen=True)
class Account:
    uid: str  # becomes the token's subject
    email: str
    password: str


def _error(message: str, status: int = 400) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": message, "errors": []}}


@dataclass
class FakeFirebaseAuth:
    api_key: str
    issue: Callable[[str], str]  # subject -> an ID token the API accepts
    accounts: list[Account]
    port: int = field(default_factory=free_port)
    calls: list[str] = field(default_factory=list)  # endpoint paths, in order
    issued: dict[str, str] = field(default_factory=dict)  # ID token -> how it was handed out
    _sessions: dict[str, Account] = field(default_factory=dict)  # refresh and ID tokens

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _tokens(self, account: Account, how: str) -> tuple[str, str]:
        id_token, refresh_token = self.issue(account.uid), secrets.token_urlsafe(24)
        self.issued[id_token] = how
        self._sessions[id_token] = self._sessions[refresh_token] = account
        return id_token, refresh_token

    def sign_in(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = [a for a in self.accounts if a.email == body.get("email")]
        if not found or found[0].password != body.get("password"):
            return _error("INVALID_LOGIN_CREDENTIALS")
        account = found[0]
        id_token, refresh_token = self._tokens(account, "sign-in")
        return 200, {
            "kind": "identitytoolkit#VerifyPasswordResponse",
            "localId": account.uid,
            "email": account.email,
            "displayName": "",
            "idToken": id_token,
            "registered": True,
            "refreshToken": refresh_token,
            "expiresIn": "3600",
        }

    def lookup(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        account = self._sessions.get(str(body.get("idToken")))
        if account is None:
            return _error("INVALID_ID_TOKEN")
        user = {
            "localId": account.uid,
            "email": account.email,
            "emailVerified": True,
            "passwordHash": "UkVEQUNURUQ=",
            "providerUserInfo": [
                {"providerId": "password", "email": account.email, "rawId": account.email}
            ],
            "createdAt": "1700000000000",
            "lastLoginAt": "1700000000000",
        }
        return 200, {"kind": "identitytoolkit#GetAccountInfoResponse", "users": [user]}

    def refresh(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        account = self._sessions.get(form.get("refresh_token", [""])[0])
        if form.get("grant_type") != ["refresh_token"] or account is None:
            return _error("INVALID_REFRESH_TOKEN")
        id_token, refresh_token = self._tokens(account, "refresh")
        return 200, {
            "access_token": id_token,
            "id_token": id_token,
            "expires_in": "3600",
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "user_id": account.uid,
        }

    def answer(self, path: str, query: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if parse_qs(query).get("key") != [self.api_key]:
            return _error("API key not valid. Please pass a valid API key.")
        if path == SIGN_IN:
            return self.sign_in(json.loads(body))
        if path == LOOKUP:
            return self.lookup(json.loads(body))
        if path == REFRESH:
            return self.refresh(parse_qs(body.decode()))
        return _error(f"unknown endpoint {path}", 404)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if await fake_asgi.lifespan(scope, receive, send):
            return
        body = await fake_asgi.body(receive)
        headers = [(b"access-control-allow-origin", b"*")]
        if scope["method"] == "OPTIONS":  # the SDK's JSON POSTs are preflighted
            asked = dict(scope["headers"]).get(b"access-control-request-headers", b"")
            headers += [
                (b"access-control-allow-methods", b"POST"),
                (b"access-control-allow-headers", asked),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        self.calls.append(scope["path"])
        status, payload = self.answer(scope["path"], scope["query_string"].decode(), body)
        headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


@contextmanager
def serving(fake: FakeFirebaseAuth) -> Iterator[FakeFirebaseAuth]:
    """Run the fake with uvicorn on its own thread and loop."""
    config = uvicorn.Config(fake, host="127.0.0.1", port=fake.port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=5)
