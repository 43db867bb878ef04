"""Authentication: every route except health, metrics and the API docs needs a bearer token."""

from __future__ import annotations

from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.errors import InvalidToken, Unauthenticated
from app.identity.ratelimit import limit_failures
from app.identity.tokens import Verifiers

# The map page and its static assets hold no data: the page calls the API with a token.
# The problem pages describe error codes, to anyone. GOV.UK Notify's callbacks carry
# Notify's own bearer token, which app/notify/callbacks.py checks instead of a user's.
# The console's pages check their own session cookie (app/console/session.py: signed_in);
# /assets holds GOV.UK Frontend's fonts and images.
PUBLIC_PREFIXES = (
    "/health/",
    "/metrics",
    "/schema",
    "/coverage",
    "/console",
    "/assets/",
    "/static/",
    "/problems",
    "/v1/notify/callbacks/",
)


def is_public(scope: Scope) -> bool:
    return scope["path"].startswith(PUBLIC_PREFIXES)


class BearerAuthMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)
    should_bypass_for_scope = staticmethod(is_public)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") == "OPTIONS":  # CORS preflight carries no credentials
            await next_app(scope, receive, send)
            return
        try:
            token = _bearer(scope)
            verifiers: Verifiers = scope["litestar_app"].state.verifiers
            scope["user"] = await verifiers.verify(token)
        except Unauthenticated:
            limit_failures(scope)
            raise
        scope["auth"] = token
        await next_app(scope, receive, send)


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":  # no bearer credentials: no RFC 6750 error code
                raise Unauthenticated("Authorization must be 'Bearer <token>'")
            if not token.strip():
                raise InvalidToken("Authorization must be 'Bearer <token>'")
            return token.strip()
    if scope["type"] == ScopeType.WEBSOCKET:  # browsers cannot set headers on a websocket
        tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        if tokens and tokens[0].strip():
            return tokens[0].strip()
    raise Unauthenticated("Missing bearer token")
