"""One client's live stream, whatever carries it: subscribe, replay what was missed since the
client's cursor, then forward live events, with heartbeats while quiet.

Subscribing before replaying leaves no gap (an event committed meanwhile is in the queue,
the replay, or both); the ids sent by the replay de-duplicate the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from notifications import events
from notifications.events import Event, Heartbeat, Synced
from notifications.live import Closing, LiveHub

MAX_REPLAY = 1000  # beyond this the client re-syncs through the REST lists
REPLAY_PAGE = 200

Send = Callable[[bytes], Awaitable[None]]
Receive = Callable[[], Awaitable[object]]


async def _replay(hub: LiveHub, user_id: UUID, since: int, send: Send) -> tuple[set[int], bool]:
    sent: set[int] = set()
    cursor, first = since, True
    while len(sent) < MAX_REPLAY:
        page = await events.missed(hub.engine, user_id, cursor, REPLAY_PAGE, late=first)
        first = False
        for event in page:
            if event.id not in sent:
                await send(events.encode(event))
                sent.add(event.id)
        if len(page) < REPLAY_PAGE:
            return sent, True
        cursor = max(cursor, page[-1].id)
    return sent, False


async def _forward(
    queue: asyncio.Queue[Event | Closing], replayed: set[int], send: Send, heartbeat_s: float
) -> Closing:
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), heartbeat_s)
        except TimeoutError:
            await send(events.encode(Heartbeat()))
            continue
        if isinstance(item, Closing):
            return item
        if item.id not in replayed:
            await send(events.encode(item))


async def _drain(receive: Receive) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    while True:
        await receive()


async def stream(
    hub: LiveHub,
    user_id: UUID,
    since: int | None,
    send: Send,
    receive: Receive,
    *,
    heartbeat_s: float,
) -> Closing | None:
    """Serve until the hub closes the stream (returns why) or the client leaves (None).
    Raises LiveUnavailable when this process is not listening."""
    sub = hub.subscribe(user_id)
    try:
        replayed: set[int] = set()
        complete = True
        if since is not None:
            replayed, complete = await _replay(hub, user_id, since, send)
        last = max(replayed) if replayed else since
        await send(events.encode(Synced(last_id=last, complete=complete)))
        forward = asyncio.create_task(_forward(sub.queue, replayed, send, heartbeat_s))
        drain = asyncio.create_task(_drain(receive))
        try:
            done, _ = await asyncio.wait({forward, drain}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            forward.cancel()
            drain.cancel()
            await asyncio.gather(forward, drain, return_exceptions=True)
        if forward in done and forward.exception() is None:
            return forward.result()
        return None  # the client left (or could not be written to)
    finally:
        hub.unsubscribe(sub)
