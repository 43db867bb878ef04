"""The boundaries of ARCHITECTURE.md, checked rather than hoped for."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IO_MODULES = {
    "litestar",
    "sqlalchemy",
    "asyncpg",
    "firebase_admin",
    "httpx",
    "geoalchemy2",
    "app",
    "geo",
    "notifications",
    "socket",
    "requests",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_matching_is_pure() -> None:
    files = list((ROOT / "matching").rglob("*.py"))
    assert files, "matching/ must exist"
    for path in files:
        assert not (_imports(path) & IO_MODULES), (
            f"{path} imports I/O: {_imports(path) & IO_MODULES}"
        )


def test_controllers_hold_no_sql() -> None:
    for path in (ROOT / "app").rglob("controller*.py"):
        source = path.read_text()
        assert "sqlalchemy import" not in source.replace("sqlalchemy.ext.asyncio import", ""), path
        assert "text(" not in source, path


def test_modules_stay_small() -> None:
    for package in ("app", "matching", "geo", "notifications", "infra"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations/versions" in str(path):  # generated table definitions
                continue
            assert len(path.read_text().splitlines()) <= 400, f"{path} is over 400 lines"
