"""The column set of a volunteers' import file, its template, and reading a file's rows.

Each row is validated as the API validates a volunteer: the cells become the sign-up body
(`SignUp`) and the vetting body (`VettingIn`) and go through the same msgspec structs and
the same checks (`check_profile`, the skills vocabulary, `vetting_expiry`). A bad row is
reported with its line, column and message and never stops the others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

import msgspec

from app.errors import FieldError, InvalidInput
from app.volunteers.coordination import VettingIn, vetting_expiry
from app.volunteers.schemas import SignUp
from app.volunteers.service import check_profile
from app.volunteers.vocabulary import check_known_skills
from app.wire import TEXT_PATTERN, Email
from matching.volunteer_import import Check, Profile, Row


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    example: str
    meaning: str


COLUMNS = (
    Column("email", True, "sam.jones@example.org", "matches the volunteer; their sign-in e-mail"),
    Column("external_id", False, "HR-1042", "your system's id: matched before the e-mail"),
    Column("display_name", True, "Sam Jones", "as in the API, 1-200 characters"),
    Column("home_lat", True, "51.4543", "home latitude (WGS 84)"),
    Column("home_lon", True, "-0.9781", "home longitude (WGS 84)"),
    Column("max_travel_km", True, "5", "how far they will travel, up to 200"),
    Column("travel_mode", True, "walk", "walk, cycle, public_transport or car"),
    Column("skills", False, "shopping;driving", "skill codes, separated by ;"),
    Column("languages", False, "en;pl", "ISO 639-1 codes, separated by ; (default en)"),
    Column("max_hours_per_week", False, "6", "1-80 (default 6)"),
    Column("max_active_assignments", False, "2", "1-20 (default 2)"),
    Column("preferred_kinds", False, "community_support", "programme kinds, separated by ;"),
    Column("quiet_hours_start", False, "21:00", "local time, with quiet_hours_end"),
    Column("quiet_hours_end", False, "08:00", "local time (may cross midnight)"),
    Column("time_zone", False, "Europe/London", "IANA zone (default Europe/London)"),
    Column(
        "dbs_level",
        False,
        "enhanced_adults",
        "none, basic, standard, enhanced, enhanced_children, enhanced_adults or enhanced_both",
    ),
    Column("dbs_checked_on", False, "2025-03-14", "the certificate's issue date (YYYY-MM-DD)"),
    Column("dbs_id_verified", False, "true", "true or false (default false)"),
    Column("dbs_barred_children", False, "false", "on the children's barred list"),
    Column("dbs_barred_adults", False, "false", "on the adults' barred list"),
    Column("dbs_update_service", False, "true", "subscribed to the DBS Update Service"),
)
NAMES = tuple(c.name for c in COLUMNS)
REQUIRED = frozenset(c.name for c in COLUMNS if c.required)
MAX_ROWS = 100_000
LISTS = {"skills", "languages", "preferred_kinds"}
# A wire path (msgspec's `$.home.lat`, a use case's `languages[0]`) -> the file's column.
_WIRE = {
    "home": "home_lat",
    "home.lat": "home_lat",
    "home.lon": "home_lon",
    "quiet_hours": "quiet_hours_start",
    "quiet_hours.start": "quiet_hours_start",
    "quiet_hours.end": "quiet_hours_end",
    "level": "dbs_level",
    "checked_on": "dbs_checked_on",
    "id_verified": "dbs_id_verified",
    "barred_children": "dbs_barred_children",
    "barred_adults": "dbs_barred_adults",
    "update_service": "dbs_update_service",
}
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_HH_MM = re.compile(r"^\d{1,2}:\d{2}$")
_MISSING = re.compile(r"missing required field `([^`]+)`")

ExternalId = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=TEXT_PATTERN)]


class Keys(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    external_id: ExternalId | None = None


@dataclass(frozen=True)
class Refusal:
    line: int
    errors: tuple[FieldError, ...]


R = TypeVar("R")


@dataclass(frozen=True)
class Checked(Generic[R]):
    """What a file holds: its valid rows and its refused ones, with its hash."""

    sha256: str
    rows: list[R]
    refused: list[Refusal]

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.refused)


def template(columns: Sequence[Column] = COLUMNS) -> str:
    """The header of an import file and one example row: every column, in order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(c.name for c in columns)
    writer.writerow(c.example for c in columns)
    return out.getvalue()


def _text(content: bytes) -> str:
    if content.startswith(b"PK\x03\x04"):
        raise InvalidInput.field("file", "an XLSX or other zip file: save it as CSV (UTF-8)")
    if b"\x00" in content:
        raise InvalidInput.field("file", "not a CSV file: it holds binary data")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput.field(
            "file", f"not UTF-8 text (byte {exc.start}): save it as CSV (UTF-8)"
        ) from None


def _header(reader: Iterator[list[str]], columns: Sequence[Column]) -> list[str]:
    names = [c.name for c in columns]
    header = [h.strip().lower() for h in next(reader, [])]
    if not any(header):
        raise InvalidInput.field("header", "the file is empty: the first line names the columns")
    unknown = [h for h in header if h not in names]
    if unknown:
        raise InvalidInput.field("header", f"unknown column {unknown[0]!r}")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InvalidInput.field("header", f"column {repeated[0]!r} appears twice")
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        raise InvalidInput.field("header", f"missing column {missing[0]!r}")
    return header


Line = tuple[int, dict[str, str]]  # a row's line and its cells by column


