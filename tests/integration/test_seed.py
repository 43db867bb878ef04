from __future__ import annotations

import pytest

from app.seed import ORGS, seed
from tests.support import Db

pytestmark = pytest.mark.anyio


async def test_the_demo_seed_is_idempotent_and_covers_every_role(db: Db) -> None:
    first = await seed(db.owner_url, volunteers=12, progress=False)
    second = await seed(db.owner_url, volunteers=12, progress=False)
    assert first == second
    assert first.organisations == len(ORGS)
    # 3 staff per organisation, 12 volunteers, 1 platform admin.
    assert first.users == 3 * len(ORGS) + 12 + 1
    assert first.volunteers == 12
    assert first.clients == 300
    assert first.needs > 300  # weekly series add occurrences
    assert 3 * len(ORGS) + 12 <= first.memberships <= 3 * len(ORGS) + 24


async def test_the_demo_population_is_varied(db: Db) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    await seed(db.owner_url, volunteers=300, progress=False)
    engine = create_async_engine(db.owner_url)
    async with engine.connect() as conn:
        levels = set(
            (await conn.execute(text("SELECT DISTINCT level FROM vetting_checks"))).scalars()
        )
        lapsed = await conn.scalar(
            text("SELECT count(*) FROM vetting_checks WHERE expires_on < current_date")
        )
        modes = await conn.scalar(text("SELECT count(DISTINCT travel_mode) FROM volunteers"))
        spans = await conn.scalar(text("SELECT count(*) FROM volunteer_availability"))
        statuses = set(
            (
                await conn.execute(
                    text("SELECT DISTINCT status FROM memberships WHERE role = 'volunteer'")
                )
            ).scalars()
        )
    await engine.dispose()
    assert {"none", "basic", "enhanced_children", "enhanced_both"} <= levels
    assert lapsed > 0
    assert modes == 4
    assert spans > 300
    assert statuses == {"approved", "pending", "suspended"}


async def test_the_demos_offers_lapse_in_15_minutes_where_new_programmes_wait_30(
    db: Db,
) -> None:
    """The demo's volunteers answer ten times faster than the model, so its programmes keep
    15-minute offers (docs/decisions.md, 42); a programme created without one waits 30."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.demo_casework import DEMO_OFFER_TIMEOUT_S
    from matching.model import OfferPolicy

    await seed(db.owner_url, volunteers=0, progress=False)
    engine = create_async_engine(db.owner_url)
    async with engine.begin() as conn:
        timeouts = set(
            (await conn.execute(text("SELECT DISTINCT offer_timeout_s FROM programmes"))).scalars()
        )
        org = await conn.scalar(text("SELECT id FROM organisations LIMIT 1"))
        fresh = await conn.scalar(
            text(
                "INSERT INTO programmes (org_id, name, kind, min_vetting)"
                " VALUES (:org, 'A new one', 'community_support', 'none')"
                " RETURNING offer_timeout_s"
            ),
            {"org": org},
        )
        await conn.rollback()
    await engine.dispose()
    assert timeouts == {DEMO_OFFER_TIMEOUT_S} == {900}
    assert fresh == OfferPolicy().offer_timeout_s == 1800  # the table's default is the model's
