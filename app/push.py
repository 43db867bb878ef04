"""Push, text and email delivery as the worker runs it: the transports chosen from
settings, and the dispatcher as a worker job. Composition only; the rules are
notifications.dispatcher's and notifications.channels'."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import clock_of
from app.notify.facts import personalise
from app.settings import Settings, SettingsError
from notifications.backoff import Policy
from notifications.dispatcher import Dispatcher
from notifications.fcm import (
    FcmTransport,
    LogTransport,
    Transport,
    point_messaging_at,
    static_token,
)
from notifications.fcm_http2 import GOOGLE, Http2Transport
from notifications.notify import LogTexts, NotifyTransport, TextTransport
from notifications.ratelimit import SharedLimit


def transport_for(settings: Settings) -> Transport:
    """FCM when a Firebase project is configured (or asked for), else the log transport."""
    choice = settings.push_transport
    if choice == "auto":
        choice = "fcm" if settings.firebase_project_id else "log"
    if choice == "log":
        return LogTransport()
    if not settings.firebase_project_id:
        raise SettingsError("CODELIVER_FIREBASE_PROJECT_ID is required for FCM push")
    token = settings.fcm_access_token
    if settings.push_send == "http2":
        return Http2Transport(
            settings.firebase_project_id,
            google_credential(settings.firebase_credentials, token),
            endpoint=settings.fcm_endpoint or GOOGLE,
            streams=settings.fcm_streams,
            connections=settings.fcm_connections,
        )
    if settings.fcm_endpoint:
        point_messaging_at(settings.fcm_endpoint)
    return FcmTransport(
        settings.firebase_project_id,
        settings.firebase_credentials,
        credential=static_token(token) if token else None,
    )


def google_credential(credentials_file: Path | None, token: str | None) -> Any:
    """The google-auth credential firebase-admin would use: the fixed token for a proxy or
    the fake, the service account file, or application default credentials."""
    from firebase_admin import credentials

    if token:
        return static_token(token).get_credential()
    if credentials_file is not None:
        return credentials.Certificate(str(credentials_file)).get_credential()
    return credentials.ApplicationDefault().get_credential()


def texts_for(settings: Settings) -> TextTransport:
    """GOV.UK Notify when an API key is configured (or asked for), else the log transport."""
    choice = settings.notify_transport
    if choice == "auto":
        choice = "notify" if settings.notify_api_key else "log"
    if choice == "log" or not settings.notify_api_key:
        return LogTexts()
    return NotifyTransport(
        settings.notify_api_key, settings.notify_base_url, settings.notify_template_ids
    )


def text_limit(settings: Settings, engine: AsyncEngine) -> SharedLimit:
    """The bucket every worker sending with this key shares: named by the key's service id
    (the key's middle; never its secret), as Notify counts per key type and service."""
    key = settings.notify_api_key or ""
    return SharedLimit(engine, f"notify:{key[-73:-37] or 'log'}", settings.notify_rate_per_minute)


def push_limit(settings: Settings, engine: AsyncEngine) -> SharedLimit:
    """The bucket every worker pushing for this Firebase project shares: FCM's quota is per
    project."""
    project = settings.firebase_project_id or "log"
    return SharedLimit(engine, f"fcm:{project}", settings.fcm_rate_per_minute)


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
            self.dispatcher = Dispatcher(
                engine,
                transport,
                policy,
                clock=clock.now,
                texts=texts_for(self.settings),
                limit=text_limit(self.settings, engine),
                push_limit=push_limit(self.settings, engine),
                personalise=partial(personalise, console=self.settings.openapi_server),
            )
        leased = 0
        while (stats := await self.dispatcher.run_once()).leased:
            leased += stats.leased
        return leased

    async def close(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.transport.close()
            if self.dispatcher.texts is not None:
                await self.dispatcher.texts.close()
