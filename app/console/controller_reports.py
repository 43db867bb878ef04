"""The console's reports page and its CSV and PDF downloads (app/console/reports.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from app.console import reports
from app.console.session import language_of, page
from app.db.tenancy import Db
from app.identity.tokens import TokenIdentity

Req = Request[Any, Any, Any]
SignedIn = NamedDependency[TokenIdentity]
From = Annotated[str | None, QueryParameter(name="from")]


def _k_min(request: Req) -> int:
    k: int = request.app.state.settings.coverage_k_min
    return k


def _download(body: bytes, name: str, media_type: str) -> Response[bytes]:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(body, media_type=media_type, headers=headers)


class ReportPagesController(Controller):
    path = "/reports"
    include_in_schema = False

    @get("/")
    async def reports(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        programme: FromQuery[str | None] = None,
        from_: FromQuery[From] = None,
        to: FromQuery[str | None] = None,
    ) -> Template:
        chosen = reports.filter_of(db, programme, from_, to)
        context = await reports.reports_page(
            db, identity, chosen, _k_min(request), language_of(request)
        )
        return page(request, "reports.html.j2", context, 422 if context["errors"] else 200)

    @get("/needs.csv")
    async def needs_csv(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        programme: FromQuery[str | None] = None,
        from_: FromQuery[From] = None,
        to: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        chosen = reports.filter_of(db, programme, from_, to)
        body, name = await reports.needs_csv(db, identity, chosen, _k_min(request))
        return _download(body, name, "text/csv; charset=utf-8")

    @get("/report.pdf")
    async def report_pdf(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        programme: FromQuery[str | None] = None,
        from_: FromQuery[From] = None,
        to: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        chosen = reports.filter_of(db, programme, from_, to)
        language = language_of(request)
        body, name = await reports.pdf(db, identity, chosen, _k_min(request), language)
        return _download(body, name, "application/pdf")
