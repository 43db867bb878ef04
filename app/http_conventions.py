"""HTTP conventions Litestar leaves to the app, applied in front of its router:

- HEAD is answered on every GET resource, as the GET without its body (RFC 9110 9.3.2);
  the status and headers (Content-Length, ETag) are the GET's.
- `Allow` lists every method of the path, with HEAD beside GET: Litestar's own OPTIONS
  handler lists only the methods registered before it when handlers share a path.
- A refused CORS preflight is a problem+json naming the refused header (Litestar answers a
  text/plain 400), rendered by app.problems like every other error.
- Content codings the client refuses (`br;q=0`) are dropped from Accept-Encoding before
  the compression middleware, which only looks for the coding's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar.constants import DEFAULT_ALLOWED_CORS_HEADERS
from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute

from app.errors import CorsRefused, FieldError
from app.problems import render

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.cors import CORSConfig
    from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send


def cors_refusals(config: CORSConfig, headers: Headers) -> list[FieldError]:
    """What a preflight asks for that `config` does not allow (Litestar's rules)."""
    errors = []
    origin = headers.get("origin", "")
    if not config.is_origin_allowed(origin):
        errors.append(FieldError("Origin", f"{origin} is not an allowed origin"))
    method = headers.get("access-control-request-method")
    if method and not config.is_allow_all_methods and method not in config.allow_methods:
        errors.append(FieldError("Access-Control-Request-Method", f"{method} is not allowed"))
    if not config.is_allow_all_headers:
        allowed = {h.lower() for h in (*config.allow_headers, *DEFAULT_ALLOWED_CORS_HEADERS)}
        requested = headers.get("access-control-request-headers", "").split(",")
        refused = [h.strip() for h in requested if h.strip() and h.strip().lower() not in allowed]
        if refused:
            errors.append(
                FieldError("Access-Control-Request-Headers", f"not allowed: {', '.join(refused)}")
            )
    return errors


def _with_head(methods: set[str]) -> str:
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


class HttpConventions:
    """Wraps the app's ASGI handler (outside Litestar's CORS middleware and router)."""

    def __init__(self, app: Litestar, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.inner(scope, receive, send)
            return
        _drop_refused_codings(scope)
        method = scope["method"]
        headers = Headers.from_scope(scope)
        cors = self.app.cors_config
        if method == "OPTIONS" and cors is not None and "origin" in headers:
            errors = cors_refusals(cors, headers)
            if errors:
                await self._refuse(scope, receive, send, errors)
                return
        if method == "HEAD":
            # A copy: the server still knows the request as HEAD and sends no body either.
            as_get = cast("HTTPScope", {**scope, "method": "GET"})
            await self.inner(as_get, receive, _bodiless(self._allow(scope, send)))
            return
        await self.inner(scope, receive, self._allow(scope, send))

    def _allow(self, scope: Scope, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                listed = headers.get("allow")
                if listed is not None:
                    methods = {m.strip() for m in listed.split(",") if m.strip()}
                    methods |= self._methods(scope.get("path_template"))
                    headers["allow"] = _with_head(methods)
            await send(message)

        return wrapped

    def _methods(self, template: str | None) -> set[str]:
        if template is None:
            return set()
        return {
            str(m)
            for route in self.app.routes
            if isinstance(route, HTTPRoute) and route.path_format == template
            for m in route.methods
        }

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, errors: list[FieldError]
    ) -> None:
        request: Any = self.app.request_class(scope=scope, receive=receive, send=send)
        detail = "CORS preflight refused: " + "; ".join(f"{e.field} {e.message}" for e in errors)
        response = render(request, CorsRefused(detail, errors))
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)


def _refused(coding: str) -> bool:
    _, _, params = coding.partition(";")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value) == 0
            except ValueError:
                return False
    return False


def _drop_refused_codings(scope: HTTPScope) -> None:
    headers = list(scope["headers"])
    for i, (name, value) in enumerate(headers):
        if name == b"accept-encoding" and b"q=0" in value.replace(b" ", b""):
            codings = value.decode("latin-1").split(",")
            kept = ",".join(c for c in codings if not _refused(c))
            scope["headers"] = [*headers[:i], (name, kept.encode("latin-1")), *headers[i + 1 :]]
            return


def _bodiless(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return  # drop every chunk; the last one ends the (empty) body
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return wrapped
