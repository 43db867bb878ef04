"""Importing volunteers from CSV: the command line against a raw COPY of the same rows.

    .venv/bin/python -m bench.volunteer_import [--rows 50000]

In one run, on a fresh database of the scratch cluster (.state/bench-pg):
  copy      the same people, memberships, profiles and checks COPYed in by the owner: no
            validation, no row-level security, no matching; the floor
  import    `codeliver import volunteers FILE --org --as` in its own process, as a
            coordinator: validation, matching, batches of 1,000 under row-level security
  again     the same command on the same file: every row unchanged, nothing written
  dry run   `--dry-run` on the same file
Times are wall clock for the whole command (Python start, reading, the database).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.imports.columns import NAMES
from app.seed import ensure_member
from bench.common import ROOT, dsn, fresh_database, start_cluster

DATABASE = "bench_import"
CHECKED = "2025-06-01"


def people(n: int) -> list[dict[str, str]]:
    return [
        {
            "email": f"volunteer{i}@example.org",
            "external_id": f"HR-{i:06d}",
            "display_name": f"Volunteer {i}",
            "home_lat": f"{51.40 + (i % 300) / 3000:.5f}",
            "home_lon": f"{-1.05 + (i // 300) / 3000:.5f}",
            "max_travel_km": str(2 + i % 8),
            "travel_mode": ("walk", "cycle", "public_transport", "car")[i % 4],
            "skills": "shopping;driving" if i % 3 == 0 else "shopping",
            "languages": "en;pl" if i % 10 == 0 else "en",
            "max_hours_per_week": str(2 + i % 10),
            "quiet_hours_start": "21:00" if i % 2 else "",
            "quiet_hours_end": "08:00" if i % 2 else "",
            "dbs_level": ("none", "basic", "enhanced_adults")[i % 3],
            "dbs_checked_on": "" if i % 3 == 0 else CHECKED,
            "dbs_id_verified": "true",
            "dbs_update_service": "true" if i % 2 else "false",
        }
        for i in range(n)
    ]


def as_csv(rows: list[dict[str, str]], names: tuple[str, ...] = NAMES) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _table(lines: list[list[object]]) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(lines)
    return io.BytesIO(out.getvalue().encode())


async def raw_copy(url: str, org_id: uuid.UUID, rows: list[dict[str, str]]) -> float:
    """The same rows as four COPYs by the owner, in one transaction."""
    ids = [uuid.uuid4() for _ in rows]
    users = [
        [u, "bench:copy", f"{org_id}:{r['email']}", r["email"], r["display_name"]]
        for u, r in zip(ids, rows, strict=True)
    ]
    members = [
        [org_id, u, "volunteer", "approved", r["external_id"]]
        for u, r in zip(ids, rows, strict=True)
    ]
    profiles = [
        [
            u,
            r["display_name"],
            f"SRID=4326;POINT({r['home_lon']} {r['home_lat']})",
            r["max_travel_km"],
            r["travel_mode"],
            "{" + r["skills"].replace(";", ",") + "}",
            "{" + r["languages"].replace(";", ",") + "}",
            r["max_hours_per_week"],
            2,
            r["quiet_hours_start"] or None,
            r["quiet_hours_end"] or None,
        ]
        for u, r in zip(ids, rows, strict=True)
    ]
    checks = [
        [
            org_id,
            u,
            r["dbs_level"],
            r["dbs_checked_on"] or None,
            "2028-06-01" if r["dbs_checked_on"] else None,
            True,
            r["dbs_update_service"],
        ]
        for u, r in zip(ids, rows, strict=True)
    ]
    conn = await asyncpg.connect(dsn(url))
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_to_table(
                "users",
                source=_table(users),
                format="csv",
                columns=["id", "issuer", "subject", "email", "display_name"],
            )
            await conn.copy_to_table(
                "memberships",
                source=_table(members),
                format="csv",
                columns=["org_id", "user_id", "role", "status", "external_id"],
            )
            await conn.copy_to_table(
                "volunteers",
                source=_table(profiles),
                format="csv",
                columns=[
                    "user_id",
                    "display_name",
                    "home",
                    "max_travel_km",
                    "travel_mode",
                    "skills",
                    "languages",
                    "max_hours_per_week",
                    "max_active_assignments",
                    "quiet_hours_start",
                    "quiet_hours_end",
                ],
            )
            await conn.copy_to_table(
                "vetting_checks",
                source=_table(checks),
                format="csv",
                columns=[
                    "org_id",
                    "user_id",
                    "level",
                    "checked_on",
                    "expires_on",
                    "id_verified",
                    "update_service",
                ],
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


def cli(
    app_url: str,
    path: Path,
    *extra: str,
    kind: str = "volunteers",
    subject: str = "bench-coordinator",
) -> tuple[float, str]:
    """`codeliver import KIND FILE --org bench-a --as SUBJECT ...` in its own process."""
    env = os.environ | {"CODELIVER_DATABASE_URL": app_url, "CODELIVER_ENV": "development"}
    command = [sys.executable, "-m", "app", "import", kind, str(path)]
    command += ["--org", "bench-a", "--as", subject, *extra]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - started, done.stderr.strip().splitlines()[0]


async def setup(owner_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            for slug in ("bench-a", "bench-b"):
                await conn.execute(
                    text(
                        "INSERT INTO organisations (slug, name, kind) "
                        "VALUES (:slug, :slug, 'council') ON CONFLICT DO NOTHING"
                    ),
                    {"slug": slug},
                )
            await ensure_member(
                conn, "bench-coordinator", "Bench Coordinator", "bench-a", "coordinator"
            )
            a = await conn.scalar(text("SELECT id FROM organisations WHERE slug = 'bench-a'"))
            b = await conn.scalar(text("SELECT id FROM organisations WHERE slug = 'bench-b'"))
    finally:
        await engine.dispose()
    return a, b


def report(results: list[tuple[str, float, str]], n: int, copy_s: float) -> None:
    """Each way's seconds, rows per second and multiple of the raw COPY, a line each."""
    print(f"{'what':24} {'seconds':>8} {'rows/s':>9} {'x copy':>7}")
    for label, seconds, summary in results:
        print(f"{label:24} {seconds:8.2f} {n / seconds:9.0f} {seconds / copy_s:7.1f}  {summary}")


async def main(n: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner, app = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    _, org_b = await setup(owner)
    rows = people(n)
    path = ROOT / ".state" / "bench" / f"volunteers-{n}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(as_csv(rows))
    print(f"{n:,} rows, {path.stat().st_size / 1e6:.1f} MB of CSV")
    copy_s = await raw_copy(owner, org_b, rows)
    results = [("copy (owner, 4 COPYs)", copy_s, "")]
    for label, extra in (("import", ()), ("again (unchanged)", ()), ("dry run", ("--dry-run",))):
        seconds, summary = cli(app, path, *extra)
        results.append((label, seconds, summary))
    report(results, n, copy_s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    asyncio.run(main(parser.parse_args().rows))
