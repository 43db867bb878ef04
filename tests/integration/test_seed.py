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
    assert first.memberships == 3 * len(ORGS) + 12 + 4  # every third volunteer serves two
