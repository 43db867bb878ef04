"""HTTP for volunteers' imports: the template, a dry run of an uploaded CSV file, its
progress, and its apply. Coordinators and org admins of the organisation only."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery

from app.db.tenancy import Db, tenant_transaction
from app.errors import FieldError, TooLarge, UnsupportedMediaType
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.imports import service
from app.imports.columns import template
from app.imports.schemas import ImportReport, ImportStatus
from app.problems import problem_responses
from app.settings import IMPORT_CEILING_BYTES, Settings

CSV_TYPES = frozenset({"text/csv", "application/csv"})
FILE = (
    "The body is the CSV file itself (`Content-Type: text/csv`, UTF-8), its first line the "
    "header: the columns are in docs/imports.md and the template."
)


async def csv_body(request: Caller) -> bytes:
    """The request's body as a CSV file: 415 for another media type, 413 past the limit."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in CSV_TYPES:
        message = "send the file as CSV, with Content-Type: text/csv"
        raise UnsupportedMediaType(f"file: {message}", [FieldError("file", message)])
    settings: Settings = request.app.state.settings
    limit, parts, size = settings.import_max_bytes, [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            message = f"larger than {limit:,} bytes: split the file"
            raise TooLarge(f"file: {message}", [FieldError("file", message)])
        parts.append(chunk)
    return b"".join(parts)


class ImportController(Controller):
    path = "/v1/orgs/{org_id:uuid}/imports/volunteers"
    tags = ["imports"]

    @get(
        "/template.csv",
        summary="The volunteers' import template (coordinator)",
        responses=problem_responses(403, 404),
        operation_id="getVolunteerImportTemplate",
        media_type="text/csv",
    )
    async def get_template(self, request: Caller, db: Db, org_id: FromPath[UUID]) -> Response[str]:
        """The header of an import file and one example row: every column, in order."""
        async with tenant_transaction(db, request.user) as tx:
            await service.require_manager(tx, org_id)
        headers = {"Content-Disposition": 'attachment; filename="volunteers-template.csv"'}
        return Response(template(), media_type="text/csv; charset=utf-8", headers=headers)

    @post(
        "/",
        summary="Upload a CSV file of volunteers: a dry run (coordinator)",
        description=FILE + " `Location` is the kept dry run, to apply.",
        responses=problem_responses(403, 404, 413, 415),
        operation_id="dryRunVolunteerImport",
        response_headers=LOCATION,
        request_max_body_size=IMPORT_CEILING_BYTES,
    )
    async def dry_run(
        self,
        request: Caller,
        db: Db,
        org_id: FromPath[UUID],
        file_name: FromQuery[str | None] = None,
    ) -> Response[ImportReport]:
        """What applying the file would do, row by row: created, updated, unchanged or refused
        (with the line, column and reason). Writes nothing but the dry run itself; a wrong
        header, a file that is not CSV or one too large is refused whole."""
        async with tenant_transaction(db, request.user) as tx:  # 403/404 before the body
            await service.require_manager(tx, org_id)
        content = await csv_body(request)
        async with tenant_transaction(db, request.user) as tx:
            report = await service.dry_run(tx, org_id, content, file_name=file_name)
        return created(report, f"{request.url.path.rstrip('/')}/{report.id}")

    @get(
        "/{import_id:uuid}",
        summary="An import's counts and progress (coordinator)",
        responses=problem_responses(403, 404),
        operation_id="getVolunteerImport",
    )
    async def get_import(
        self, request: Caller, db: Db, org_id: FromPath[UUID], import_id: FromPath[UUID]
    ) -> ImportStatus:
        """The dry run's counts; while it is applied, how many rows are done (for a progress
        indicator), then what the apply did."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.status(tx, org_id, import_id)

    @post(
        "/{import_id:uuid}/apply",
        summary="Apply a dry run (coordinator)",
        responses=problem_responses(403, 404, 409),
        operation_id="applyVolunteerImport",
        status_code=200,
    )
    async def apply(
        self, request: Caller, db: Db, org_id: FromPath[UUID], import_id: FromPath[UUID]
    ) -> ImportReport:
        """Writes what the dry run showed, in batches of 1,000 rows, each its own transaction;
        a row whose volunteer changed since the dry run is refused, not overwritten.
        Applying the same file again changes nothing. Once only: a second apply is a 409."""
        return await service.apply(db, request.user, org_id, import_id=import_id)
