"""A fake FCM HTTP v1 server on 127.0.0.1 that answers as FCM does, by device token.

Tokens choose the answer: `ok-*` succeed; `unregistered-*` 404 UNREGISTERED; `badtoken-*`
400 INVALID_ARGUMENT with an FcmError detail; `badpayload-*` 400 INVALID_ARGUMENT with a
BadRequest detail; `mismatch-*` 403 SENDER_ID_MISMATCH; `quota-*` 429 QUOTA_EXCEEDED;
`unavailable-*` 503 with Retry-After; `flaky-*` 503 once per message id, then success.
Every request is recorded, with its HTTP version and bearer token.

It speaks HTTP/1.1 and HTTP/2 as FCM does (hypercorn): cleartext HTTP/2 with prior
knowledge on `endpoint`, and, given a certificate (`tls()`), TLS with ALPN h2 on
`tls_endpoint`. `POST /token` is an OAuth token endpoint for a service account's
`token_uri`: each call issues a new access token. With `accepted` set, only the tokens it
holds are let in (issued ones are added; take one out to revoke it): others get a 401.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from infra.localdb import free_port
from tests import fake_asgi

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def _error(status: int, code: str, message: str, details: list[dict[str, Any]]) -> bytes:
    body = {"error": {"code": status, "message": message, "status": code, "details": details}}
    return json.dumps(body).encode()


def _fcm(code: str) -> list[dict[str, Any]]:
    return [{"@type": FCM_ERROR, "errorCode": code}]


ANSWERS: dict[str, tuple[int, bytes, dict[str, str]]] = {
    "unregistered": (404, _error(404, "NOT_FOUND", "Not found", _fcm("UNREGISTERED")), {}),
    "badtoken": (
        400,
        _error(400, "INVALID_ARGUMENT", "Invalid registration", _fcm("INVALID_ARGUMENT")),
        {},
    ),
    "badpayload": (
        400,
        _error(
            400,
            "INVALID_ARGUMENT",
            "Invalid JSON payload",
            [{"@type": BAD_REQUEST, "fieldViolations": [{"field": "message.data"}]}],
        ),
        {},
    ),
    "mismatch": (
        403,
        _error(403, "PERMISSION_DENIED", "SenderId mismatch", _fcm("SENDER_ID_MISMATCH")),
        {},
    ),
    "quota": (
        429,
        _error(429, "RESOURCE_EXHAUSTED", "Quota", _fcm("QUOTA_EXCEEDED")),
        {"retry-after": "90"},
    ),
    "unavailable": (
        503,
        _error(503, "UNAVAILABLE", "Unavailable", _fcm("UNAVAILABLE")),
        {"retry-after": "7"},
    ),
}


@dataclass
class FakeFcm:
    port: int = field(default_factory=free_port)
    received: list[dict[str, Any]] = field(default_factory=list)
    delay_s: float = 0.0  # how long each answer takes: a batch in flight for a while
    accepted: set[str] | None = None  # bearer tokens let in (None: any)
    token_ttl_s: int = 3600  # the issued access tokens' expires_in
    issued: list[str] = field(default_factory=list)
    http_versions: list[str] = field(default_factory=list)  # of each message request
    bearers: list[str] = field(default_factory=list)  # of each message request
    tls_port: int | None = None
    certificate: tuple[Path, Path] | None = None  # certificate and key files, for TLS
    _flaked: set[str] = field(default_factory=set)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def token_uri(self) -> str:
        return f"{self.endpoint}/token"

    def answer(self, message: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
        token = str(message.get("token") or message.get("fid") or "")
        kind = token.split("-", 1)[0]
        if kind == "flaky":
            key = f"{token}:{message.get('data', {}).get('message_id')}"
            if key not in self._flaked:
                self._flaked.add(key)
                kind = "unavailable"
        if kind in ANSWERS:
            return ANSWERS[kind]
        name = f"projects/fake/messages/{len(self.received)}"
        return 200, json.dumps({"name": name}).encode(), {}

    def issue(self) -> tuple[int, bytes, dict[str, str]]:
        token = f"fake-access-{len(self.issued) + 1}"
        self.issued.append(token)
        if self.accepted is not None:
            self.accepted.add(token)
        body = {"access_token": token, "expires_in": self.token_ttl_s, "token_type": "Bearer"}
        return 200, json.dumps(body).encode(), {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if await fake_asgi.lifespan(scope, receive, send):
            return
        body = await fake_asgi.body(receive)
        if scope["path"] == "/token":
            status, payload, headers = self.issue()
        else:
            bearer = dict(scope["headers"]).get(b"authorization", b"").decode()
            bearer = bearer.removeprefix("Bearer ")
            if self.accepted is not None and bearer not in self.accepted:
                status, payload, headers = UNAUTHENTICATED
            else:
                message = json.loads(body)["message"]
                self.received.append(message)
                self.http_versions.append(scope["http_version"])
                self.bearers.append(bearer)
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                status, payload, headers = self.answer(message)
        raw_headers = [(b"content-type", b"application/json")]
        raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})


UNAUTHENTICATED = (
    401,
    _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials", []),
    {"www-authenticate": "Bearer"},
)


def tls(fake: FakeFcm, folder: Path) -> FakeFcm:
    """A throwaway CA-less certificate for 127.0.0.1 in `folder` (clients trust the file
    itself: SSL_CERT_FILE for httpx, REQUESTS_CA_BUNDLE for requests) and a TLS port."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "fake-fcm.pem", folder / "fake-fcm.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    fake.certificate, fake.tls_port = (cert_file, key_file), free_port()
    return fake


def config_for(fake: FakeFcm) -> Config:
    config = Config()
    config.loglevel = "WARNING"
    config.accesslog = None
    config.h2_max_concurrent_streams = 100  # as FCM's SETTINGS_MAX_CONCURRENT_STREAMS
    config.keep_alive_max_requests = 10_000_000  # hypercorn's 1,000 then GOAWAY; FCM's are long
    plain = f"127.0.0.1:{fake.port}"
    if fake.certificate is None:
        config.bind = [plain]
    else:
        config.certfile, config.keyfile = (str(f) for f in fake.certificate)
        config.bind, config.insecure_bind = [f"127.0.0.1:{fake.tls_port}"], [plain]
    return config


class Server:
    """Runs a FakeFcm with hypercorn on its own thread and loop."""

    def __init__(self, fake: FakeFcm) -> None:
        self.fake = fake
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        self.loop.call_soon(self.started.set)
        await serve(self.fake, config_for(self.fake), shutdown_trigger=self.stop.wait)

    def __enter__(self) -> Server:
        self.thread.start()
        self.started.wait(10)
        for _ in range(500):  # until the port answers
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.fake.port)) == 0:
                    break
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=5)


async def wait_for(predicate: Any, within_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


if __name__ == "__main__":  # for benchmarks: python -m tests.fake_fcm PORT [TLS_PORT CERT KEY]
    import sys

    fake = FakeFcm(port=int(sys.argv[1]))
    if len(sys.argv) == 5:
        fake.tls_port, fake.certificate = int(sys.argv[2]), (Path(sys.argv[3]), Path(sys.argv[4]))
    asyncio.run(serve(fake, config_for(fake)))
