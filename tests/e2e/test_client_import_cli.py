"""`codeliver import clients` on 2,000 rows as a caseworker: the template, a dry run, the
import, the same file again, and a volunteer refused as the API refuses them."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import msgspec
import pytest

from app.cli import parser
from app.errors import Forbidden
from app.identity.tokens import DevIssuer
from app.imports.client_columns import NAMES
from app.settings import Settings
from tests.support import Db, World

ROWS = 2_000


def clients_csv(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=NAMES, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for i in range(n):
        writer.writerow(
            {
                "external_id": f"CASE-{i:05d}",
                "name": f"Client {i}",
                "phone": f"0118 496 {i:04d}",
                "address": f"{i} Long Road, Reading",
                "lat": f"{51.40 + (i % 100) / 1000:.4f}",
                "lon": f"{-1.00 + (i // 100) / 1000:.4f}",
                "safeguarding_flags": "lives_alone" if i % 3 == 0 else "",
                "preferred_language": ("en", "cy", "pl")[i % 3],
            }
        )
    writer.writerow({"external_id": "CASE-X", "name": "Bad Phone", "phone": "none"})
    return out.getvalue().encode()


def _import(settings: Settings, *argv: str) -> None:
    args = parser().parse_args(["import", "clients", *argv])
    assert args.func(settings, args) == 0


def test_clients_through_the_command_line(
    db: Db, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def world() -> World:  # one per event loop: each asyncio.run below has its own
        return World(db, DevIssuer(settings.state_dir / "dev-issuer.pem"))

    async def setup() -> None:
        w = world()
        await w.org("big-org")
        await w.person("case-big", org="big-org", role="caseworker")
        await w.person("vol-big", org="big-org", role="volunteer")
        await w.close()

    asyncio.run(setup())
    here = msgspec.structs.replace(settings, database_url=db.app_url)
    _import(here, "--template")
    assert capsys.readouterr().out.splitlines()[0] == ",".join(NAMES)
    path = tmp_path / "clients.csv"
    path.write_bytes(clients_csv(ROWS))
    common = (str(path), "--org", "big-org", "--as", "case-big")

    _import(here, *common, "--dry-run")
    assert (
        "dry run (nothing written): 2001 rows: 2000 created, 0 updated" in capsys.readouterr().err
    )
    _import(here, *common, "--report", str(tmp_path / "report.csv"))
    out = capsys.readouterr().err
    assert "applied: 2001 rows: 2000 created, 0 updated, 0 unchanged, 1 refused" in out
    assert f"line {ROWS + 2}: phone: not in the accepted format" in out
    assert "Long Road" not in out
    with (tmp_path / "report.csv").open() as f:
        report = list(csv.DictReader(f))
    assert len(report) == ROWS + 1
    assert report[0]["verdict"] == "created"
    assert report[0]["client_id"]
    assert report[-1]["errors"] == "phone: not in the accepted format"

    _import(here, *common)
    assert "0 created, 0 updated, 2000 unchanged, 1 refused" in capsys.readouterr().err
    # A volunteer may not record clients through the API, nor import them.
    with pytest.raises(Forbidden):
        _import(here, str(path), "--org", "big-org", "--as", "vol-big")

    async def counts() -> tuple[int, int, int]:
        w = world()
        try:
            return (
                await w.count("clients", "external_id LIKE 'CASE-%'"),
                await w.count("audit_log", "action = 'client.created'"),
                await w.count("audit_log", "action = 'client_import.applied'"),
            )
        finally:
            await w.close()

    assert asyncio.run(counts()) == (ROWS, ROWS, 2)
