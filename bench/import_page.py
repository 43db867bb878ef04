"""Importing volunteers through the console's page, beside the command line and a raw COPY
of the same rows.

    .venv/bin/python -m bench.import_page [--rows 50000]

In one run, on a fresh database of the scratch cluster (.state/bench-pg), each path into
an organisation of its own (so each creates every row):
  copy        the same people, memberships, profiles and checks COPYed in by the owner (no
              validation, no row-level security, no matching): the floor
  command     `codeliver import volunteers FILE --org --as`, in its own process
  page check  the page's upload (`POST /console/import`, multipart, as a signed-in
              coordinator's browser sends it, CSRF token and all): the dry run, kept, and
              its page (the first 1,000 rows' verdicts)
  page apply  the page's "Import these rows" (`POST /console/import/{id}/apply`): the
              batches, and the result page
  page        the two together: what the coordinator waits for
  page again  the same file through the page once more (check, then apply): all unchanged
Through `codeliver serve` (uvicorn) in its own process, with an httpx client; times are
wall clock (the command's include Python's start).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.seed import ensure_member
from bench.common import ROOT, fresh_database, served, start_cluster, token
from bench.volunteer_import import as_csv, cli, people, raw_copy, report
from bench.volunteer_import import setup as setup_command

DATABASE = "bench_import_page"
COORDINATOR = "bench-page-coordinator"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
IMPORT_ID = re.compile(r"/console/import/([0-9a-f-]{36})/verdicts\.csv")
COUNTS = re.compile(r'data-verdict="(\w+)">\s*<dt[^>]*>[^<]*</dt>\s*<dd[^>]*>(\d+)')
LONG = httpx.Timeout(600)


async def setup_page(owner_url: str) -> str:
    """The page's organisation and its coordinator; its id."""
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO organisations (slug, name, kind) "
                    "VALUES ('bench-c', 'bench-c', 'council') ON CONFLICT DO NOTHING"
                )
            )
            await ensure_member(
                conn, COORDINATOR, "Bench Page Coordinator", "bench-c", "coordinator"
            )
            found = await conn.scalar(text("SELECT id FROM organisations WHERE slug = 'bench-c'"))
    finally:
        await engine.dispose()
    return str(found)


def _csrf(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, f"no CSRF field ({page.status_code})"
    return found.group(1)


def _counts(page: httpx.Response) -> str:
    return " ".join(f"{k} {v}" for k, v in COUNTS.findall(page.text))


async def sign_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/console/sign-in")
    data = {"id_token": token(COORDINATOR), "_csrf_token": _csrf(form)}
    answer = await client.post("/console/sign-in", data=data)
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])


async def through_page(
    client: httpx.AsyncClient, org: str, content: bytes
) -> tuple[float, float, str]:
    """The upload's dry run, then its apply, as the page's forms post them: seconds each."""
    form = await client.get(f"/console/import?org={org}")
    started = time.perf_counter()
    checked = await client.post(
        f"/console/import?org={org}",
        data={"_csrf_token": _csrf(form)},
        files={"file": ("volunteers.csv", content, "text/csv")},
        timeout=LONG,
    )
    check_s = time.perf_counter() - started
    assert checked.status_code == 200, (checked.status_code, checked.text[:500])
    found = IMPORT_ID.search(checked.text)
    assert found, "no kept dry run on the page"
    started = time.perf_counter()
    applied = await client.post(
        f"/console/import/{found.group(1)}/apply?org={org}",
        data={"_csrf_token": _csrf(checked)},
        timeout=LONG,
    )
    apply_s = time.perf_counter() - started
    assert applied.status_code == 200, (applied.status_code, applied.text[:500])
    return check_s, apply_s, _counts(applied)


async def main(n: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner, app = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    _, org_b = await setup_command(owner)
    org_c = await setup_page(owner)
    rows = people(n)
    content = as_csv(rows)
    path = ROOT / ".state" / "bench" / f"volunteers-{n}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    print(f"{n:,} rows, {len(content) / 1e6:.1f} MB of CSV")
    results: list[tuple[str, float, str]] = []
    copy_s = await raw_copy(owner, org_b, rows)
    results.append(("copy (owner, 4 COPYs)", copy_s, ""))
    seconds, summary = cli(app, path)
    results.append(("command", seconds, summary))
    async with served(app, owner) as client:
        await sign_in(client)
        check_s, apply_s, counts = await through_page(client, org_c, content)
        results.append(("page check (dry run)", check_s, ""))
        results.append(("page apply", apply_s, counts))
        results.append(("page (check + apply)", check_s + apply_s, ""))
        check_s, apply_s, counts = await through_page(client, org_c, content)
        results.append(("page again: check", check_s, ""))
        results.append(("page again: apply", apply_s, counts))
    report(results, n, copy_s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    asyncio.run(main(parser.parse_args().rows))
