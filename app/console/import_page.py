"""The console's import pages: a coordinator (or org admin) uploads a CSV file of volunteers,
or a caseworker (coordinator, org admin) one of clients, sees the dry run row by row, then
imports those rows. Every step is the API's own use case (`app/imports/service.py`,
`app/imports/client_service.py`: the same reading, validation, matching and batched
writes), in the caller's tenant transactions; the page only turns a refusal of the whole
file into words on its field. No SQL here.

The dry run is kept (its file and what each row was compared with), so the apply writes
what the page showed or refuses the row that changed since. A long file's apply runs in
batches of 1,000 rows, each its own transaction; the page's script asks for the progress
while it runs (`progress`), and without the script the form simply waits for the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncEngine

from app.console.i18n import N_, Phrase, Problem
from app.console.members import Step, _errors, managed_org
from app.db.tenancy import tenant_transaction
from app.errors import Conflict, InvalidInput
from app.geocoder import Geocoder
from app.identity.principal import MANAGERS, STAFF, Role
from app.identity.tokens import TokenIdentity
from app.imports import client_columns, client_service, service
from app.imports.columns import COLUMNS, MAX_ROWS, Column, template
from app.imports.report import as_csv
from app.imports.schemas import ImportReport, ImportStatus, RowResult
from matching.volunteer_import import Verdict

PAGE = "import.html.j2"
RESULT_PAGE = "import_result.html.j2"
SHOWN_ROWS = 1_000  # rows in the page's table (refused first); verdicts.csv has them all
MEANINGS = {  # the column set (app/imports/columns.py), in the page's words
    "email": N_("Matches the volunteer: their sign-in email address"),
    "external_id": N_("Your own system's id for them: matched before the email address"),
    "display_name": N_("Their name, 1 to 200 characters"),
    "home_lat": N_("Home latitude (WGS 84)"),
    "home_lon": N_("Home longitude (WGS 84)"),
    "max_travel_km": N_("How far they will travel, in kilometres, up to 200"),
    "travel_mode": N_("walk, cycle, public_transport or car"),
    "skills": N_("Skill codes, separated by ;"),
    "languages": N_("ISO 639-1 language codes, separated by ; (en if blank)"),
    "max_hours_per_week": N_("1 to 80 (6 if blank)"),
    "max_active_assignments": N_("1 to 20 (2 if blank)"),
    "preferred_kinds": N_("Programme kinds, separated by ;"),
    "quiet_hours_start": N_("Local time, with quiet_hours_end"),
    "quiet_hours_end": N_("Local time (may cross midnight)"),
    "time_zone": N_("IANA time zone (Europe/London if blank)"),
    "dbs_level": N_(
        "none, basic, standard, enhanced, enhanced_children, enhanced_adults or enhanced_both"
    ),
    "dbs_checked_on": N_("The certificate's issue date (YYYY-MM-DD); needed unless none"),
    "dbs_id_verified": N_("true or false (false if blank)"),
    "dbs_barred_children": N_("On the children's barred list: true or false"),
    "dbs_barred_adults": N_("On the adults' barred list: true or false"),
    "dbs_update_service": N_("Subscribed to the DBS Update Service: true or false"),
}
CLIENT_MEANINGS = {  # the clients' column set (app/imports/client_columns.py)
    "external_id": N_("Your own reference for the client: the row is matched on it"),
    "name": N_("Their name, 1 to 200 characters"),
    "phone": N_("Digits, spaces and + ( ) -"),
    "email": N_("Their email address"),
    "address": N_("Their address, up to 500 characters"),
    "postcode": N_("Places the client on the map when lat and lon are blank"),
    "uprn": N_("The address's UPRN, to pick it among the postcode's addresses"),
    "lat": N_("Latitude (WGS 84), with lon"),
    "lon": N_("Longitude (WGS 84), with lat"),
    "safeguarding_flags": N_("Safeguarding flags, separated by ;"),
    "preferred_language": N_("ISO 639-1 language code"),
    "notes": N_("Notes, up to 5,000 characters"),
}


@dataclass(frozen=True)
class Kind:
    """What a page imports: its address, its columns in words, and who may import."""

    name: str  # volunteers | clients
    base: str
    columns: tuple[Column, ...]
    meanings: dict[str, str]
    roles: tuple[Role, ...]


VOLUNTEERS = Kind("volunteers", "/console/import", COLUMNS, MEANINGS, MANAGERS)
CLIENTS = Kind("clients", "/console/import/clients", client_columns.COLUMNS, CLIENT_MEANINGS, STAFF)
VERDICTS = {  # what a row would do (a dry run), and what it did (an apply)
    "dry_run": {
        Verdict.CREATED: N_("Will be created"),
        Verdict.UPDATED: N_("Will be updated"),
        Verdict.UNCHANGED: N_("Unchanged"),
        Verdict.REFUSED: N_("Refused"),
    },
    "applied": {
        Verdict.CREATED: N_("Created"),
        Verdict.UPDATED: N_("Updated"),
        Verdict.UNCHANGED: N_("Unchanged"),
        Verdict.REFUSED: N_("Refused"),
    },
}
MESSAGES = {
    "none": N_("Select a CSV file"),
    "empty": N_("The selected file is empty"),
    "large": N_("The selected file must be smaller than %(size)s: split it"),
    "zip": N_(
        "The selected file is a spreadsheet (XLSX): save it as CSV (UTF-8), then upload that"
    ),
    "binary": N_("The selected file must be a CSV file"),
    "utf8": N_("The selected file must be saved as CSV (UTF-8)"),
    "rows": N_("The selected file has more than %(rows)s rows: split it"),
    "csv": N_("The selected file cannot be read as CSV"),
    "unknown": N_("The first line names a column that is not in the list: %(column)s"),
    "twice": N_("The first line names the column %(column)s twice"),
    "missing": N_("The first line must name the column %(column)s"),
    "other": N_("The selected file cannot be imported: %(reason)s"),
    "applied": N_("That file was already imported: upload it again for a new check"),
}
_REFUSED_WHOLE = (  # the use case's words for a file refused whole -> the page's
    (re.compile(r"^an XLSX or other zip"), "zip"),
    (re.compile(r"binary data"), "binary"),
    (re.compile(r"^not UTF-8"), "utf8"),
    (re.compile(r"^more than [\d,]+ rows"), "rows"),
    (re.compile(r"^not CSV"), "csv"),
    (re.compile(r"^the file is empty"), "empty"),
    (re.compile(r"^unknown column '(.+)'$"), "unknown"),
    (re.compile(r"^column '(.+)' appears twice$"), "twice"),
    (re.compile(r"^missing column '(.+)'$"), "missing"),
)


def to_page(org_id: UUID, kind: Kind = VOLUNTEERS) -> str:
    return f"{kind.base}?org={org_id}"


def file_problem(exc: InvalidInput) -> Problem:
    """A file refused whole (the use case's `file` or `header` error), on the file field."""
    message = exc.errors[0].message if exc.errors else exc.detail
    for pattern, key in _REFUSED_WHOLE:
        found = pattern.search(message)
        if found:
            column = {"column": found.group(1)} if found.groups() else {}
            values = {"rows": f"{MAX_ROWS:,}"} if key == "rows" else column
            return Problem("file", Phrase(MESSAGES[key], values) if values else MESSAGES[key])
    return Problem("file", Phrase(MESSAGES["other"], {"reason": message}))


async def _require(kind: Kind, tx: Any, org_id: UUID) -> None:
    if kind is CLIENTS:
        await client_service.require_staff(tx, org_id)
    else:
        await service.require_manager(tx, org_id)


async def _dry_run(
    kind: Kind, tx: Any, org_id: UUID, content: bytes, geocoder: Geocoder | None, **kw: Any
) -> ImportReport:
    if kind is CLIENTS:
        return await client_service.dry_run(tx, org_id, content, geocoder=geocoder, **kw)
    return await service.dry_run(tx, org_id, content, **kw)


async def import_page(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, kind: Kind = VOLUNTEERS
) -> Step:
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org, kind.roles)
        await _require(kind, tx, org_id)
    context = {
        "nav": "import" if kind is VOLUNTEERS else "import-clients",
        "kind": kind.name,
        "base": kind.base,
        "org_id": org_id,
        "orgs": managed,
        "org_name": dict(managed).get(org_id, ""),
        "columns": kind.columns,
        "meanings": kind.meanings,
    }
    return Step(PAGE, context | _errors([]))


