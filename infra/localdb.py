"""The project-private PostgreSQL + PostGIS cluster: install, create, start, reuse, stop.

Used by `codeliver db ...`, `make run` and the test harness. Works as root by running the
server as the `postgres` OS user; listens on 127.0.0.1 only (no Unix socket, so no socket
path length trap). `CODELIVER_DATABASE_URL` bypasses all of this.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

APP_ROLE = "codeliver_app"
RW_ROLE = "codeliver_rw"  # created by the first migration too; granted to the login role
DATABASE = "codeliver"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class LocalDatabaseError(RuntimeError):
    """The private cluster cannot be set up; the message says what to do."""


@dataclass
class ClusterState:
    data_dir: str
    bindir: str
    port: int
    owner_password: str
    app_password: str

    def url(self, *, owner: bool = False, database: str = DATABASE) -> str:
        user, password = (
            ("postgres", self.owner_password)
            if owner
            else (
                APP_ROLE,
                self.app_password,
            )
        )
        return f"postgresql+asyncpg://{user}:{quote(password)}@127.0.0.1:{self.port}/{database}"


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if _is_root() else cmd


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)  # type: ignore[call-overload, no-any-return]


def find_bindir() -> Path | None:
    """The PostgreSQL server binaries: CODELIVER_PG_BINDIR, pg_config, or Debian's layout."""
    configured = os.environ.get("CODELIVER_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(re.sub(r"\D", "", p.split("/")[-2]) or 0),
    )
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _major(bindir: Path) -> int:
    out = _run([str(bindir / "initdb"), "--version"]).stdout
    match = re.search(r"(\d+)", out)
    if not match:
        raise LocalDatabaseError(f"cannot read the PostgreSQL version from {bindir}/initdb")
    return int(match.group(1))


def _postgis_present(bindir: Path) -> bool:
    sharedir = (
        _run([str(bindir / "pg_config"), "--sharedir"]).stdout.strip()
        if (bindir / "pg_config").exists()
        else ""
    )
    dirs = [Path(sharedir)] if sharedir else []
    dirs.append(Path(f"/usr/share/postgresql/{_major(bindir)}"))
    return any((d / "extension" / "postgis.control").exists() for d in dirs)


