"""Shared by the console's tests: two organisations with a caseworker each, a programme, a
client and needs; signing in over HTTP (the form and its CSRF token) as a browser would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from playwright.async_api import Page

from app.console.forms import CONSOLE_TZ
from tests.scenario import NOW, Scenario
from tests.support import World

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Town:
    org: UUID
    programme: UUID
    client: UUID
    need: UUID  # one of the caseworker's organisation's needs
    other_need: UUID  # another organisation's
    token: str  # the caseworker's development token (what `codeliver token` hands out)


async def town(world: World, needs: int = 1) -> Town:
    org = await world.org("reading-council")
    other = await world.org("berkshire-nhs")
    headers = await world.person("case", org="reading-council", role="caseworker")
    await world.person("other-case", org="berkshire-nhs", role="caseworker")
    s = Scenario(world)
    programme = await s.programme(org, "Errands")
    client = await s.client(org)
    made = [await s.need(org, programme, client, title=f"Shopping run {n}") for n in range(needs)]
    other_programme = await s.programme(other, "Hospital lifts")
    secret = await s.need(other, other_programme, await s.client(other), title="Secret lift")
    return Town(org, programme, client, made[0], secret, headers["Authorization"].split()[1])


def csrf_of(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/console/sign-in")
    assert form.status_code == 200
    return await client.post(
        "/console/sign-in", data={"id_token": token, "_csrf_token": csrf_of(form.text)}
    )


async def signed_in_browser(page: Page, url: str, token: str) -> None:
    """The console's sign-in form in a real browser, with a development token."""
    await page.goto(f"{url}/console/sign-in")
    await page.wait_for_selector("#session-form")
    await page.fill("#id_token", token)
    await page.click("#session-form button[type=submit]")
    await page.wait_for_selector("#sign-out")


def need_form(programme_id: UUID, client_id: UUID, **changes: Any) -> dict[str, Any]:
    """A valid one-off need two days ahead at 10:30, UK time, as the form posts it."""
    day = (NOW + timedelta(days=2)).astimezone(CONSOLE_TZ)
    form: dict[str, Any] = {
        "programme": str(programme_id),
        "client": str(client_id),
        "title": "Collect a prescription from Boots, Broad Street",
        "day": str(day.day),
        "month": str(day.month),
        "year": str(day.year),
        "time": "10:30",
        "mode": "in_person",
        "visits": "1",
        "duration": "45",
        "slots": "1",
        "urgency": "normal",
        "notes": "Ring the bell twice.",
    }
    return form | changes
