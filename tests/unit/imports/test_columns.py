"""Reading an import file: the header, the cells as the API's bodies, each refusal named."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from app.errors import InvalidInput
from app.imports.columns import COLUMNS, NAMES, Refusal, read, row_of, template
from matching.volunteer_import import Row

VOCABULARY = frozenset({"shopping", "driving"})
TODAY = date(2026, 12, 4)


def cells(**kw: str) -> dict[str, str]:
    base = {
        "email": "Ada@Example.org ",
        "display_name": " Ada ",
        "home_lat": "51.45",
        "home_lon": "-0.97",
        "max_travel_km": "5",
        "travel_mode": "walk",
    }
    return base | kw


def test_the_template_is_one_valid_row_under_every_column() -> None:
    checked = read(template().encode(), VOCABULARY, TODAY, 36)
    assert checked.refused == []
    (only,) = checked.rows
    assert only.check is not None
    assert only.check.update_service is True
    assert only.expires_on == date(2028, 3, 14)  # the organisation's 36 months
    assert template().splitlines()[0].split(",") == list(NAMES)


def test_blank_cells_take_the_apis_defaults_and_cells_are_tidied() -> None:
    got = row_of(2, cells(quiet_hours_start="9:30", quiet_hours_end="07:00"), VOCABULARY, TODAY, 36)
    assert isinstance(got, Row)
    assert got.email == "ada@example.org"
    assert got.profile.display_name == "Ada"
    assert got.profile.languages == ("en",)
    assert (got.profile.max_hours_per_week, got.profile.max_active_assignments) == (6, 2)
    assert str(got.profile.quiet_hours_start) == "09:30:00"
    assert got.check is None


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"home_lon": "181"}, "home_lon", "Expected `float` <= 180.0"),
        ({"home_lat": ""}, "home_lat", "required"),
        ({"max_hours_per_week": "99"}, "max_hours_per_week", "Expected `int` <= 80"),
        ({"languages": "en;xx"}, "languages", "'xx' is not an ISO 639-1 language code"),
        ({"skills": "shopping;shopping"}, "skills", "contains duplicates"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", None),
        ({"quiet_hours_start": "21:00"}, "quiet_hours_end", "required"),
        ({"dbs_level": "gold"}, "dbs_level", None),
        (
            {"dbs_level": "basic", "dbs_checked_on": "2027-01-01"},
            "dbs_checked_on",
            "cannot be in the future",
        ),
        ({"dbs_checked_on": "2025-01-01"}, "dbs_level", None),
        (
            {"dbs_level": "basic", "dbs_checked_on": "2025-01-01", "dbs_id_verified": "maybe"},
            "dbs_id_verified",
            None,
        ),
        ({"external_id": "x" * 101}, "external_id", None),
    ],
)
def test_each_bad_cell_is_named_with_the_apis_message(
    bad: dict[str, str], field: str, message: str | None
) -> None:
    got = row_of(7, cells(**bad), VOCABULARY, TODAY, 36)
    assert isinstance(got, Refusal)
    assert got.line == 7
    assert got.errors[0].field == field, got.errors
    if message:
        assert got.errors[0].message == message


def test_every_broken_part_of_a_row_is_reported() -> None:
    got = row_of(
        3, cells(email="nope", travel_mode="fly", dbs_level="basic"), VOCABULARY, TODAY, 36
    )
    assert isinstance(got, Refusal)
    assert [e.field for e in got.errors] == ["email", "travel_mode", "dbs_checked_on"]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"", "header"),
        (b"email,display_name\n", "header"),
        (",".join(NAMES).encode() + b",colour\n", "header"),
        (",".join((*NAMES, "email")).encode() + b"\n", "header"),
        (b"PK\x03\x04rest of a workbook", "file"),
        (b"email\x00\n", "file"),
        (b"\xff\xfeemail", "file"),
    ],
)
def test_a_file_that_is_not_our_csv_is_refused_whole(content: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(content, VOCABULARY, TODAY, 36)
    assert caught.value.errors[0].field == field


def test_a_short_row_and_blank_lines() -> None:
    content = template() + "\n\nonly,three,cells\n"
    checked = read(content.encode(), VOCABULARY, TODAY, 36)
    assert len(checked.rows) == 1
    assert checked.refused[0].line == 5
    assert checked.refused[0].errors[0].field == "row"


def test_the_docs_list_every_column_in_order() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "imports.md").read_text()
    doc = doc.split("# Importing clients", 1)[0]  # the volunteers' part
    listed = re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.MULTILINE)
    assert tuple(listed) == NAMES
    required = re.findall(r"^\| `([a-z_]+)` \| yes \|", doc, flags=re.MULTILINE)
    assert set(required) == {c.name for c in COLUMNS if c.required}
