"""`codeliver` (also `python -m app`): serve, worker, migrate, seed, token, db, simulate,
import, formation."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from app.settings import Settings, SettingsError, load_settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.factory import create_app

    app = create_app(settings, embed_worker=not args.no_worker)
    host, port = args.host or settings.host, args.port or settings.port
    base = f"http://{host}:{port}"
    print(
        f"Codeliver API on {base}\n  API docs:  {base}/schema\n  health:    {base}/health/ready"
        "\n  a token:   .venv/bin/codeliver token --user demo-coordinator-reading-council",
        file=sys.stderr,
    )
    uvicorn.run(
        app, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=10
    )
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.engine import create_engine, database_urls
    from app.logs import configure_logging
    from app.worker import Worker, is_alive

    heartbeat = settings.state_dir / "worker.alive"
    if args.alive:  # a liveness probe: did the running worker touch its heartbeat lately?
        return 0 if is_alive(heartbeat) else 1
    configure_logging(settings)

    async def run() -> None:
        engine = create_engine(database_urls(settings)[1], settings)  # the system login
        try:
            await Worker(engine, settings=settings, heartbeat=heartbeat).run()
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.engine import database_urls
    from app.db.migrate import upgrade

    upgrade(database_urls(settings)[1])
    print("database at migration head", file=sys.stderr)
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.engine import database_urls
    from app.seed import seed

    report = asyncio.run(
        seed(database_urls(settings)[1], volunteers=args.volunteers, progress=sys.stderr.isatty())
    )
    print(
        f"demo data: {report.organisations} organisations, {report.users} users, "
        f"{report.memberships} memberships, {report.volunteers} volunteers, "
        f"{report.clients} clients, {report.needs} needs",
        file=sys.stderr,
    )
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.dev_issuer_enabled:
        print(
            "the development issuer is disabled (CODELIVER_DEV_ISSUER / production)",
            file=sys.stderr,
        )
        return 2
    from app.identity.tokens import DevIssuer

    if args.org or args.role or args.platform_admin:
        asyncio.run(_ensure_dev_user(settings, args))
    issuer = DevIssuer(settings.state_dir / "dev-issuer.pem")
    print(
        issuer.issue(
            args.user, ttl_s=args.ttl or settings.dev_token_ttl_s, email=args.email, name=args.name
        )
    )
    return 0


async def _ensure_dev_user(settings: Settings, args: argparse.Namespace) -> None:
    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db.engine import database_urls
    from app.db.tables import users
    from app.identity.tokens import DEV_ISSUER
    from app.seed import ensure_member, ensure_user

    engine = create_async_engine(database_urls(settings)[1])
    try:
        async with engine.begin() as conn:
            if args.org or args.role:
                if not (args.org and args.role):
                    raise SettingsError("--org and --role go together")
                await ensure_member(conn, args.user, args.name or args.user, args.org, args.role)
            if args.platform_admin:
                await ensure_user(conn, args.user, args.name or args.user)
                await conn.execute(
                    update(users)
                    .where(users.c.issuer == DEV_ISSUER, users.c.subject == args.user)
                    .values(is_platform_admin=True)
                )
    finally:
        await engine.dispose()


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.engine import local_cluster

    if settings.database_url:
        print("CODELIVER_DATABASE_URL is set: the private cluster is not used", file=sys.stderr)
        return 0 if args.action in {"status", "url"} else 2
    cluster = local_cluster(settings)
    if args.action == "start":
        state = cluster.start()
        print(f"private PostgreSQL + PostGIS running on 127.0.0.1:{state.port}", file=sys.stderr)
    elif args.action == "stop":
        cluster.stop()
        print("private database stopped", file=sys.stderr)
    elif args.action == "status":
        status = cluster.status()
        print(status)
        return 0 if status == "running" else 3
    elif args.action == "url":
        current = cluster.state()
        if current is None:
            print("no private database yet: run `codeliver db start`", file=sys.stderr)
            return 3
        print(current.url(owner=args.owner))
    return 0


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from app.simulation.command import run

    return run(settings, args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codeliver", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (with the background worker)")
    serve.add_argument("--no-worker", action="store_true", help="do not embed the worker")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="run background work alone")
    worker.add_argument(
        "--alive", action="store_true", help="exit 0 if a running worker beat lately (a probe)"
    )
    worker.set_defaults(func=_worker)
    sub.add_parser("migrate", help="upgrade the database to head").set_defaults(func=_migrate)
    seed = sub.add_parser("seed", help="load the demo borough (idempotent)")
    seed.add_argument("--volunteers", type=int, default=2000)
    seed.set_defaults(func=_seed)
    token = sub.add_parser("token", help="print a development bearer token")
    token.add_argument("--user", required=True, help="the user's subject, e.g. demo-volunteer-001")
    token.add_argument("--org", help="organisation slug: ensure a membership (dev only)")
    token.add_argument("--role", choices=["volunteer", "caseworker", "coordinator", "org_admin"])
    token.add_argument("--platform-admin", action="store_true")
    token.add_argument("--email")
    token.add_argument("--name")
    token.add_argument("--ttl", type=int, help="seconds (default CODELIVER_DEV_TOKEN_TTL_S)")
    token.set_defaults(func=_token)
    db = sub.add_parser("db", help="the private PostgreSQL + PostGIS cluster")
    db.add_argument("action", choices=["start", "stop", "status", "url"])
    db.add_argument("--owner", action="store_true", help="url: the owner's, for migrations")
    db.set_defaults(func=_db)
    sim = sub.add_parser("simulate", help="a simulated week through the real code, per policy")
    sim.add_argument("--quick", action="store_true", help="a day and ~200 volunteers")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--volunteers", type=int)
    sim.add_argument("--days", type=int)
    sim.add_argument("--world", help="a TOML or JSON file overriding the world model")
    sim.add_argument("--policies", help="comma-separated: cascade,nearest_first,open_call,...")
    sim.add_argument(
        "--variant",
        action="append",
        metavar="NAME:FIELD=N,...",
        help="also a cascade under other programme settings, e.g. w2:wave_size=2,max_waves=6",
    )
    sim.add_argument(
        "--follow-ups",
        type=int,
        metavar="N",
        help="the caseworker's next waves per escalated need (default 2; 0: the cascade alone)",
    )
    sim.add_argument("--out", default="simulation-report", help="directory: JSON and PNG")
    sim.add_argument("--keep", action="store_true", help="keep the simulation databases")
    sim.set_defaults(func=_simulate)
    from app.imports.command import add_parser
    from app.ops import formation

    add_parser(sub)
    formation.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        handler: Callable[[Settings, argparse.Namespace], int] = args.func
        return handler(settings, args)
    except SettingsError as exc:
        print(f"codeliver: configuration error: {exc}", file=sys.stderr)
        return 2
    except LookupError as exc:
        print(f"codeliver: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from infra.localdb import LocalDatabaseError

        if isinstance(exc, LocalDatabaseError):
            print(f"codeliver: database: {exc}", file=sys.stderr)
            return 2
        raise
