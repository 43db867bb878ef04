"""Live fan-out across API replicas: each process holds one dedicated connection that LISTENs
on the outbox's channel, reads the new events of the users connected to this process, and
hands them to their sockets' bounded queues. No broker: PostgreSQL delivers every committed
notice to every listening process.

A notice missed while the connection was down cannot be recovered from the channel, so
losing it closes every local socket with 1012 (service restart): clients reconnect with
`since` and the database replays what they missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import msgspec
import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications import events
from notifications.events import Event
from notifications.outbox import CHANNEL

log = structlog.get_logger(__name__)

GOING_AWAY = 1001  # the server shuts down
TOO_SLOW = 1008  # the client did not keep up with its queue
RESYNC = 1012  # live delivery was interrupted: reconnect with `since`
UNAVAILABLE = 1013  # not listening yet: try again later


class LiveUnavailable(Exception):
    """The process is not listening (starting, or the database is down)."""


@dataclass(frozen=True)
class Closing:
    code: int
    reason: str


class _Notice(msgspec.Struct, frozen=True):
    m: list[tuple[UUID, UUID]]  # (user id, message id)


_decode_notice = msgspec.json.Decoder(_Notice).decode


@dataclass(eq=False)
class Subscription:
    """One socket's share of the stream: events in, or a Closing when it must end."""

    user_id: UUID
    limit: int
    queue: asyncio.Queue[Event | Closing] = field(init=False)
    closed: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.limit + 1)  # + room for the Closing

    def deliver(self, event: Event) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= self.limit:  # a slow client is dropped, not buffered
            self.close(TOO_SLOW, "too slow: reconnect with since")
            return
        self.queue.put_nowait(event)

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():  # what is queued is replayed on reconnect anyway
            self.queue.get_nowait()
        self.queue.put_nowait(Closing(code, reason))


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    _scheme, sep, rest = sqlalchemy_url.partition("://")
    if sep and "," in rest.split("/", 1)[0]:  # several hosts (libpq-style): as written
        return f"postgresql://{rest}"
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


class LiveHub:
    def __init__(
        self,
        dsn: str,
        engine: AsyncEngine,
        *,
        queue_limit: int = 256,
        keepalive_s: float = 10.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        """`dsn` is an asyncpg DSN for the listening connection; `engine` reads the events."""
        self.dsn = dsn
        self.engine = engine
        self.queue_limit = queue_limit
        self.keepalive_s = keepalive_s
        self.max_backoff_s = max_backoff_s
        self.listening = asyncio.Event()
        self._stopping = asyncio.Event()
        self._notices: asyncio.Queue[str] = asyncio.Queue()
        self._local: dict[UUID, set[Subscription]] = {}

    # -- sockets ---------------------------------------------------------------------------
    def subscribe(self, user_id: UUID) -> Subscription:
        if not self.listening.is_set() or self._stopping.is_set():
            raise LiveUnavailable
        sub = Subscription(user_id, self.queue_limit)
        self._local.setdefault(user_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._local.get(sub.user_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._local[sub.user_id]

    def _close_all(self, code: int, reason: str) -> None:
        for subs in list(self._local.values()):
            for sub in list(subs):
                sub.close(code, reason)

    @property
    def sockets(self) -> int:
        return sum(len(subs) for subs in self._local.values())

    # -- the listening connection ----------------------------------------------------------
    async def run(self) -> None:
        """Listen until stopped, reconnecting with capped exponential backoff and jitter."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._listen()
                failures = 0
            except Exception as exc:  # whatever broke it, listen again
                failures += 1
                log.warning("live channel lost", error=repr(exc), attempt=failures)
            finally:
                self.listening.clear()
                self._close_all(RESYNC, "live delivery interrupted: reconnect with since")
            delay = min(self.max_backoff_s, 0.25 * 2**failures) * random.uniform(0.5, 1)  # noqa: S311
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay if failures else 0)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(
            self.dsn, timeout=5, server_settings={"application_name": "codeliver-live"}
        )
        try:
            await conn.add_listener(CHANNEL, self._heard)
            self.listening.set()
            log.info("live channel listening")
            while not self._stopping.is_set():
                try:
                    notice = await asyncio.wait_for(self._notices.get(), self.keepalive_s)
                except TimeoutError:  # quiet: prove the connection is still alive
                    await conn.execute("SELECT 1", timeout=5)
                    continue
                if notice:
                    await self._fan_out(notice)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._notices.put_nowait(payload)

    async def _fan_out(self, notice: str) -> None:
        try:
            pairs = _decode_notice(notice).m
        except msgspec.DecodeError:
            log.warning("live channel: unreadable notice ignored")
            return
        wanted: dict[UUID, list[UUID]] = {}
        for user_id, message_id in pairs:
            if user_id in self._local:
                wanted.setdefault(user_id, []).append(message_id)
        for user_id, message_ids in wanted.items():
            try:
                found = await events.by_message(self.engine, user_id, message_ids)
            except (OSError, SQLAlchemyError, asyncpg.PostgresError, TimeoutError):
                log.warning("live channel: events unreadable", user_id=str(user_id))
                for sub in list(self._local.get(user_id, ())):
                    sub.close(RESYNC, "live delivery interrupted: reconnect with since")
                continue
            for sub in list(self._local.get(user_id, ())):
                for event in found:
                    sub.deliver(event)

    async def stop(self) -> None:
        """Close every local socket (going away) and stop listening."""
        self._stopping.set()
        self._notices.put_nowait("")  # wake the loop
        self._close_all(GOING_AWAY, "server shutting down")
