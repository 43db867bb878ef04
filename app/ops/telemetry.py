"""Per-request telemetry: Prometheus counts and latencies, a request id, one access log line."""

from __future__ import annotations

import time
import uuid

import structlog
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.ops.metrics import HttpMetrics

log = structlog.get_logger("codeliver.access")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and 0 < len(value) <= 128:
            return value.decode("latin-1")
    return uuid.uuid4().hex


class TelemetryMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        metrics: HttpMetrics = scope["litestar_app"].state.metrics
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_wrapper)
        except Exception as exc:
            # Errors become responses outside this middleware: count the status they will get.
            code = getattr(exc, "status_code", None) or getattr(exc, "status", None)
            status = code if isinstance(code, int) else 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = scope.get("method", "GET")
            metrics.requests.labels(method, route, str(status)).inc()
            metrics.latency.labels(method, route).observe(elapsed)
            log.info(
                "request", method=method, route=route, status=status, ms=round(elapsed * 1000, 2)
            )
            structlog.contextvars.unbind_contextvars("request_id")


async def add_request_id(message: Message, scope: Scope) -> None:
    """A before-send hook, so error responses rendered outside the middleware carry it too."""
    if message["type"] == "http.response.start":
        request_id = scope.get("state", {}).get("request_id")
        if request_id:
            headers = list(message.get("headers", []))
            headers.append((b"x-request-id", request_id.encode("latin-1")))
            message["headers"] = headers
