"""Per-caller rate limiting: a token bucket per user, per console session (its cookie), or
per client address when anonymous. Keying the console by its session, not the address,
matters for councils: a whole office signs in from one address. A session cookie that does
not check out, like a bearer token that does not, counts as a failed sign-in for the
address (`limit_failures`), so forged cookies cannot dodge the address's limit. Health,
metrics and the static files (the console's and the map's CSS, scripts, fonts: public,
no data) are never limited.

In memory, per process: with N replicas the effective limit is N times the setting, which
is the usual trade for not putting a shared store on every request's path.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from http.cookies import CookieError, SimpleCookie

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.errors import RateLimited
from app.identity.sessions import COOKIE
from app.identity.tokens import TokenIdentity

MAX_TRACKED = 100_000


def is_operational(scope: Scope) -> bool:
    return scope["path"].startswith(("/health/", "/metrics", "/static/", "/assets/"))


def _session(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def caller_key(scope: Scope) -> str:
    user = scope.get("user")
    if isinstance(user, TokenIdentity):
        return f"user:{user.issuer}|{user.subject}"
    session = _session(scope) if scope["path"].startswith("/console") else None
    if session:
        return f"session:{hashlib.sha256(session.encode()).hexdigest()[:32]}"
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


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


def limit_failures(scope: Scope) -> None:
    """Failed sign-ins are rate limited per client address (guessing, token stuffing), by
    the API's bearer check and the console's sign-in form alike: raises RateLimited."""
    buckets: TokenBuckets | None = scope["litestar_app"].state.rate_limits
    client = scope.get("client")
    if buckets is not None:
        wait = buckets.take(f"auth-failure:{client[0] if client else 'unknown'}")
        if wait:
            raise RateLimited(wait)


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(is_operational)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        buckets: TokenBuckets | None = scope["litestar_app"].state.rate_limits
        if buckets is not None:
            wait = buckets.take(caller_key(scope))
            if wait:
                raise RateLimited(wait)
        await next_app(scope, receive, send)
