"""Accepts through the gate: the losers of a filled need answered from memory, with no
connection; never another volunteer's offer; the database asked again once the memory
lapses; a bounded wait at the gate, then a 503 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import event, text

from app.factory import create_app
from app.offers.admission import AcceptAdmission
from app.settings import Settings
from tests.e2e.race_support import make_crowd, need_offered_to_all
from tests.support import Db, World, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
async def crowd(world: World) -> dict[str, Any]:
    return await make_crowd(world, 4)


def gate_of(app: Litestar) -> AcceptAdmission:
    gate: AcceptAdmission = app.state.accept_admission
    return gate


@contextmanager
def statements(app: Litestar) -> Iterator[list[str]]:
    """The statements the app's own login sends meanwhile."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def accept(client: httpx.AsyncClient, world: World, who: str, offer: UUID) -> httpx.Response:
    return await client.post(f"/v1/offers/{offer}/accept", headers=world.headers(who))


async def test_the_losers_of_a_filled_need_are_answered_without_the_database(
    app: Litestar, client: httpx.AsyncClient, world: World, crowd: dict[str, Any]
) -> None:
    offers = await need_offered_to_all(world, crowd, slots=1)
    alice, bob, carol, _ = crowd["subjects"]
    assert (await accept(client, world, alice, offers[0])).status_code == 200
    assert set(gate_of(app).losers) == set(offers[1:])  # learnt once the need was full
    with statements(app) as sent:
        lost = await accept(client, world, bob, offers[1])
    assert lost.status_code == 409
    assert lost.json()["type"].endswith("/need-filled")
    assert sent == []  # no connection, no statement
    # Someone else's offer id is never answered from memory: the database says 404.
    with statements(app) as sent:
        assert (await accept(client, world, carol, offers[3])).status_code == 404
    assert sent


async def test_once_the_memory_lapses_the_database_answers_again(
    app: Litestar, client: httpx.AsyncClient, world: World, crowd: dict[str, Any]
) -> None:
    offers = await need_offered_to_all(world, crowd, slots=1)
    alice, bob, *_ = crowd["subjects"]
    assert (await accept(client, world, alice, offers[0])).status_code == 200
    # A slot freed meanwhile (as a withdrawal would), and the memory lapsed: bob gets it.
    async with world.owner.begin() as conn:
        await conn.execute(text("UPDATE needs SET slots = 2, status = 'open'"))
    for loser in gate_of(app).losers.values():
        object.__setattr__(loser, "until", 0.0)
    with statements(app) as sent:
        assert (await accept(client, world, bob, offers[1])).status_code == 200
    assert sent
    assert await world.count("assignments") == 2


async def test_a_shut_gate_is_a_503_with_retry_after_not_a_hang(
    settings: Settings, db: Db, world: World, crowd: dict[str, Any]
) -> None:
    narrow = msgspec.structs.replace(settings, accept_slots=1, accept_wait_s=0.2)
    app = create_app(narrow, database_url=db.app_url, system_database_url=db.owner_url)
    offers = await need_offered_to_all(world, crowd, slots=1)
    async with serving(app) as c:
        await gate_of(app).gate.acquire()  # another accept holds the only place
        r = await accept(c, world, crowd["subjects"][0], offers[0])
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5"
        gate_of(app).gate.release()
        assert (await accept(c, world, crowd["subjects"][0], offers[0])).status_code == 200
