"""The console's router: sign-in and sign-out, the page controllers (needs, clients), the
session and CSRF checks, and errors as pages."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.console import i18n
from app.console.controller_clients import ClientPagesController
from app.console.controller_imports import ClientImportPagesController, ImportPagesController
from app.console.controller_members import MemberPagesController, SettingsPagesController
from app.console.controller_needs import NeedPagesController
from app.console.controller_reports import ReportPagesController
from app.console.controller_roster import RosterPagesController
from app.console.live import need_live
from app.console.session import (
    SignInRequired,
    cleared_cookie,
    console_page,
    csrf_config,
    language_cookie,
    page,
    signed_in,
)
from app.console.signing import HOME, close_session, open_session, sign_in_page
from app.errors import CodeliverError, NotFound
from app.identity.sessions import COOKIE
from app.problems import EXCEPTION_HANDLERS
from app.settings import Settings

Req = Request[Any, Any, Any]


class ConsoleController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self) -> Redirect:
        return Redirect(HOME, status_code=303)

    @get("/sign-in")
    async def sign_in_form(self, request: Req) -> Template:
        return sign_in_page(request)

    @post("/sign-in")
    async def sign_in(self, request: Req) -> Response[Any]:
        return await open_session(request)

    @post("/sign-out")
    async def sign_out(self, request: Req) -> Response[Any]:
        return await close_session(request)

    @get("/language/{code:str}")
    async def language(
        self, request: Req, code: FromPath[str], back: FromQuery[str] = HOME
    ) -> Redirect:
        """The language switch in every page's header: the choice kept a year (a cookie of
        the console's), then back to the page it was on (only ever a console page)."""
        if code not in i18n.LANGUAGES:
            raise NotFound("no such language")
        cookie = language_cookie(request.app.state.settings, code)
        return Redirect(console_page(back, HOME), status_code=303, cookies=[cookie])


def _to_sign_in(request: Req, exc: SignInRequired) -> Response[Any]:
    """To sign-in, forgetting a cookie that did not check out: a stale one counts as one
    failed sign-in for the address, once, not on every page."""
    settings: Settings = request.app.state.settings
    cookies = [cleared_cookie(settings)] if COOKIE in request.cookies else []
    return Redirect("/console/sign-in", status_code=303, cookies=cookies)


TITLES = {  # translated where the page shows them (`| t`), as are the details below
    400: i18n.N_("There is a problem with the address"),
    403: i18n.N_("You cannot do that"),
    404: i18n.N_("Page not found"),
    422: i18n.N_("There is a problem"),
    503: i18n.N_("Sorry, the service is unavailable"),
}


def _error_page(request: Req, exc: Exception) -> Response[Any]:
    """Any error as a page that says what happened and nothing of anyone's data. Its status
    (and its logging) is the API's: the problem+json handler for the error decides it."""
    handler = next(EXCEPTION_HANDLERS[k] for k in type(exc).__mro__ if k in EXCEPTION_HANDLERS)
    status = handler(request, exc).status_code
    detail = i18n.N_("Try again later.")
    if isinstance(exc, CodeliverError) or (isinstance(exc, HTTPException) and status < 500):
        detail = exc.detail  # the error's own words, in English
    if status == 404:
        detail = i18n.N_("If you typed the web address, check it is correct.")
    elif status == 403 and "CSRF" in detail:
        detail = i18n.N_(
            "The form had expired or did not come from this service. Go back and try again."
        )
    title = TITLES.get(status, i18n.N_("Sorry, there is a problem with the service"))
    # the switch leads back home, never to the address asked for (it may be another's id)
    context = {"title": title, "detail": detail, "here": HOME}
    return page(request, "error.html.j2", context, status, signed=False)


def console_router(settings: Settings) -> Router:
    return Router(
        path="/console",
        route_handlers=[
            ConsoleController,
            NeedPagesController,
            ClientPagesController,
            ReportPagesController,
            MemberPagesController,
            SettingsPagesController,
            RosterPagesController,
            ImportPagesController,
            ClientImportPagesController,
            need_live,
        ],
        dependencies={"identity": Provide(signed_in)},
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf_config(settings))],
        exception_handlers={SignInRequired: _to_sign_in}
        | dict.fromkeys(EXCEPTION_HANDLERS, _error_page),
        include_in_schema=False,
    )
