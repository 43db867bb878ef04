"""Push delivery: fan-out through firebase-admin to a fake FCM, and need-to-first-push.

    .venv/bin/python -m bench.push_fanout [--messages 10000] [--needs 200]

Starts a private cluster under .state/bench-pg and seeds the demo borough, with a device
for every volunteer. Then, in one run:
  fan-out   the dispatcher drains N outbox rows (one device each) to a fake FCM server in
            its own process (hypercorn: TLS with ALPN h2 and HTTP/1.1, a throwaway
            certificate, as Google's), one way after the other: the log transport (no
            network: the dispatcher's own cost), firebase-admin's threaded send_each
            (requests, HTTP/1.1) and send_each_async (httpx, HTTP/2) with one App and with
            four, and our own FCM v1 sender (notifications/fcm_http2.py, httpx HTTP/2) with
            one connection and with four: messages/s and the dispatcher's CPU ms per message;
  latency   a caseworker POSTs a need (its first wave is offered in that transaction) and
            the embedded worker's dispatcher pushes it to the fake, in-process: the time from
            the POST to the first push for that need, p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.clock import WALL
from app.db.migrate import upgrade
from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.seed import seed
from app.settings import Environment, Settings
from infra.localdb import LocalCluster
from notifications.dispatcher import Dispatcher
from notifications.fcm import (
    FcmTransport,
    Outcome,
    Push,
    Result,
    Transport,
    point_messaging_at,
    static_token,
)
from notifications.fcm_http2 import Http2Transport
from tests.fake_fcm import FakeFcm, Server, tls

ROOT = Path(__file__).resolve().parent.parent
CASEWORKER = "demo-caseworker-reading-council"
DATABASE = "bench_push"


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Nowhere:
    """Every push succeeds at once, unlogged: the dispatcher's own cost, no network."""

    async def send(self, pushes: list[Push], now: datetime) -> list[Outcome]:
        return [Outcome(Result.OK) for _ in pushes]

    async def close(self) -> None:
        return None


