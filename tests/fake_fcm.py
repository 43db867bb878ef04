"""A fake FCM HTTP v1 server on 127.0.0.1 that answers as FCM does, by device token.

Tokens choose the answer: `ok-*` succeed; `unregistered-*` 404 UNREGISTERED; `badtoken-*`
400 INVALID_ARGUMENT with an FcmError detail; `badpayload-*` 400 INVALID_ARGUMENT with a
BadRequest detail; `mismatch-*` 403 SENDER_ID_MISMATCH; `quota-*` 429 QUOTA_EXCEEDED;
`unavailable-*` 503 with Retry-After; `flaky-*` 503 once per message id, then success.
Every request is recorded.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn

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
    "quota": (429, _error(429, "RESOURCE_EXHAUSTED", "Quota", _fcm("QUOTA_EXCEEDED")), {}),
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
    _flaked: set[str] = field(default_factory=set)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if await fake_asgi.lifespan(scope, receive, send):
            return
        body = await fake_asgi.body(receive)
        message = json.loads(body)["message"]
        self.received.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status, payload, headers = self.answer(message)
        raw_headers = [(b"content-type", b"application/json")]
        raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})


class Server:
    """Runs a FakeFcm with uvicorn on its own thread and loop."""

    def __init__(self, fake: FakeFcm) -> None:
        config = uvicorn.Config(fake, host="127.0.0.1", port=fake.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


async def wait_for(predicate: Any, within_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


if __name__ == "__main__":  # a standalone fake, for benchmarks: python -m tests.fake_fcm PORT
    import sys

    fake = FakeFcm(port=int(sys.argv[1]))
    uvicorn.run(fake, host="127.0.0.1", port=fake.port, log_level="warning")
