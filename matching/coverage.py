"""Accessible supply and unmet demand: the enhanced two-step floating catchment area method
(E2SFCA, Luo & Qi 2009), on plain arrays.

Step 1: each volunteer's capped hours S_v (`capped_hours`) are divided by the demand they
could take, weighted by distance: R_v = S_v / sum_n D_n W(d_vn), over the needs they are
eligible for (organisation, vetting, skills, languages; an urgent need: on duty, as matching
asks) and reach (within their travel
radius; a remote need is reached from anywhere, at weight 1).
Step 2: each need's accessible supply is its share of every such volunteer's hours:
A_n = D_n sum_v R_v W(d_vn). Summed over all needs this is sum_v S_v over the volunteers who
can take any need: no one's hours count twice. A need's unmet demand is max(0, D_n - A_n).

W is a Gaussian of the distance over the volunteer's own radius d0, truncated there:
exp(-(d / d0)^2 / 2) for d <= d0 (1 at home, 0.61 at the edge), 0 beyond.

No I/O: the app loads the facts (`geo/coverage.py`) and maps the answer onto cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching.vetting import DbsLevel, satisfies

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

METHOD = "e2sfca"
DECAY = "gaussian"
CATCHMENT = "travel_radius"
EARTH_RADIUS_M = 6_371_008.8
MAX_WORDS = 52  # skills and languages as bits of a float8 (exact below 2**53)
LEVELS = tuple(DbsLevel)  # a level's bit is its index here


@dataclass(frozen=True)
class Method:
    """What produced a coverage figure (said in every response)."""

    name: str = METHOD
    decay: str = DECAY  # exp(-(d/d0)^2 / 2) within d0
    catchment: str = CATCHMENT  # d0: each volunteer's own travel radius
    remote_weight: float = 1.0  # remote needs: reached from anywhere


def level_bit(level: DbsLevel) -> int:
    return 1 << LEVELS.index(level)


def accepted_levels(required: DbsLevel) -> int:
    """The bits of every level that meets `required` (all of them for no requirement)."""
    return sum(level_bit(held) for held in LEVELS if satisfies(held, required))


def word_bits(words: list[str], vocabulary: dict[str, int]) -> int:
    """Bits of the words known to `vocabulary` (word -> bit index)."""
    return sum(1 << vocabulary[w] for w in set(words) if w in vocabulary)


def vocabulary(needs_words: list[list[str]]) -> dict[str, int]:
    """The words the needs ask for, most asked first, at most MAX_WORDS: a rarer word past
    that is left out of the requirements (its needs then look easier to fill, never harder)."""
    counts: dict[str, int] = {}
    for words in needs_words:
        for w in set(words):
            counts[w] = counts.get(w, 0) + 1
    ranked = sorted(counts, key=lambda w: (-counts[w], w))[:MAX_WORDS]
    return {w: k for k, w in enumerate(ranked)}


def capped_hours(
    available: Floats, weekly_cap: Floats, period_days: float, committed: Floats
) -> Floats:
    """min(weekly cap for the period, available hours in it) less hours already committed."""
    cap = weekly_cap * period_days / 7.0
    return np.asarray(np.maximum(np.minimum(cap, available) - committed, 0.0), dtype=np.float64)


def weight(distance_m: Floats, radius_m: Floats) -> Floats:
    """The distance decay: Gaussian over the radius, 0 beyond it."""
    safe = np.maximum(radius_m, 1e-9)
    w = np.exp(-0.5 * (distance_m / safe) ** 2)
    return np.asarray(np.where(distance_m <= radius_m, w, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class Supply:
    """Volunteers as rows: one per (person, organisation) they are approved in."""

    person: Ints  # rows of one person share their hours
    org: Ints
    lon: Floats
    lat: Floats
    radius_m: Floats
    hours: Floats  # the person's capped hours (equal on each of their rows)
    level: Ints  # bit of the vetting level valid through the period (NONE's if none)
    words: Floats  # bits of the skills and languages held
    on_duty: NDArray[np.bool_] | None = None  # None: everyone (urgent needs want on duty)

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class Demand:
    org: Ints
    lon: Floats  # NaN: a remote need
    lat: Floats
    levels: Ints  # bits of the levels that meet the need
    words: Floats  # bits required
    hours: Floats  # open slots x duration
    urgent: NDArray[np.bool_] | None = None  # None: none is

    def __len__(self) -> int:
        return len(self.org)


def _haversine(lon1: Floats, lat1: Floats, lon2: Floats, lat2: Floats) -> Floats:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))), np.float64)


def _eligible(s: Supply, d: Demand, rows: Ints, needs: Ints) -> NDArray[np.bool_]:
    held = s.words[rows].astype(np.int64)
    asked = d.words[needs].astype(np.int64)
    ok = (
        (s.org[rows] == d.org[needs])
        & ((s.level[rows] & d.levels[needs]) != 0)
        & ((held & asked) == asked)
    )
    if d.urgent is not None and s.on_duty is not None:
        ok &= ~d.urgent[needs] | s.on_duty[rows]
    return ok  # type: ignore[no-any-return]


def pairs(s: Supply, d: Demand, max_pairs: int = 4_000_000) -> tuple[Ints, Ints, Floats]:
    """Every (supply row, need, weight > 0) the volunteer is eligible for and reaches."""
    found: list[tuple[Ints, Ints, Floats]] = []
    remote = np.isnan(d.lon)
    (far,) = np.nonzero(remote)
    (near,) = np.nonzero(~remote)
    order = near[np.argsort(d.lat[near], kind="stable")]
    lats = d.lat[order]
    reach_deg = s.radius_m / (EARTH_RADIUS_M * np.pi / 180)  # a latitude span bounds distance
    lo = np.searchsorted(lats, s.lat - reach_deg, side="left")
    hi = np.searchsorted(lats, s.lat + reach_deg, side="right")
    counts = (hi - lo) + len(far)
    start = 0
    while start < len(s):
        total = np.cumsum(counts[start:])
        stop = start + max(1, int(np.searchsorted(total, max_pairs, side="right")))
        rows = np.arange(start, stop, dtype=np.int64)
        n = hi[rows] - lo[rows]
        row_of = np.repeat(rows, n)
        offset = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        need = order[np.repeat(lo[rows], n) + offset].astype(np.int64)
        dist = _haversine(s.lon[row_of], s.lat[row_of], d.lon[need], d.lat[need])
        w = weight(dist, s.radius_m[row_of])
        keep = (w > 0) & _eligible(s, d, row_of, need)
        found.append((row_of[keep], need[keep], w[keep]))
        if len(far):
            row_r = np.repeat(rows, len(far))
            need_r = np.tile(far, len(rows)).astype(np.int64)
            ok = _eligible(s, d, row_r, need_r)
            found.append((row_r[ok], need_r[ok], np.full(int(ok.sum()), Method.remote_weight)))
        start = stop
    if not found:
        none = np.zeros(0, dtype=np.int64)
        return none, none, np.zeros(0, dtype=np.float64)
    return (
        np.concatenate([f[0] for f in found]),
        np.concatenate([f[1] for f in found]),
        np.concatenate([f[2] for f in found]),
    )


def accessible(s: Supply, d: Demand, max_pairs: int = 4_000_000) -> Floats:
    """Each need's accessible supply hours (E2SFCA)."""
    if len(s) == 0 or len(d) == 0:
        return np.zeros(len(d), dtype=np.float64)
    rows, needs, w = pairs(s, d, max_pairs)
    people = int(s.person.max()) + 1
    person = s.person[rows]
    wanted = np.bincount(person, weights=d.hours[needs] * w, minlength=people)
    hours = np.zeros(people, dtype=np.float64)
    hours[s.person] = s.hours
    ratio = np.divide(hours, wanted, out=np.zeros(people), where=wanted > 0)
    access = np.bincount(needs, weights=ratio[person] * w, minlength=len(d))
    return np.asarray(d.hours * access, dtype=np.float64)


def unmet(demand_hours: Floats, supply_hours: Floats) -> Floats:
    """Demand hours a need's accessible supply leaves uncovered, floored at 0."""
    return np.asarray(np.maximum(demand_hours - supply_hours, 0.0), dtype=np.float64)
