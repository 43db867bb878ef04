"""Which needs a caseworker should look at now: the work queue at the top of their needs
list. Pure: the facts of one need and the clock in, why it needs a person (or nothing) out.

- **Escalated**: the cascade ran out (every wave sent, nobody eligible, or nobody left to
  ask) and the need still wants volunteers: only a person can decide what happens next
  (ask again, offer by name, change or cancel it).
- **Starts soon**: it starts within `SOON` and still has slots to fill, though offers are
  still going out: a caseworker may want to phone someone or tell the person helped.

A need that has started, or ended, or wants nobody, is not in the queue (the worker
expires what was never filled). Escalated needs come first, then by start, soonest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from matching.status import WANTING, NeedStatus

SOON = timedelta(hours=24)


class Attention(StrEnum):
    ESCALATED = "escalated"
    STARTS_SOON = "starts_soon"


@dataclass(frozen=True)
class NeedFacts:
    status: NeedStatus
    slots: int
    filled: int
    starts_at: datetime  # the first window's start
    escalated_at: datetime | None


def attention(need: NeedFacts, now: datetime) -> Attention | None:
    if need.status not in WANTING or need.filled >= need.slots or need.starts_at <= now:
        return None
    if need.escalated_at is not None:
        return Attention.ESCALATED
    return Attention.STARTS_SOON if need.starts_at < now + SOON else None


def order(need: NeedFacts, why: Attention) -> tuple[int, datetime]:
    """The queue's order: escalated first, then the soonest start."""
    return (0 if why is Attention.ESCALATED else 1, need.starts_at)
