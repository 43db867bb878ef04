"""When the dispatcher tries a message again: its policy (batch, lease, attempts) and the
backoff between attempts, pure (no I/O)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from notifications.fcm import BATCH, Outcome, Result


@dataclass(frozen=True, slots=True)
class Policy:
    batch: int = BATCH
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    base_backoff: timedelta = timedelta(seconds=2)
    max_backoff: timedelta = timedelta(hours=1)
    quota_backoff: timedelta = timedelta(seconds=60)


def backoff(attempt: int, outcome: Outcome | None, policy: Policy, rng: random.Random) -> timedelta:
    """How long before attempt `attempt + 1`: full jitter over an exponential ceiling, but
    never less than FCM asked for (Retry-After) or a minute after a quota error."""
    ceiling: timedelta = min(policy.max_backoff, policy.base_backoff * (2 ** max(0, attempt - 1)))
    wait: timedelta = ceiling * rng.random()
    if outcome is not None and outcome.result is Result.QUOTA:
        wait = max(wait, policy.quota_backoff)
    if outcome is not None and outcome.retry_after_s is not None:
        wait = max(wait, timedelta(seconds=outcome.retry_after_s))
    return wait
