"""The async engine: asyncpg under SQLAlchemy, one pool per process."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Settings, SettingsError
from infra.localdb import LocalCluster

# Short OLTP statements: JIT compiling one costs seconds, not milliseconds (measured: the
# candidates statement as the app role at 100k volunteers, 4.3 s -> 1.2 s). Benchmarks'
# raw connections use the same.
STATEMENT_SETTINGS = {"jit": "off"}


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # No ping before each checkout (BEGIN, a round trip, ROLLBACK: about a fifth of a
        # request's Python time, docs/decisions.md, 65). A connection found dead invalidates
        # the whole pool, so a restarted database costs the requests in flight a 503 with
        # Retry-After (app/problems.py), not a dead pool.
        pool_pre_ping=False,
        pool_timeout=settings.db_pool_timeout_s,
        connect_args=connect_args(settings),
    )


def connect_args(settings: Settings) -> dict[str, Any]:
    """asyncpg's; through PgBouncer (CODELIVER_DATABASE_POOLED) no statement outlives its
    transaction: no prepared-statement caches (asyncpg's and SQLAlchemy's), a unique name per
    statement prepared, and no startup settings (PgBouncer refuses them: infra/pooler.py sets
    them on each server connection instead)."""
    args: dict[str, Any] = {
        "timeout": 5,
        "command_timeout": settings.db_statement_timeout_ms / 1000,
        "server_settings": {
            "application_name": "codeliver",
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": "60000",
            **STATEMENT_SETTINGS,
        },
    }
    if settings.database_pooled:
        args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _statement_name,
            "server_settings": {"application_name": "codeliver"},
        }
    return args


def _statement_name() -> str:
    return f"__asyncpg_{uuid4().hex}__"


def local_cluster(settings: Settings) -> LocalCluster:
    return LocalCluster(settings.state_dir / "pg", port=settings.pg_port)


def database_urls(settings: Settings) -> tuple[str, str]:
    """(the app's URL, the migration owner's URL): configured, or the private cluster's."""
    if settings.database_url:
        return settings.database_url, settings.migration_database_url or settings.database_url
    cluster = local_cluster(settings)
    state = cluster.state()
    if state is None or cluster.status() != "running":
        raise SettingsError(
            "CODELIVER_DATABASE_URL is not set and the private database is not running: "
            "run `codeliver db start` (or `make run`), or point CODELIVER_DATABASE_URL at "
            "a PostgreSQL + PostGIS database"
        )
    return state.url(), state.url(owner=True)
