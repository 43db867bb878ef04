"""`codeliver import volunteers` on 5,000 rows: a dry run, the import, and the same file
again (the 50,000-row run is the benchmark's: bench/volunteer_import.py)."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import msgspec
import pytest

from app.cli import parser
from app.identity.tokens import DevIssuer
from app.imports.columns import NAMES
from app.settings import Settings
from tests.support import Db, World

ROWS = 5_000


def volunteers_csv(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=NAMES, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for i in range(n):
        writer.writerow(
            {
                "email": f"volunteer{i}@example.org",
                "external_id": f"HR-{i:05d}",
                "display_name": f"Volunteer {i}",
                "home_lat": f"{51.40 + (i % 100) / 1000:.4f}",
                "home_lon": f"{-1.00 + (i // 100) / 1000:.4f}",
                "max_travel_km": str(2 + i % 8),
                "travel_mode": ("walk", "cycle", "public_transport", "car")[i % 4],
                "skills": "shopping;driving" if i % 3 == 0 else "shopping",
                "dbs_level": ("none", "basic", "enhanced_adults")[i % 3],
                "dbs_checked_on": "" if i % 3 == 0 else "2025-06-01",
                "dbs_id_verified": "true",
                "dbs_update_service": "true" if i % 2 else "false",
            }
        )
    writer.writerow({"email": "broken", "display_name": "No Home"})  # the last line, refused
    return out.getvalue().encode()


def _import(settings: Settings, *argv: str) -> None:
    args = parser().parse_args(["import", "volunteers", *argv])
    assert args.func(settings, args) == 0


def test_5000_rows_through_the_command_line(
    db: Db, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def world() -> World:  # one per event loop: each asyncio.run below has its own
        return World(db, DevIssuer(settings.state_dir / "dev-issuer.pem"))

    async def setup() -> None:
        w = world()
        await w.org("big-org")
        await w.person("coord-big", org="big-org", role="coordinator")
        await w.close()

    asyncio.run(setup())
    here = msgspec.structs.replace(settings, database_url=db.app_url)
    path = tmp_path / "volunteers.csv"
    path.write_bytes(volunteers_csv(ROWS))
    common = (str(path), "--org", "big-org", "--as", "coord-big")

    _import(here, *common, "--dry-run")
    assert (
        "dry run (nothing written): 5001 rows: 5000 created, 0 updated" in capsys.readouterr().err
    )
    _import(here, *common, "--report", str(tmp_path / "report.csv"))
    out = capsys.readouterr().err
    assert "applied: 5001 rows: 5000 created, 0 updated, 0 unchanged, 1 refused" in out
    assert f"line {ROWS + 2}: email: not an e-mail address" in out
    with (tmp_path / "report.csv").open() as f:
        report = list(csv.DictReader(f))
    assert len(report) == ROWS + 1
    assert report[0]["verdict"] == "created"
    assert report[-1]["errors"].startswith("email: not an e-mail address")

    _import(here, *common)
    assert "0 created, 0 updated, 5000 unchanged, 1 refused" in capsys.readouterr().err

    async def counts() -> tuple[int, int, int, int]:
        w = world()
        try:
            return (
                await w.count("volunteers"),
                await w.count("vetting_checks"),
                await w.count("memberships", "external_id LIKE 'HR-%' AND status = 'approved'"),
                await w.count("audit_log", "action = 'volunteer_import.applied'"),
            )
        finally:
            await w.close()

    assert asyncio.run(counts()) == (ROWS, ROWS, ROWS, 2)
