"""The HA formation: a pg_auto_failover monitor, a primary and two secondaries (all with
PostGIS; a commit waits for one of them: number_sync_standbys = 1, docs/decisions.md, 61),
and PgBouncer in transaction mode in front (infra/pooler.py), on local ports.

Used by `codeliver formation up|down|status|failover|env`, bench/failover.py and the tests
under tests/formation/. As root, every pg_autoctl and PgBouncer runs as the `postgres` OS user
with its own data, XDG config and runtime folders (under /var/tmp when the state folder is out
of the postgres user's reach), as infra/localdb.py does for the single cluster.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from infra import pooler
from infra.formation_state import (
    MONITOR,
    MONITOR_DB,
    NODES,
    SYNC_STANDBYS,
    FormationError,
    FormationState,
    alive,
    ensure_software,
    is_root,
    owner,
)
from infra.localdb import (
    _IDENTIFIER,
    APP_ROLE,
    DATABASE,
    RW_ROLE,
    _postgres_can_write,
    free_port,
    save_secret_json,
)

# pg_auto_failover's states in which a node takes writes (a secondary's never do).
WRITABLE = frozenset({"primary", "wait_primary", "join_primary", "apply_settings"})


class Formation:
    """A formation whose state lives in `root` (CODELIVER_FORMATION_DIR)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.state_file = self.root / "formation.json"
        self._children: list[subprocess.Popen[bytes]] = []

    # -- state -----------------------------------------------------------------------------
    def state(self) -> FormationState | None:
        if not self.state_file.exists():
            return None
        return FormationState(**json.loads(self.state_file.read_text()))

    def _save(self, state: FormationState) -> None:
        save_secret_json(self.state_file, asdict(state))

    def _data_root(self) -> Path:
        preferred = self.root / "data"
        preferred.mkdir(parents=True, exist_ok=True)
        if is_root():
            shutil.chown(preferred, "postgres", "postgres")
        if _postgres_can_write(preferred):
            return preferred
        key = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]  # noqa: S324 - a name
        base = Path("/var/tmp/codeliver-formation")  # noqa: S108 - owned by postgres
        fallback = base / key
        if fallback.exists():
            shutil.rmtree(fallback)
        fallback.mkdir(parents=True)
        base.chmod(0o755)
        shutil.chown(fallback, "postgres", "postgres")
        fallback.chmod(0o700)
        return fallback

    def _dir(self, state: FormationState, name: str) -> Path:
        return Path(state.data_root) / name

    def _env(self, state: FormationState, name: str) -> dict[str, str]:
        home = self._dir(state, name)
        return {
            "PATH": f"{state.bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "share"),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "PGDATA": str(home / "pgdata"),
            "LANG": "C.UTF-8",
        }

    def _autoctl(self, state: FormationState, name: str, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            ["pg_autoctl", *args, "--pgdata", str(self._dir(state, name) / "pgdata")],
            env=self._env(state, name),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=owner(),
            group=owner(),
            extra_groups=[] if is_root() else None,
        )
        if done.returncode != 0:
            raise FormationError(f"pg_autoctl {' '.join(args)}: {done.stderr.strip()[-1500:]}")
        return done.stdout

    def _spawn(self, state: FormationState, name: str, cmd: list[str]) -> None:
        home = self._dir(state, name)
        for sub in ("config", "share", "run"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        if is_root():
            for path in (home, *(home / s for s in ("config", "share", "run"))):
                shutil.chown(path, "postgres", "postgres")
        log = (Path(state.data_root) / f"{name}.log").open("ab")
        child = subprocess.Popen(
            cmd,
            env=self._env(state, name),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group: stopped as one, never by our signals
            user=owner(),
            group=owner(),
            extra_groups=[] if is_root() else None,
        )
        log.close()
        self._children.append(child)
        state.pids[name] = child.pid
        self._save(state)

    # -- lifecycle -------------------------------------------------------------------------
    def status(self) -> str:
        state = self.state()
        if state is None:
            return "absent"
        running = [n for n in (MONITOR, *NODES, "pooler") if alive(state.pids.get(n))]
        if len(running) == len(NODES) + 2:
            return "running"
        return "degraded" if running else "stopped"

    def up(self, *, timeout_s: float = 120) -> FormationState:
        """Create the formation, or start the existing one; return when the primary, both
        secondaries (synchronous replication on) and the pooler answer."""
        bindir = ensure_software()
        state = self.state()
        fresh = state is None or not (self._dir(state, NODES[0]) / "pgdata").exists()
        if state is None or fresh:
            state = FormationState(
                data_root=str(self._data_root()),
                bindir=str(bindir),
                ports={n: free_port() for n in (MONITOR, *NODES, "pooler")},
                app_password=secrets.token_urlsafe(18),
            )
            self._save(state)
        deadline = time.monotonic() + timeout_s
        try:
            self._start_nodes(state, fresh=fresh, deadline=deadline)
            if fresh:
                self._require_sync_standbys(state)
                self._bootstrap(state)
            if not alive(state.pids.get("pooler")):
                self._start_pooler(state)
            pooler.wait_ready(state.ports["pooler"], deadline)
        except BaseException:
            self.down()
            raise
        return state

    def _start_nodes(self, state: FormationState, *, fresh: bool, deadline: float) -> None:
        common = ["--auth", "trust", "--no-ssl", "--pgctl", f"{state.bindir}/pg_ctl", "--run"]
        monitor = self._dir(state, MONITOR) / "pgdata"
        if not alive(state.pids.get(MONITOR)):
            cmd = (
                [
                    *("pg_autoctl", "create", "monitor", "--pgdata", str(monitor)),
                    *("--pgport", str(state.ports[MONITOR]), "--hostname", "127.0.0.1", *common),
                ]
                if fresh
                else ["pg_autoctl", "run", "--pgdata", str(monitor)]
            )
            self._spawn(state, MONITOR, cmd)
        self._wait(lambda: self._nodes(state) is not None, deadline, "the monitor")
        for i, node in enumerate(NODES):
            if alive(state.pids.get(node)):
                continue
            pgdata = self._dir(state, node) / "pgdata"
            if not fresh:
                self._spawn(state, node, ["pg_autoctl", "run", "--pgdata", str(pgdata)])
                continue
            self._spawn(
                state,
                node,
                [
                    *("pg_autoctl", "create", "postgres", "--pgdata", str(pgdata)),
                    *("--pgport", str(state.ports[node]), "--hostname", "127.0.0.1"),
                    *("--listen", "127.0.0.1", "--name", node, "--dbname", DATABASE),
                    *("--monitor", f"{state.monitor_dsn()}?sslmode=disable", *common),
                ],
            )
            if i == 0:  # the first registers alone, so it becomes the primary; the others
                # then take their base backups side by side
                self._wait(lambda: bool(self._nodes(state)), deadline, "the first node")
        self._wait(lambda: self._healthy(state), deadline, "a primary and two secondaries")

    def _wait(self, ready: object, deadline: float, what: str) -> None:
        assert callable(ready)
        while not ready():
            if time.monotonic() > deadline:
                raise FormationError(f"timed out waiting for {what}: see {self.root}/data logs")
            time.sleep(0.5)

    def _nodes(self, state: FormationState) -> dict[str, tuple[str, str]] | None:
        """node name -> (reported state, assigned state), from the monitor; None if down."""
        out = pooler.psql(
            state.ports[MONITOR],
            "SELECT nodename, reportedstate, goalstate FROM pgautofailover.node",
            user="autoctl_node",
            database=MONITOR_DB,
        )
        if out is None:
            return None
        rows = [line.split("|") for line in out.splitlines() if line]
        return {r[0]: (r[1], r[2]) for r in rows}

    def _healthy(self, state: FormationState) -> bool:
        nodes = self._nodes(state) or {}
        reported = sorted(r for r, g in nodes.values() if r == g)
        if reported != ["primary", *["secondary"] * (len(NODES) - 1)]:
            # A standby's base backup waits for a checkpoint: ask the primary for one now
            # rather than waiting for the spread one (minutes).
            for node, (now, _) in nodes.items():
                if now in {"wait_primary", "primary"}:
                    pooler.psql(state.ports[node], "CHECKPOINT", user="postgres")
            return False
        return True

    def _require_sync_standbys(self, state: FormationState) -> None:
        """number_sync_standbys = 1, said rather than left to the monitor's default (which
        raises it to 1 only once the second standby registered): with one secondary lost the
        primary stays `primary`, its commits waiting for the other; with both lost, commits
        wait (no `wait_primary`, no write acknowledged on one copy). docs/decisions.md, 61.
        The monitor's own function: `pg_autoctl set formation number-sync-standbys` of
        Debian's 2.0 rejects every value."""
        done = pooler.psql(
            state.ports[MONITOR],
            "SELECT pgautofailover.set_formation_number_sync_standbys("
            f"'default', {SYNC_STANDBYS:d})",
            user="autoctl_node",
            database=MONITOR_DB,
        )
        if done != "t":
            raise FormationError(f"the monitor refused number_sync_standbys: {done!r}")

    def primary(self, state: FormationState | None = None) -> str | None:
        """The node that takes writes now: `primary`, or one of the states on the way to it
        (`wait_primary` only while no standby is known yet, at creation)."""
        state = state or self.state()
        if state is None:
            return None
        nodes = self._nodes(state) or {}
        return next((n for n, (r, _) in nodes.items() if r in WRITABLE), None)

    def wait_healthy(self, *, timeout_s: float = 60) -> None:
        """Until the primary and both secondaries are where the monitor wants them."""
        state = self._running()
        self._wait(lambda: self._healthy(state), time.monotonic() + timeout_s, "a healthy pair")

    def _bootstrap(self, state: FormationState) -> None:
        """The app's roles on the primary (the secondaries follow): as infra/localdb.py."""
        primary = self.primary(state)
        assert primary is not None
        password = state.app_password.replace("'", "''")
        sql = f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RW_ROLE}') THEN
                CREATE ROLE {RW_ROLE} NOLOGIN;
            END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{password}' IN ROLE {RW_ROLE};
            END IF;
        END $$;"""  # noqa: S608 - our constants and the quoted password
        if pooler.psql(state.ports[primary], sql, user="postgres", database=DATABASE) is None:
            raise FormationError("cannot create the app's roles on the primary")

    def create_database(self, name: str) -> bool:
        """A database of the app on the primary (PgBouncer serves any name); False if not."""
        state = self._running()
        primary = self.primary(state)
        if primary is None or not _IDENTIFIER.fullmatch(name):
            return False
        return (
            pooler.psql(state.ports[primary], f'CREATE DATABASE "{name}"', user="postgres")
            is not None
        )

    def _start_pooler(self, state: FormationState) -> None:
        primary = self.primary(state)
        assert primary is not None
        folder = self._dir(state, "pooler")
        ini = pooler.write_config(folder, state.ports["pooler"], state.ports[primary])
        self._spawn(state, "pooler", ["pgbouncer", str(ini)])
        # The follower repoints PgBouncer at each new primary; it runs as us (it signals it).
        log = (Path(state.data_root) / "follower.log").open("ab")
        follower = subprocess.Popen(
            [sys.executable, "-m", "infra.pooler", str(ini), state.monitor_dsn()],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._children.append(follower)
        state.pids["follower"] = follower.pid
        self._save(state)

    def down(self) -> None:
        """Stop everything (the data stays): follower, pooler, monitor, nodes."""
        state = self.state()
        if state is None:
            return
        for name in ("follower", "pooler", MONITOR):
            self._stop(state, name)
        for node in NODES:
            self._signal(state.pids.get(node), signal.SIGINT)  # pg_autoctl: a fast stop
        for node in NODES:
            self._stop(state, node)
        for child in self._children:
            with contextlib.suppress(Exception):
                child.wait(timeout=1)

    def _signal(self, pid: int | None, sig: int) -> None:
        if pid and alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)

    def _stop(self, state: FormationState, name: str) -> None:
        pid = state.pids.get(name)
        for sig, wait_s in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
            if not alive(pid):
                break
            self._signal(pid, sig)
            end = time.monotonic() + wait_s
            while alive(pid) and time.monotonic() < end:
                for child in self._children:
                    if child.pid == pid:
                        child.poll()
                time.sleep(0.1)
        state.pids.pop(name, None)
        self._save(state)

    def destroy(self) -> None:
        self.down()
        state = self.state()
        if state is not None:
            shutil.rmtree(state.data_root, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- faults ----------------------------------------------------------------------------
    def failover(self) -> str:
        """`pg_autoctl perform failover`: a secondary is promoted; returns the new primary."""
        state = self._running()
        self._autoctl(state, MONITOR, "perform", "failover", "--formation", "default")
        deadline = time.monotonic() + 60
        self._wait(lambda: self._healthy(state), deadline, "the formation after the failover")
        new = self.primary(state)
        assert new is not None
        return new

    def kill_primary(self) -> str:
        """SIGKILL the primary's postmaster (its keeper restarts it or the monitor fails
        over); returns the node killed."""
        state = self._running()
        node = self.primary(state)
        if node is None:
            raise FormationError("no primary to kill")
        pidfile = self._dir(state, node) / "pgdata" / "postmaster.pid"
        os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        return node

    def show(self) -> str:
        state = self._running()
        return self._autoctl(state, MONITOR, "show", "state")

    def _running(self) -> FormationState:
        state = self.state()
        if state is None or self.status() == "absent":
            raise FormationError("no formation: run `codeliver formation up`")
        return state
