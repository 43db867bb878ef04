from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from app.errors import InvalidInput
from app.pagination import decode_cursor, encode_cursor, page_of


def test_a_cursor_round_trips() -> None:
    key = (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), uuid4(), "coordinator")
    assert decode_cursor(encode_cursor(*key)) == key


FORGED = [
    encode_cursor(datetime(1, 1, 1, tzinfo=UTC), uuid4()),
    encode_cursor(datetime(2026, 1, 1), uuid4()),  # naive
    encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), uuid4(), "\x00"),
]


@pytest.mark.parametrize("bad", ["", "!!!", "bm90IGpzb24", encode_cursor.__name__, "W10", *FORGED])
def test_a_bad_cursor_is_a_field_error(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(bad)
    assert caught.value.errors[0].field == "cursor"


def test_page_of_uses_the_extra_row_to_decide_on_a_next_page() -> None:
    rows = [(datetime(2026, 1, 1, tzinfo=UTC), uuid4(), "") for _ in range(3)]
    assert page_of(rows[:2], 2, key=lambda r: r) == (rows[:2], None)
    items, cursor = page_of(rows, 2, key=lambda r: r)
    assert items == rows[:2]
    assert cursor is not None
    assert decode_cursor(cursor) == rows[1]
