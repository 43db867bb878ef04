"""Texts through the Notify transport to the fake Notify, beside pushes through
firebase-admin to the fake FCM, in one run: messages/s and CPU ms per message of the
sending process (transports only: no database; each fake in its own process).

    .venv/bin/python -m bench.notify_send [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

from infra.localdb import free_port
from notifications.fcm import FcmTransport, Push, point_messaging_at, static_token
from notifications.notify import NotifyTransport, Text
from tests import fake_notify

BATCH = 500


def _serve(module: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", module, str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{module} did not start")


async def _measure(send: object, items: list[object], label: str) -> None:
    now = datetime.now(UTC)
    wall, cpu = time.perf_counter(), time.process_time()
    ok = 0
    for start in range(0, len(items), BATCH):
        outcomes = await send(items[start : start + BATCH], now)  # type: ignore[operator]
        ok += sum(o.result.value == "ok" for o in outcomes)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label:<34} {len(items):>6} msgs  {len(items) / wall:>7.0f} msgs/s"
        f"  {1000 * cpu / len(items):>6.2f} CPU ms/msg  ok {ok}"
    )


async def main(messages: int) -> None:
    notify_port, fcm_port = free_port(), free_port()
    servers = [
        _serve("tests.fake_notify", notify_port),
        _serve("tests.fake_fcm", fcm_port),
    ]
    try:
        templates = dict(pair.split("=", 1) for pair in fake_notify.SETTINGS)
        texts = NotifyTransport(
            fake_notify.API_KEY, f"http://127.0.0.1:{notify_port}", templates, threads=8
        )
        given = {"summary": "s", "code": "123456"}
        items: list[object] = [
            Text("sms", f"+4477009{i:05d}", "channel.verify", "en", given, f"ref-{i}")
            for i in range(messages)
        ]
        await _measure(texts.send, items[:50], "notify (warm-up)")
        await _measure(texts.send, items, "notify, 8 threads")
        await texts.close()
        point_messaging_at(f"http://127.0.0.1:{fcm_port}")
        push = FcmTransport("bench", credential=static_token("t"))
        pushes: list[object] = [
            Push(f"ok-{i}", "token", "android", {"kind": "offer.created"}, None, False, None)
            for i in range(messages)
        ]
        await _measure(push.send, pushes[:50], "fcm (warm-up)")
        await _measure(push.send, pushes, "fcm, threaded send_each")
        await push.close()
    finally:
        for s in servers:
            s.terminate()
            s.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    asyncio.run(main(parser.parse_args().messages))
