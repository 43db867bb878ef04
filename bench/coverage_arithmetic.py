"""The coverage arithmetic alone (matching/coverage.py: accessible, E2SFCA), on a synthetic
town: volunteers scattered over Reading (0.25 x 0.12 degrees, radius 1-20 km, four vetting
levels, four skills, a third on duty), needs on the 500 m grid of coarse locations (5 %
remote, a tenth urgent). No database.

    .venv/bin/python -m bench.coverage_arithmetic [--volunteers 30000,366000] [--needs 800]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from geo.privacy import coarsen_location
from matching.coverage import Demand, Supply, accessible

LAT0, LON0 = 51.45, -0.97


def town(volunteers: int, needs: int, seed: int = 1) -> tuple[Supply, Demand]:
    rng = np.random.default_rng(seed)
    v = volunteers
    supply = Supply(
        person=np.arange(v, dtype=np.int64),
        org=np.zeros(v, np.int64),
        lon=LON0 + rng.uniform(-0.125, 0.125, v),
        lat=LAT0 + rng.uniform(-0.06, 0.06, v),
        radius_m=np.round(rng.uniform(1, 20, v), 1) * 1000,
        hours=rng.uniform(0, 10, v),
        level=np.left_shift(1, rng.integers(0, 4, v)).astype(np.int64),
        words=rng.integers(0, 16, v).astype(np.float64),
        on_duty=rng.random(v) < 0.3,
    )
    points = [
        coarsen_location(lat, lon)
        for lat, lon in zip(
            LAT0 + rng.uniform(-0.06, 0.06, needs),
            LON0 + rng.uniform(-0.125, 0.125, needs),
            strict=True,
        )
    ]
    remote = rng.random(needs) < 0.05
    demand = Demand(
        org=np.zeros(needs, np.int64),
        lon=np.where(remote, np.nan, [p[1] for p in points]),
        lat=np.where(remote, np.nan, [p[0] for p in points]),
        levels=rng.choice([15, 14, 12, 8], needs).astype(np.int64),
        words=rng.choice([0.0, 1.0, 2.0, 4.0], needs),
        hours=rng.uniform(1, 4, needs),
        urgent=rng.random(needs) < 0.1,
    )
    return supply, demand


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", default="30000,366000")
    parser.add_argument("--needs", type=int, default=800)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'volunteers':>10} {'needs':>6} {'best s':>8} {'hours shared':>13}")
    for size in (int(x) for x in args.volunteers.split(",")):
        supply, demand = town(size, args.needs)
        runs = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            got = accessible(supply, demand)
            runs.append(time.perf_counter() - began)
        print(f"{size:>10} {args.needs:>6} {min(runs):>8.2f} {got.sum():>13.1f}")


if __name__ == "__main__":
    main()
