"""The end of what erasure kept: once an organisation's retention has run from a volunteer's
erasure, the worker deletes the records it kept for safeguarding under their pseudonym."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import clock_of

# Each kept table and its column naming the erased person: those rows of an organisation
# whose retention has run out since the erasure. Assignments before offers (they point at
# them); reply codes go with their offers.
_KEPT = (
    ("assignments", "volunteer_id"),
    ("offers", "volunteer_id"),
    ("client_exclusions", "volunteer_id"),
    ("vetting_checks", "user_id"),
)
_PURGE = """
DELETE FROM {table} k USING users u, organisations o
 WHERE k.{column} = u.id AND u.erased_at IS NOT NULL AND o.id = k.org_id
   AND u.erased_at + make_interval(months => o.safeguarding_retention_months) <= :now
"""


async def purge_expired(engine: AsyncEngine) -> None:
    """Worker job (the system login): one transaction for every kept table."""
    now = clock_of(engine).now()
    async with engine.begin() as conn:
        for table, column in _KEPT:
            await conn.execute(text(_PURGE.format(table=table, column=column)), {"now": now})
