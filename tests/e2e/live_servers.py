"""Real API processes for live-event tests: the app under uvicorn on 127.0.0.1 (a websocket
needs a real server), and a websocket client that reads frames as JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from litestar import Litestar
from websockets.asyncio.client import ClientConnection, connect

from app.factory import create_app
from app.settings import Settings
from tests.support import Db


@asynccontextmanager
async def api_replica(settings: Settings, db: Db) -> AsyncIterator[str]:
    """One more API process on the same database; yields its ws:// base URL."""
    app: Litestar = create_app(settings, database_url=db.app_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    await app.state.live.listening.wait()
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def events_socket(
    base: str, headers: dict[str, str], query: str = ""
) -> AsyncIterator[ClientConnection]:
    async with connect(f"{base}/v1/events{query}", additional_headers=headers) as ws:
        yield ws


async def frame(ws: ClientConnection, wait_s: float = 10) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
        if data["type"] != "heartbeat":
            return data


async def synced(ws: ClientConnection) -> dict[str, Any]:
    first = await frame(ws)
    assert first["type"] == "synced", first
    return first
