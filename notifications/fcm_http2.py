"""Push through the FCM HTTP v1 API ourselves: httpx over HTTP/2, streams multiplexed.

firebase-admin makes one HTTP request per message, each costing milliseconds of Python
(docs/decisions.md, 62); FCM v1 has no batch endpoint, so the messages of a batch go here as
that many streams on one HTTP/2 connection per client, at most `streams` in flight. The
OAuth access token comes from the same google-auth credentials firebase-admin uses: fetched
once, kept while google-auth calls it valid (it refreshes ahead of expiry), refreshed again
only on a 401, never per message. Each answer maps to the same `Outcome` as the SDK's
exceptions do (notifications/fcm.py), so the dispatcher's rules apply unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import msgspec
from google.auth.exceptions import GoogleAuthError

from notifications.fcm import Outcome, Push, Result

GOOGLE = "https://fcm.googleapis.com"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

_encode = msgspec.json.Encoder().encode
_OK = Outcome(Result.OK)
_BY_FCM_CODE = {
    "UNREGISTERED": Result.UNREGISTERED,
    "SENDER_ID_MISMATCH": Result.SENDER_ID_MISMATCH,
    "QUOTA_EXCEEDED": Result.QUOTA,
}


class _Error(msgspec.Struct):
    status: str = ""
    message: str = ""
    details: list[dict[str, Any]] = []


class _Answer(msgspec.Struct):
    error: _Error


_decode_error = msgspec.json.Decoder(_Answer).decode


def _duration(seconds: float) -> str:
    """A protobuf Duration as firebase-admin writes it: "90s", "90.500000000s"."""
    whole = int(seconds)
    nanos = round((seconds - whole) * 1e9)
    return f"{whole}s" if not nanos else f"{whole}.{nanos:09d}s"


def message_of(p: Push, now: datetime) -> dict[str, Any]:
    """The v1 `message` firebase-admin would send for `FcmTransport._message(p)`: a data
    message, high priority when urgent, expiring with the row, collapsing by its key."""
    android: dict[str, Any] = {"priority": "high" if p.urgent else "normal"}
    headers = {"apns-priority": "10" if p.urgent else "5", "apns-push-type": "background"}
    if p.expires_at is not None:
        android["ttl"] = _duration(max(0.0, (p.expires_at - now).total_seconds()))
        headers["apns-expiration"] = str(int(p.expires_at.timestamp()))
    if p.collapse_key:
        android["collapse_key"] = p.collapse_key
        headers["apns-collapse-id"] = p.collapse_key[:64]
    return {
        "data": p.data,
        "android": android,
        "apns": {"headers": headers, "payload": {"aps": {"content-available": 1}}},
        p.token_kind: p.token,  # "token" or "fid", as the app registered it
    }


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def outcome_of(status: int, retry_after: str | None, body: bytes) -> Outcome:
    """What one FCM answer means, as notifications/fcm.py: _classify reads the SDK's
    exceptions: the FcmError code first, then the canonical status (or the HTTP one)."""
    if status == 200:
        return _OK
    try:
        error = _decode_error(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        error = _Error()
    fcm = [d for d in error.details if str(d.get("@type", "")).endswith("fcm.v1.FcmError")]
    code = str(fcm[0].get("errorCode", "")) if fcm else ""
    result = _BY_FCM_CODE.get(code)
    if result is None and (
        error.status == "INVALID_ARGUMENT" or (not error.status and status == 400)
    ):
        result = Result.INVALID_TOKEN if fcm else Result.BAD_PAYLOAD
    elif result is None and (error.status == "UNAVAILABLE" or status == 503):
        result = Result.UNAVAILABLE
    elif result is None and status == 429:  # RESOURCE_EXHAUSTED without a code: quota too
        result = Result.QUOTA
    if result in (Result.QUOTA, Result.UNAVAILABLE):
        return Outcome(result, _seconds(retry_after))
    if result is None:
        return Outcome(Result.TRANSIENT, None, f"{status} {error.status}: {error.message}")
    detail = error.message if result in (Result.INVALID_TOKEN, Result.BAD_PAYLOAD) else None
    return Outcome(result, None, detail)


class Http2Transport:
    """FCM v1 over HTTP/2 (httpx, h2): `connections` clients, each one connection to the
    endpoint (TLS with ALPN h2; cleartext `http://` with prior knowledge, for a proxy or
    the tests' fake), at most `streams` requests in flight in all. `credential` is a
    google-auth credential (firebase-admin's `Certificate(...).get_credential()`,
    application default credentials, or a fixed token)."""

    def __init__(
        self,
        project_id: str,
        credential: Any,
        *,
        endpoint: str = GOOGLE,
        streams: int = 100,
        connections: int = 1,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.credential = credential
        self.streams = streams
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.clients = [
            httpx.AsyncClient(http1=False, http2=True, timeout=timeout_s, limits=limits)
            for _ in range(connections)
        ]
        self.refreshes = 0  # token fetches, for the tests and the log
        self._headers: dict[str, str] | None = None
        self._lock = asyncio.Lock()

    async def send(self, pushes: Sequence[Push], now: datetime) -> list[Outcome]:
        try:
            await self._authorise()
        except GoogleAuthError as exc:  # refused, or the token endpoint out of reach
            return [Outcome(Result.TRANSIENT, None, f"access token: {exc}") for _ in pushes]
        bodies = [_encode({"message": message_of(p, now)}) for p in pushes]
        outcomes: list[Outcome] = [_OK] * len(bodies)
        turns = iter(range(len(bodies)))

        async def stream(client: httpx.AsyncClient) -> None:
            for i in turns:  # each worker takes the next message: no task per message
                outcomes[i] = await self._post(client, bodies[i])

        n = len(self.clients)
        width = min(self.streams, len(bodies))
        await asyncio.gather(*(stream(self.clients[k % n]) for k in range(width)))
        return outcomes

    async def _post(self, client: httpx.AsyncClient, body: bytes) -> Outcome:
        """One message: again once on a new token after a 401, and once on a new connection
        after a connection-level failure (a GOAWAY, a reset: the stream was not answered; a
        duplicate, if any, carries the same message id); otherwise FCM's answer."""
        refreshed = reconnected = False
        while True:
            headers = self._headers
            assert headers is not None
            try:
                r = await client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                if not reconnected and not isinstance(exc, httpx.TimeoutException):
                    reconnected = True
                    continue
                return Outcome(Result.TRANSIENT, None, f"{type(exc).__name__}: {exc}")
            except httpx.HTTPError as exc:
                return Outcome(Result.TRANSIENT, None, f"{type(exc).__name__}: {exc}")
            if r.status_code != 401 or refreshed:
                return outcome_of(r.status_code, r.headers.get("retry-after"), r.content)
            refreshed = True
            try:  # the token was revoked or expired early: a new one, this message again
                await self._authorise(rejected=headers)
            except GoogleAuthError as exc:
                return Outcome(Result.TRANSIENT, None, f"access token: {exc}")

    async def _authorise(self, rejected: dict[str, str] | None = None) -> None:
        """The bearer header, refreshed when google-auth says the token is not valid (none
        yet, or within its refresh margin of expiry) or FCM refused it; one refresh at a
        time, and none when another stream already replaced the refused token."""
        if self._headers is not None and rejected is None and self.credential.valid:
            return
        async with self._lock:
            stale = rejected is not None and rejected is self._headers
            if stale or self._headers is None or not self.credential.valid:
                if stale or not self.credential.valid:
                    await asyncio.to_thread(self.credential.refresh, _auth_request())
                    self.refreshes += 1
                self._headers = {
                    "authorization": f"Bearer {self.credential.token}",
                    "content-type": "application/json; charset=UTF-8",
                }

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


def _auth_request() -> Any:
    from google.auth.transport.requests import Request

    return Request()
