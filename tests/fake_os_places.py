"""A fake OS Places API on 127.0.0.1 that answers `GET /postcode` as OS Places does with
`output_srs=WGS84`: `{"header": ..., "results": [{"DPA": {...}}]}`, no `results` key for a
postcode without addresses, 401 for a wrong key. `down` makes every answer a 500, `slow`
waits longer than any test's timeout. A postcodes.io-compatible `/postcodes/{postcode}`
is served too. Every request's path and query is recorded."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from infra.localdb import free_port
from tests import fake_asgi

KEY = "fake-os-places-key"
POSTCODE = "RG1 1AA"
ADDRESSES = [  # as OS Places writes them, out of street order on purpose
    {"UPRN": "310012345610", "ADDRESS": "10, FRIAR STREET, READING, RG1 1AA", "n": 10},
    {"UPRN": "310012345602", "ADDRESS": "2, FRIAR STREET, READING, RG1 1AA", "n": 2},
    {"UPRN": "310012345601", "ADDRESS": "FLAT 1, 4, FRIAR STREET, READING, RG1 1AA", "n": 4},
]


def point_of(n: int) -> tuple[float, float]:
    """The fake's point for house n: (lat, lon), a few metres apart along the street."""
    return 51.456 + n * 0.0001, -0.972 - n * 0.0001


def _dpa(entry: dict[str, Any]) -> dict[str, Any]:
    lat, lon = point_of(entry["n"])
    return {
        "DPA": {
            "UPRN": entry["UPRN"],
            "UDPRN": "12345678",
            "ADDRESS": entry["ADDRESS"],
            "POST_TOWN": "READING",
            "POSTCODE": POSTCODE,
            "STATUS": "APPROVED",
            "LOGICAL_STATUS_CODE": "1",
            "CLASSIFICATION_CODE": "RD04",
            "LAT": lat,
            "LNG": lon,
            "MATCH": 1.0,
        }
    }


@dataclass
class FakeOsPlaces:
    port: int = field(default_factory=free_port)
    mode: str = "ok"  # ok, down (500), slow (sleeps)
    calls: list[dict[str, list[str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self.mode == "down":
            return 500, {"error": {"statuscode": 500, "message": "Internal server error"}}
        if path.startswith("/postcodes/"):  # postcodes.io-compatible
            if path.removeprefix("/postcodes/").upper() != POSTCODE.replace(" ", ""):
                return 404, {"status": 404, "error": "Postcode not found"}
            lat, lon = point_of(0)
            return 200, {
                "status": 200,
                "result": {"postcode": POSTCODE, "latitude": lat, "longitude": lon},
            }
        if path != "/postcode":
            return 404, {"error": {"statuscode": 404, "message": "Resource not found"}}
        if query.get("key") != [KEY]:
            return 401, {"fault": {"faultstring": "Invalid ApiKey", "detail": {}}}
        asked = query.get("postcode", [""])[0]
        header = {"uri": path, "query": f"postcode={asked}", "totalresults": 0}
        if asked.replace(" ", "").upper() != POSTCODE.replace(" ", ""):
            return 200, {"header": header}
        return 200, {
            "header": header | {"totalresults": 3},
            "results": [_dpa(a) for a in ADDRESSES],
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if await fake_asgi.lifespan(scope, receive, send):
            return
        await fake_asgi.body(receive)
        query = parse_qs(scope["query_string"].decode())
        self.calls.append({"path": [scope["path"]], **query})
        if self.mode == "slow":
            await asyncio.sleep(3)
        status, payload = self.answer(scope["path"], query)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


@contextmanager
def serving(fake: FakeOsPlaces) -> Iterator[FakeOsPlaces]:
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
