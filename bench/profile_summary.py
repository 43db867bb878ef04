"""Where a py-spy profile's time goes: `py-spy record -f raw` (one collapsed stack and its
sample count a line) summed by function, inclusive and self, as a share of all samples."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TOP = 30


def summary(path: Path, top: int = TOP) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"py-spy: {total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"  {title}:")
        lines += [f"    {100 * n / total:5.1f} %  {frame}" for frame, n in counter.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(summary(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else TOP))
