"""The column set of a clients' import file, and reading its rows.

Each row is validated as the API validates a client: the cells become the body of
`POST /v1/clients` (`ClientIn`) and meet the same msgspec constraints and the same checks
(`unique_flags`), so a value the API refuses, the import refuses with the API's message,
named by the file's column. A row placed by its postcode is placed as the console's client
form places it (the configured geocoder, `app/geocoder.py`): the address with the row's
UPRN, or the postcode's only address or centre. Messages never repeat a cell's value: an
address is personal data, and a report says only which column was wrong and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from app.clients.schemas import ClientIn
from app.clients.service import unique_flags
from app.errors import FieldError, InvalidInput
from app.imports.client_plan import Record, Row
from app.imports.columns import Checked, Column, ExternalId, Refusal, field_error, lines
from geo.geocoding import Address, InvalidPostcode, normalise_postcode

COLUMNS = (
    Column("external_id", True, "CASE-0042", "your reference for the client: matched on"),
    Column("name", True, "Ada Jones", "as in the API, 1-200 characters"),
    Column("phone", False, "0118 496 0000", "digits, spaces and + ( ) -"),
    Column("email", False, "ada.jones@example.org", "an e-mail address"),
    Column("address", False, "12 Station Road, Reading", "up to 500 characters"),
    Column("postcode", False, "RG1 1AA", "places the client when lat and lon are blank"),
    Column("uprn", False, "100080123456", "the address's UPRN (up to 12 digits)"),
    Column("lat", False, "51.4543", "latitude (WGS 84), with lon"),
    Column("lon", False, "-0.9781", "longitude (WGS 84), with lat"),
    Column("safeguarding_flags", False, "lives_alone", "flags, separated by ;"),
    Column("preferred_language", False, "en", "ISO 639-1 code"),
    Column("notes", False, "", "up to 5,000 characters"),
)
NAMES = tuple(c.name for c in COLUMNS)
_TEXT = ("name", "phone", "email", "address", "uprn", "notes", "preferred_language")
# A wire path of ClientIn -> the file's column.
_WIRE = {"location": "lat", "location.lat": "lat", "location.lon": "lon"}
_SPACE = re.compile(r"\s+")
Places = Mapping[str, list[Address] | str]  # postcode -> its addresses, or why none


class _Key(msgspec.Struct, forbid_unknown_fields=True):
    external_id: ExternalId


def _needs_lookup(cells: Mapping[str, str]) -> bool:
    placed = cells.get("lat", "").strip() or cells.get("lon", "").strip()
    return bool(cells.get("postcode", "").strip()) and not placed


def postcodes(content: bytes) -> set[str]:
    """The postcodes the file's rows are to be placed by (valid ones, normalised)."""
    found: set[str] = set()
    for item in lines(content, COLUMNS):
        if not isinstance(item, Refusal) and _needs_lookup(item[1]):
            with contextlib.suppress(InvalidPostcode):
                found.add(normalise_postcode(item[1]["postcode"]))
    return found


def read(content: bytes, places: Places) -> Checked[Row]:
    """Every row of a file, valid or refused; a wrong header or a file that is not CSV is
    refused whole (InvalidInput naming `file` or `header`)."""
    rows: list[Row] = []
    refused: list[Refusal] = []
    present: frozenset[str] | None = None
    for item in lines(content, COLUMNS):
        if isinstance(item, Refusal):
            refused.append(item)
            continue
        line, cells = item
        present = _present(cells) if present is None else present
        outcome = row_of(line, cells, places, present)
        (rows if isinstance(outcome, Row) else refused).append(outcome)  # type: ignore[arg-type]
    return Checked(hashlib.sha256(content).hexdigest(), rows, refused)


def _present(cells: Mapping[str, str]) -> frozenset[str]:
    """The Record fields the file's header gives (every row of a file has the same)."""
    given = {n for n in _TEXT if n in cells}
    if "safeguarding_flags" in cells:
        given.add("safeguarding_flags")
    if {"lat", "lon", "postcode"} & cells.keys():
        given |= {"lat", "lon", "uprn"}
    if "postcode" in cells:
        given.add("address")
    return frozenset(given)


