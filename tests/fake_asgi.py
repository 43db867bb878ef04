"""What the tests' fake servers (FCM, Firebase Auth) share: plain ASGI plumbing."""

from __future__ import annotations

from typing import Any


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> bool:
    """Answer uvicorn's lifespan protocol; True when `scope` was that (nothing else to do)."""
    if scope["type"] != "lifespan":
        return False
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})
    return True


async def body(receive: Any) -> bytes:
    """The whole request body."""
    chunks = b""
    while True:
        event = await receive()
        chunks += event.get("body", b"")
        if not event.get("more_body"):
            return chunks
