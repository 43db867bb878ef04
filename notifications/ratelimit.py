"""One rate limit for every worker: a token bucket in PostgreSQL, per Notify key.

Notify allows 3,000 requests a minute per key type (a sliding 60 seconds). Each worker
takes tokens from one row before it sends (one statement, the row locked for it), so ten
workers together stay under the limit where ten per-process buckets would send ten times
as much. The bucket refills at 90 % of the limit and holds at most 10 %: in any 60
seconds, at most 10 % + 90 % = the limit goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_SEED = text("""
INSERT INTO notify_rate (bucket, tokens, refilled_at) VALUES (:bucket, :capacity, :now)
ON CONFLICT (bucket) DO NOTHING
""")

_TAKE = text("""
WITH cur AS (
  SELECT bucket, least(CAST(:capacity AS float8), tokens + :rate * greatest(0, extract(epoch
         FROM CAST(:now AS timestamptz) - refilled_at))) AS available
    FROM notify_rate WHERE bucket = :bucket FOR UPDATE)
UPDATE notify_rate r
   SET tokens = cur.available - least(:want, floor(cur.available)),
       refilled_at = greatest(r.refilled_at, CAST(:now AS timestamptz))
  FROM cur WHERE r.bucket = cur.bucket
RETURNING CAST(least(:want, floor(cur.available)) AS int) AS granted, cur.available
""")


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    wait_s: float  # until the next token, when not all were granted


class SharedLimit:
    def __init__(self, engine: AsyncEngine, bucket: str, per_minute: int) -> None:
        self.engine = engine
        self.bucket = bucket
        self.rate = per_minute * 0.9 / 60  # tokens a second
        self.capacity = max(1.0, per_minute * 0.1)

    async def take(self, want: int, now: datetime) -> Grant:
        if want <= 0:
            return Grant(0, 0.0)
        params = {
            "bucket": self.bucket,
            "capacity": self.capacity,
            "rate": self.rate,
            "now": now,
            "want": want,
        }
        async with self.engine.begin() as conn:
            await conn.execute(_SEED, params)
            row = (await conn.execute(_TAKE, params)).one()
        left = row.available - row.granted
        wait = 0.0 if row.granted >= want else max(0.0, 1 - left) / self.rate
        return Grant(int(row.granted), wait)
