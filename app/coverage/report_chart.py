"""The report's chart as inline SVG drawn here: for each outcome category, a bar for this
period and one for the period before, each with its number written beside it (the figure is
read, not guessed from a length). Text is escaped; sizes are in the SVG's own units."""

from __future__ import annotations

from html import escape

WIDTH = 640
LABEL_W = 250
BAR_H = 12
ROW_H = 40
NOW_COLOUR = "#1d70b8"  # dark blue on white: 5.2:1
BEFORE_COLOUR = "#6f777b"  # grey on white: 4.6:1


def outcome_bars(
    rows: list[tuple[str, int, int]], now_words: str, before_words: str, title: str
) -> str:
    """`rows`: (translated label, this period, the period before)."""
    top = max([1, *(max(now, before) for _, now, before in rows)])
    room = WIDTH - LABEL_W - 60
    height = ROW_H * len(rows) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" font-family="sans-serif" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for n, (label, now, before) in enumerate(rows):
        y = 10 + n * ROW_H
        parts.append(f'<text x="0" y="{y + BAR_H + 4}" font-size="12">{escape(label)}</text>')
        for k, (value, colour) in enumerate(((now, NOW_COLOUR), (before, BEFORE_COLOUR))):
            bar_y = y + k * (BAR_H + 2)
            length = round(room * value / top, 1)
            parts.append(
                f'<rect x="{LABEL_W}" y="{bar_y}" width="{length}" height="{BAR_H}" '
                f'fill="{colour}"/>'
                f'<text x="{LABEL_W + length + 4}" y="{bar_y + BAR_H - 2}" '
                f'font-size="11">{value}</text>'
            )
    legend_y = height - 12
    for k, (words, colour) in enumerate(((now_words, NOW_COLOUR), (before_words, BEFORE_COLOUR))):
        x = LABEL_W + k * 180
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 18}" y="{legend_y}" font-size="11">{escape(words)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
