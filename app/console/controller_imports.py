"""The console's import pages (`app/console/import_page.py`): the column set and its
template, the upload's dry run, its verdicts as CSV, the apply and its progress; of
volunteers at /console/import, of clients at /console/import/clients (the same handlers,
another `kind`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from app.console import import_page
from app.console.members import Step
from app.console.session import page, page_headers
from app.db.tenancy import Db
from app.geocoder import Geocoder, geocoder_for
from app.identity.tokens import TokenIdentity
from app.imports.schemas import ImportStatus
from app.settings import IMPORT_CEILING_BYTES, Settings

Req = Request[Any, Any, Any]
SignedIn = NamedDependency[TokenIdentity]  # the session's caller (app/console/session.py)


def _answer(request: Req, step: Step) -> Response[Any]:
    if step.to is not None:
        return Redirect(step.to, status_code=303)
    return page(request, step.template, step.context, step.status)


def _csv(request: Req, body: str, name: str) -> Response[str]:
    settings: Settings = request.app.state.settings
    headers = page_headers(settings) | {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def _geocoder(request: Req) -> Geocoder | None:
    return geocoder_for(request.app.state.settings)


class ImportPagesController(Controller):
    path = "/import"
    include_in_schema = False
    kind = import_page.VOLUNTEERS

    @get("/")
    async def import_form(
        self, request: Req, db: Db, identity: SignedIn, org: FromQuery[str | None] = None
    ) -> Response[Any]:
        return _answer(request, await import_page.import_page(db, identity, org, self.kind))

    @get("/template.csv")
    async def template(
        self, request: Req, db: Db, identity: SignedIn, org: FromQuery[str | None] = None
    ) -> Response[str]:
        body = await import_page.template_of(db, identity, org, self.kind)
        return _csv(request, body, f"{self.kind.name}-template.csv")

    @post("/", request_max_body_size=IMPORT_CEILING_BYTES)
    async def upload(
        self, request: Req, db: Db, identity: SignedIn, org: FromQuery[str | None] = None
    ) -> Response[Any]:
        limit = request.app.state.settings.import_max_bytes
        sent = import_page.Upload(await request.form(), limit, self.kind, _geocoder(request))
        return _answer(request, await import_page.upload(db, identity, org, sent))

    @get("/{import_id:uuid}/verdicts.csv")
    async def verdicts(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        import_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[str]:
        geocoder = _geocoder(request)
        body = await import_page.verdicts(db, identity, org, import_id, self.kind, geocoder)
        return _csv(request, body, "verdicts.csv")

    @post("/{import_id:uuid}/apply")
    async def apply(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        import_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        geocoder = _geocoder(request)
        step = await import_page.apply(db, identity, org, import_id, self.kind, geocoder)
        return _answer(request, step)

    @get("/{import_id:uuid}/progress")
    async def progress(
        self,
        db: Db,
        identity: SignedIn,
        import_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> ImportStatus:
        """How far the apply has got, for the page's progress bar (console-import.js)."""
        return await import_page.progress(db, identity, org, import_id, self.kind)


class ClientImportPagesController(ImportPagesController):
    """The clients' import page: caseworkers, coordinators and org admins, as for recording
    a client (docs/imports.md, "Importing clients")."""

    path = "/import/clients"
    kind = import_page.CLIENTS
