"""Push transports: FCM through firebase-admin, and a log transport for local runs.

A transport sends up to 500 messages and reports one `Outcome` per message, in order; the
dispatcher decides what each outcome means for the row and the device.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

BATCH = 500  # FCM's most messages per send_each call


class Result(StrEnum):
    OK = "ok"
    UNREGISTERED = "unregistered"  # the app was uninstalled: drop the device
    SENDER_ID_MISMATCH = "sender_id_mismatch"  # registered to another project: drop it
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - INVALID_ARGUMENT about the token: drop it
    BAD_PAYLOAD = "bad_payload"  # INVALID_ARGUMENT about the message: dead-letter, keep device
    QUOTA = "quota"  # 429: wait at least a minute
    UNAVAILABLE = "unavailable"  # 503, honour Retry-After
    TRANSIENT = "transient"  # 500, network: retry with backoff
    # GOV.UK Notify (notifications/notify.py)
    BAD_ADDRESS = "bad_address"  # 400 about the phone number or email: the channel is unhealthy
    FORBIDDEN = "forbidden"  # 403, a bad or revoked key: permanent for this channel


DROP_DEVICE = frozenset({Result.UNREGISTERED, Result.SENDER_ID_MISMATCH, Result.INVALID_TOKEN})
RETRY = frozenset({Result.QUOTA, Result.UNAVAILABLE, Result.TRANSIENT})
# A text or email that cannot be sent on this channel however often it is tried.
PERMANENT = frozenset({Result.BAD_ADDRESS, Result.FORBIDDEN, Result.BAD_PAYLOAD})


@dataclass(frozen=True, slots=True)
class Push:
    """One message to one device."""

    token: str
    token_kind: str  # token | fid
    platform: str
    data: dict[str, str]
    collapse_key: str | None
    urgent: bool
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    retry_after_s: float | None = None
    detail: str | None = None
    provider_id: str | None = None  # Notify's id for the notification


class Transport(Protocol):
    async def send(self, pushes: Sequence[Push], now: datetime) -> list[Outcome]: ...

    async def close(self) -> None: ...


class LogTransport:
    """For `make run` without Firebase credentials: every push goes to the log."""

    async def send(self, pushes: Sequence[Push], now: datetime) -> list[Outcome]:
        for p in pushes:
            log.info("push", platform=p.platform, urgent=p.urgent, **p.data)
        return [Outcome(Result.OK) for _ in pushes]

    async def close(self) -> None:
        return None


def static_token(token: str) -> Any:
    """A firebase-admin credential with a fixed access token, for `CODELIVER_FCM_ENDPOINT`
    (a proxy or the tests' fake): nothing ever calls Google's token endpoint."""
    from firebase_admin import credentials
    from google.oauth2.credentials import Credentials

    class StaticToken(credentials.Base):  # type: ignore[misc]
        def get_credential(self) -> Credentials:
            return Credentials(token=token)  # type: ignore[no-untyped-call]

    return StaticToken()


def point_messaging_at(endpoint: str) -> None:
    """The one seam for `CODELIVER_FCM_ENDPOINT` (staging proxies, the tests' fake FCM):
    firebase-admin has no endpoint setting; its messaging service reads this class
    attribute when it is first created for an app. A test fails if the name disappears."""
    from firebase_admin import messaging

    messaging._MessagingService.FCM_URL = endpoint.rstrip("/") + "/v1/projects/{0}/messages:send"


def _no_sdk_retries(app: Any) -> None:
    """The dispatcher owns retries and backoff: the SDK would retry 500/503 itself, four
    times, ~7 s per batch (the async client ignoring Retry-After). Both of the app's HTTP
    clients get a retry config of none; the blocking one also a pool as large as the SDK
    gives fcm.googleapis.com, for whatever endpoint is configured."""
    from urllib.parse import urlsplit

    from firebase_admin import _http_client, _retry, messaging
    from requests.adapters import HTTPAdapter

    service = messaging._get_messaging_service(app)
    service._async_client = _http_client.HttpxAsyncClient(
        credential=service._credential,
        retry_config=_retry.HttpxRetry(max_retries=0),
    )
    url = urlsplit(service._fcm_url)
    adapter = HTTPAdapter(pool_connections=BATCH, pool_maxsize=BATCH, max_retries=0)
    service._client.session.mount(f"{url.scheme}://{url.netloc}", adapter)


def _classify(exc: Exception) -> Outcome:
    from firebase_admin import exceptions, messaging

    response = getattr(exc, "http_response", None)
    if isinstance(exc, messaging.UnregisteredError):
        return Outcome(Result.UNREGISTERED)
    if isinstance(exc, messaging.SenderIdMismatchError):
        return Outcome(Result.SENDER_ID_MISMATCH)
    if isinstance(exc, messaging.QuotaExceededError):
        return Outcome(Result.QUOTA, _retry_after(response))
    if isinstance(exc, exceptions.InvalidArgumentError):
        about_token = _fcm_error_detail(response)
        return Outcome(Result.INVALID_TOKEN if about_token else Result.BAD_PAYLOAD, None, str(exc))
    if isinstance(exc, exceptions.UnavailableError):
        return Outcome(Result.UNAVAILABLE, _retry_after(response))
    return Outcome(Result.TRANSIENT, None, f"{type(exc).__name__}: {exc}")


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _fcm_error_detail(response: Any) -> bool:
    """Whether an INVALID_ARGUMENT carries an FcmError detail (about the token) rather than
    a BadRequest one (about the message)."""
    try:
        details = json.loads(response.content)["error"].get("details", [])
    except (AttributeError, KeyError, TypeError, ValueError):
        return False
    return any(str(d.get("@type", "")).endswith("fcm.v1.FcmError") for d in details)


class FcmTransport:
    """FCM HTTP v1 through firebase-admin, created and closed on the running event loop (its
    async client binds to the loop that first uses it).

    It runs the blocking `send_each` in a thread: measured here it was faster in wall time
    and cheaper in CPU than `send_each_async`, over HTTP/1.1 and over HTTP/2 alike
    (bench/push_fanout.py; docs/decisions.md, 12 and 62)."""

    def __init__(
        self,
        project_id: str,
        credentials_file: Path | None = None,
        *,
        credential: Any = None,
    ) -> None:
        import firebase_admin
        from firebase_admin import credentials

        if credential is None and credentials_file is not None:
            credential = credentials.Certificate(str(credentials_file))
        # None: application default credentials (workload identity, GOOGLE_APPLICATION_...)
        self.app = firebase_admin.initialize_app(
            credential, {"projectId": project_id}, name=f"codeliver-push-{id(self)}"
        )
        _no_sdk_retries(self.app)

    def _message(self, p: Push, now: datetime) -> Any:
        from firebase_admin import messaging

        ttl = max(0.0, (p.expires_at - now).total_seconds()) if p.expires_at else None
        android = messaging.AndroidConfig(
            priority="high" if p.urgent else "normal",
            ttl=ttl,
            collapse_key=p.collapse_key,
        )
        headers = {"apns-priority": "10" if p.urgent else "5", "apns-push-type": "background"}
        if p.expires_at is not None:
            headers["apns-expiration"] = str(int(p.expires_at.timestamp()))
        if p.collapse_key:
            headers["apns-collapse-id"] = p.collapse_key[:64]
        apns = messaging.APNSConfig(
            headers=headers,
            payload=messaging.APNSPayload(aps=messaging.Aps(content_available=True)),
        )
        target = {p.token_kind: p.token}  # "token" or "fid", as the app registered it
        with warnings.catch_warnings():
            # 7.7 deprecates `token` for `fid`, but apps that registered a token need it.
            warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
            return messaging.Message(data=p.data, android=android, apns=apns, **target)

    async def send(self, pushes: Sequence[Push], now: datetime) -> list[Outcome]:
        from firebase_admin import messaging

        messages = [self._message(p, now) for p in pushes]
        batch = await asyncio.to_thread(messaging.send_each, messages, False, self.app)
        return [
            Outcome(Result.OK) if r.success else _classify(r.exception) for r in batch.responses
        ]

    async def close(self) -> None:
        import firebase_admin
        from firebase_admin import messaging

        service = messaging._get_messaging_service(self.app)
        await service._async_client.aclose()
        # delete_app() raises inside a running loop (docs/traps.md): from a thread.
        await asyncio.to_thread(firebase_admin.delete_app, self.app)
