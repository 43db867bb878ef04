"""The OpenAPI document as the server serves it, without a database: for the document's own
tests and for the tools that read it (Spectral, openapi-typescript, openapi-python-client)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.factory import create_app
from app.settings import Environment, Settings
from tests.conftest import ROOT

NODE_BIN = ROOT / "web" / "node_modules" / ".bin"


def served_document(state_dir: Path) -> dict[str, Any]:
    settings = Settings(
        env=Environment.TEST, state_dir=state_dir, rate_limit_per_minute=0, log_level="WARNING"
    )
    # Never connected to: the document needs no database (no lifespan runs).
    app = create_app(settings, database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none")

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/schema/openapi.json")

    response = asyncio.run(fetch())
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def tool(path: Path) -> Path:
    """The tool, or a skip with the reason, except under CI, where a missing tool fails."""
    if path.exists():
        return path
    message = f"{path} is missing: `make test` installs it (npm ci in web/, requirements.lock)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