async def template_of(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, kind: Kind = VOLUNTEERS
) -> str:
    async with tenant_transaction(db, identity) as tx:
        org_id, _ = await managed_org(tx, org, kind.roles)
        await _require(kind, tx, org_id)
    return template(kind.columns)


def _shown(results: list[RowResult]) -> list[RowResult]:
    refused = [r for r in results if r.verdict is Verdict.REFUSED]
    others = [r for r in results if r.verdict is not Verdict.REFUSED]
    return sorted((refused + others)[:SHOWN_ROWS], key=lambda r: r.line)


def _result(
    report: ImportReport, org_id: UUID, org_name: str, file_name: str | None, kind: Kind
) -> dict[str, Any]:
    return {
        "nav": "import" if kind is VOLUNTEERS else "import-clients",
        "kind": kind.name,
        "base": kind.base,
        "org_id": org_id,
        "org_name": org_name,
        "report": report,
        "file_name": file_name,
        "shown": _shown(report.results),
        "labels": VERDICTS[report.status],
        "errors": [],
        "by_field": {},
    }


@dataclass(frozen=True)
class Upload:
    """What the page's form sent and how it is to be read."""

    form: Any
    limit: int
    kind: Kind = VOLUNTEERS
    geocoder: Geocoder | None = None


async def upload(db: AsyncEngine, identity: TokenIdentity, org: str | None, sent: Upload) -> Step:
    """The dry run of the uploaded file (kept, to apply), or the form with the file's error."""
    chosen, kind = sent.form.get("file"), sent.kind
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org, kind.roles)
    status, error = 422, None
    content = b""
    if not isinstance(chosen, UploadFile) or not chosen.filename:
        error = Problem("file", MESSAGES["none"])
    else:
        content = await chosen.read()
        if len(content) > sent.limit:
            size = Phrase(MESSAGES["large"], {"size": f"{sent.limit / 1_048_576:g} MB"})
            status, error = 413, Problem("file", size)
        elif not content.strip():
            error = Problem("file", MESSAGES["empty"])
    if error is None:
        name = str(chosen.filename)[:255]
        try:
            async with tenant_transaction(db, identity) as tx:
                report = await _dry_run(kind, tx, org_id, content, sent.geocoder, file_name=name)
        except InvalidInput as exc:
            error = file_problem(exc)
        else:
            context = _result(report, org_id, dict(managed).get(org_id, ""), name, kind)
            return Step(RESULT_PAGE, context)
    shown = await import_page(db, identity, str(org_id), kind)
    return Step(PAGE, shown.context | _errors([error]), status)


