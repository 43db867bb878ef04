"""The private cluster's lifecycle: create, reuse, stop, start again on the same port."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.localdb import LocalCluster, LocalDatabaseError


def test_create_reuse_stop_restart(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path / "pg", durable=False)
    assert cluster.status() == "absent"
    try:
        first = cluster.start()
        assert cluster.status() == "running"
        assert cluster.psql("SELECT name FROM pg_available_extensions WHERE name = 'postgis'")
        assert cluster.start() == first  # a second start reuses the running cluster
        cluster.stop()
        assert cluster.status() == "stopped"
        again = cluster.start()
        assert (again.port, again.data_dir) == (first.port, first.data_dir)
        assert cluster.psql("SELECT current_user") == "postgres"
        roles = cluster.psql(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'codeliver%' ORDER BY 1"
        )
        assert roles.split() == ["codeliver_app", "codeliver_rw"]
    finally:
        cluster.destroy()
    assert cluster.status() == "absent"


def test_database_names_are_checked(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path / "pg")
    with pytest.raises(LocalDatabaseError, match="plain database name"):
        cluster.create_database('x"; DROP DATABASE codeliver; --')
