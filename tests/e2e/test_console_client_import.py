"""The console's clients' import page over HTTP on the real PostGIS test database: who may
use it (who may record a client), a file of good, duplicate and bad rows checked (every
verdict with its line and column, no cell's value), applied, then the same file again
changing nothing; another organisation's imports never reachable; Welsh throughout."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import httpx
import pytest

from tests.e2e.console_support import csrf_of, sign_in
from tests.e2e.test_client_import import ADDRESS, MIXED, _clients, settings, setup  # noqa: F401
from tests.e2e.test_console_language import WELSH, _english_words, _wholly_welsh
from tests.support import World

pytestmark = pytest.mark.anyio
BASE = "/console/import/clients"
VERDICT = re.compile(r'data-line="(\d+)" data-verdict="(\w+)"')
IMPORT_ID = re.compile(r"/console/import/clients/([0-9a-f-]{36})/verdicts\.csv")


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


async def _upload(client: httpx.AsyncClient, org: object, content: bytes) -> httpx.Response:
    form = await client.get(f"{BASE}?org={org}")
    assert form.status_code == 200, form.text
    return await client.post(
        f"{BASE}?org={org}",
        data={"_csrf_token": csrf_of(form.text)},
        files={"file": ("clients.csv", content, "text/csv")},
    )


def _verdicts(page: str) -> dict[int, str]:
    return {int(line): verdict for line, verdict in VERDICT.findall(page)}


async def test_who_may_open_the_page_is_who_may_record_a_client(
    client: httpx.AsyncClient,
    setup: dict[str, Any],  # noqa: F811
) -> None:
    org_a = setup["org_a"]
    for who, status in (("caseworker", 200), ("coordinator", 200), ("volunteer", 403),
                        ("outsider", 404)):  # fmt: skip
        client.cookies.clear()
        await sign_in(client, _token(setup[who]))
        page = await client.get(f"{BASE}?org={org_a}")
        assert page.status_code == status, (who, page.text[:300])
        template = await client.get(f"{BASE}/template.csv?org={org_a}")
        assert template.status_code == status, who
    client.cookies.clear()
    await sign_in(client, _token(setup["caseworker"]))
    page = await client.get(BASE)
    assert f'href="{BASE}"' in page.text  # in the caseworker's menu
    assert 'href="/console/import"' not in page.text  # the volunteers' import is a manager's
    assert (await client.get("/console/import")).status_code == 403


async def test_a_caseworker_checks_and_imports_clients_and_the_same_file_changes_nothing(
    client: httpx.AsyncClient,
    setup: dict[str, Any],  # noqa: F811
    world: World,
) -> None:
    org_a, org_b = setup["org_a"], setup["org_b"]
    await sign_in(client, _token(setup["caseworker"]))
    form = await client.get(BASE)
    assert '<code lang="en">safeguarding_flags</code>' in form.text
    template = await client.get(f"{BASE}/template.csv?org={org_a}")
    assert template.text.startswith("external_id,name,phone")

    checked = await _upload(client, org_a, MIXED)
    assert checked.status_code == 200, checked.text
    page = html.unescape(checked.text)
    assert _verdicts(page) == {2: "created", 3: "created"} | {
        line: "refused" for line in range(4, 11)
    }
    assert "repeats line 2" in page
    assert "Secret Lane" not in page  # a cell's value is never echoed
    assert await _clients(world) == []
    found = IMPORT_ID.search(page)
    assert found, "no verdicts.csv link"
    import_id = found.group(1)
    verdicts = await client.get(f"{BASE}/{import_id}/verdicts.csv?org={org_a}")
    rows = list(csv.DictReader(io.StringIO(verdicts.text)))
    assert {int(r["line"]): r["verdict"] for r in rows} == _verdicts(page)
    assert "client_id" in rows[0]
    # Another organisation's caseworker cannot reach this import.
    other = httpx.AsyncClient(transport=client._transport, base_url=client.base_url)
    await sign_in(other, _token(setup["outsider"]))
    assert (await other.get(f"{BASE}/{import_id}/progress?org={org_a}")).status_code == 404
    assert (await other.get(f"{BASE}/{import_id}/progress?org={org_b}")).status_code == 404
    await other.aclose()

    applied = await client.post(
        f"{BASE}/{import_id}/apply?org={org_a}", data={"_csrf_token": csrf_of(page)}
    )
    assert applied.status_code == 200, applied.text
    assert "Clients imported" in applied.text
    created = await _clients(world)
    assert [(r[1], r[3]) for r in created] == [("C-1", ADDRESS), ("C-2", created[1][3])]
    progress = await client.get(f"{BASE}/{import_id}/progress?org={org_a}")
    assert progress.json()["status"] == "applied"
    again = await client.post(
        f"{BASE}/{import_id}/apply?org={org_a}", data={"_csrf_token": csrf_of(page)}
    )
    assert again.status_code == 409

    second = html.unescape((await _upload(client, org_a, MIXED)).text)
    assert 'id="nothing-to-do"' in second
    assert await _clients(world) == created

    english = _english_words()
    client.headers.update(WELSH)
    _wholly_welsh(await client.get(BASE), english)
    welsh = await _upload(client, org_a, MIXED)
    _wholly_welsh(welsh, english)