def _apt_install(*packages: str) -> None:
    if not (_is_root() and shutil.which("apt-get")):
        raise LocalDatabaseError(
            f"missing system packages: {' '.join(packages)}. Install them "
            f"(e.g. `sudo apt-get install {' '.join(packages)}`) or set "
            "CODELIVER_DATABASE_URL to an existing PostgreSQL + PostGIS database."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = _run(cmd, env=env)
        if done.returncode != 0:
            raise LocalDatabaseError(f"`{' '.join(cmd)}` failed:\n{done.stderr[-2000:]}")


def ensure_server_software() -> Path:
    """PostgreSQL and the PostGIS package for its major version, installed when missing."""
    bindir = find_bindir()
    if bindir is None:
        _apt_install("postgresql", "postgresql-contrib")
        bindir = find_bindir()
        if bindir is None:
            raise LocalDatabaseError("PostgreSQL installed but initdb not found")
    if not _postgis_present(bindir):
        _apt_install(f"postgresql-{_major(bindir)}-postgis-3")
    return bindir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As PostgreSQL binds: connections lingering in TIME_WAIT do not make it busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def save_secret_json(path: Path, data: dict[str, object]) -> None:
    """`data` as JSON at `path`, readable by its owner only from the first byte (it holds
    passwords), replaced whole so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(data, indent=2))
    tmp.replace(path)


def _postgres_can_write(path: Path) -> bool:
    return not _is_root() or _run(_as_postgres(["test", "-w", str(path)])).returncode == 0


class LocalCluster:
    """A cluster whose state lives in `root` (an ignored folder of the checkout)."""

    def __init__(self, root: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.root = root.resolve()
        self.state_file = self.root / "cluster.json"
        self.requested_port = port
        self.durable = durable

    # -- state -----------------------------------------------------------------------------
    def state(self) -> ClusterState | None:
        if not self.state_file.exists():
            return None
        return ClusterState(**json.loads(self.state_file.read_text()))

    def _save(self, state: ClusterState) -> None:
        save_secret_json(self.state_file, asdict(state))

    def _data_parent(self) -> Path:
        """Where the data folder goes: the state folder if the postgres user can reach it.

        As root the checkout may sit under a 0700 folder (mktemp, pytest's tmp) that the
        postgres user cannot traverse; then the data goes to /var/tmp, keyed by checkout.
        """
        preferred = self.root / "pg"
        preferred.mkdir(parents=True, exist_ok=True)
        if _is_root():
            shutil.chown(preferred, "postgres", "postgres")
        if _postgres_can_write(preferred):
            return preferred
        key = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]  # noqa: S324 - a name
        fallback = Path("/var/tmp/codeliver-pg") / key  # noqa: S108 - owned by postgres
        fallback.mkdir(parents=True, exist_ok=True)
        Path("/var/tmp/codeliver-pg").chmod(0o755)  # noqa: S108
        shutil.chown(fallback, "postgres", "postgres")
        fallback.chmod(0o700)
        return fallback

    # -- lifecycle -------------------------------------------------------------------------
    def status(self) -> str:
        state = self.state()
        if state is None or not Path(state.data_dir, "PG_VERSION").exists():
            return "absent"
        done = _run(_as_postgres([f"{state.bindir}/pg_ctl", "-D", state.data_dir, "status"]))
        if done.returncode in (0, 3):
            return "running" if done.returncode == 0 else "stopped"
        # Anything else (unreadable data folder, binaries gone after an upgrade) must never
        # look "absent": start() would initialise over the existing data.
        raise LocalDatabaseError(
            f"cannot tell the state of the cluster in {state.data_dir} "
            f"(pg_ctl exited {done.returncode}): {(done.stderr or done.stdout).strip()}"
        )

    def start(self) -> ClusterState:
        bindir = ensure_server_software()
        state = self.state()
        if state is None or self.status() == "absent":
            state = self._init(bindir)
        if self.status() != "running":
            if self.requested_port:
                state.port = self.requested_port
            elif not _port_free(state.port):
                state.port = free_port()
            self._save(state)
            self._pg_ctl(
                state,
                "start",
                "-w",
                "-t",
                "60",
                "-l",
                f"{state.data_dir}/../server.log",
                "-o",
                f"-p {state.port}",
            )
        self._bootstrap(state)
        return state

    def stop(self) -> None:
        state = self.state()
        if state is not None and self.status() == "running":
            self._pg_ctl(state, "stop", "-m", "fast", "-w", "-t", "60")

    def destroy(self) -> None:
        self.stop()
        state = self.state()
        if state is not None:
            shutil.rmtree(Path(state.data_dir).parent, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, state: ClusterState, *args: str) -> None:
        done = _run(_as_postgres([f"{state.bindir}/pg_ctl", "-D", state.data_dir, *args]))
        if done.returncode != 0:
            log = Path(state.data_dir).parent / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise LocalDatabaseError(f"pg_ctl {args[0]} failed: {done.stderr}{done.stdout}\n{tail}")

    def _init(self, bindir: Path) -> ClusterState:
        parent = self._data_parent()
        data = parent / "data"
        if data.exists():
            shutil.rmtree(data)
        state = ClusterState(
            data_dir=str(data),
            bindir=str(bindir),
            port=self.requested_port or free_port(),
            owner_password=secrets.token_urlsafe(18),
            app_password=secrets.token_urlsafe(18),
        )
        pwfile = parent / "pwfile"
        pwfile.write_text(state.owner_password + "\n")
        if _is_root():
            shutil.chown(pwfile, "postgres", "postgres")
        pwfile.chmod(0o600)
        done = _run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                ]
            )
        )
        pwfile.unlink()
        if done.returncode != 0:
            raise LocalDatabaseError(f"initdb failed:\n{done.stderr[-2000:]}")
        settings = [
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 300",
            "shared_buffers = 256MB",
            "timezone = 'UTC'",
        ]
        if not self.durable:  # test clusters: speed over crash safety
            settings += ["fsync = off", "full_page_writes = off", "synchronous_commit = off"]
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# codeliver local cluster\n" + "\n".join(settings) + "\n")
        self._save(state)
        return state

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        state = self.state()
        if state is None:
            raise LocalDatabaseError("no local cluster: run `codeliver db start`")
        psql = Path(state.bindir) / "psql"
        # The password goes through the environment, never the command line (visible in ps).
        env = {**os.environ, "PGPASSWORD": state.owner_password}
        done = _run(
            [
                str(psql) if psql.exists() else "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(state.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-XAtq",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            env=env,
        )
        if done.returncode != 0:
            raise LocalDatabaseError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def _bootstrap(self, state: ClusterState) -> None:
        """Roles and the database; idempotent. The app logs in as a non-superuser role so
        row-level security applies to it; migrations run as the owner."""
        password = state.app_password.replace("'", "''")
        self.psql(f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RW_ROLE}') THEN
                CREATE ROLE {RW_ROLE} NOLOGIN;
            END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{password}' IN ROLE {RW_ROLE};
            END IF;
        END $$;""")
        self.create_database(DATABASE)

    def create_database(self, name: str, *, template: str | None = None) -> None:
        for identifier in (name, template or DATABASE):
            if not _IDENTIFIER.fullmatch(identifier):
                raise LocalDatabaseError(f"not a plain database name: {identifier!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            tmpl = f" TEMPLATE {template}" if template else ""
            self.psql(f'CREATE DATABASE "{name}"{tmpl}')

    def drop_database(self, name: str) -> None:
        if not _IDENTIFIER.fullmatch(name):
            raise LocalDatabaseError(f"not a plain database name: {name!r}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
