"""What the Notify end-to-end tests share: the fake Notify, the dispatcher sending to it by
the official client, the callbacks' token, and verified phones."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

import httpx
import msgspec
import pytest
from sqlalchemy import insert

from app.clock import WALL
from app.db.tables import contact_channels
from app.notify.facts import personalise
from app.settings import Settings
from notifications.dispatcher import Dispatcher
from notifications.fcm import LogTransport
from notifications.notify import NotifyTransport
from notifications.ratelimit import SharedLimit
from tests import fake_notify
from tests.fake_notify import FakeNotify, Server
from tests.support import World

TOKEN = "notify-callback-token-for-tests"
CONSOLE = "https://codeliver.example.gov.uk"  # CODELIVER_PUBLIC_URL: the links staff get
CALLBACK = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with the token Notify's callbacks carry."""
    return msgspec.structs.replace(settings, notify_callback_token=TOKEN)


@pytest.fixture
def fake() -> Iterator[FakeNotify]:
    server = FakeNotify()
    with Server(server):
        yield server


@pytest.fixture
async def sender(fake: FakeNotify, world: World) -> AsyncIterator[Dispatcher]:
    """The dispatcher as the worker composes it, its texts to the fake Notify."""
    templates = dict(pair.split("=", 1) for pair in fake_notify.SETTINGS)
    texts = NotifyTransport(fake_notify.API_KEY, fake.base_url, templates)
    yield Dispatcher(
        world.owner,
        LogTransport(),
        clock=WALL.now,
        texts=texts,
        limit=SharedLimit(world.owner, "notify:test", 3000),
        personalise=partial(personalise, console=CONSOLE),
    )
    await texts.close()


async def verified_phone(world: World, user_id: UUID, phone: str, position: int = 0) -> None:
    async with world.owner.begin() as conn:
        await conn.execute(
            insert(contact_channels).values(
                user_id=user_id,
                channel="sms",
                address=phone,
                position=position,
                verified_at=datetime.now(UTC),
            )
        )


def texts_to(fake: FakeNotify, address: str) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.received
        if address in (m.get("phone_number"), m.get("email_address")) and m["_status"] == 201
    ]


async def text_in(
    client: httpx.AsyncClient, source: str, message: str, notify_id: str
) -> httpx.Response:
    """Notify's received-text callback."""
    body = {
        "id": notify_id,
        "source_number": source.lstrip("+"),  # as Notify names it: 447700900123
        "destination_number": "07700900000",
        "message": message,
        "date_received": datetime.now(UTC).isoformat(),
    }
    return await client.post("/v1/notify/callbacks/received-text", json=body, headers=CALLBACK)
