"""WS /v1/events: the signed-in user's live events, the same ones that go out as push."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, WebSocket, websocket
from litestar.datastructures import State
from litestar.params import QueryParameter

from app.db.tenancy import Db, tenant_transaction
from app.identity.tokens import TokenIdentity
from notifications.live import UNAVAILABLE, Closing, LiveHub, LiveUnavailable
from notifications.stream import stream

Since = Annotated[
    int | None,
    QueryParameter(ge=0, description="The `id` of the last event received: replay what followed"),
]


class EventController(Controller):
    path = "/v1"
    tags = ["volunteer app"]

    @websocket("/events")
    async def events(
        self, socket: WebSocket[TokenIdentity, str, State], db: Db, since: Since = None
    ) -> None:
        """Authenticated by `Authorization: Bearer` or, from browsers, `?token=`; see README."""
        async with tenant_transaction(db, socket.user) as tx:
            user_id = tx.principal.user_id
        hub: LiveHub = socket.app.state.live
        settings = socket.app.state.settings
        await socket.accept()
        try:
            closing = await stream(
                hub,
                user_id,
                since,
                lambda frame: socket.send_data(frame, mode="text"),
                lambda: socket.receive_data(mode="text"),
                heartbeat_s=settings.live_heartbeat_s,
            )
        except LiveUnavailable:
            closing = Closing(UNAVAILABLE, "live events unavailable: try again later")
        if closing is not None:
            await socket.close(closing.code, closing.reason)
