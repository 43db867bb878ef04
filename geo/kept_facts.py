"""The kept volunteer facts of a scope, decoded once and kept in the API process while the
table is unchanged (docs/decisions.md, 66; the facts themselves: geo/volunteer_facts.py, 59).

Reading 366k facts rows, cutting each one's spans to the period in SQL and sending them as
arrays took ~2.5 s of a 3 s map computed on the spot. What does not depend on the period is
read once per scope and version into numpy arrays (`Kept`); what does (spans cut to the
period, the vetting through its last day, duty at the instant, the period's commitments,
the view's words) is decided here per view over those arrays, as the SQL of
geo/access.py decides it (`columns`).

Never stale: the worker gives the facts table a new random `version` in every transaction
that rewrites any row. Each view runs one statement (`VIEW_SQL`, one snapshot) that reads
the version, the queue of changed users, the period's commitments and the queued users'
rows from the source tables. A copy is used only when its version is that one: the table's
rows are then the copy's rows, and the queued users are left out of them and computed from
the tables exactly as before. A copy of another version is read again first. A copy is per
scope (the set of organisations a member of staff is authorised for, read through their own
row-level security), so one scope's copy never answers another's view.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from geo.coverage import Scope, float8_array

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
KEEP_SCOPES = 4  # copies kept, the most recently used (366k rows: ~60 MB)
_EPOCH = date(1970, 1, 1)

_F8 = "array_send(coalesce(array_agg(({e})::float8), '{{}}'))"
_EACH = (
    ("n", "n"),
    ("word_set", "g"),
    *(("lon", "lon"), ("lat", "lat"), ("km", "km"), ("cap", "cap"), ("person", "person")),
    ("duty", "on_duty::int"),
    ("duty_until", "coalesce((extract(epoch FROM on_duty_until) * 1000000)::float8, 'Infinity')"),
    ("level", "array_position(CAST(:levels AS text[]), level) - 1"),
    ("level_until", "coalesce((level_until - DATE '1970-01-01')::float8, '-Infinity')"),
)
# One scope's rows, numbered `n`, as arrays of one aggregate (so in one order): float8 (times
# as epoch microseconds, days as days since 1970: exact in float8), uuids; each row's set of
# words as a number (the sets once each, in order), spans as (n, lower, upper); the state's
# version in the same statement.
LOAD_SQL = text(f"""
WITH f AS MATERIALIZED (
  SELECT (row_number() OVER () - 1) AS n, f.*
    FROM coverage_volunteer_facts f WHERE f.org_id = ANY (CAST(:org_ids AS uuid[]))
),
sets AS (SELECT (row_number() OVER () - 1) AS g, words FROM (SELECT DISTINCT words FROM f) d),
spans AS (
  SELECT f.n, coalesce((extract(epoch FROM lower(a)) * 1000000)::float8, '-Infinity') AS lo,
         coalesce((extract(epoch FROM upper(a)) * 1000000)::float8, 'Infinity') AS hi
    FROM f, unnest(f.spans) a WHERE NOT isempty(a)
)
SELECT (SELECT version FROM coverage_volunteer_facts_state) AS version, r.*, w.*, s.*
  FROM (SELECT array_send(coalesce(array_agg(user_id), '{{}}')) AS users,
               array_send(coalesce(array_agg(org_id), '{{}}')) AS orgs,
               {", ".join(f"{_F8.format(e=e)} AS {c}" for c, e in _EACH)}
          FROM f JOIN sets USING (words)) r,
       (SELECT coalesce(array_agg(array_to_string(words, E'\\x1f') ORDER BY g), '{{}}')
               AS sets FROM sets) w,
       (SELECT array_send(coalesce(array_agg(n::float8), '{{}}')) AS span_row,
               array_send(coalesce(array_agg(lo), '{{}}')) AS span_lo,
               array_send(coalesce(array_agg(hi), '{{}}')) AS span_hi FROM spans) s
""")


def uuid_array(sent: bytes) -> NDArray[Any]:
    """A one-dimensional uuid[] without NULLs as `array_send` writes it (see float8_array),
    as 16-byte strings."""
    if int.from_bytes(sent[0:4], "big") == 0:
        return np.zeros(0, dtype="S16")
    items = np.frombuffer(sent, dtype=np.dtype([("size", ">i4"), ("value", "S16")]), offset=20)
    return items["value"].copy()


@dataclass(frozen=True)
class Kept:
    """One scope's facts rows at one version, as arrays (a row per approved membership)."""

    version: UUID
    org_ids: list[UUID]  # sorted; `org` indexes it
    org: Ints
    users: NDArray[Any]  # distinct users, sorted (16-byte strings); `user` indexes it
    user: Ints
    lon: Floats
    lat: Floats
    km: Floats
    cap: Floats
    person: Floats
    duty: NDArray[np.bool_]
    duty_until: Floats  # epoch microseconds, +inf without an end
    level: Floats  # index in the levels the copy was read with
    level_until: Floats  # days since 1970, -inf: no verified vetting
    vocab: list[str]  # every word of the rows
    word_set: Ints  # each row's set of words, one of:
    set_row: Ints  # (set, word) pairs, words by their index in `vocab`
    set_word: Ints
    span_row: Ints
    span_lo: Floats  # epoch microseconds
    span_hi: Floats

    def __len__(self) -> int:
        return len(self.lon)


async def load(conn: AsyncConnection, org_ids: list[UUID], levels: list[str]) -> Kept | None:
    """The scope's rows now; None before the first rebuild."""
    row = (await conn.execute(LOAD_SQL, {"org_ids": org_ids, "levels": levels})).one()
    if row.version is None:
        return None
    return await asyncio.to_thread(_decoded, row, org_ids)  # ~0.5 s: off the event loop