def lines(content: bytes, columns: Sequence[Column]) -> Iterator[Line | Refusal]:
    """Each row of a file as (line, cells by column), or a Refusal for a row of the wrong
    width; blank rows are skipped. A wrong header or a file that is not CSV is refused
    whole (InvalidInput naming `file` or `header`), as is one of more than MAX_ROWS rows."""
    reader = csv.reader(io.StringIO(_text(content), newline=""))
    try:
        header = _header(reader, columns)
        count = 0
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            count += 1
            if count > MAX_ROWS:
                raise InvalidInput.field("file", f"more than {MAX_ROWS:,} rows: split the file")
            if len(cells) != len(header):
                message = f"{len(cells)} cells where the header has {len(header)}"
                yield Refusal(line, (FieldError("row", message),))
                continue
            yield line, dict(zip(header, cells, strict=True))
    except csv.Error as exc:
        raise InvalidInput.field("file", f"not CSV: line {reader.line_num}: {exc}") from None


def read(content: bytes, vocabulary: Set[str], today: date, recheck_months: int) -> Checked[Row]:
    """Every row of a file, valid or refused; a wrong header or a file that is not CSV is
    refused whole (InvalidInput naming `file` or `header`)."""
    rows: list[Row] = []
    refused: list[Refusal] = []
    for item in lines(content, COLUMNS):
        if isinstance(item, Refusal):
            refused.append(item)
            continue
        outcome = row_of(item[0], item[1], vocabulary, today, recheck_months)
        (rows if isinstance(outcome, Row) else refused).append(outcome)  # type: ignore[arg-type]
    return Checked(hashlib.sha256(content).hexdigest(), rows, refused)


def _column(path: str, wire: Mapping[str, str] | None = None) -> str:
    wire = _WIRE if wire is None else wire
    top = path.split("[", 1)[0]
    return wire.get(top, wire.get(top.split(".", 1)[0], top)) or "row"


def field_error(exc: msgspec.ValidationError, wire: Mapping[str, str] | None = None) -> FieldError:
    """msgspec's message for a wire path, as the file's column and words for a person."""
    message = str(exc)
    at = _AT.search(message)
    path = at.group(1) if at else ""
    message = _AT.sub("", message)
    if "matching regex" in message:  # the pattern itself says nothing to a coordinator
        message = "not in the accepted format"
    missing = _MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
        message = "required"
    column = _column(path, wire)
    if column == "email" and message == "not in the accepted format":
        message = "not an e-mail address"
    return FieldError(column, message)


def _sign_up(cells: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in NAMES:
        value = cells.get(name, "").strip()
        if not value or name == "email" or name == "external_id" or name.startswith("dbs_"):
            continue
        if name in LISTS:
            body[name] = [v.strip() for v in value.split(";") if v.strip()]
        elif name.startswith("home_"):
            body.setdefault("home", {})[name.removeprefix("home_")] = value
        elif name.startswith("quiet_hours_"):
            if _HH_MM.match(value):  # what a spreadsheet writes; the API's time has seconds
                value = f"{value:0>5}:00"
            body.setdefault("quiet_hours", {})[name.removeprefix("quiet_hours_")] = value
        else:
            body[name] = value
    return body


def _vetting(cells: dict[str, str]) -> dict[str, Any] | None:
    values = {
        n.removeprefix("dbs_"): cells[n].strip()
        for n in NAMES
        if n.startswith("dbs_") and cells.get(n, "").strip()
    }
    if not values:
        return None
    values["level"] = values.get("level", "")
    values.setdefault("id_verified", "false")
    return values


def row_of(
    line: int, cells: dict[str, str], vocabulary: Set[str], today: date, recheck_months: int
) -> Row | Refusal:
    """One row as the API would take it, or every reason it would not."""
    errors: list[FieldError] = []
    keys = profile = check = expires_on = None
    try:
        keys = msgspec.convert(
            {
                "email": cells.get("email", "").strip().lower(),
                "external_id": cells.get("external_id", "").strip() or None,
            },
            Keys,
        )
    except msgspec.ValidationError as exc:
        errors.append(field_error(exc))
    try:
        sign_up = msgspec.convert(_sign_up(cells), SignUp, strict=False)
        check_profile(sign_up)
        check_known_skills(sign_up.skills, vocabulary)
        profile = _profile(sign_up)
    except msgspec.ValidationError as exc:
        errors.append(field_error(exc))
    except InvalidInput as exc:
        errors.extend(FieldError(_column(e.field), e.message) for e in exc.errors)
    vetting = _vetting(cells)
    if vetting is not None:
        try:
            data = msgspec.convert(vetting, VettingIn, strict=False)
            expires_on = vetting_expiry(data, today, recheck_months)
            check = _check(data)
        except msgspec.ValidationError as exc:
            errors.append(field_error(exc))
        except InvalidInput as exc:
            errors.extend(FieldError(_column(e.field), e.message) for e in exc.errors)
    if errors or keys is None or profile is None:
        return Refusal(line, tuple(errors))
    return Row(line, keys.email, keys.external_id, profile, check, expires_on)


def _profile(s: SignUp) -> Profile:
    quiet = s.quiet_hours
    return Profile(
        display_name=s.display_name.strip(),
        lat=s.home.lat,
        lon=s.home.lon,
        max_travel_km=s.max_travel_km,
        travel_mode=s.travel_mode.value,
        skills=tuple(s.skills),
        languages=tuple(s.languages),
        max_hours_per_week=s.max_hours_per_week,
        max_active_assignments=s.max_active_assignments,
        preferred_kinds=tuple(k.value for k in s.preferred_kinds),
        quiet_hours_start=quiet.start if quiet else None,
        quiet_hours_end=quiet.end if quiet else None,
        time_zone=s.time_zone,
    )


def _check(v: VettingIn) -> Check:
    return Check(
        level=v.level,
        checked_on=v.checked_on if v.level.value != "none" else None,
        id_verified=v.id_verified,
        barred_children=v.barred_children,
        barred_adults=v.barred_adults,
        update_service=v.update_service,
    )
