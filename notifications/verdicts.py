"""What became of each message a dispatcher sent, pure (no I/O): the outcome of each try
becomes the row's next state (sent, due again after a backoff, on to the next channel, or
dead), counted in `Stats`."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from notifications.backoff import Policy, backoff
from notifications.channels import PUSH
from notifications.fcm import DROP_DEVICE, PERMANENT, RETRY, Outcome, Push, Result
from notifications.notify import Text

log = structlog.get_logger(__name__)


@dataclass
class Row:
    lease: Any
    pushes: list[tuple[Push, UUID]] = field(default_factory=list)  # (push, device id)
    outcomes: list[Outcome] = field(default_factory=list)
    channel: str = PUSH
    fallback: bool = False  # another channel can carry it if this one fails for good
    text: Text | None = None  # a text message or email instead of pushes
    exhausted: bool = False  # every channel it could go by has failed for good


@dataclass
class Stats:
    leased: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    skipped: int = 0  # nothing left to send: the assignment ended, or quiet hours outlast it
    devices_removed: int = 0
    fell_back: int = 0  # moved to the person's next channel
    held: int = 0  # for the person's daily digest

    def add(self, other: Stats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def verdict(
    row: Row, now: datetime, stats: Stats, policy: Policy, rng: random.Random
) -> dict[str, Any]:
    """The outbox columns to set for one row after its attempt, counted into `stats`: sent,
    due again later (backoff) or at once on the next channel, or dead."""
    lease = row.lease
    if row.exhausted:
        stats.dead += 1
        return {"status": "dead", "last_error": "no channel left"}
    if row.text is None and not row.pushes:  # no phone to reach: the live channel is enough
        stats.sent += 1
        return {"status": "sent", "sent_at": now, "last_error": "no devices"}
    ok = [o for o in row.outcomes if o.result is Result.OK]
    if ok:
        stats.sent += 1
        sent = {"status": "sent", "sent_at": now, "last_error": None, "channel": row.channel}
        provider = ok[0].provider_id if row.text is not None else None
        return {**sent, "notify_id": uuid.UUID(provider)} if provider else sent
    gone = all(o.result in DROP_DEVICE for o in row.outcomes)  # uninstalled: no failure
    permanent = all(o.result in PERMANENT for o in row.outcomes) if row.text else gone
    error = "; ".join(sorted({o.detail or o.result.value for o in row.outcomes}))
    if permanent and row.fallback:  # the person's next channel, at once
        stats.fell_back += 1
        tried = [*lease.channels_tried, row.channel]
        return {"next_attempt_at": now, "channels_tried": tried, "last_error": error}
    if gone:
        stats.sent += 1
        return {"status": "sent", "sent_at": now, "last_error": "no devices left"}
    if lease.expires_at is not None and lease.expires_at <= now:
        stats.dead += 1
        return {"status": "dead", "last_error": "expired before delivery"}
    retryable = [o for o in row.outcomes if o.result in RETRY]
    error = error if row.text else "; ".join(sorted({o.result.value for o in row.outcomes}))
    if retryable and lease.attempts < policy.max_attempts:
        stats.retried += 1
        wait = max(backoff(lease.attempts, o, policy, rng) for o in retryable)
        return {"next_attempt_at": now + wait, "last_error": error}
    stats.dead += 1
    log.warning("message dead-lettered", message_id=str(lease.message_id), error=error)
    return {"status": "dead", "last_error": error, "channel": row.channel}
