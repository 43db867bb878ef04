"""The mix of volunteers, caseworkers and coordinators as a locust load test (issue 17).

    .venv/bin/python -m bench.load_mix [--users 40,80,120,160] [--seconds 20]
        [--processes 1,2] [--volunteers 2000] [--profile 80]

One scratch database seeded with the demo borough and `--volunteers` bulk volunteers, with
40 open council needs, five offered to each of 400 of them (bench/load_world.py), served by
one `codeliver serve` (bench.common.served_process) and, for `--processes 2`, by two on the
same database, the locust users shared round-robin between them. Locust runs headless in
its own process on loopback (bench/locustfile.py): 70 % volunteers (poll their offers, delta
sync, accept or decline one), 20 % caseworkers (post a need, which starts its cascade; read
a need; its candidates), 10 % coordinators (a coverage tile, the metrics summary); each
user one request a second, so the offered rate steps with the user count. The coverage
snapshots are refreshed before each server count's steps, as the worker keeps them. A 10-user
warm-up step first, not reported; then for each step: requests per second held, p50/p99,
errors, and the CPU per request of the API processes and of PostgreSQL (all of the
cluster's processes, from /proc) over the step.

The highest rate held is the highest step with p99 < 500 ms, no error and at least 90 % of
the offered rate served (the ramp-up of 2 s counts). `--profile N` also samples the first
server with py-spy for the step of N users and prints the functions where its time goes
(bench/profile_summary.py). LOAD_MIX_BY_NAME=1 prints each call's count, p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from bench.common import ROOT, cpu_seconds, fresh_database, served_process, start_cluster
from bench.load_world import make_world, refresh_snapshots
from bench.profile_summary import summary

DATABASE = "bench_load_mix"
PEOPLE = 400  # volunteers with offers: more than the most volunteer users of a step
P99_MS = 500


def cluster_cpu(data_dir: str) -> float:
    """CPU seconds of the cluster: the postmaster, its exited children (reaped into its
    cutime/cstime) and its live children (backends, checkpointer, WAL writer...)."""
    pid = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(child[1]) == pid:
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def locust(world: Path, hosts: list[str], users: int, seconds: int, out: Path) -> dict[str, str]:
    """One headless locust run; the aggregated row of its stats."""
    env = {**os.environ, "LOAD_MIX_WORLD": str(world), "LOAD_MIX_HOSTS": ",".join(hosts)}
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")]
    cmd += ["--headless", "--only-summary", "--loglevel", "WARNING"]
    cmd += ["-u", str(users), "-r", str(max(users // 2, 1)), "-t", f"{seconds}s"]
    cmd += ["--stop-timeout", "5", "--csv", str(out), "--host", hosts[0]]
    subprocess.run(cmd, env=env, cwd=ROOT, check=False, capture_output=True)
    with open(f"{out}_stats.csv") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    with open(f"{out}_failures.csv") as f:
        for row in csv.DictReader(f):
            print(f"    error x{row['Occurrences']}: {row['Name']} {row['Error'][:160]}")
    if os.environ.get("LOAD_MIX_BY_NAME"):
        for name, row in rows.items():
            print(
                f"    {name:<18} {row['Request Count']:>6} p50 {row['50%']:>6} p99 {row['99%']:>6}"
            )
    return rows["Aggregated"]


def profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    cmd = [
        str(py_spy),
        "record",
        "-p",
        str(pid),
        "-d",
        str(seconds),
        "-r",
        "97",
        "--gil",
        "-f",
        "raw",
    ]
    return subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.DEVNULL)


async def main(args: argparse.Namespace) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner_url, app_url = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    work = Path(tempfile.mkdtemp(prefix="load-mix-"))
    world = work / "world.json"
    await make_world(owner_url, args.volunteers, PEOPLE, world)
    print(f"load average {os.getloadavg()[0]:.2f} at the start; {args.seconds} s a step")
    print(
        f"{'proc':>4} {'users':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
        f" {'API CPU ms/req':>14} {'PG CPU ms/req':>13}"
    )
    for processes in args.processes:
        held = 0.0
        async with AsyncExitStack() as stack:
            servers = [
                await stack.enter_async_context(served_process(app_url, owner_url))
                for _ in range(processes)
            ]
            hosts = [str(client.base_url).rstrip("/") for client, _ in servers]
            # The worker's job, not timed: fresh for the steps that follow (minutes, under
            # the snapshots' 10-minute age), and its writes' vacuum mostly in the warm-up.
            await refresh_snapshots(owner_url)
            # A warm-up step, not reported: the pools' connections, the plans, the caches.
            await asyncio.to_thread(locust, world, hosts, 10, 10, work / f"warm{processes}")
            for users in args.users:
                spy = None
                if users == args.profile and processes == 1:
                    spy = profile(servers[0][1], args.seconds, work / "profile.txt")
                api0 = sum(cpu_seconds(pid) for _, pid in servers)
                pg0 = cluster_cpu(state.data_dir)
                stats = await asyncio.to_thread(
                    locust, world, hosts, users, args.seconds, work / f"p{processes}-u{users}"
                )
                api = sum(cpu_seconds(pid) for _, pid in servers) - api0
                pg = cluster_cpu(state.data_dir) - pg0
                held = max(held, _line(processes, users, stats, api, pg))
                if spy is not None:
                    spy.wait()
                    print(summary(work / "profile.txt"))
        print(
            f"{processes} process(es): highest rate held {held:.0f} req/s"
            f" (p99 < {P99_MS} ms, 0 errors)"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end; locust's files in {work}")


def _line(processes: int, users: int, stats: dict[str, str], api: float, pg: float) -> float:
    requests = int(stats["Request Count"])  # failures included
    rate, errors = float(stats["Requests/s"]), int(stats["Failure Count"])
    p99 = float(stats["99%"]) if stats["99%"] != "N/A" else float("inf")
    per = 1000 / max(requests, 1)
    print(
        f"{processes:>4} {users:>5} {rate:7.1f} {float(stats['50%']):7.0f} {p99:7.0f}"
        f" {errors:>6} {api * per:14.2f} {pg * per:13.2f}"
    )
    return rate if p99 < P99_MS and errors == 0 and rate >= 0.9 * users else 0.0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--users", type=lambda s: [int(x) for x in s.split(",")], default=[60, 120, 180, 240, 300]
    )
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument(
        "--processes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2]
    )
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--profile", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
