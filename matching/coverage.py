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

S_v is the hours a volunteer is expected to give, not the hours they could: their capped
hours times the share of offers that are accepted (`expected_acceptance`: the
organisation's own record of the last eight weeks, shrunk towards a prior while it is short).
Hours a volunteer could give but would decline are not help (docs/decisions.md, 51).

No I/O: the app loads the facts (`geo/coverage.py`) and maps the answer onto cells.
"""

from __future__ import annotations

from collections.abc import Iterator
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
# The share of answered offers accepted before an organisation has a record of its own: the
# middle of the per-alert acceptance published for volunteer responder schemes (17-47 %).
PRIOR_ACCEPTANCE = 0.3
PRIOR_OFFERS = 50  # the prior weighs as much as this many answered offers
ACCEPTANCE_WEEKS = 8  # how far back the record is read


@dataclass(frozen=True)
class Method:
    """What produced a coverage figure (said in every response)."""

    name: str = METHOD
    decay: str = DECAY  # exp(-(d/d0)^2 / 2) within d0
    catchment: str = CATCHMENT  # d0: each volunteer's own travel radius
    remote_weight: float = 1.0  # remote needs: reached from anywhere
    prior_acceptance: float = PRIOR_ACCEPTANCE
    prior_offers: int = PRIOR_OFFERS
    acceptance_weeks: int = ACCEPTANCE_WEEKS


@dataclass(frozen=True)
class Acceptance:
    """The expected share of offers accepted, and how many answered offers it rests on."""

    share: float
    offers: int

    def basis(self) -> str:
        return (
            f"{self.offers} answered offers in the {ACCEPTANCE_WEEKS} weeks before the period,"
            f" with a prior of {PRIOR_ACCEPTANCE} weighing as {PRIOR_OFFERS} offers"
        )


def expected_acceptance(accepted: int, answered: int) -> Acceptance:
    """The share of offers a volunteer is expected to accept: the organisation's accepted
    offers over its answered ones (accepted, declined or lapsed; an offer withdrawn because
    the need filled says nothing of the volunteer), with the prior counted as PRIOR_OFFERS
    more (the mean of the Beta posterior): a new organisation starts at the prior, and its
    own record takes over as it grows."""
    if not 0 <= accepted <= answered:
        raise ValueError("accepted offers are among the answered ones")
    share = (accepted + PRIOR_ACCEPTANCE * PRIOR_OFFERS) / (answered + PRIOR_OFFERS)
    return Acceptance(round(share, 4), answered)


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
    """min(weekly cap for the period, available hours in it) less hours already committed:
    the hours a volunteer could give (times `expected_acceptance`: the hours they would)."""
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


def plane_offsets(lon1: Floats, lat1: Floats, lon2: Floats, lat2: Floats) -> tuple[Floats, Floats]:
    """East and north metres from point 1 to point 2 on the local plane (equirectangular at
    the pair's mean latitude): within 0.1 % of the great-circle distance up to 100 km, the
    longest reach, with no trigonometry per pair (the cosines are the points' own)."""
    east = (np.radians(lon2 - lon1) * EARTH_RADIUS_M) * (
        0.5 * (np.cos(np.radians(lat1)) + np.cos(np.radians(lat2)))
    )
    north = np.radians(lat2 - lat1) * EARTH_RADIUS_M
    return np.asarray(east, np.float64), np.asarray(north, np.float64)


def distance_m(lon1: Floats, lat1: Floats, lon2: Floats, lat2: Floats) -> Floats:
    east, north = plane_offsets(lon1, lat1, lon2, lat2)
    return np.asarray(np.hypot(east, north), np.float64)


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


def _metres(lon: Floats, lat: Floats) -> tuple[Floats, Floats, Floats]:
    """Per point: longitude and latitude in radians x R, and half the cosine of latitude (a
    pair's east offset is dx times the sum of its two half-cosines: `plane_offsets`)."""
    return (
        np.radians(lon) * EARTH_RADIUS_M,
        np.radians(lat) * EARTH_RADIUS_M,
        0.5 * np.cos(np.radians(lat)),
    )


@dataclass(frozen=True)
class _Class:
    """The supply rows of one eligibility class (organisation, level, words, on duty), by
    latitude, and the points of the needs they are eligible for. Needs at one point weigh
    the same for every row of the class (coarse locations share grid points; every remote
    need is one point at `remote_weight`), so the arithmetic runs per point, not per need."""

    rows: Ints
    needs: Ints  # eligible needs
    point: Ints  # each of those needs' point: its index in the columns below
    hours: Floats  # demand hours per point
    x: Floats  # in-person points, by latitude (remote: the last column, if any)
    y: Floats
    half_cos: Floats
    remote: bool


def _classes(s: Supply, d: Demand) -> Iterator[_Class]:
    duty = np.ones(len(s), np.int64) if s.on_duty is None else s.on_duty.astype(np.int64)
    key = np.zeros(len(s), np.int64)
    for column in (s.org, s.level, s.words, duty):  # one integer per combination
        values, code = np.unique(column, return_inverse=True)
        key = key * len(values) + code.reshape(-1)
    _, firsts, of_row = np.unique(key, return_index=True, return_inverse=True)
    of_row = of_row.reshape(-1)
    by_class = np.argsort(of_row, kind="stable")
    bounds = np.searchsorted(of_row[by_class], np.arange(len(firsts) + 1))
    every_need = np.arange(len(d), dtype=np.int64)
    lat_order = np.argsort(s.lat, kind="stable")
    rank = np.empty(len(s), np.int64)
    rank[lat_order] = np.arange(len(s))
    remote = np.isnan(d.lon)
    for c, first in enumerate(firsts):
        needs = np.nonzero(_eligible(s, d, np.full(len(d), first, np.int64), every_need))[0]
        if not len(needs):
            continue
        rows = by_class[bounds[c] : bounds[c + 1]]
        rows = rows[np.argsort(rank[rows])].astype(np.int64)
        far = remote[needs]
        places = np.stack([d.lat[needs], d.lon[needs]], axis=1)[~far]
        unique, point = np.unique(places, axis=0, return_inverse=True)  # sorted by latitude
        points = np.zeros(len(needs), np.int64)
        points[~far] = point.reshape(-1)
        points[far] = len(unique)
        x, y, half_cos = _metres(unique[:, 1], unique[:, 0])
        yield _Class(
            rows=rows,
            needs=needs.astype(np.int64),
            point=points,
            hours=np.bincount(points, weights=d.hours[needs], minlength=len(unique) + 1).astype(
                np.float64
            ),
            x=x,
            y=y,
            half_cos=half_cos,
            remote=bool(far.any()),
        )


Block = tuple[Ints, slice, Floats]  # supply rows, their in-person points, weights


def _blocks(
    s: Supply, c: _Class, rows_m: tuple[Floats, Floats, Floats], size: int
) -> Iterator[Block]:
    """The class's weights to its in-person points, a block of rows at a time: each block's
    points are the band of latitudes its rows could reach (zeros inside it: out of reach)."""
    if not len(c.y):
        return
    x, y, half_cos = rows_m
    lo = np.searchsorted(c.y, y[c.rows] - s.radius_m[c.rows], side="left")
    hi = np.searchsorted(c.y, y[c.rows] + s.radius_m[c.rows], side="right")
    step = max(1, size // len(c.y))
    for start in range(0, len(c.rows), step):
        part = c.rows[start : start + step]
        band = slice(int(lo[start : start + step].min()), int(hi[start : start + step].max()))
        if band.stop <= band.start:
            continue
        east = c.x[band][None, :] - x[part][:, None]
        east *= half_cos[part][:, None] + c.half_cos[band][None, :]
        north = c.y[band][None, :] - y[part][:, None]
        d2 = east * east
        d2 += north * north
        r2 = (s.radius_m[part] ** 2)[:, None]
        w = np.exp(d2 / np.maximum(r2, 1e-18) * -0.5)
        w[d2 > r2] = 0.0
        yield part, band, w


def accessible(
    s: Supply, d: Demand, max_pairs: int = 250_000, keep_pairs: int = 8_000_000
) -> Floats:
    """Each need's accessible supply hours (E2SFCA), in two sweeps of the same blocks: the
    weighted demand each volunteer reaches, then each point's share of their hours. Nothing
    of the size of all pairs is kept (366k volunteers x 800 needs: 300M pairs); `max_pairs`
    bounds a block. The first sweep's blocks are kept for the second, the same figures
    without computing the weights twice, up to `keep_pairs` weights (64 MB; decisions.md,
    66)."""
    if len(s) == 0 or len(d) == 0:
        return np.zeros(len(d), dtype=np.float64)
    rows_m = _metres(s.lon, s.lat)
    classes = list(_classes(s, d))
    wanted_row = np.zeros(len(s), dtype=np.float64)
    kept: dict[int, list[Block]] = {}  # the first sweep's blocks, up to `keep_pairs`
    for n, c in enumerate(classes):
        if c.remote:
            wanted_row[c.rows] += c.hours[-1] * Method.remote_weight
        blocks = []
        for rows, band, w in _blocks(s, c, rows_m, max_pairs):
            wanted_row[rows] += w @ c.hours[band]
            if keep_pairs >= w.size:
                keep_pairs -= w.size
                blocks.append((rows, band, w))
            else:
                keep_pairs = -1  # the class's blocks are computed again in the second sweep
        if keep_pairs >= 0:
            kept[n] = blocks
    people = int(s.person.max()) + 1
    wanted = np.bincount(s.person, weights=wanted_row, minlength=people)
    hours = np.zeros(people, dtype=np.float64)
    hours[s.person] = s.hours
    ratio = np.divide(hours, wanted, out=np.zeros(people), where=wanted > 0)[s.person]
    access = np.zeros(len(d), dtype=np.float64)
    for n, c in enumerate(classes):
        per_point = np.zeros(len(c.hours), dtype=np.float64)
        if c.remote:
            per_point[-1] = ratio[c.rows].sum() * Method.remote_weight
        for rows, band, w in kept[n] if n in kept else _blocks(s, c, rows_m, max_pairs):
            per_point[band] += ratio[rows] @ w
        access[c.needs] += per_point[c.point]
    return np.asarray(d.hours * access, dtype=np.float64)


def unmet(demand_hours: Floats, supply_hours: Floats) -> Floats:
    """Demand hours a need's accessible supply leaves uncovered, floored at 0."""
    return np.asarray(np.maximum(demand_hours - supply_hours, 0.0), dtype=np.float64)
