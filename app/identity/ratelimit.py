"""Per-caller rate limiting: a token bucket per user (per client address when anonymous).

The console's pages are limited per user too, not per address (a council office signs in
from one address), but only once their session cookie has checked out: `limit_user`, from
`app/console/session.py: session_of`, takes from the same bucket as the person's API
requests. So the middleware leaves the console's signed-in pages to it and limits only its
sign-in and sign-out by address. A cookie or token that does not check out counts as a
failed sign-in for the address (`limit_failures`, as a bad bearer token does), and while
the address has none left, sign-in answers 429 before verifying anything
(`failures_left`). Health, metrics and the static files (public, no data) are never
limited.

The decision is taken in memory, per process, so no request waits on a shared store; what
each process spent is settled with every other's in PostgreSQL every half second
(`app/identity/shared_limits.py`), so N processes keep one limit (decision 57).
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


CONSOLE_UNSIGNED = ("/console/sign-in", "/console/sign-out")  # limited by address


def not_limited_here(scope: Scope) -> bool:
    """Not limited here: operations, static files, and the console's signed-in pages (by
    `limit_user` once their session checks out)."""
    path = scope["path"]
    if path.startswith("/console"):
        return not path.startswith(CONSOLE_UNSIGNED)
    return path.startswith(("/health/", "/metrics", "/static/", "/assets/"))


def caller_key(scope: Scope) -> str:
    user = scope.get("user")
    if isinstance(user, TokenIdentity):
        return user_key(user)
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


def user_key(user: TokenIdentity) -> str:
    return f"user:{user.issuer}|{user.subject}"


def _failure_key(scope: Scope) -> str:
    client = scope.get("client")
    return f"auth-failure:{client[0] if client else 'unknown'}"


class TokenBuckets:
    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._spent: dict[str, float] = {}  # taken since the last settlement, per key

    def take(self, key: str, now: float | None = None) -> int:
        """Take one token; return 0 when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            self._spent[key] = self._spent.get(key, 0.0) + 1
            allowed = 0
        else:
            self._buckets[key] = (tokens, now)
            allowed = max(1, math.ceil((1 - tokens) / self.rate))
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        return allowed

    def spent(self) -> dict[str, float]:
        """What was taken since the last call, per key (the ledger starts afresh)."""
        spent, self._spent = self._spent, {}
        return spent

    def unspend(self, spent: dict[str, float]) -> None:
        """Put back a ledger that could not be settled, to settle it next time."""
        for key, tokens in spent.items():
            if key in self._spent or len(self._spent) < MAX_TRACKED:
                self._spent[key] = self._spent.get(key, 0.0) + tokens

    def settle(self, key: str, tokens: float, now: float | None = None) -> None:
        """Take the shared count for `key`, less what was taken here since it was read."""
        now = time.monotonic() if now is None else now
        self._buckets[key] = (tokens - self._spent.get(key, 0.0), now)
        self._buckets.move_to_end(key)

    def wait(self, key: str, now: float | None = None) -> int:
        """The seconds until `key` has a token again (0: it has one), taking none."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        return 0 if tokens >= 1 else max(1, math.ceil((1 - tokens) / self.rate))


def _buckets(scope: Scope) -> TokenBuckets | None:
    buckets: TokenBuckets | None = scope["litestar_app"].state.rate_limits
    return buckets


def limit_failures(scope: Scope) -> None:
    """Failed sign-ins are rate limited per client address (guessing, token stuffing), by
    the API's bearer check and the console's session cookie and sign-in alike: raises
    RateLimited."""
    buckets = _buckets(scope)
    if buckets is not None and (wait := buckets.take(_failure_key(scope))):
        raise RateLimited(wait)


def failures_left(scope: Scope) -> None:
    """RateLimited if the address has no failed sign-in left: checked before verifying a
    token, so a limited address costs nothing (no verification, no session minted)."""
    buckets = _buckets(scope)
    if buckets is not None and (wait := buckets.wait(_failure_key(scope))):
        raise RateLimited(wait)


def limit_user(scope: Scope, user: TokenIdentity) -> None:
    """One request of a verified user (a console page, after its session checked out)."""
    buckets = _buckets(scope)
    if buckets is not None and (wait := buckets.take(user_key(user))):
        raise RateLimited(wait)


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(not_limited_here)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        buckets: TokenBuckets | None = scope["litestar_app"].state.rate_limits
        if buckets is not None:
            wait = buckets.take(caller_key(scope))
            if wait:
                raise RateLimited(wait)
        await next_app(scope, receive, send)
