"""Signing in and out of the console: a verified ID token (Firebase's, from the browser, or
a development token) exchanged for the session cookie; sign-out revokes it and clears it."""

from __future__ import annotations

import contextlib
import html
import json
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect, Template

from app.console.i18n import N_, Phrase
from app.console.session import cleared_cookie, page, session_cookie
from app.coverage.page import page_config
from app.errors import RateLimited, Unauthenticated
from app.identity.ratelimit import failures_left, limit_failures
from app.identity.sessions import COOKIE, Sessions
from app.settings import Settings

HOME = "/console/needs"


def sign_in_context(settings: Settings, error: str | Phrase | None = None) -> dict[str, Any]:
    firebase = page_config(settings)["firebase"]
    return {
        "firebase": firebase,
        "config": html.escape(json.dumps({"firebase": firebase}), quote=False),
        "dev_issuer": settings.dev_issuer_enabled,
        "errors": [{"field": "id_token", "message": error}] if error else [],
        # Without the development form, the token field is hidden: point at the e-mail.
        "anchors": {} if settings.dev_issuer_enabled else {"id_token": "email"},
    }


def sign_in_page(request: Request[Any, Any, Any], error: str | Phrase | None = None) -> Template:
    settings: Settings = request.app.state.settings
    context = sign_in_context(settings, error)
    return page(request, "sign_in.html.j2", context, 401 if error else 200, signed=False)


async def open_session(request: Request[Any, Any, Any]) -> Response[Any]:
    settings: Settings = request.app.state.settings
    sessions: Sessions = request.app.state.sessions
    form = await request.form()
    token = str(form.get("id_token", "")).strip()
    if not token:
        return sign_in_page(
            request, N_("Enter your token") if settings.dev_issuer_enabled else None
        )
    try:
        failures_left(request.scope)  # a limited address: refused before verifying anything
        try:
            cookie = await sessions.open(token)
        except Unauthenticated as exc:
            limit_failures(request.scope)
            return sign_in_page(
                request, Phrase(N_("Sign-in failed: %(reason)s"), {"reason": exc.detail})
            )
    except RateLimited as limited:
        wait = limited.retry_after_s
        answer = sign_in_page(
            request,
            Phrase(
                N_("Too many failed sign-ins from here: try again in %(wait)s seconds"),
                {"wait": wait},
            ),
        )
        answer.status_code = 429
        answer.headers["Retry-After"] = str(wait)
        return answer
    return Redirect(HOME, status_code=303, cookies=[session_cookie(cookie, settings)])


async def close_session(request: Request[Any, Any, Any]) -> Response[Any]:
    settings: Settings = request.app.state.settings
    sessions: Sessions = request.app.state.sessions
    cookie = request.cookies.get(COOKIE)
    if cookie:
        with contextlib.suppress(Unauthenticated):  # already over: clearing it is what is left
            await sessions.close(cookie)
    return Redirect("/console/sign-in", status_code=303, cookies=[cleared_cookie(settings)])
