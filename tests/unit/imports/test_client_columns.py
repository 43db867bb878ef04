"""Reading a clients' import file and deciding its rows: the cells as the API's body, the
postcode's choices, each refusal named by column without the cell's value, and the plan."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from app.imports.client_columns import COLUMNS, NAMES, read
from app.imports.client_plan import Known, Record, duplicates, fingerprint, plan
from app.imports.columns import Refusal, template
from geo.geocoding import Address
from matching.volunteer_import import Verdict

STREET = [
    Address("100", "1 HIGH STREET, READING, RG1 1AA", "RG1 1AA", 51.45, -0.97),
    Address("101", "2 HIGH STREET, READING, RG1 1AA", "RG1 1AA", 51.46, -0.96),
]
CENTRE = [Address(None, "", "RG2 2BB", 51.40, -0.90)]
PLACES = {"RG1 1AA": STREET, "RG2 2BB": CENTRE, "RG3 3CC": "the service is busy"}


def _file(*rows: str, header: str = ",".join(NAMES)) -> bytes:
    return "\n".join([header, *rows]).encode()


def test_cells_become_the_apis_body_and_postcodes_place_rows() -> None:
    header = "external_id,name,address,postcode,uprn,lat,lon,safeguarding_flags"
    checked = read(
        _file(
            "C-1, Ada ,12 Secret Lane,,,51.5,-0.9,lives_alone;needs_interpreter",
            "C-2,Bob,,rg1 1aa,101,,,",
            "C-3,Cy,3 Low Road,RG2 2BB,,,,",
            header=header,
        ),
        PLACES,
    )
    assert checked.refused == []
    ada, bob, cy = (r.record for r in checked.rows)
    assert ada == Record(
        name="Ada",
        address="12 Secret Lane",
        lat=51.5,
        lon=-0.9,
        safeguarding_flags=("lives_alone", "needs_interpreter"),
    )
    assert (bob.lat, bob.lon, bob.uprn) == (51.46, -0.96, "101")
    assert bob.address == "2 HIGH STREET, READING, RG1 1AA"  # the chosen address's line
    assert (cy.lat, cy.address, cy.uprn) == (51.40, "3 Low Road, RG2 2BB", None)
    assert "notes" not in checked.rows[0].present  # a column the file lacks is left alone
    assert {"name", "address", "lat", "lon", "uprn"} <= checked.rows[0].present


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("C-1,Ada,,RG1 1AA,,,,", "postcode", "2 addresses have this postcode"),
        ("C-1,Ada,,RG1 1AA,999,,,", "uprn", "not one of the postcode's addresses"),
        ("C-1,Ada,,RG3 3CC,,,,", "postcode", "could not be looked up: the service is busy"),
        ("C-1,Ada,,ZZ,,,,", "postcode", "Enter a real postcode"),
        ("C-1,Ada,,,,51.5,,", "lon", "required"),
        ("C-1,Ada,,,,91,-0.9,", "lat", "Expected `float` <= 90"),
        ("C-1,Ada,,,,,,lives_alone;lives_alone", "safeguarding_flags", "each flag may appear"),
        ("C-1,Ada,,,,,,not_a_flag", "safeguarding_flags", "not one of the accepted values"),
        (",Ada,,,,,,", "external_id", "Expected `str` of length >= 1"),
        ("C-1,,,,,,,", "name", "required"),
    ],
)
def test_a_refusal_names_the_column_and_never_the_value(row: str, field: str, message: str) -> None:
    header = "external_id,name,address,postcode,uprn,lat,lon,safeguarding_flags"
    checked = read(_file(row, header=header), PLACES)
    assert checked.rows == []
    [refusal] = checked.refused
    assert isinstance(refusal, Refusal)
    assert refusal.line == 2
    [error] = refusal.errors
    assert error.field == field
    assert error.message.startswith(message)
    assert "ZZ" not in error.message
    assert "not_a_flag" not in error.message


def test_the_plan_creates_updates_leaves_and_refuses() -> None:
    header = "external_id,name,phone"
    checked = read(
        _file("C-1,Ada,0118 496 0000", "C-2,Bob,", "C-1,Ada again,", "C-3,Cy,", header=header),
        {},
    )
    old = Record(name="Ada", phone="0118 496 0000", notes="keys next door")
    bob = Record(name="Bob", phone="0118 496 0001")
    known = {
        "C-1": Known(uuid.uuid4(), "C-1", old, erased=False),
        "C-2": Known(uuid.uuid4(), "C-2", bob, erased=False),
        "C-3": Known(uuid.uuid4(), "C-3", Record(name="Erased client"), erased=True),
    }
    decisions = plan(checked.rows, known, duplicates(checked.rows))
    assert [(d.line, d.verdict, d.changes, d.field) for d in decisions] == [
        (2, Verdict.UNCHANGED, (), None),  # the notes are not in the file: not compared
        (3, Verdict.UPDATED, ("phone",), None),  # a blank cell clears
        (4, Verdict.REFUSED, (), "external_id"),
        (5, Verdict.REFUSED, (), "external_id"),
    ]
    # Applying what a dry run saw: a client changed since is refused, not overwritten.
    seen = {r.line: fingerprint(known.get(r.external_id)) for r in checked.rows}
    changed = known | {"C-2": Known(known["C-2"].client_id, "C-2", old, erased=False)}
    again = plan(checked.rows[:2], changed, {}, seen)
    assert [(d.verdict, d.field) for d in again] == [
        (Verdict.UNCHANGED, None),
        (Verdict.REFUSED, "row"),
    ]


def test_the_docs_and_the_template_list_every_column_in_order() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "imports.md").read_text()
    doc = doc.split("# Importing clients", 1)[1]
    listed = re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.MULTILINE)
    assert tuple(listed) == NAMES
    required = re.findall(r"^\| `([a-z_]+)` \| yes \|", doc, flags=re.MULTILINE)
    assert set(required) == {c.name for c in COLUMNS if c.required}
    header = template(COLUMNS).splitlines()[0]
    assert header == ",".join(NAMES)
    checked = read(template(COLUMNS).encode(), {})
    assert checked.refused == []  # the template's example row is itself valid
    assert len(checked.rows) == 1
