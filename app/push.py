"""Push delivery as the worker runs it: the transport chosen from settings, and the
dispatcher as a worker job. Composition only; the rules are notifications.dispatcher's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import clock_of
from app.settings import Settings, SettingsError
from notifications.dispatcher import Dispatcher, Policy
from notifications.fcm import (
    FcmTransport,
    LogTransport,
    Transport,
    point_messaging_at,
    static_token,
)


def transport_for(settings: Settings) -> Transport:
    """FCM when a Firebase project is configured (or asked for), else the log transport."""
    choice = settings.push_transport
    if choice == "auto":
        choice = "fcm" if settings.firebase_project_id else "log"
    if choice == "log":
        return LogTransport()
    if not settings.firebase_project_id:
        raise SettingsError("CODELIVER_FIREBASE_PROJECT_ID is required for FCM push")
    if settings.fcm_endpoint:
        point_messaging_at(settings.fcm_endpoint)
    token = settings.fcm_access_token
    return FcmTransport(
        settings.firebase_project_id,
        settings.firebase_credentials,
        credential=static_token(token) if token else None,
        threaded=settings.push_send == "threaded",
    )


class PushJob:
    """The dispatcher as a worker job: its transport lives on the worker's event loop (the
    SDK's async client binds to it) and closes with the worker. Each run drains what is
    due, batch by batch."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dispatcher: Dispatcher | None = None

    async def __call__(self, engine: AsyncEngine) -> int:
        if self.dispatcher is None:
            policy = Policy(
                lease=timedelta(seconds=self.settings.push_lease_s),
                max_attempts=self.settings.push_max_attempts,
            )
            clock = clock_of(engine)  # read once per lease and per delivery
            transport = transport_for(self.settings)
            self.dispatcher = Dispatcher(engine, transport, policy, clock=clock.now)
        leased = 0
        while (stats := await self.dispatcher.run_once()).leased:
            leased += stats.leased
        return leased

    async def close(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.transport.close()
