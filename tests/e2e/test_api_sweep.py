"""The full sweep: Schemathesis, every phase (examples, coverage, fuzzing, stateful) and every
check, against a real server on 127.0.0.1, once per role of the demo organisation
(reading-council): a caseworker (staff), a volunteer and a coordinator.

It runs the `st run` CLI (the stateful phase and the phase selection live there, not in the
Python API), with `--continue-on-failure` so one failure does not hide the next, and reads
its JUnit report: the test fails on any failure Schemathesis reports, and lists each failing
operation with its failure codes and the server's answer. The hooks in
tests/e2e/sweep_hooks.py drop only the failures that match a documented rule exactly
(operation, failure code, and what the response says), listed below.

Cost: under `CI=true` each role runs a fixed number of examples per operation
(CODELIVER_SWEEP_EXAMPLES, default 5) with `--generation-deterministic`, so a merge is judged
on its code, not on luck: 40 to 70 s a role on two shared cores, 190 s for the three. Locally
the default is 40 random examples, and the seed is printed (replay it with `st run --seed`);
set CODELIVER_SWEEP_EXAMPLES (e.g. 200) to dig further.
The server gets real ids from the seed (organisation, programmes, clients, needs,
volunteers) as Schemathesis dictionaries, drawn half of the time, so requests reach the use
cases and not only the 404s.

Known false positives (dropped by `sweep_hooks.FALSE_POSITIVES`):
- opaque-cursor (positive_data_acceptance, ST202, on paged and synced lists): `cursor` and
  `since` are opaque strings the server issued; any other string is well-formed but names no
  page, so the answer is 422 on that field. No schema can say which strings the server signed.
- referential-id (positive_data_acceptance, ST202, any operation): a schema-valid id or slug in
  a body that refers to nothing the caller can see (a random programme_id, client_id, an
  organisation slug that does not exist) is answered 422 naming the field ("no such ...").
  Only a 422 whose every field error says so is dropped.
- etag-precondition (ST202, PATCH /v1/orgs/{org_id}): `If-Match` names an ETag the server
  issued; any other string is a version that is not current, so the change is a 412.
- one-time-code (ST202, POST /v1/volunteers/me/channels/{channel}/verify): a verification
  code is a secret the server sent; any other six digits are a 422 on `code`.
- idempotency-key-reuse (ST202): Schemathesis sends one Idempotency-Key value with different
  requests; a key names one request, and its reuse for another is a 422 on that header.
- idempotent-replay (ST302, POST /v1/volunteers/me/devices): with that one key, a retry
  replays the first 201, whose device a later DELETE of the same stateful run removed.
- cross-field-rule (ST202): rules between two values or on a number inside a string, which
  JSON Schema cannot state: an end after its start (plans, need windows), a period's length
  (metrics: 366 days, plans: 31), going off duty with no until or location, a bbox's order,
  ranges and finiteness, a polygon with no area.
- ineligible-volunteer (ST202, POST /v1/needs/{need_id}/offers): an offer to a real volunteer
  whom the matching rules exclude (not approved, vetting, distance) is 422 naming the rule.
- iana-time-zone and vocabulary (ST202): a time zone from the IANA database (availability in
  the profile's own), a language from ISO 639-1, a skill from a table: the schema states the
  shape, not the list.
- csv-body (ST202, POST /v1/orgs/{org_id}/imports/volunteers and .../clients): the body is
  a CSV file the document leaves out (generated clients read JSON bodies only), so a request
  without one is a 415 or 422 naming `file` or `header`.
- 413 counts as a rejection of negative data (negative_data_rejection's expected statuses): a
  body over the size limit is refused before it is read. So does 412: a change whose
  `If-Match` is not current is refused whole.

Defects the sweep found, fixed, and now holds: bodies without `additionalProperties: false`,
an empty PATCH allowed by the document, the tile path, a bare number read as a date-time,
OPTIONS listing one handler's methods, wall-clock times documented as durations, a role one
may not grant answered 422 (now 403), a suspension's `reason` documented optional, an
e-mail pattern whose `\\s` Python and ECMA-262 read differently (app/wire.py), a query `null`
read as absent, X-Access-Reason's length errors named `access_reason`, bodies converted
laxly (`0` as false), body instants bounded but undeclared, and an instant's years checked
in UTC while the pattern states them as written.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.seed import seed
from app.settings import Environment, Settings
from infra.localdb import ClusterState, LocalCluster
from tests.conftest import ROOT, TEMPLATE
from tests.live import serving

ORG = "reading-council"
ROLES = {
    "caseworker": f"demo-caseworker-{ORG}",
    # The seed's first volunteer, approved at reading-council; kept out of the ids the sweep
    # may suspend or vet (the volunteers dictionary), so the staff runs leave it working.
    "volunteer": "demo-volunteer-0000",
    "coordinator": f"demo-coordinator-{ORG}",
}
CI = os.environ.get("CI") == "true"
EXAMPLES = int(os.environ.get("CODELIVER_SWEEP_EXAMPLES") or (5 if CI else 40))
ST = Path(sys.executable).with_name("st")


IDS = {  # real ids of ORG, by kind, for Schemathesis dictionaries
    "orgs": "SELECT id FROM organisations WHERE slug = 'reading-council'",
    "programmes": "SELECT p.id FROM programmes p JOIN organisations o ON o.id = p.org_id"
    " WHERE o.slug = 'reading-council'",
    "clients": "SELECT c.id FROM clients c JOIN organisations o ON o.id = c.org_id"
    " WHERE o.slug = 'reading-council' LIMIT 20",
    "needs": "SELECT n.id FROM needs n JOIN organisations o ON o.id = n.org_id"
    " WHERE o.slug = 'reading-council' LIMIT 20",
    "volunteers": "SELECT m.user_id FROM memberships m JOIN organisations o ON o.id = m.org_id"
    " JOIN users u ON u.id = m.user_id WHERE o.slug = 'reading-council'"
    " AND m.role = 'volunteer' AND u.subject <> 'demo-volunteer-0000'",
}


@dataclass(frozen=True)
class Server:
    url: str
    state_dir: Path
    ids: dict[str, list[str]]


@pytest.fixture(scope="module")
def sweep_server(
    cluster: ClusterState, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    local = LocalCluster(ROOT / ".state" / "test-pg")
    name = f"t_sweep_{uuid.uuid4().hex[:12]}"
    local.create_database(name, template=TEMPLATE)
    asyncio.run(seed(cluster.url(owner=True, database=name), volunteers=12, progress=False))

    def column(sql: str) -> list[str]:
        return [line for line in local.psql(sql, database=name).splitlines() if line]

    ids = {kind: column(sql) for kind, sql in IDS.items()}
    state_dir = Path(tmp_path_factory.mktemp("sweep"))
    config = Settings(
        env=Environment.TEST, state_dir=state_dir, rate_limit_per_minute=0, log_level="CRITICAL"
    )
    app = create_app(
        config,
        database_url=cluster.url(database=name),
        system_database_url=cluster.url(owner=True, database=name),
    )
    with serving(app) as url:
        yield Server(url, state_dir, ids)
    local.drop_database(name)


# Where each kind of real id may go: Schemathesis parameter keys (location.name).
BINDINGS = {
    "orgs": ["path.org_id", "query.org_id", "body.org_id"],
    "programmes": ["path.programme_id", "query.programme_id", "query.programme"],
    "clients": ["path.client_id", "body.client_id"],
    "needs": ["path.need_id"],
    "volunteers": ["path.volunteer_id", "body.volunteer_id"],
}


def config_file(directory: Path, token: str, ids: dict[str, list[str]]) -> Path:
    """schemathesis.toml: the bearer token and the seed's ids as dictionaries."""
    lines = [f'headers = {{ Authorization = "Bearer {token}" }}', ""]
    for kind, values in ids.items():
        if values:
            lines += [f"[dictionaries.{kind}]", f"values = {json.dumps(values)}", ""]
    # 413 is a rejection too: a body over the size limit is refused before it is read.
    lines += [
        "[checks.negative_data_rejection]",
        "expected-statuses = [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428, 429]",
        "",
        "[parameters]",
    ]
    for kind, keys in BINDINGS.items():
        if ids.get(kind):
            lines += [f'"{key}" = {{ dictionary = "{kind}", probability = 0.5 }}' for key in keys]
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_sweep(url: str, config: Path, out: Path) -> tuple[int, str]:
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{url}/schema/openapi.json",
        "--url",
        url,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--continue-on-failure",
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "2",
        "--report",
        "junit",
        "--report-junit-path",
        str(out / "junit.xml"),
        "--no-color",
    ]
    # Fixed in CI, so a merge is judged on the code it brings rather than on the luck of the
    # draw; random locally, to keep finding new cases (and nothing remembered between runs).
    command += ["--generation-deterministic"] if CI else ["--generation-database", "none"]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.e2e.sweep_hooks",
        "CODELIVER_SWEEP_DROPPED": str(out / "dropped.ndjson"),
    }
    done = subprocess.run(
        command, cwd=out, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    return done.returncode, done.stdout + done.stderr


_BLOCK = re.compile(r"\n(?=\d+\. Test Case ID)")


def failures(junit: Path) -> list[str]:
    """One line per failure: operation, failure code and title, status, the server's detail."""
    found = []
    for testcase in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own report
        for element in [*testcase.findall("failure"), *testcase.findall("error")]:
            for block in _BLOCK.split(element.text or element.get("message") or ""):
                code = re.search(r"- (ST\d+ [^\n]+)", block)
                status = re.search(r"\n\[(\d+)\] ", block)
                detail = re.search(r'"detail":"((?:[^"\\]|\\.){0,160})', block)
                curl = re.search(r"\n\s*(curl [^\n]{0,300})", block)
                found.append(
                    " | ".join(
                        part
                        for part in (
                            testcase.get("name", "?"),
                            code.group(1) if code else block.strip()[:200],
                            status.group(1) if status else "",
                            detail.group(1) if detail else "",
                            curl.group(1) if curl else "",
                        )
                        if part
                    )
                )
    return found


_SUCCESS = re.compile(
    r'^codeliver_http_requests_total\{method="([A-Z]+)",route="([^"]+)",status="2\d\d"\} (\S+)$',
    re.MULTILINE,
)


def successes(url: str) -> dict[str, float]:
    metrics = httpx.get(f"{url}/metrics").text
    return {
        f"{method} {route}": float(count)
        for method, route, count in _SUCCESS.findall(metrics)
        if route.startswith("/v1/") and method != "OPTIONS"  # OPTIONS: no work done
    }


@pytest.mark.parametrize("role", list(ROLES))
def test_every_phase_and_check_as(
    role: str, sweep_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = DevIssuer(sweep_server.state_dir / "dev-issuer.pem").issue(ROLES[role], ttl_s=3600)
    config = config_file(tmp_path, token, sweep_server.ids)
    before = successes(sweep_server.url)
    started = time.monotonic()
    code, output = run_sweep(sweep_server.url, config, tmp_path)
    elapsed = time.monotonic() - started
    after = successes(sweep_server.url)

    junit = tmp_path / "junit.xml"
    assert junit.exists(), f"Schemathesis wrote no report (exit {code}):\n{output[-4000:]}"
    found = failures(junit)
    dropped = tmp_path / "dropped.ndjson"
    set_aside: dict[str, int] = {}
    for line in dropped.read_text().splitlines() if dropped.exists() else []:
        rule = json.loads(line)["rule"]
        set_aside[rule] = set_aside.get(rule, 0) + 1
    with capsys.disabled():
        seed = re.search(r"Seed: (\S+)", output)
        print(
            f"\n[sweep {role}] {elapsed:.0f} s, exit {code}, "
            f"seed {seed.group(1) if seed else '?'}, set aside: {set_aside}"
        )
    assert not found, (
        f"Schemathesis as the {role} found {len(found)} failure(s) "
        f"(seed {seed.group(1) if seed else '?'}) "
        "(not in the documented list of tests/e2e/sweep_hooks.py):\n" + "\n".join(found)
    )
    assert code == 0, f"st run exited {code} with no failure in its report:\n{output[-4000:]}"

    # The sweep reached real work for this role, not only the validation layer.
    worked = {op for op, count in after.items() if count > before.get(op, 0)}
    assert len(worked) >= 5, (role, sorted(worked))
