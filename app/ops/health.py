"""Liveness and readiness: ready means the database answers and is at the migration head."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, MediaType, Request, Response, get

from app.db.migrate import current_revision, head_revision
from app.db.tenancy import Db
from app.problems import problem, problem_responses

_HEAD = head_revision()
log = structlog.get_logger(__name__)


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]
    security = [{}]  # public: probes carry no token

    @get(
        "/live", media_type=MediaType.JSON, summary="The process is up", operation_id="getLiveness"
    )
    async def live(self) -> dict[str, str]:
        """Answers while the process runs, without touching the database. Public: probes carry no
        token."""
        return {"status": "ok"}

    @get(
        "/ready",
        summary="The database is reachable and migrated to head",
        responses=problem_responses(503, common=False),
        operation_id="getReadiness",
    )
    async def ready(self, request: Request[Any, Any, Any], db: Db) -> Response[dict[str, str]]:
        """200 with the migration revision when the database answers and is migrated to the code's
        head; otherwise a 503 problem with `Retry-After`. Public."""
        try:
            async with db.connect() as conn:
                revision = await current_revision(conn)
        except Exception as exc:  # any failure means not ready
            return problem(
                request,
                503,
                "not-ready",
                f"database unreachable: {exc}"[:300],
                headers={"Retry-After": "5"},
            )
        if revision != _HEAD:
            return problem(
                request,
                503,
                "not-ready",
                f"database at migration {revision}, code expects {_HEAD}",
                headers={"Retry-After": "30"},
            )
        return Response({"status": "ok", "migration": revision})
