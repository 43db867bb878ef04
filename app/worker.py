"""Background work: periodic jobs run by `codeliver worker`, or inside `codeliver serve`.

Jobs are row-driven (they read what is due from the database), so any number of workers
can run and a restart loses nothing. Every job is registered in `default_jobs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings

log = structlog.get_logger(__name__)

HEARTBEAT_S = 10.0  # how often a worker touches its heartbeat file
ALIVE_WITHIN_S = 60.0  # older than this, the worker is taken for hung (`--alive`)


@dataclass(frozen=True)
class Job:
    name: str
    every_s: float
    run: Callable[[AsyncEngine], Awaitable[object]]
    close: Callable[[], Awaitable[None]] | None = None


def default_jobs(settings: Settings | None = None) -> list[Job]:
    """The standing jobs; with settings, the push dispatcher too, and the demo's responders
    when they are on (development only)."""
    from app import idempotency
    from app.assignments import open_calls
    from app.needs import cascade
    from app.notify import digest
    from app.rights import retention
    from app.service_areas import alerts
    from app.volunteers import reminders, schedule

    push = [] if settings is None else [_push_job(settings)]
    demo = [_demo_job(settings)] if settings is not None and settings.demo_responders else []
    return [
        *push,
        *demo,
        Job("offer-cascade", 1, cascade.run_due),
        Job("release-stale-claims", 60, open_calls.release_stale),
        Job("forget-idempotency-keys", 3600, idempotency.forget_old),
        Job("end-lapsed-duty", 60, schedule.end_lapsed_duty),
        Job("staff-digests", 60, digest.send_due),
        Job("vetting-reminders", 3600, reminders.send_due),
        Job("roll-availability-forward", 6 * 3600, schedule.roll_spans_forward),
        Job("end-kept-records", 3600, retention.purge_expired),
        Job(
            "coverage-gap-alerts",
            60,
            partial(alerts.run_gap_alerts, k_min=(settings or Settings()).coverage_k_min),
        ),
        _snapshot_job(settings or Settings()),
        _facts_job(settings or Settings()),
    ]


def _snapshot_job(settings: Settings) -> Job:
    from app.coverage import supply

    every = timedelta(seconds=settings.coverage_refresh_s)
    return Job(
        "coverage-snapshots", settings.coverage_refresh_s, partial(supply.refresh_due, every=every)
    )


def _facts_job(settings: Settings) -> Job:
    from app.coverage import supply

    every = timedelta(seconds=settings.coverage_facts_rebuild_s)
    return Job(
        "coverage-volunteer-facts",
        settings.coverage_facts_refresh_s,
        partial(supply.refresh_facts, rebuild_every=every),
    )


def _demo_job(settings: Settings) -> Job:
    from app.simulation.demo import DemoResponders

    job = DemoResponders(settings)
    return Job("demo-responders", job.every_s, job, close=job.close)


def _push_job(settings: Settings) -> Job:
    from app.push import PushJob

    push = PushJob(settings)
    return Job("push-dispatcher", settings.push_poll_s, push, close=push.close)


class Worker:
    def __init__(
        self,
        engine: AsyncEngine,
        jobs: list[Job] | None = None,
        settings: Settings | None = None,
        heartbeat: Path | None = None,
    ) -> None:
        """`engine` logs in as the system (the owner or a BYPASSRLS role): jobs work across
        organisations, which row-level security would otherwise hide. `heartbeat` is a file
        touched every `HEARTBEAT_S` while the worker's loop runs (a liveness probe reads it
        with `codeliver worker --alive`)."""
        self.engine = engine
        self.heartbeat = heartbeat
        self.jobs = default_jobs(settings) if jobs is None else jobs
        self.stopping = asyncio.Event()
        self.runs: dict[str, int] = {job.name: 0 for job in self.jobs}

    async def _loop(self, job: Job) -> None:
        while not self.stopping.is_set():
            try:
                await job.run(self.engine)
                self.runs[job.name] += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # one failing run must not stop the job or the others
                log.exception("job failed", job=job.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=job.every_s)

    async def run(self) -> None:
        log.info("worker started", jobs=[job.name for job in self.jobs])
        async with asyncio.TaskGroup() as group:
            for job in self.jobs:
                group.create_task(self._loop(job), name=f"job:{job.name}")
            group.create_task(self.stopping.wait())
            if self.heartbeat is not None:
                group.create_task(self._beat(self.heartbeat), name="heartbeat")
        for job in self.jobs:
            if job.close is not None:
                await job.close()
        log.info("worker stopped")

    async def _beat(self, path: Path) -> None:
        while not self.stopping.is_set():
            await asyncio.to_thread(_touch, path)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=HEARTBEAT_S)

    def stop(self) -> None:
        self.stopping.set()


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def is_alive(heartbeat: Path, now: float | None = None) -> bool:
    """The worker touched its heartbeat within `ALIVE_WITHIN_S`."""
    try:
        touched = heartbeat.stat().st_mtime
    except FileNotFoundError:
        return False
    return (time.time() if now is None else now) - touched < ALIVE_WITHIN_S
