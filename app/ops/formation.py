"""`codeliver formation up|down|status|failover|kill|env`: the HA formation of
infra/formation.py (pg_auto_failover, PgBouncer) for local runs, benches and tests."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from app.settings import Settings
from infra.formation import Formation


def formation_of(settings: Settings) -> Formation:
    return Formation(settings.formation_dir or settings.state_dir / "formation")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("formation", help="the HA PostgreSQL formation behind PgBouncer")
    p.add_argument("action", choices=["up", "down", "status", "failover", "kill", "env"])
    p.add_argument("--destroy", action="store_true", help="down: delete its data too")
    p.set_defaults(func=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    formation = formation_of(settings)
    if args.action == "up":
        state = formation.up()
        primary = formation.primary(state)
        assert primary is not None
        from app.db.migrate import upgrade

        upgrade(state.node_url(primary))  # directly on the primary: a session of its own
        print(
            f"formation up: monitor on 127.0.0.1:{state.ports['monitor']}, primary {primary}, "
            f"PgBouncer on 127.0.0.1:{state.ports['pooler']}; migrated to head.\n"
            "  its settings: eval $(codeliver formation env)",
            file=sys.stderr,
        )
    elif args.action == "down":
        formation.destroy() if args.destroy else formation.down()
        print("formation " + ("destroyed" if args.destroy else "stopped"), file=sys.stderr)
    elif args.action == "status":
        status = formation.status()
        print(status)
        if status == "running":
            print(formation.show())
        return 0 if status == "running" else 3
    elif args.action == "failover":
        print(f"primary now {formation.failover()}", file=sys.stderr)
    elif args.action == "kill":
        print(f"SIGKILL sent to the postmaster of {formation.kill_primary()}", file=sys.stderr)
    else:
        current = formation.state()
        if current is None:
            print("no formation: run `codeliver formation up`", file=sys.stderr)
            return 3
        for key, value in current.env().items():
            print(f"export {key}={shlex.quote(value)}")
    return 0
