"""The formation's state (its ports, processes and URLs) and what it needs installed: the
parts of infra/formation.py that do not start or stop anything."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from infra.localdb import (
    APP_ROLE,
    DATABASE,
    LocalDatabaseError,
    _apt_install,
    ensure_server_software,
)

# Three nodes: with two synchronous candidates (number_sync_standbys = 1) losing any one
# never leaves the primary acknowledging alone (docs/decisions.md, 61).
MONITOR, NODES = "monitor", ("node1", "node2", "node3")
SYNC_STANDBYS = 1
MONITOR_DB = "pg_auto_failover"
PACKAGES = ("pgbouncer", "postgresql-15-auto-failover")


class FormationError(LocalDatabaseError):
    """The formation cannot be set up, started or changed; the message says why."""


@dataclass
class FormationState:
    data_root: str
    bindir: str
    ports: dict[str, int]  # monitor, node1, node2, node3, pooler
    app_password: str
    pids: dict[str, int] = field(default_factory=dict)

    def _url(self, port: int, *, owner: bool, database: str) -> str:
        user = "postgres" if owner else f"{APP_ROLE}:{quote(self.app_password)}"
        return f"postgresql+asyncpg://{user}@127.0.0.1:{port}/{database}"

    def pooled_url(self, *, owner: bool = False, database: str = DATABASE) -> str:
        """Through PgBouncer: pair with CODELIVER_DATABASE_POOLED=true."""
        return self._url(self.ports["pooler"], owner=owner, database=database)

    def direct_url(self, *, owner: bool = False, database: str = DATABASE) -> str:
        """Both nodes, the writable one chosen at connect (asyncpg's target_session_attrs):
        for sessions (LISTEN), never through the pooler. A libpq-style URL for asyncpg."""
        hosts = ",".join(f"127.0.0.1:{self.ports[n]}" for n in NODES)
        user = "postgres" if owner else f"{APP_ROLE}:{quote(self.app_password)}"
        return f"postgresql://{user}@{hosts}/{database}?target_session_attrs=read-write"

    def node_url(self, node: str, *, owner: bool = True, database: str = DATABASE) -> str:
        return self._url(self.ports[node], owner=owner, database=database)

    def monitor_dsn(self) -> str:
        return f"postgresql://autoctl_node@127.0.0.1:{self.ports[MONITOR]}/{MONITOR_DB}"

    def env(self) -> dict[str, str]:
        """The app's settings for this formation (`codeliver formation env`)."""
        return {
            "CODELIVER_DATABASE_URL": self.pooled_url(),
            "CODELIVER_MIGRATION_DATABASE_URL": self.pooled_url(owner=True),
            "CODELIVER_DATABASE_POOLED": "true",
            "CODELIVER_LIVE_DATABASE_URL": self.direct_url(),
        }


def is_root() -> bool:
    return os.geteuid() == 0


def owner() -> str | None:
    """The OS user our servers run as: postgres when we are root, else ourselves."""
    return "postgres" if is_root() else None


def ensure_software() -> Path:
    """PostgreSQL with PostGIS (infra/localdb.py), pg_auto_failover and PgBouncer."""
    bindir = ensure_server_software()
    if not (shutil.which("pg_autoctl") and shutil.which("pgbouncer")):
        _apt_install(*PACKAGES)
    return bindir


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child, not yet reaped) is not alive.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return False
    return True
