"""Prometheus metrics: request counts and latencies per route template, one registry per app."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "codeliver_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "codeliver_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # Read from the database at scrape time: the dispatcher runs in worker processes,
        # and the outbox is the one place that knows every push's fate across them.
        self.outbox = Gauge(
            "codeliver_outbox_messages",
            "Notifications in the outbox by status (dead: dead-lettered pushes)",
            ["status"],
            registry=self.registry,
        )
        self.snapshots = Gauge(
            "codeliver_coverage_snapshots",
            "Organisations with a coverage supply snapshot",
            registry=self.registry,
        )
        self.snapshot_age = Gauge(
            "codeliver_coverage_snapshot_oldest_age_seconds",
            "Age of the oldest coverage snapshot: past CODELIVER_COVERAGE_SNAPSHOT_MAX_AGE_S, "
            "maps compute on the spot (is the coverage-snapshots job running?)",
            registry=self.registry,
        )
        self.snapshot_refresh = Gauge(
            "codeliver_coverage_snapshot_slowest_refresh_seconds",
            "The slowest organisation's last snapshot refresh",
            registry=self.registry,
        )

    async def refresh(self, engine: AsyncEngine) -> None:
        """Best effort: with the database down, /metrics still answers (stale gauges)."""
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT * FROM codeliver_outbox_counts()"))
                counts = {status: n for status, n in rows}
                ages = (
                    await conn.execute(text("SELECT * FROM codeliver_coverage_snapshot_ages()"))
                ).one()
        except (SQLAlchemyError, OSError, TimeoutError):
            return
        for status in ("pending", "sent", "dead"):
            self.outbox.labels(status=status).set(counts.get(status, 0))
        self.snapshots.set(ages.snapshots)
        self.snapshot_age.set(ages.oldest_s or 0)
        self.snapshot_refresh.set(ages.slowest_refresh_s or 0)


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False

    @get("/", summary="Prometheus metrics")
    async def metrics(self, state: State) -> Response[Any]:
        await state.metrics.refresh(state.engine)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
