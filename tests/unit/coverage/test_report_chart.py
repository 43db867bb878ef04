"""The report's outcome chart: bars in proportion, every number written, every word escaped."""

from __future__ import annotations

import re

from app.coverage.report_chart import LABEL_W, WIDTH, outcome_bars


def _widths(svg: str) -> list[float]:
    return [
        float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)" height="12"', svg)
    ]


def test_bars_are_in_proportion_and_numbers_written() -> None:
    svg = outcome_bars([("Done", 4, 2), ("Referred", 0, 1)], "This", "Before", "Outcomes")
    bars = _widths(svg)[:4]
    longest = WIDTH - LABEL_W - 60
    assert bars == [longest, longest / 2, 0.0, longest / 4]
    for n in ("4", "2", "0", "1"):
        assert f">{n}</text>" in svg
    assert 'role="img" aria-label="Outcomes"' in svg


def test_words_are_escaped_and_nothing_recorded_draws_no_bar() -> None:
    svg = outcome_bars([("<b>&", 0, 0)], "This", "Before", 'a "title"')
    assert "&lt;b&gt;&amp;" in svg
    assert "<b>" not in svg
    assert 'aria-label="a &quot;title&quot;"' in svg
    assert _widths(svg)[:2] == [0.0, 0.0]
