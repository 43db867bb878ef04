"""The console's router: sign-in and sign-out, the page controllers (needs, clients), the
session and CSRF checks, and errors as pages."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.response import Redirect, Template

from app.console.controller_clients import ClientPagesController
from app.console.controller_needs import NeedPagesController
from app.console.live import need_live
from app.console.session import SignInRequired, cleared_cookie, csrf_config, page, signed_in
from app.console.signing import HOME, close_session, open_session, sign_in_page
from app.errors import CodeliverError
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
        return sign_in_page(request.app.state.settings)

    @post("/sign-in")
    async def sign_in(self, request: Req) -> Response[Any]:
        return await open_session(request)

    @post("/sign-out")
    async def sign_out(self, request: Req) -> Response[Any]:
        return await close_session(request)


def _to_sign_in(request: Req, exc: SignInRequired) -> Response[Any]:
    """To sign-in, forgetting a cookie that did not check out: a stale one counts as one
    failed sign-in for the address, once, not on every page."""
    settings: Settings = request.app.state.settings
    cookies = [cleared_cookie(settings)] if COOKIE in request.cookies else []
    return Redirect("/console/sign-in", status_code=303, cookies=cookies)


TITLES = {
    400: "There is a problem with the address",
    403: "You cannot do that",
    404: "Page not found",
    422: "There is a problem",
    503: "Sorry, the service is unavailable",
}


def _error_page(request: Req, exc: Exception) -> Response[Any]:
    """Any error as a page that says what happened and nothing of anyone's data. Its status
    (and its logging) is the API's: the problem+json handler for the error decides it."""
    handler = next(EXCEPTION_HANDLERS[k] for k in type(exc).__mro__ if k in EXCEPTION_HANDLERS)
    status = handler(request, exc).status_code
    detail = "Try again later."
    if isinstance(exc, CodeliverError) or (isinstance(exc, HTTPException) and status < 500):
        detail = exc.detail
    if status == 404:
        detail = "If you typed the web address, check it is correct."
    elif status == 403 and "CSRF" in detail:
        detail = "The form had expired or did not come from this service. Go back and try again."
    title = TITLES.get(status, "Sorry, there is a problem with the service")
    return page(request, "error.html.j2", {"title": title, "detail": detail}, status, signed=False)


def console_router(settings: Settings) -> Router:
    return Router(
        path="/console",
        route_handlers=[ConsoleController, NeedPagesController, ClientPagesController, need_live],
        dependencies={"identity": Provide(signed_in)},
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf_config(settings))],
        exception_handlers={SignInRequired: _to_sign_in}
        | dict.fromkeys(EXCEPTION_HANDLERS, _error_page),
        include_in_schema=False,
    )
