"""Through PgBouncer (docs/scaling.md, "The formation"): no statement outlives its
transaction, the live channel connects directly, and a write refused by a demoted primary
(25006) is a 503 with Retry-After."""

from __future__ import annotations

import pytest
from litestar import get
from litestar.datastructures import State
from litestar.testing import create_test_client
from sqlalchemy.exc import DBAPIError

from app.db.engine import connect_args
from app.problems import EXCEPTION_HANDLERS
from app.settings import Settings, SettingsError, load_settings
from notifications.live import asyncpg_dsn


def test_pooled_connections_cache_no_statement_and_send_no_session_settings() -> None:
    direct, pooled = connect_args(Settings()), connect_args(Settings(database_pooled=True))
    assert "statement_cache_size" not in direct
    assert direct["server_settings"]["jit"] == "off"
    assert pooled["statement_cache_size"] == 0  # asyncpg's
    assert pooled["prepared_statement_cache_size"] == 0  # SQLAlchemy's
    names = {pooled["prepared_statement_name_func"]() for _ in range(100)}
    assert len(names) == 100  # never two clients' statements under one name on a server
    # PgBouncer refuses unknown startup parameters: it sets them itself (infra/pooler.py).
    assert pooled["server_settings"] == {"application_name": "codeliver"}


def test_pooled_needs_a_direct_url_for_the_live_channel() -> None:
    with pytest.raises(SettingsError, match="CODELIVER_LIVE_DATABASE_URL"):
        load_settings({"CODELIVER_DATABASE_POOLED": "true"})
    live = "postgresql://u@127.0.0.1:1,127.0.0.1:2/codeliver?target_session_attrs=read-write"
    settings = load_settings(
        {"CODELIVER_DATABASE_POOLED": "true", "CODELIVER_LIVE_DATABASE_URL": live}
    )
    assert settings.database_pooled
    assert asyncpg_dsn(settings.live_database_url or "") == live  # several hosts, as given
    assert asyncpg_dsn("postgresql+asyncpg://u:p@h:5/d") == "postgresql://u:p@h:5/d"


class _ReadOnly(Exception):
    sqlstate = "25006"


def test_a_write_on_a_demoted_primary_is_a_503_with_retry_after() -> None:
    @get("/write")
    async def write() -> None:
        raise DBAPIError(
            "INSERT", {}, _ReadOnly("cannot execute INSERT in a read-only transaction")
        )

    with create_test_client(
        [write], exception_handlers=EXCEPTION_HANDLERS, state=State({"settings": Settings()})
    ) as client:
        r = client.get("/write")
    assert r.status_code == 503
    assert r.headers["retry-after"]
    assert r.headers["content-type"].startswith("application/problem+json")
