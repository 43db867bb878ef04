from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from app.worker import ALIVE_WITHIN_S, Job, Worker, is_alive

pytestmark = pytest.mark.anyio


async def test_jobs_repeat_survive_failures_and_stop_cleanly() -> None:
    calls: list[str] = []
    enough = asyncio.Event()

    def called(name: str) -> None:
        calls.append(name)
        if min(calls.count("steady"), calls.count("flaky")) >= 3:
            enough.set()

    async def steady(engine: Any) -> None:
        called("steady")

    async def flaky(engine: Any) -> None:
        called("flaky")
        raise RuntimeError("one bad run")

    worker = Worker(
        engine=None,
        jobs=[
            Job("steady", 0.01, steady),  # type: ignore[arg-type]
            Job("flaky", 0.01, flaky),
        ],
    )
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(enough.wait(), timeout=10)
    worker.stop()
    await asyncio.wait_for(task, timeout=2)
    assert calls.count("steady") >= 3
    assert calls.count("flaky") >= 3  # a failing run does not end the job
    assert worker.runs["steady"] >= 3
    assert worker.runs["flaky"] == 0


async def test_stop_does_not_wait_for_a_long_interval() -> None:
    async def hourly(engine: Any) -> None:
        return None

    worker = Worker(engine=None, jobs=[Job("hourly", 3600, hourly)])  # type: ignore[arg-type]
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.05)
    worker.stop()
    await asyncio.wait_for(task, timeout=1)
    assert worker.runs["hourly"] == 1


async def test_a_running_worker_beats_and_a_stale_heartbeat_is_not_alive(tmp_path: Path) -> None:
    beat = tmp_path / "state" / "worker.alive"
    assert not is_alive(beat)  # never started

    async def idle(engine: Any) -> None:
        return None

    worker = Worker(engine=None, jobs=[Job("idle", 3600, idle)], heartbeat=beat)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        if beat.exists():
            break
        await asyncio.sleep(0.01)
    worker.stop()
    await asyncio.wait_for(task, timeout=1)
    assert is_alive(beat)
    touched = beat.stat().st_mtime
    assert not is_alive(beat, now=touched + ALIVE_WITHIN_S + 1)  # hung: the probe fails
    os.utime(beat, (touched - ALIVE_WITHIN_S - 1, touched - ALIVE_WITHIN_S - 1))
    assert not is_alive(beat)
