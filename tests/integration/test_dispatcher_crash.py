"""A real `codeliver worker` process killed with SIGKILL in the middle of a batch, then
restarted: every committed notification reaches FCM (or, for texts, GOV.UK Notify) at least
once, duplicates carry the same message id (Notify's `reference`), and every row ends sent
or dead."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from app.db.tables import contact_channels, devices
from notifications.outbox import Kind, Message, TextKind, enqueue
from tests import fake_notify
from tests.fake_fcm import FakeFcm, Server, wait_for
from tests.fake_notify import FakeNotify
from tests.fake_notify import Server as NotifyServer
from tests.support import Db, World

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 40
PER_PERSON = 15  # 600 messages: a batch of 500, then 100


@pytest.fixture
def fake() -> Iterator[FakeFcm]:
    server = FakeFcm(delay_s=0.4)
    with Server(server):
        yield server


def start_worker(db: Db, fake: FakeFcm, state: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = (
        os.environ
        | extra
        | {
            "CODELIVER_DATABASE_URL": db.app_url,
            "CODELIVER_MIGRATION_DATABASE_URL": db.owner_url,
            "CODELIVER_STATE_DIR": str(state),
            "CODELIVER_FIREBASE_PROJECT_ID": "fake-project",
            "CODELIVER_FCM_ENDPOINT": fake.endpoint,
            "CODELIVER_FCM_ACCESS_TOKEN": "test-token",
            "CODELIVER_PUSH_LEASE_S": "5",
            "CODELIVER_LOG_LEVEL": "WARNING",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )


async def _restart_until_drained(
    db: Db, world: World, fake: FakeFcm, state: Path, **extra: str
) -> None:
    """Start the worker again and let it finish, then stop it (SIGTERM)."""
    worker = start_worker(db, fake, state, **extra)
    try:
        for _ in range(300):
            if await world.count("outbox", "status = 'pending'") == 0:
                break
            await asyncio.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


async def _kill_when(worker: subprocess.Popen[bytes], enough: Callable[[], bool]) -> None:
    try:
        await wait_for(enough, within_s=60)
        os.kill(worker.pid, signal.SIGKILL)  # mid-batch: sent, not yet recorded
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()


@pytest.mark.parametrize("send", ["threaded", "http2"])  # CODELIVER_PUSH_SEND
async def test_kill_minus_nine_mid_batch_loses_nothing(
    db: Db, world: World, fake: FakeFcm, tmp_path: Path, send: str
) -> None:
    how = {"CODELIVER_PUSH_SEND": send}
    async with world.owner.begin() as conn:
        for n in range(PEOPLE):
            user_id = await conn.scalar(
                text(
                    "INSERT INTO users (issuer, subject, display_name) VALUES"
                    " ('test', :s, :s) RETURNING id"
                ),
                {"s": f"phone-{n}"},
            )
            await conn.execute(
                insert(devices).values(
                    user_id=user_id, token=f"ok-{n}", token_kind="token", platform="android"
                )
            )
            await enqueue(
                conn,
                [
                    Message(user_id, Kind.OFFER_CREATED, {"why": f"n{i}"[:1] + "x"})
                    for i in range(PER_PERSON)
                ],
                now=datetime.now(UTC),
            )
    total = PEOPLE * PER_PERSON
    await _kill_when(start_worker(db, fake, tmp_path, **how), lambda: len(fake.received) >= 100)
    assert await world.count("outbox", "lease_token IS NOT NULL") > 0  # a lease was lost
    await _restart_until_drained(db, world, fake, tmp_path, **how)
    assert await world.count("outbox", "status IN ('sent', 'dead')") == total
    assert await world.count("outbox", "status = 'dead'") == 0
    async with world.owner.connect() as conn:
        committed = set((await conn.execute(text("SELECT message_id::text FROM outbox"))).scalars())
    seen = Counter(m["data"]["message_id"] for m in fake.received)
    assert set(seen) == committed  # every committed message reached FCM at least once
    duplicates = [mid for mid, n in seen.items() if n > 1]
    assert duplicates  # the killed batch was sent again, under the same message ids
    assert len(fake.received) == total + sum(n - 1 for n in seen.values())


TEXTS = 200  # one verification text each to 200 phones: 8 threads, 0.4 s per request


async def test_kill_minus_nine_mid_batch_of_texts_loses_nothing(
    db: Db, world: World, fake: FakeFcm, tmp_path: Path
) -> None:
    async with world.owner.begin() as conn:
        for n in range(TEXTS):
            user_id = await conn.scalar(
                text(
                    "INSERT INTO users (issuer, subject, display_name) VALUES"
                    " ('test', :s, :s) RETURNING id"
                ),
                {"s": f"texter-{n}"},
            )
            phone = f"+4477009{n:05d}"
            await conn.execute(
                insert(contact_channels).values(
                    user_id=user_id, channel="sms", address=phone, position=0
                )
            )
            await enqueue(
                conn,
                [Message(user_id, TextKind.CHANNEL_VERIFY, {"channel": "sms"})],
                now=datetime.now(UTC),
            )
    notify = FakeNotify(delay_s=0.4)
    settings = {
        "CODELIVER_NOTIFY_API_KEY": fake_notify.API_KEY,
        "CODELIVER_NOTIFY_BASE_URL": notify.base_url,
        "CODELIVER_NOTIFY_TEMPLATES": ",".join(fake_notify.SETTINGS),
    }
    with NotifyServer(notify):
        worker = start_worker(db, fake, tmp_path, **settings)
        await _kill_when(worker, lambda: len(notify.received) >= 40)
        assert await world.count("outbox", "lease_token IS NOT NULL") > 0  # a lease was lost
        assert await world.count("outbox", "status = 'pending'") > 0
        await _restart_until_drained(db, world, fake, tmp_path, **settings)
    assert await world.count("outbox", "status = 'sent' AND channel = 'sms'") == TEXTS
    async with world.owner.connect() as conn:
        committed = set((await conn.execute(text("SELECT message_id::text FROM outbox"))).scalars())
    seen = Counter(notify.references())
    assert set(seen) == committed  # every committed text reached Notify at least once
    assert all(m["_status"] == 201 for m in notify.received)
    duplicates = [ref for ref, n in seen.items() if n > 1]
    assert duplicates  # the killed batch was sent again, under the same references
    assert not fake.received  # texts only: nothing went by push
