"""One HA formation (infra/formation.py) for the tests of this folder, destroyed at the end
even when a test fails: no pg_autoctl, postgres or pgbouncer is left running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.formation import Formation


@pytest.fixture(scope="session")
def formation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Formation]:
    made = Formation(tmp_path_factory.mktemp("formation"))
    try:
        made.up()
        yield made
    finally:
        made.destroy()


@pytest.fixture
def app_state_dir(tmp_path: Path) -> Path:
    return tmp_path / "app"
