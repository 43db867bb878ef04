"""A need's page, live: `WS /console/needs/{id}/live` carries the signed-in caseworker's own
events (the API's events channel, `notifications.stream`) that name this need, and the
heartbeats; the page's script (`web/src/console-live.js`) then reloads the page's summary
and timeline from the page itself. The events carry ids only; what the page shows is read
by the page, through its use cases, as on any load.

Who may listen is the page's rule: a current session cookie (path /console), sent by the
browser of this origin only (a cross-site page could otherwise open the socket with the
cookie: the Origin header must be ours), and a need this person may manage (`needs.get`
under row-level security, staff only). Anything else is closed at once with 4403 before any
frame, with nothing said about the need (a code of its own: the hub's 1008 for a client too
slow to keep up means "reconnect"). The page passes `since`, the id of the last event it
knew of when rendered (or received since): what it missed meanwhile is replayed, this
need's only."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

import msgspec
from litestar import WebSocket, websocket
from litestar.params import FromPath, QueryParameter

from app.console.session import SignInRequired, session_of
from app.db.tenancy import Db, tenant_transaction
from app.errors import CodeliverError
from app.needs import service as needs
from notifications.events import Event, Frame
from notifications.live import UNAVAILABLE, Closing, LiveHub, LiveUnavailable
from notifications.stream import stream

REFUSED = 4403  # closed at once: no session, another site, not this person's need
Since = Annotated[int | None, QueryParameter(ge=0)]  # the page's last event: replay after it
_frames = msgspec.json.Decoder(Frame)


def same_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    """The page that opens the socket is one of ours (browsers always send Origin): this
    host, or `CODELIVER_PUBLIC_URL`'s where a proxy in front rewrites the Host header."""
    origin = socket.headers.get("origin")
    public = socket.app.state.settings.public_url
    ours = {socket.headers.get("host"), urlsplit(public).netloc if public else None} - {None}
    return origin is not None and urlsplit(origin).netloc in ours


def about(frame: bytes, need_id: UUID) -> bool:
    """Whether the page passes this frame on: this need's events, and the heartbeats and
    `synced` (the page is listening) that every stream has."""
    decoded = _frames.decode(frame)
    return not isinstance(decoded, Event) or decoded.payload.get("need_id") == str(need_id)


@websocket("/needs/{need_id:uuid}/live")
async def need_live(
    socket: WebSocket[Any, Any, Any], db: Db, need_id: FromPath[UUID], since: Since = None
) -> None:
    try:
        if not same_origin(socket):
            raise SignInRequired()
        identity = await session_of(socket)
        async with tenant_transaction(db, identity) as tx:
            await needs.get(tx, need_id)  # another organisation's, or not staff: NotFound
            user_id = tx.principal.user_id
    except (SignInRequired, CodeliverError):
        await socket.accept()  # then closed at once: the page sees why and stops retrying
        await socket.close(REFUSED, "no live updates for this page")
        return
    hub: LiveHub = socket.app.state.live
    await socket.accept()

    async def send(frame: bytes) -> None:
        if about(frame, need_id):
            await socket.send_data(frame, mode="text")

    try:
        closing = await stream(
            hub,
            user_id,
            since,
            send,
            lambda: socket.receive_data(mode="text"),
            heartbeat_s=socket.app.state.settings.live_heartbeat_s,
        )
    except LiveUnavailable:
        closing = Closing(UNAVAILABLE, "live updates unavailable: try again later")
    if closing is not None:
        await socket.close(closing.code, closing.reason)
