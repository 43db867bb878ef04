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
        self.messages = Gauge(
            "codeliver_messages",
            "Messages in the outbox by the channel of their last attempt (none: not tried "
            "yet) and status",
            ["channel", "status"],
            registry=self.registry,
        )
        self.receipts = Gauge(
            "codeliver_message_receipts",
            "Texts and email by GOV.UK Notify's latest delivery receipt",
            ["channel", "delivery_status"],
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
                rows = (
                    await conn.execute(text("SELECT * FROM codeliver_outbox_channel_counts()"))
                ).all()
                ages = (
                    await conn.execute(text("SELECT * FROM codeliver_coverage_snapshot_ages()"))
                ).one()
        except (SQLAlchemyError, OSError, TimeoutError):
            return
        counts: dict[str, int] = {}
        by_channel: dict[tuple[str, str], int] = {}
        receipts: dict[tuple[str, str], int] = {}
        for channel, status, delivery, n in rows:
            counts[status] = counts.get(status, 0) + n
            by_channel[channel, status] = by_channel.get((channel, status), 0) + n
            if delivery != "none":
                receipts[channel, delivery] = receipts.get((channel, delivery), 0) + n
        for status in ("pending", "held", "sent", "dead"):
            self.outbox.labels(status=status).set(counts.get(status, 0))
        self.messages.clear()  # a label set gone from the outbox is gone from the scrape
        for (channel, status), n in by_channel.items():
            self.messages.labels(channel=channel, status=status).set(n)
        self.receipts.clear()
        for (channel, delivery), n in receipts.items():
            self.receipts.labels(channel=channel, delivery_status=delivery).set(n)
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
