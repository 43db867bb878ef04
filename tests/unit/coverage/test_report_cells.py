"""A report's CSV cells: words a spreadsheet would run as a formula are quoted, values not."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from app.coverage.report_csv import cell


def test_a_cell_is_never_a_spreadsheet_formula() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("+44") == "'+44"
    assert cell("Errands") == "Errands"


def test_values_are_written_as_they_are() -> None:
    assert cell(None) == ""
    assert cell(-3) == "-3"
    assert cell(-1.23456) == "-1.235"
    assert cell(datetime(2026, 12, 7, 9, 30, tzinfo=UTC)) == "2026-12-07T09:30:00+00:00"
    uuid = UUID("00000000-0000-4000-8000-000000000001")
    assert cell(uuid) == str(uuid)
