"""The console in Welsh, over HTTP as a browser would: the browser's language or the
switch's choice (kept in a cookie, back to the same page, never to another site), every
page a caseworker uses wholly in Welsh (none of the catalogue's English left in its text),
form errors in Welsh, and English as before."""

from __future__ import annotations

import html
import re
from uuid import uuid4

import httpx
import pytest
from babel.messages.pofile import read_po
from litestar import Litestar

from app.console import i18n
from tests.e2e.console_support import csrf_of, need_form, sign_in, town
from tests.support import World

pytestmark = pytest.mark.anyio

WELSH = {"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"}


def _english_words() -> set[str]:
    """The catalogue's English messages whose Welsh differs (of one with values or markup,
    its longest fixed part): none may be left on a Welsh page."""
    with (i18n.CATALOGUES / "cy" / "LC_MESSAGES" / "console.po").open("rb") as po:
        catalogue = read_po(po)
    words = set()
    for m in catalogue:
        if not (isinstance(m.id, str) and m.id and m.string and m.string != m.id):
            continue
        # a message with values: its longest run of words between them
        fragment = max(re.split(r"%\(\w+\)s|<[^>]+>", m.id), key=len).strip()
        if len(fragment) >= (8 if fragment == m.id else 14) and fragment not in m.string:
            words.add(fragment)
    return words


def _text(page: str) -> str:
    """What a reader sees (and what a screen reader reads of the markup's labels), but for
    text marked as English (`lang="en"`: the API's own words quoted, such as an import row's
    reason), which is read as English and is not the page's to translate."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    body = re.sub(r'<(span|code)\b[^>]*\blang="en"[^>]*>.*?</\1>', " ", body, flags=re.S)
    labels = " ".join(re.findall(r'aria-label="([^"]*)"', body))
    words = re.sub(r"<[^>]+>", " ", body) + " " + labels
    return " ".join(html.unescape(words).split())


def _wholly_welsh(page: httpx.Response, english: set[str]) -> None:
    assert page.status_code == 200, page.text[:300]
    assert '<html lang="cy"' in page.text
    assert page.headers["content-language"] == "cy"
    seen = _text(page.text)
    left = sorted(w for w in english if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", seen))
    assert not left, f"English on a Welsh page {page.url}: {left[:8]}"


async def test_the_browsers_language_or_the_switch_chooses_and_english_stays(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/console/sign-in", headers=WELSH)
    assert '<html lang="cy"' in page.text
    assert "Mewngofnodi i Codeliver" in page.text
    assert 'href="/console/language/en?back=/console/sign-in" lang="en" hreflang="en"' in page.text
    english = await client.get("/console/sign-in")
    assert '<html lang="en"' in english.text
    assert "Sign in to Codeliver" in english.text
    assert english.headers["content-language"] == "en"

    switched = await client.get("/console/language/cy", params={"back": "/console/sign-in"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/console/sign-in"
    cookie = switched.headers["set-cookie"]
    for part in ("codeliver_lang=cy", "Path=/console", "HttpOnly", "SameSite=lax"):
        assert part in cookie
    chosen = await client.get("/console/sign-in", headers={"Accept-Language": "en"})
    assert "Mewngofnodi i Codeliver" in chosen.text  # the choice beats the browser's

    for back in ("https://evil.example/", "//evil.example/console", "/console\\@evil", "/api"):
        answer = await client.get("/console/language/en", params={"back": back})
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/needs")
    unknown = await client.get("/console/language/fr")
    assert unknown.status_code == 404


async def test_every_page_a_caseworker_uses_is_wholly_welsh(
    world: World, app: Litestar, client: httpx.AsyncClient
) -> None:
    english = _english_words()
    assert len(english) > 80
    t = await town(world)
    client.cookies.set(i18n.COOKIE, "cy", path="/console")
    _wholly_welsh(await client.get("/console/sign-in"), english)
    assert (await sign_in(client, t.token)).status_code == 303
    pages = [
        "/console/needs",
        "/console/needs?status=open",
        "/console/needs/new",
        f"/console/needs/{t.need}",
        f"/console/needs/{t.need}/cancel",
        f"/console/needs/{t.need}/outcome",
        "/console/clients",
        "/console/clients/new",
        f"/console/clients/{t.client}",
        f"/console/clients/{t.client}/change",
        f"/console/clients/{t.client}/erase",
        f"/console/clients/{t.client}/export",
        "/console/reports",
    ]
    for path in pages:
        _wholly_welsh(await client.get(path), english)
    missing = await client.get(f"/console/needs/{uuid4()}")
    assert missing.status_code == 404
    assert "Heb ddod o hyd i'r dudalen" in html.unescape(missing.text)


async def test_form_errors_are_in_welsh_and_nothing_is_written(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    client.cookies.set(i18n.COOKIE, "cy", path="/console")
    assert (await sign_in(client, t.token)).status_code == 303
    form = await client.get("/console/needs/new")
    before = await world.count("needs")
    data = need_form(t.programme, t.client, title="", urgency="") | {
        "_csrf_token": csrf_of(form.text)
    }
    answer = await client.post("/console/needs/new", data=data)
    assert answer.status_code == 422
    assert "Mae problem" in answer.text
    assert "Enter a title" not in answer.text
    assert "Select how urgent it is" not in answer.text
    assert await world.count("needs") == before