def _postcode(cells: Mapping[str, str]) -> str:
    try:
        return normalise_postcode(cells["postcode"])
    except InvalidPostcode as exc:
        raise InvalidInput.field("postcode", str(exc)) from None


def _place(cells: Mapping[str, str], places: Places) -> Address:
    """The address the row's postcode (and UPRN) name (raises InvalidInput naming the
    column): the one with the row's UPRN, else the postcode's only address or its centre."""
    postcode = _postcode(cells)
    found = places.get(postcode, "the postcode was not looked up")
    if isinstance(found, str):
        raise InvalidInput.field("postcode", f"could not be looked up: {found}")
    uprn = cells.get("uprn", "").strip()
    if uprn:
        chosen = [a for a in found if a.uprn == uprn]
        if not chosen:
            raise InvalidInput.field("uprn", "not one of the postcode's addresses")
    elif len(found) == 1 or (found and found[0].uprn is None):
        chosen = found[:1]  # the postcode's only address, or its centre
    elif not found:
        raise InvalidInput.field("postcode", "no addresses were found for this postcode")
    else:
        message = f"{len(found)} addresses have this postcode: give the uprn, or lat and lon"
        raise InvalidInput.field("postcode", message)
    return chosen[0]


def _with_postcode(address: str, postcode: str) -> str:
    squeeze = _SPACE.sub("", address).upper()
    if not address:
        return postcode
    return address if _SPACE.sub("", postcode) in squeeze else f"{address}, {postcode}"


def _body(cells: Mapping[str, str], places: Places) -> dict[str, Any]:
    body: dict[str, Any] = {n: cells[n].strip() for n in _TEXT if cells.get(n, "").strip()}
    flags = cells.get("safeguarding_flags", "")
    body["safeguarding_flags"] = [f.strip() for f in flags.split(";") if f.strip()]
    lat, lon = cells.get("lat", "").strip(), cells.get("lon", "").strip()
    if lat or lon:
        body["location"] = {k: v for k, v in (("lat", lat), ("lon", lon)) if v}
    if cells.get("postcode", "").strip():
        postcode = _postcode(cells)
        if _needs_lookup(cells):
            found = _place(cells, places)
            body["location"] = {"lat": found.lat, "lon": found.lon}
            if found.uprn:
                body["uprn"] = found.uprn
            body.setdefault("address", found.line)  # as the console's form fills it in
        body["address"] = _with_postcode(body.get("address", ""), postcode)
    return body


def _quiet(error: FieldError) -> FieldError:
    """msgspec names a wrong enum value in its message: the report does not repeat cells."""
    if error.message.startswith("Invalid enum value"):
        return FieldError(error.field, "not one of the accepted values")
    return error


def row_of(
    line: int, cells: Mapping[str, str], places: Places, present: frozenset[str]
) -> Row | Refusal:
    """One row as the API would take it, or every reason it would not."""
    errors: list[FieldError] = []
    key = record = None
    try:
        key = msgspec.convert({"external_id": cells.get("external_id", "").strip()}, _Key)
    except msgspec.ValidationError as exc:
        errors.append(field_error(exc, _WIRE))
    try:
        data = msgspec.convert(_body(cells, places), ClientIn, strict=False)
        record = _record(data)
    except msgspec.ValidationError as exc:
        errors.append(_quiet(field_error(exc, _WIRE)))
    except InvalidInput as exc:
        errors.extend(FieldError(_WIRE.get(e.field, e.field), e.message) for e in exc.errors)
    if errors or key is None or record is None:
        return Refusal(line, tuple(errors))
    return Row(line, key.external_id, record, present)


def _record(c: ClientIn) -> Record:
    return Record(
        name=c.name.strip(),
        phone=c.phone.strip() if c.phone else None,
        email=c.email.strip() if c.email else None,
        address=c.address.strip() if c.address else None,
        lat=c.location.lat if c.location else None,
        lon=c.location.lon if c.location else None,
        uprn=c.uprn,
        notes=c.notes,
        safeguarding_flags=tuple(unique_flags(c.safeguarding_flags)),
        preferred_language=c.preferred_language,
    )
