"""One clock (docs/decisions.md): no statement or use case reads the time itself.

Every "now" a decision depends on is `Tx.now` or `clock_of(engine).now()` (app/clock.py),
passed down as a value and into SQL as a bind parameter. This test fails when a source line
of app/, geo/ or notifications/ reads the wall clock or the database clock, unless the line
is in the allow-list below, each entry with its reason. The SQL functions created by the
migrations are checked as the database holds them, in tests/e2e/test_one_clock.py.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "geo", "notifications")

# The ways to read the time: SQL (any case) and Python. `x.now()` is a clock's method (app/clock.py)
# and is not matched; `now()` on its own is SQL's.
CLOCK_READS = re.compile(
    r"(?<![.\w])now\s*\(\s*\)"
    r"|\bfunc\.now\b"
    r"|\bcurrent_(?:timestamp|date|time)\b"
    r"|\blocal(?:timestamp|time)\b"
    r"|\b(?:clock|statement|transaction)_timestamp\b"
    r"|\bdatetime\.(?:now|utcnow|today)\b"
    r"|\bdate\.today\b"
    r"|\btime\.time\b",
    re.IGNORECASE,
)

# The one place that reads wall time.
CLOCK_MODULE = "app/clock.py"
# Generated schema history: column server defaults; its SQL functions are checked in the
# database as they end up (tests/e2e/test_one_clock.py).
MIGRATIONS = "app/migrations/versions/"

# (path, what the line contains): allowed, and why.
ALLOWED: dict[tuple[str, str], str] = {
    # A bearer token's issue and expiry are checked against real time: security, not a
    # decision of the simulated world.
    ("app/identity/tokens.py", "now = int(time.time())"): "token issued at",
    ("app/identity/tokens.py", 'claims["exp"] < time.time() - 30'): "token expiry",
    # So are a console session's (a development session's issue, and forgetting revoked ids
    # once they have expired anyway).
    ("app/identity/sessions.py", "now = int(time.time())"): "session issued at",
    ("app/identity/sessions.py", "now = time.time()"): "session expiry",
    # Demo and bench data generators (CLIs): they write data around the wall time they run
    # at, and decide nothing of the running system.
    ("app/seed.py", "today = date.today()"): "demo data",
    ("app/seed.py", "now = datetime.now(UTC)"): "demo data",
    ("app/bulk_seed.py", "_span_maker(datetime.now(UTC), span_horizon)"): "bench data",
    ("app/bulk_seed.py", "today, orgs = date.today(), len(load.org_ids)"): "bench data",
    ("app/demo_casework.py", "first_step_at(start, datetime.now(UTC))"): "demo data",
    ("app/demo_casework.py", "today = datetime.now(UTC).date()"): "demo data",
    # A liveness probe: how long ago the worker's loop last touched its heartbeat file.
    ("app/worker.py", "(time.time() if now is None else now)"): "liveness, not a decision",
    # app/wire.py: the word "localtime", a zone name, not a clock read.
    ("app/wire.py", "local wall-clock time"): "a comment",
    ("app/wire.py", '"localtime"'): "a zone name",
}

# Column server defaults (created_at, recorded_at, ...): the row's own record of when it was
# written, never read by a deciding statement (writes that decide set the value explicitly).
SERVER_DEFAULT = "server_default=func.now()"


def _sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if MIGRATIONS not in path.as_posix() and path.relative_to(ROOT).as_posix() != CLOCK_MODULE
    )


def _reads(path: Path) -> list[tuple[int, str]]:
    name = path.relative_to(ROOT).as_posix()
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not CLOCK_READS.search(line) or SERVER_DEFAULT in line:
            continue
        if any(name == p and part in line for p, part in ALLOWED):
            continue
        found.append((number, line.strip()))
    return found


def test_no_decision_reads_the_clock_itself() -> None:
    reads = [f"{p.relative_to(ROOT)}:{n}: {line}" for p in _sources() for n, line in _reads(p)]
    assert not reads, "use tx.now or clock_of(engine).now() (docs/decisions.md, One clock):\n" + (
        "\n".join(reads)
    )


def test_the_allow_list_is_not_stale() -> None:
    for path, part in ALLOWED:
        assert part in (ROOT / path).read_text(), f"{path}: no longer has {part!r}: drop it"


def test_the_pattern_catches_each_way_of_reading_the_time() -> None:
    for read in (
        "WHERE next_step_at <= now()",
        ".where(needs.c.next_step_at <= func.now())",
        "SET at = CURRENT_TIMESTAMP",
        "expires_on > current_date",
        "clock_timestamp()",
        "statement_timestamp()",
        "transaction_timestamp()",
        "localtimestamp",
        "now = datetime.now(UTC)",
        "datetime.utcnow()",
        "today = date.today()",
        "int(time.time())",
    ):
        assert CLOCK_READS.search(read), read
    for fine in ("tx.now", "clock_of(engine).now()", "self.clock()", "WHERE at <= :now"):
        assert not CLOCK_READS.search(fine), fine