class Spread:
    """Several transports (Apps, clients) sharing each batch, in parallel."""

    def __init__(self, transports: list[Transport]) -> None:
        self.transports = transports

    async def send(self, pushes: list[Push], now: datetime) -> list[Outcome]:
        size = -(-len(pushes) // len(self.transports))
        parts = await asyncio.gather(
            *(t.send(pushes[i * size : (i + 1) * size], now) for i, t in enumerate(self.transports))
        )
        return [o for part in parts for o in part]

    async def close(self) -> None:
        for t in self.transports:
            await t.close()


class SdkAsync(FcmTransport):
    """firebase-admin's `send_each_async` (httpx, HTTP/2 where ALPN offers it), measured
    beside the threaded `send_each` the transport uses (docs/decisions.md, 12 and 62)."""

    async def send(self, pushes: list[Push], now: datetime) -> list[Outcome]:
        from firebase_admin import messaging

        from notifications.fcm import _classify

        messages = [self._message(p, now) for p in pushes]
        batch = await messaging.send_each_async(messages, app=self.app)
        return [
            Outcome(Result.OK) if r.success else _classify(r.exception) for r in batch.responses
        ]


def transports(endpoint: str) -> dict[str, Any]:
    """How to send, by name: each makes a fresh transport on the running loop."""
    point_messaging_at(endpoint)

    def sdk(threaded: bool) -> FcmTransport:
        make = FcmTransport if threaded else SdkAsync
        return make("bench", credential=static_token("bench"))

    def ours(connections: int, streams: int) -> Http2Transport:
        credential = static_token("bench").get_credential()
        return Http2Transport(
            "bench", credential, endpoint=endpoint, streams=streams, connections=connections
        )

    return {
        "nowhere (no network)": Nowhere,
        "threaded send_each": lambda: sdk(True),
        "send_each_async": lambda: sdk(False),
        "send_each_async x4 Apps": lambda: Spread([sdk(False) for _ in range(4)]),
        "ours h2, 1 conn": lambda: ours(1, 100),
        "ours h2, 4 conns": lambda: ours(4, 200),
    }


async def fan_out(owner_url: str, messages: int, make: Any) -> tuple[float, float]:
    engine = create_async_engine(owner_url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM outbox"))
        await conn.execute(
            text(
                "INSERT INTO outbox (user_id, kind, payload, collapse_key)"
                " SELECT d.user_id, 'offer.created', '{}'::jsonb, 'bench-' || g"
                "   FROM generate_series(1, :n) g"
                "   JOIN LATERAL (SELECT user_id FROM devices"
                "                  OFFSET (g % (SELECT count(*) FROM devices)) LIMIT 1) d ON true"
            ),
            {"n": messages},
        )
    transport = make()
    dispatcher = Dispatcher(engine, transport, clock=WALL.now)
    wall, cpu = time.perf_counter(), time.process_time()
    sent = 0
    while (stats := await dispatcher.run_once()).leased:
        sent += stats.sent
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await transport.close()
    await engine.dispose()
    assert sent == messages, (sent, messages)
    return messages / wall, cpu * 1000 / messages


async def measure(owner: str, messages: int, secure: bool) -> None:
    """Every way to send, one after the other, to one fake FCM process: over TLS (ALPN h2 or
    HTTP/1.1, as Google's), or cleartext (HTTP/1.1, h2c with prior knowledge for ours)."""
    served = tls(FakeFcm(), ROOT / ".state" / "bench-fcm")
    assert served.certificate is not None
    cert, key = served.certificate
    keys = [str(cert), str(key)]
    # The clients trust the throwaway certificate: httpx by SSL_CERT_FILE, requests by
    # REQUESTS_CA_BUNDLE (this process only).
    os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(cert)
    fake_process = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, "-m", "tests.fake_fcm", str(served.port), str(served.tls_port), *keys],
        cwd=ROOT,
    )
    await asyncio.sleep(2)
    rows = []
    endpoint = served.tls_endpoint if secure else served.endpoint
    try:
        for how, make in transports(endpoint).items():
            rate, cpu = await fan_out(owner, messages, make)
            rows.append((how, rate, cpu))
    finally:
        fake_process.terminate()
        await asyncio.to_thread(fake_process.wait, 30)
        del os.environ["SSL_CERT_FILE"], os.environ["REQUESTS_CA_BUNDLE"]
    print(f"fan-out of {messages} messages to {endpoint[:5]} (fake FCM in its own process)")
    print(f"{'how':<24} {'msgs/s':>8} {'CPU ms/msg':>11}")
    for how, rate, cpu in rows:
        print(f"{how:<24} {rate:>8.0f} {cpu:>11.3f}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


async def first_push(settings: Settings, needs: int, fake: FakeFcm, programme: str) -> list[float]:
    token = DevIssuer(settings.state_dir / "dev-issuer.pem").issue(CASEWORKER, ttl_s=3600)
    headers = {"Authorization": f"Bearer {token}"}
    engine = create_async_engine(settings.migration_database_url or "")
    async with engine.begin() as conn:  # only the measured needs: no demo backlog
        await conn.execute(text("UPDATE needs SET next_step_at = NULL"))
        await conn.execute(text("UPDATE outbox SET status = 'sent' WHERE status = 'pending'"))
    await engine.dispose()
    app = create_app(settings, embed_worker=True)
    latencies: list[float] = []
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://b",
        ) as client,
    ):
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
        start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=UTC)  # daytime
        for i in range(needs):
            body: dict[str, Any] = {
                "programme_id": programme,
                "title": f"Bench errand {i}",
                "mode": "in_person",
                "location": {"lat": 51.4551 + (i % 20) * 0.002, "lon": -0.9712},
                "windows": [
                    {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}
                ],
                "duration_minutes": 30,
            }
            t0 = time.perf_counter()
            r = await client.post("/v1/needs", headers=headers, json=body)
            assert r.status_code == 201, r.text
            need_id = r.json()["need"]["id"]
            while not any(m["data"].get("need_id") == need_id for m in fake.received[-200:]):
                if time.perf_counter() - t0 > 10:
                    raise TimeoutError(f"no push for need {i}")
                await asyncio.sleep(0.002)
            latencies.append(time.perf_counter() - t0)
    return latencies


async def main(messages: int, needs: int) -> None:
    cluster = LocalCluster(ROOT / ".state" / "bench-pg", durable=False)
    state = cluster.start()
    cluster.drop_database(DATABASE)  # a fresh borough every run
    cluster.create_database(DATABASE)
    owner = state.url(owner=True, database=DATABASE)
    await asyncio.to_thread(upgrade, owner)
    await seed(owner, volunteers=2000, progress=False)
    engine = create_async_engine(owner)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO devices (user_id, token, token_kind, platform)"
                " SELECT user_id, 'ok-' || user_id, 'token', 'android' FROM volunteers"
                " ON CONFLICT DO NOTHING"
            )
        )
        programme = str(
            await conn.scalar(
                text(
                    "SELECT p.id FROM programmes p JOIN organisations o ON o.id = p.org_id"
                    " WHERE o.slug = 'reading-council' AND p.min_vetting = 'none' LIMIT 1"
                )
            )
        )
    await engine.dispose()

    for secure in (True, False):
        await measure(owner, messages, secure)

    fake = FakeFcm()
    settings = Settings(
        env=Environment.TEST,
        state_dir=ROOT / ".state" / "bench",
        database_url=state.url(database=DATABASE),
        migration_database_url=owner,
        rate_limit_per_minute=0,
        log_level="WARNING",
        firebase_project_id="bench",
        fcm_endpoint=fake.endpoint,
        fcm_access_token="bench",  # noqa: S106 - the fake's, not a secret
        push_transport="fcm",
    )
    with Server(fake):
        latencies = await first_push(settings, needs, fake, programme)
    cluster.stop()
    print(f"\nneed POST to first push at the fake, {needs} needs")
    print(
        f"p50 {_pct(latencies, 0.5):.0f} ms   p99 {_pct(latencies, 0.99):.0f} ms   "
        f"mean {statistics.mean(latencies) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--needs", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.needs))
