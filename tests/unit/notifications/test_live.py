"""The live channel's pure parts: bounded per-socket queues and notices that fit NOTIFY."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest

from app.db.tables import outbox
from notifications.events import Event, Heartbeat, Synced, encode
from notifications.live import TOO_SLOW, Closing, LiveHub, LiveUnavailable, Subscription
from notifications.outbox import PAIRS_PER_NOTICE, Kind, Message, _notices, _row

pytestmark = pytest.mark.anyio


def _event(i: int) -> Event:
    return Event(i, "offer.created", {"offer_id": str(i)}, datetime.now(UTC))


async def test_a_slow_client_is_closed_not_buffered() -> None:
    sub = Subscription(uuid4(), limit=3)
    for i in range(10):
        sub.deliver(_event(i))
    assert sub.closed
    assert sub.queue.qsize() == 1  # only the Closing: queued events are dropped
    assert sub.queue.get_nowait() == Closing(TOO_SLOW, "too slow: reconnect with since")


async def test_a_closed_subscription_takes_nothing_more() -> None:
    sub = Subscription(uuid4(), limit=3)
    sub.deliver(_event(1))
    sub.close(1001, "bye")
    sub.close(1012, "again")
    sub.deliver(_event(2))
    assert [sub.queue.get_nowait()] == [Closing(1001, "bye")]


async def test_nobody_subscribes_before_the_hub_listens() -> None:
    hub = LiveHub("postgresql://127.0.0.1:1/none", engine=None)  # type: ignore[arg-type]
    with pytest.raises(LiveUnavailable):
        hub.subscribe(uuid4())


def test_notices_name_every_message_and_fit_notify() -> None:
    users = [uuid4() for _ in range(7)]
    rows = [
        _row(Message(users[i % 7], Kind.OFFER_CREATED, {}), datetime.now(UTC)) for i in range(500)
    ]
    notices = list(_notices(rows))
    assert len(notices) == -(-500 // PAIRS_PER_NOTICE)
    assert all(len(n.encode()) < 8000 for n in notices)
    pairs = [tuple(p) for n in notices for p in msgspec.json.decode(n)["m"]]
    assert pairs == [(str(r["user_id"]), str(r["message_id"])) for r in rows]
    assert set(_row(Message(users[0], Kind.OFFER_CREATED, {}), datetime.now(UTC))) <= set(
        outbox.c.keys()
    )


def test_frames_are_tagged() -> None:
    assert msgspec.json.decode(encode(Heartbeat())) == {"type": "heartbeat"}
    assert msgspec.json.decode(encode(Synced(last_id=3))) == {
        "type": "synced",
        "last_id": 3,
        "complete": True,
    }
    assert msgspec.json.decode(encode(_event(5)))["type"] == "event"
