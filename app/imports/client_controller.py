"""HTTP for clients' imports: the template, a dry run of an uploaded CSV file, its
progress, and its apply. Staff of the organisation (caseworkers, coordinators, org admins),
as for recording a client with `POST /v1/clients`. Responses are never cached: a dry run
names the organisation's clients (by id, never by their details)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery

from app.db.tenancy import Db, tenant_transaction
from app.geocoder import geocoder_for
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.imports import client_service
from app.imports.client_columns import COLUMNS
from app.imports.columns import template
from app.imports.controller import FILE, csv_body
from app.imports.schemas import ImportReport, ImportStatus
from app.problems import problem_responses
from app.settings import IMPORT_CEILING_BYTES


class ClientImportController(Controller):
    path = "/v1/orgs/{org_id:uuid}/imports/clients"
    tags = ["imports"]
    cache_control = CacheControlHeader(no_store=True)

    @get(
        "/template.csv",
        summary="The clients' import template (caseworker, coordinator, org admin)",
        responses=problem_responses(403, 404),
        operation_id="getClientImportTemplate",
        media_type="text/csv",
    )
    async def get_template(self, request: Caller, db: Db, org_id: FromPath[UUID]) -> Response[str]:
        """The header of a clients' import file and one example row: every column, in order."""
        async with tenant_transaction(db, request.user) as tx:
            await client_service.require_staff(tx, org_id)
        headers = {"Content-Disposition": 'attachment; filename="clients-template.csv"'}
        return Response(template(COLUMNS), media_type="text/csv; charset=utf-8", headers=headers)

    @post(
        "/",
        summary="Upload a CSV file of clients: a dry run (caseworker, coordinator, org admin)",
        description=FILE + " `Location` is the kept dry run, to apply.",
        responses=problem_responses(403, 404, 413, 415),
        operation_id="dryRunClientImport",
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
        (with the line, column and reason, never a cell's value). Writes nothing but the dry
        run itself; a wrong header, a file that is not CSV or one too large is refused whole."""
        async with tenant_transaction(db, request.user) as tx:  # 403/404 before the body
            await client_service.require_staff(tx, org_id)
        content, geocoder = await csv_body(request), geocoder_for(request.app.state.settings)
        async with tenant_transaction(db, request.user) as tx:
            report = await client_service.dry_run(
                tx, org_id, content, geocoder=geocoder, file_name=file_name
            )
        return created(report, f"{request.url.path.rstrip('/')}/{report.id}")

    @get(
        "/{import_id:uuid}",
        summary="A clients' import's counts and progress",
        responses=problem_responses(403, 404),
        operation_id="getClientImport",
    )
    async def get_import(
        self, request: Caller, db: Db, org_id: FromPath[UUID], import_id: FromPath[UUID]
    ) -> ImportStatus:
        """The dry run's counts; while it is applied, how many rows are done, then what the
        apply did."""
        async with tenant_transaction(db, request.user) as tx:
            return await client_service.status(tx, org_id, import_id)

    @post(
        "/{import_id:uuid}/apply",
        summary="Apply a clients' dry run",
        responses=problem_responses(403, 404, 409),
        operation_id="applyClientImport",
        status_code=200,
    )
    async def apply(
        self, request: Caller, db: Db, org_id: FromPath[UUID], import_id: FromPath[UUID]
    ) -> ImportReport:
        """Writes what the dry run showed, in batches of 1,000 rows, each its own transaction,
        audited as recording or changing a client is; a row whose client changed since the
        dry run is refused, not overwritten. Once only: a second apply is a 409."""
        geocoder = geocoder_for(request.app.state.settings)
        return await client_service.apply(
            db, request.user, org_id, geocoder=geocoder, import_id=import_id
        )
