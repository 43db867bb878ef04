"""Per-caller rate limiting: a token bucket per user (per client address when anonymous).

In memory, per process: with N replicas the effective limit is N times the setting, which
is the usual trade for not putting a shared store on every request's path.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.errors import RateLimited
from app.identity.tokens import TokenIdentity

MAX_TRACKED = 100_000


def is_operational(scope: Scope) -> bool:
    return scope["path"].startswith(("/health/", "/metrics"))


class TokenBuckets:
    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> int:
        """Take one token; return 0 when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            allowed = 0
        else:
            self._buckets[key] = (tokens, now)
            allowed = max(1, math.ceil((1 - tokens) / self.rate))
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        return allowed


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(is_operational)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        buckets: TokenBuckets | None = scope["litestar_app"].state.rate_limits
        if buckets is not None:
            user = scope.get("user")
            if isinstance(user, TokenIdentity):
                key = f"user:{user.issuer}|{user.subject}"
            else:
                client = scope.get("client")
                key = f"addr:{client[0] if client else 'unknown'}"
            wait = buckets.take(key)
            if wait:
                raise RateLimited(wait)
        await next_app(scope, receive, send)
