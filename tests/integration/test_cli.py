"""The `codeliver` command, run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.support import Db


def test_token_is_refused_when_the_dev_issuer_is_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CODELIVER_DEV_ISSUER", "false")
    assert main(["token", "--user", "alice"]) == 2
    assert "disabled" in capsys.readouterr().err


def test_a_bad_setting_is_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CODELIVER_PORT", "lots")
    assert main(["token", "--user", "alice"]) == 2
    assert "CODELIVER_PORT" in capsys.readouterr().err


def test_token_ensures_the_membership_then_prints_a_token(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CODELIVER_DATABASE_URL", db.app_url)
    monkeypatch.setenv("CODELIVER_MIGRATION_DATABASE_URL", db.owner_url)
    monkeypatch.setenv("CODELIVER_STATE_DIR", str(tmp_path))
    assert main(["seed", "--volunteers", "1"]) == 0
    args = ["token", "--user", "newbie", "--org", "reading-council", "--role", "caseworker"]
    assert main(args) == 0
    token = capsys.readouterr().out.strip()
    assert token.count(".") == 2
    assert main(["token", "--user", "x", "--org", "no-such-org", "--role", "caseworker"]) != 0


def test_db_commands_defer_to_a_configured_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELIVER_DATABASE_URL", "postgresql+asyncpg://u:p@127.0.0.1:1/x")
    assert main(["db", "status"]) == 0
    assert main(["db", "start"]) == 2
