"""PgBouncer in transaction mode in front of the formation (infra/formation.py), and the
follower that points it at each new primary.

PgBouncer 1.18 knows nothing of pg_auto_failover: the follower (`python -m infra.pooler INI
MONITOR_DSN`, started by the formation) asks the monitor for the primary every 200 ms (a
node held `primary`, never one in `wait_primary`) and, when it changes, rewrites the ini's
one database line and reloads PgBouncer (SIGHUP); server connections to the old primary are
closed as they are released. In transaction mode a server connection belongs to a client for
one transaction only: nothing relying on a session goes through it (docs/scaling.md, "The
formation").
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 0.2
_TARGET = re.compile(r"^\* = host=127\.0\.0\.1 port=(\d+) ", re.MULTILINE)
# The sessions' settings the app sends at startup where it connects directly
# (app/db/engine.py): PgBouncer refuses unknown startup parameters, so it sets them itself
# on every server connection it opens.
CONNECT_QUERY = (
    "SET jit = off; SET statement_timeout = 15000; SET idle_in_transaction_session_timeout = 60000"
)


def psql(port: int, sql: str, *, user: str, database: str = "postgres") -> str | None:
    """One statement over 127.0.0.1 (trust); its rows as `a|b` lines, or None if it failed."""
    try:
        done = subprocess.run(
            [
                *("psql", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", database),
                *("-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql),
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={**os.environ, "PGCONNECT_TIMEOUT": "3"},
        )
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def config(folder: Path, port: int, target_port: int) -> str:
    return f"""[databases]
* = host=127.0.0.1 port={target_port} connect_query='{CONNECT_QUERY}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
; no client waits longer than this for a server connection: a fast error, then a 503
query_wait_timeout = 5
server_connect_timeout = 3
server_login_retry = 1
server_lifetime = 600
; the app names each prepared statement uniquely (app/db/engine.py): none outlives its
; transaction on a server connection that the next client gets
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""


def write_config(folder: Path, port: int, target_port: int) -> Path:
    """pgbouncer.ini and its user list (trust: the names must still be listed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "userlist.txt").write_text('"codeliver_app" ""\n"postgres" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(config(folder, port, target_port))
    if os.geteuid() == 0:
        import shutil

        for path in (folder, folder / "userlist.txt", ini):
            shutil.chown(path, "postgres", "postgres")
    return ini


def wait_ready(port: int, deadline: float) -> None:
    while psql(port, "SHOW VERSION", user="postgres", database="pgbouncer") is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"PgBouncer on 127.0.0.1:{port} does not answer")
        time.sleep(0.2)


def target(ini: Path) -> int | None:
    """The port PgBouncer's database line points at."""
    found = _TARGET.search(ini.read_text())
    return int(found.group(1)) if found else None


def repoint(ini: Path, port: int) -> None:
    """Point PgBouncer at `port` and reload it."""
    text = _TARGET.sub(f"* = host=127.0.0.1 port={port} ", ini.read_text(), count=1)
    tmp = ini.with_suffix(".tmp")
    tmp.write_text(text)
    stat = ini.stat()
    os.chown(tmp, stat.st_uid, stat.st_gid)
    tmp.replace(ini)
    pid = int((ini.parent / "pgbouncer.pid").read_text().strip())
    os.kill(pid, signal.SIGHUP)


# Only a node the monitor holds `primary` (reported and assigned): a node promoted is
# `wait_primary` until a standby has joined, its commits then returning on one copy
# (synchronous_standby_names empty); PgBouncer waits at the old target meanwhile (503s,
# retried). docs/decisions.md, 61.
_PRIMARY = (
    "SELECT nodeport FROM pgautofailover.node WHERE formationid = 'default'"
    " AND reportedstate = 'primary' AND goalstate = 'primary'"
)


async def follow(ini: Path, monitor_dsn: str) -> None:
    """Forever: the monitor's primary (synchronous) -> PgBouncer's target."""
    import asyncpg  # type: ignore[import-untyped]

    conn = None
    while True:
        try:
            if conn is None or conn.is_closed():
                conn = await asyncpg.connect(monitor_dsn, timeout=3)
            row = await conn.fetchrow(_PRIMARY, timeout=3)
        except Exception as exc:  # the monitor restarting, or no primary this moment
            print(f"follower: {exc!r}", flush=True)
            conn = None
            await asyncio.sleep(POLL_S)
            continue
        port = None if row is None else int(row[0])
        if port is not None and port != target(ini):
            print(f"follower: primary now on port {port}", flush=True)
            repoint(ini, port)
        await asyncio.sleep(POLL_S)


if __name__ == "__main__":
    asyncio.run(follow(Path(sys.argv[1]), sys.argv[2]))
