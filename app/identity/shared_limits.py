"""One rate limit across every API process: each settles what it spent in PostgreSQL.

A request is decided in memory (`TokenBuckets.take`), never waiting on the database. Every
`rate_limit_settle_s` each process sends what it took since the last time, per caller, in
one statement (`codeliver_rate_spend`, migration 0032), and takes back the shared count:
its own spending and every other process's, refilled at the limit's rate. A caller who
spread requests over N processes is then in debt in each of them and waits it off, so over
any stretch longer than the settlement the limit holds whatever N is; within one, the
excess is at most what each process's own bucket allows. Debt is floored at one burst.

The shared rows are keyed by a digest of the caller (never an address or a subject), in an
UNLOGGED table: a crash or failover refills every bucket, which errs towards callers. When
the database cannot be reached, the ledger is kept and each process limits on its own
until it can (decision 57).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from contextlib import suppress

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.identity.ratelimit import TokenBuckets

log = logging.getLogger(__name__)

_SPEND = text(
    "SELECT key, tokens FROM codeliver_rate_spend("
    "CAST(:keys AS text[]), CAST(:spent AS float8[]), :rate, :burst)"
)
_PRUNE = text("SELECT codeliver_rate_prune(:idle_s)")
PRUNE_EVERY_S = 60.0


def digest(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


class RateSettlement:
    """Settles one process's buckets with the others', every `interval_s`."""

    def __init__(self, engine: AsyncEngine, buckets: TokenBuckets, interval_s: float) -> None:
        self.engine = engine
        self.buckets = buckets
        self.interval_s = interval_s
        self._stopped = asyncio.Event()
        self._pruned_at = time.monotonic()

    async def settle_once(self) -> int:
        """Send what was spent here, take back the shared counts; the callers settled."""
        spent = self.buckets.spent()
        if not spent:
            return 0
        keys = {digest(key): key for key in spent}
        params = {
            "keys": list(keys),
            "spent": [spent[key] for key in keys.values()],
            "rate": self.buckets.rate,
            "burst": self.buckets.burst,
        }
        try:
            async with self.engine.begin() as conn:
                rows = (await conn.execute(_SPEND, params)).all()
        except (OSError, SQLAlchemyError, TimeoutError) as error:
            self.buckets.unspend(spent)
            log.warning("rate limits not settled (each process limits alone): %s", error)
            return 0
        now = time.monotonic()
        for row in rows:
            self.buckets.settle(keys[row.key], row.tokens, now)
        return len(rows)

    async def prune(self) -> None:
        """Forget callers whose buckets are full again (a missing row is a full bucket)."""
        idle_s = 2 * self.buckets.burst / self.buckets.rate
        try:
            async with self.engine.begin() as conn:
                await conn.execute(_PRUNE, {"idle_s": idle_s})
        except (OSError, SQLAlchemyError, TimeoutError) as error:
            log.warning("rate limits not pruned: %s", error)

    async def run(self) -> None:
        while not self._stopped.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.interval_s)
            await self.settle_once()
            if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
                self._pruned_at = time.monotonic()
                await self.prune()

    def stop(self) -> None:
        self._stopped.set()
