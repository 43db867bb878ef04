"""The console's import page over HTTP on the real PostGIS test database: a file of good,
duplicate and bad rows checked (every verdict with its line, nothing written), applied
through the API's own use case, then the same file again changing nothing; a wrong or
empty file refused on its field; a caseworker refused; another organisation's imports
never reachable, and rows landing only in the coordinator's own organisation."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.console_support import csrf_of, sign_in
from tests.e2e.test_console_language import WELSH, _english_words, _wholly_welsh
from tests.e2e.test_volunteer_import import MIXED, _state, csv_of, row, setup  # noqa: F401
from tests.support import World

pytestmark = pytest.mark.anyio
VERDICT = re.compile(r'data-line="(\d+)" data-verdict="(\w+)"')
COUNT = re.compile(
    r'data-verdict="(\w+)">\s*<dt[^>]*>[^<]*</dt>\s*<dd class="govuk-summary-list__value">(\d+)'
)
IMPORT_ID = re.compile(r"/console/import/([0-9a-f-]{36})/verdicts\.csv")


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


async def _form(client: httpx.AsyncClient, org: object) -> str:
    page = await client.get(f"/console/import?org={org}")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def _upload(
    client: httpx.AsyncClient, org: object, content: bytes, name: str = "volunteers.csv"
) -> httpx.Response:
    token = await _form(client, org)
    return await client.post(
        f"/console/import?org={org}",
        data={"_csrf_token": token},
        files={"file": (name, content, "text/csv")},
    )


def _verdicts(page: str) -> dict[int, str]:
    return {int(line): verdict for line, verdict in VERDICT.findall(page)}


def _counts(page: str) -> dict[str, int]:
    return {verdict: int(n) for verdict, n in COUNT.findall(page)}


async def _imports(world: World) -> list[tuple[str, str]]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text("SELECT org_id::text, status FROM volunteer_imports ORDER BY created_at")
        )
        return [(r.org_id, r.status) for r in rows]


async def _members_of(world: World, org: object) -> int:
    async with world.owner.connect() as conn:
        found = await conn.scalar(
            text("SELECT count(*) FROM memberships WHERE org_id = :o AND role = 'volunteer'"),
            {"o": org},
        )
    return int(found or 0)


async def test_a_file_is_checked_row_by_row_applied_and_the_same_file_changes_nothing(
    client: httpx.AsyncClient,
    setup: dict[str, Any],  # noqa: F811
    world: World,
) -> None:
    org_a, org_b = setup["org_a"], setup["org_b"]
    await sign_in(client, _token(setup["coordinator"]))
    form = await client.get("/console/import")
    assert form.status_code == 200
    assert 'href="/console/import"' in form.text  # in the menu
    assert 'aria-current="page"' in form.text
    assert '<code lang="en">dbs_checked_on</code>' in form.text
    template = await client.get(f"/console/import/template.csv?org={org_a}")
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert template.text.startswith("email,external_id,display_name")

    before = await _state(world)
    b_before = await _members_of(world, org_b)
    checked = await _upload(client, org_a, MIXED, "mixed.csv")
    assert checked.status_code == 200, checked.text
    page = html.unescape(checked.text)
    assert _counts(page) == {"created": 2, "updated": 1, "unchanged": 0, "refused": 6}
    assert _verdicts(page) == {
        2: "created",
        3: "created",
        4: "refused",
        5: "refused",
        6: "refused",
        7: "updated",
        8: "refused",
        9: "refused",
        10: "refused",
    }
    assert "repeats line 2" in page
    assert "unknown skill 'juggling'" in page
    assert "Nothing has been written yet" in page
    assert await _state(world) == before  # a dry run writes nothing but itself
    found = IMPORT_ID.search(page)
    assert found, "no verdicts.csv link"
    import_id = found.group(1)

    verdicts = await client.get(f"/console/import/{import_id}/verdicts.csv?org={org_a}")
    assert verdicts.status_code == 200
    assert 'filename="verdicts.csv"' in verdicts.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(verdicts.text)))
    assert {int(r["line"]): r["verdict"] for r in rows} == _verdicts(page)
    assert next(r for r in rows if r["line"] == "4")["errors"] == "email: repeats line 2"
    progress = await client.get(f"/console/import/{import_id}/progress?org={org_a}")
    assert progress.json()["status"] == "dry_run"

    applied = await client.post(
        f"/console/import/{import_id}/apply?org={org_a}", data={"_csrf_token": csrf_of(page)}
    )
    assert applied.status_code == 200, applied.text
    assert "Volunteers imported" in applied.text
    assert _counts(applied.text) == {"created": 2, "updated": 1, "unchanged": 0, "refused": 6}
    people, members, checks, _ = await _state(world)
    assert (people, members, checks) == (before[0] + 2, before[1] + 2, before[2] + 2)
    assert await _members_of(world, org_b) == b_before  # the coordinator's own only
    progress = await client.get(f"/console/import/{import_id}/progress?org={org_a}")
    assert progress.json()["status"] == "applied"
    assert progress.json()["applied_rows"] == 9

    # Applied once: a second apply is refused on the page, nothing written.
    again = await client.post(
        f"/console/import/{import_id}/apply?org={org_a}", data={"_csrf_token": csrf_of(page)}
    )
    assert again.status_code == 409
    assert "already imported" in html.unescape(again.text)
    assert 'id="file-error"' in again.text
    gone = await client.get(f"/console/import/{import_id}/verdicts.csv?org={org_a}")
    assert gone.status_code == 409  # the file is dropped once applied

    # The same file again: every good row unchanged, and applying it changes nothing.
    after = await _state(world)
    second = await _upload(client, org_a, MIXED, "mixed.csv")
    assert second.status_code == 200
    assert _counts(second.text) == {"created": 0, "updated": 0, "unchanged": 3, "refused": 6}
    assert 'id="apply-form"' not in second.text
    assert 'id="nothing-to-do"' in second.text
    second_id = IMPORT_ID.search(second.text)
    assert second_id
    reapplied = await client.post(
        f"/console/import/{second_id.group(1)}/apply?org={org_a}",
        data={"_csrf_token": csrf_of(second.text)},
    )
    assert reapplied.status_code == 200
    assert _counts(reapplied.text)["unchanged"] == 3
    assert await _state(world) == after


async def test_a_wrong_or_empty_file_is_an_error_on_the_file_field_and_writes_nothing(
    client: httpx.AsyncClient,
    setup: dict[str, Any],  # noqa: F811
    world: World,
) -> None:
    org_a = setup["org_a"]
    await sign_in(client, _token(setup["coordinator"]))
    header_only = ",".join(n for n in ("email", "display_name", "home_lat")).encode() + b"\n"
    cases = [
        (b"PK\x03\x04\x14\x00\x06\x00rest of a zip", "book.xlsx", 422, "spreadsheet (XLSX)"),
        (b"%PDF-1.7\n\x00\x01\x02", "scan.pdf", 422, "must be a CSV file"),
        (b"", "empty.csv", 422, "The selected file is empty"),
        (b"\xff\xfee\x00m\x00", "utf16.csv", 422, "must be a CSV file"),
        (b"caf\xe9,x\n", "latin1.csv", 422, "saved as CSV (UTF-8)"),
        (header_only, "short.csv", 422, "must name the column home_lon"),
        (b"email,shoe_size\n", "odd.csv", 422, "not in the list: shoe_size"),
    ]
    for content, name, status, words in cases:
        answer = await _upload(client, org_a, content, name)
        assert answer.status_code == status, (name, answer.text[:300])
        page = html.unescape(answer.text)
        assert "govuk-error-summary" in page, name
        assert 'href="#file"' in page, name
        assert 'id="file-error"' in page, name
        assert words in page, (name, page[page.find("file-error") :][:300])
        assert (await client.get(f"/console/import?org={org_a}")).status_code == 200
    token = await _form(client, org_a)
    nothing = await client.post(f"/console/import?org={org_a}", data={"_csrf_token": token})
    assert nothing.status_code == 422
    assert "Select a CSV file" in nothing.text
    assert await _imports(world) == []  # no dry run kept for any of them


async def test_a_caseworker_is_refused_and_another_organisations_imports_are_unreachable(
    client: httpx.AsyncClient,
    setup: dict[str, Any],  # noqa: F811
    world: World,
) -> None:
    org_a, org_b = setup["org_a"], setup["org_b"]
    one = csv_of(row(email="zed@example.org"))
    # Org B's coordinator keeps a dry run.
    await sign_in(client, _token(setup["outsider"]))
    theirs = await _upload(client, org_b, one)
    assert theirs.status_code == 200
    found = IMPORT_ID.search(theirs.text)
    assert found
    their_id = found.group(1)
    client.cookies.clear()

    await sign_in(client, _token(setup["caseworker"]))
    refused = await client.get("/console/import")
    assert refused.status_code == 403
    assert 'href="/console/import"' not in refused.text
    assert (await client.get(f"/console/import/template.csv?org={org_a}")).status_code == 403
    client.cookies.clear()

    await sign_in(client, _token(setup["coordinator"]))
    token = await _form(client, org_a)
    for path in (
        f"/console/import?org={org_b}",
        f"/console/import/template.csv?org={org_b}",
        f"/console/import/{their_id}/verdicts.csv?org={org_b}",
        f"/console/import/{their_id}/progress?org={org_b}",
        f"/console/import/{their_id}/verdicts.csv?org={org_a}",
        f"/console/import/{their_id}/progress?org={org_a}",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "zed@example.org" not in answer.text
    for path in (
        f"/console/import/{their_id}/apply?org={org_b}",
        f"/console/import/{their_id}/apply?org={org_a}",
    ):
        answer = await client.post(path, data={"_csrf_token": token})
        assert answer.status_code == 404, path
    upload_there = await client.post(
        f"/console/import?org={org_b}",
        data={"_csrf_token": token},
        files={"file": ("one.csv", one, "text/csv")},
    )
    assert upload_there.status_code == 404
    assert await _imports(world) == [(str(org_b), "dry_run")]  # theirs, untouched
    assert await _members_of(world, org_b) == 0


async def test_the_import_pages_are_wholly_welsh(
    client: httpx.AsyncClient,
    setup: dict[str, Any],  # noqa: F811
) -> None:
    english = _english_words()
    await sign_in(client, _token(setup["coordinator"]))
    client.headers.update(WELSH)
    _wholly_welsh(await client.get("/console/import"), english)
    checked = await _upload(client, setup["org_a"], MIXED)
    _wholly_welsh(checked, english)
    error = await _upload(client, setup["org_a"], b"")
    assert error.status_code == 422
    assert "Mae'r ffeil a ddewiswyd yn wag" in html.unescape(error.text)
    language = {"content-language": error.headers["content-language"]}
    shown = httpx.Response(200, headers=language, text=error.text, request=error.request)
    _wholly_welsh(shown, english)  # its error too