def _decoded(row: Any, org_ids: list[UUID]) -> Kept:
    f = {c: float8_array(bytes(getattr(row, c))) for c in _LOADED}
    order = np.argsort(f["n"])  # the rows by n, as the pairs number them
    for c, _ in _EACH:
        f[c] = f[c][order]
    each_user = uuid_array(bytes(row.users))[order]
    users, user = np.unique(each_user, return_inverse=True)
    orgs = sorted(set(org_ids))
    sets = [sorted(set(words.split("\x1f"))) if words else [] for words in row.sets]
    vocab = sorted({w for words in sets for w in words})
    sorted_orgs = np.array([o.bytes for o in orgs], dtype="S16")
    return Kept(
        version=row.version,
        org_ids=orgs,
        org=np.searchsorted(sorted_orgs, uuid_array(bytes(row.orgs))[order]).astype(np.int64),
        users=users,
        user=user.reshape(-1).astype(np.int64),
        lon=f["lon"],
        lat=f["lat"],
        km=f["km"],
        cap=f["cap"],
        person=f["person"],
        duty=f["duty"] > 0,
        duty_until=f["duty_until"],
        level=f["level"],
        level_until=f["level_until"],
        vocab=vocab,
        word_set=f["word_set"].astype(np.int64),
        set_row=np.repeat(np.arange(len(sets)), [len(w) for w in sets]).astype(np.int64),
        set_word=np.array([vocab.index(w) for words in sets for w in words], dtype=np.int64),
        span_row=f["span_row"].astype(np.int64),
        span_lo=f["span_lo"],
        span_hi=f["span_hi"],
    )


_LOADED = (*(c for c, _ in _EACH), "span_row", "span_lo", "span_hi")


def _micros(t: datetime) -> float:
    return float((t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))


@dataclass(frozen=True)
class View:
    """What one view adds to a copy, read in one snapshot with the version (`VIEW_SQL`)."""

    version: UUID | None
    queued: NDArray[Any]  # users whose rows are left out (computed from the tables)
    committed_users: NDArray[Any]
    committed_minutes: Floats


def columns(
    kept: Kept,
    view: View,
    scope: Scope,
    box: tuple[float | None, ...],
    now: datetime,
    vocab: list[str],
    none_level: int,
) -> dict[str, Floats]:
    """The columns geo/access.py's kept-facts statement gives, for the copy's rows in the
    lon/lat `box` (all of them without one) whose users are not queued."""
    start, end = _micros(scope.start), _micros(scope.end)
    cut = np.minimum(kept.span_hi, end) - np.maximum(kept.span_lo, start)
    micros = np.bincount(kept.span_row, weights=np.maximum(cut, 0.0), minlength=len(kept))
    minutes = np.zeros(len(kept.users), dtype=np.float64)
    at = np.searchsorted(kept.users, view.committed_users)
    found = at < len(kept.users)
    found[found] &= kept.users[at[found]] == view.committed_users[found]
    minutes[at[found]] = view.committed_minutes[found]
    bits = np.zeros(len(kept.vocab), dtype=np.float64)
    position = {word: n for n, word in enumerate(kept.vocab)}
    for n, word in enumerate(vocab):
        if word in position:
            bits[position[word]] += 2.0**n
    sets = int(kept.word_set.max(initial=-1)) + 1
    set_bits = np.bincount(kept.set_row, weights=bits[kept.set_word], minlength=sets)
    last_day = float(((scope.end - timedelta(microseconds=1)).date() - _EPOCH).days)
    where = np.array(
        [kept.org_ids.index(o) for o in scope.org_ids if o in kept.org_ids], dtype=np.int64
    )
    order = np.full(len(kept.org_ids), np.nan)
    order[where] = [scope.org_ids.index(kept.org_ids[w]) for w in where]
    keep = ~np.isin(kept.users[kept.user], view.queued)
    if box[0] is not None:
        west, south, east, north = (float(b) for b in box if b is not None)
        keep &= (kept.lon >= west) & (kept.lon <= east)
        keep &= (kept.lat >= south) & (kept.lat <= north)
    everything = {
        "lon": kept.lon,
        "lat": kept.lat,
        "km": kept.km,
        "on_duty": (kept.duty & (kept.duty_until > _micros(now))).astype(np.float64),
        "available": micros / 3_600_000_000.0,
        "cap": kept.cap,
        "committed": minutes[kept.user] / 60.0,
        "org": order[kept.org],
        "level": np.where(kept.level_until > last_day, kept.level, float(none_level)),
        "words": set_bits[kept.word_set],
        "person": kept.person,
    }
    return {c: np.asarray(v[keep], dtype=np.float64) for c, v in everything.items()}


class Copies:
    """The copies of the most recently viewed scopes, by the set of their organisations."""

    def __init__(self, size: int = KEEP_SCOPES) -> None:
        self.size = size
        self._kept: OrderedDict[frozenset[UUID], Kept] = OrderedDict()

    def get(self, org_ids: list[UUID], version: UUID | None) -> Kept | None:
        key = frozenset(org_ids)
        kept = self._kept.get(key)
        if kept is None or version is None or kept.version != version:
            return None
        self._kept.move_to_end(key)
        return kept

    def put(self, org_ids: list[UUID], kept: Kept) -> None:
        key = frozenset(org_ids)
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        self._kept.clear()


COPIES = Copies()