async def verdicts(
    db: AsyncEngine,
    identity: TokenIdentity,
    org: str | None,
    import_id: UUID,
    kind: Kind = VOLUNTEERS,
    geocoder: Geocoder | None = None,
) -> str:
    """A kept dry run's verdicts as CSV: the file's rows checked again, nothing written but
    the audit's record of the dry run."""
    async with tenant_transaction(db, identity) as tx:
        org_id, _ = await managed_org(tx, org, kind.roles)
        kept = client_service.kept_file if kind is CLIENTS else service.kept_file
        content = await kept(tx, org_id, import_id)
        report = await _dry_run(kind, tx, org_id, content, geocoder, keep=False)
        return as_csv(report, kind.name)


async def _apply(
    kind: Kind, db: AsyncEngine, identity: TokenIdentity, org_id: UUID, **kw: Any
) -> ImportReport:
    if kind is CLIENTS:
        return await client_service.apply(db, identity, org_id, **kw)
    kw.pop("geocoder", None)
    return await service.apply(db, identity, org_id, **kw)


async def apply(
    db: AsyncEngine,
    identity: TokenIdentity,
    org: str | None,
    import_id: UUID,
    kind: Kind = VOLUNTEERS,
    geocoder: Geocoder | None = None,
) -> Step:
    """The kept dry run applied, in batches; applied already: the form, with that said."""
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org, kind.roles)
        found = await _status(kind, tx, org_id, import_id)
    try:
        report = await _apply(
            kind, db, identity, org_id, import_id=import_id, via="console", geocoder=geocoder
        )
    except Conflict:
        shown = await import_page(db, identity, str(org_id), kind)
        return Step(PAGE, shown.context | _errors([Problem("file", MESSAGES["applied"])]), 409)
    name = dict(managed).get(org_id, "")
    return Step(RESULT_PAGE, _result(report, org_id, name, found.file_name, kind))


async def _status(kind: Kind, tx: Any, org_id: UUID, import_id: UUID) -> ImportStatus:
    if kind is CLIENTS:
        return await client_service.status(tx, org_id, import_id)
    return await service.status(tx, org_id, import_id)


async def progress(
    db: AsyncEngine,
    identity: TokenIdentity,
    org: str | None,
    import_id: UUID,
    kind: Kind = VOLUNTEERS,
) -> ImportStatus:
    async with tenant_transaction(db, identity) as tx:
        org_id, _ = await managed_org(tx, org, kind.roles)
        return await _status(kind, tx, org_id, import_id)
