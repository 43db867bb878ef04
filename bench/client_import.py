"""Importing clients from CSV: the command line against a raw COPY of the same rows.

    .venv/bin/python -m bench.client_import [--rows 50000]

In one run, on a fresh database of the scratch cluster (.state/bench-pg):
  copy      the same clients COPYed in by the owner: no validation, no row-level
            security, no matching, no audit; the floor
  import    `codeliver import clients FILE --org --as` in its own process, as a caseworker:
            validation as POST /v1/clients, matching on the reference, batches of 1,000
            under row-level security, a `client.created` audit row each
  again     the same command on the same file: every row unchanged, nothing written
  dry run   `--dry-run` on the same file
Rows carry lat/lon (no geocoder is asked). Times are wall clock for the whole command.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import time
import uuid

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from app.imports.client_columns import NAMES
from app.seed import ensure_member
from bench.common import ROOT, dsn, fresh_database, start_cluster
from bench.volunteer_import import as_csv, cli, report
from bench.volunteer_import import setup as orgs

DATABASE = "bench_client_import"


def clients(n: int) -> list[dict[str, str]]:
    return [
        {
            "external_id": f"CASE-{i:06d}",
            "name": f"Client {i}",
            "phone": f"0118 496 {i % 10000:04d}",
            "email": f"client{i}@example.org" if i % 4 == 0 else "",
            "address": f"{i % 200} Station Road, Reading",
            "lat": f"{51.40 + (i % 300) / 3000:.5f}",
            "lon": f"{-1.05 + (i // 300) / 3000:.5f}",
            "safeguarding_flags": "lives_alone" if i % 3 == 0 else "",
            "preferred_language": ("en", "cy", "pl")[i % 3],
        }
        for i in range(n)
    ]


async def raw_copy(url: str, org_id: uuid.UUID, rows: list[dict[str, str]]) -> float:
    """The same rows as one COPY by the owner."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [
            org_id,
            r["external_id"],
            r["name"],
            r["phone"],
            r["email"] or None,
            r["address"],
            f"SRID=4326;POINT({r['lon']} {r['lat']})",
            "{" + r["safeguarding_flags"] + "}",
            r["preferred_language"],
        ]
        for r in rows
    )
    columns = ["org_id", "external_id", "name", "phone", "email", "address", "location"]
    conn = await asyncpg.connect(dsn(url))
    try:
        started = time.perf_counter()
        await conn.copy_to_table(
            "clients",
            source=io.BytesIO(out.getvalue().encode()),
            format="csv",
            columns=[*columns, "safeguarding_flags", "preferred_language"],
        )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def caseworker(owner_url: str) -> None:
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            await ensure_member(
                conn, "bench-caseworker", "Bench Caseworker", "bench-a", "caseworker"
            )
    finally:
        await engine.dispose()


async def main(n: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner, app = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    _, org_b = await orgs(owner)
    await caseworker(owner)
    rows = clients(n)
    path = ROOT / ".state" / "bench" / f"clients-{n}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(as_csv(rows, NAMES))
    print(f"{n:,} rows, {path.stat().st_size / 1e6:.1f} MB of CSV")
    copy_s = await raw_copy(owner, org_b, rows)
    results = [("copy (owner, 1 COPY)", copy_s, "")]
    for label, extra in (("import", ()), ("again (unchanged)", ()), ("dry run", ("--dry-run",))):
        seconds, summary = cli(app, path, *extra, kind="clients", subject="bench-caseworker")
        results.append((label, seconds, summary))
    report(results, n, copy_s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    asyncio.run(main(parser.parse_args().rows))
