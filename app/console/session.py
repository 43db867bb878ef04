"""The console's session cookie, its CSRF protection and its page headers.

The session cookie (`codeliver_session`) is HttpOnly, SameSite=Lax, path /console, and
Secure in production (development and tests serve plain HTTP on the loopback address).
Every console page checks it (`signed_in`); without a current one, the page redirects to
sign-in. Every form post carries Litestar's CSRF token (a cookie and the hidden
`_csrf_token` field, HMAC-signed with the console secret)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.response import Template

from app.console import i18n
from app.coverage.page import FIREBASE_AUTH_APIS
from app.coverage.page import _origin_source as origin_source
from app.db.tenancy import Db, tenant_transaction
from app.errors import Unauthenticated
from app.identity.principal import MANAGERS
from app.identity.ratelimit import limit_failures, limit_user
from app.identity.sessions import COOKIE, SESSION_TTL, Sessions
from app.identity.tokens import TokenIdentity
from app.settings import Environment, Settings

PATH = "/console"
CSRF_COOKIE = "codeliver_csrf"


class SignInRequired(Exception):  # an answer (a redirect), not a fault: no problem type
    """No current session: the console answers with a redirect to its sign-in page."""


def secure(settings: Settings) -> bool:
    return settings.env is Environment.PRODUCTION


def _state_secret(path: Path) -> str:
    """A secret kept in the state folder, made once (0600), shared by this machine's
    processes. Several machines must share `CODELIVER_CONSOLE_SECRET` instead."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # the first writer wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def csrf_config(settings: Settings) -> CSRFConfig:
    secret = settings.console_secret or _state_secret(settings.state_dir / "console-csrf.secret")
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_path=PATH,
        cookie_secure=secure(settings),
        cookie_httponly=True,  # the token travels in the form's hidden field, not a header
        cookie_samesite="lax",
    )


def session_cookie(value: str, settings: Settings) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        path=PATH,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        secure=secure(settings),
        samesite="lax",
    )


def language_cookie(settings: Settings, language: str) -> Cookie:
    """The language switch's choice, kept a year (the console's own cookie)."""
    return Cookie(
        key=i18n.COOKIE,
        value=language,
        path=PATH,
        max_age=365 * 24 * 3600,
        httponly=True,
        secure=secure(settings),
        samesite="lax",
    )


def console_page(back: str, home: str) -> str:
    """`back` if it is a page of the console's (a path here, never another site's), else
    `home`: where the language switch returns."""
    parts = urlsplit(back)
    ours = not (parts.scheme or parts.netloc) and back.startswith(PATH + "/")
    return back if ours and "\\" not in back and not back.startswith("//") else home


def cleared_cookie(settings: Settings) -> Cookie:
    return Cookie(
        key=COOKIE, value="", path=PATH, max_age=0, httponly=True, secure=secure(settings)
    )


async def session_of(connection: ASGIConnection[Any, Any, Any, Any]) -> TokenIdentity:
    """The caller of a console page or socket, from their session cookie."""
    cookie = connection.cookies.get(COOKIE)
    if not cookie:
        raise SignInRequired()
    sessions: Sessions = connection.app.state.sessions
    try:
        identity = await sessions.check(cookie)
    except Unauthenticated as exc:
        limit_failures(connection.scope)  # forged or stale: a failed sign-in (RateLimited)
        raise SignInRequired() from exc
    limit_user(connection.scope, identity)  # the person's own bucket, as for the API
    return identity


async def signed_in(request: Request[Any, Any, Any], db: Db) -> TokenIdentity:
    """The caller of a console page (without a current session: to sign-in). Whether they
    manage an organisation (coordinator or org admin) is read with their roles, from the
    database as every request reads them, for the menu (`manages`)."""
    identity = await session_of(request)
    async with tenant_transaction(db, identity) as tx:
        request.state.manages = tx.principal.platform_admin or bool(
            tx.principal.orgs_with(*MANAGERS)
        )
    return identity


def page_headers(settings: Settings, *, pin_map: bool = False) -> dict[str, str]:
    """No caching, and a CSP of the app's own files. A page with the pin map also allows the
    tile server's images. Leaflet sets its styles through the CSSOM (`element.style`), which
    `style-src 'self'` allows: no inline styles (tests/e2e/test_console_clients_browser.py
    fails on any CSP report)."""
    images = ["'self'"]
    if pin_map and settings.map_tile_url:
        images.append(origin_source(settings.map_tile_url))
    connect = ["'self'"]
    if settings.firebase_auth_emulator_url:
        connect.append(settings.firebase_auth_emulator_url.rstrip("/"))
    elif settings.firebase_sign_in:
        connect.extend(FIREBASE_AUTH_APIS)
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "font-src 'self'",
            "manifest-src 'self'",
            f"connect-src {' '.join(connect)}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return {"Cache-Control": "no-store", "Content-Security-Policy": policy}


def page(
    request: Request[Any, Any, Any],
    name: str,
    context: dict[str, Any],
    status: int = 200,
    *,
    signed: bool = True,
) -> Template:
    """A console page: the template with its context, in the person's language (and the
    address of this page, for the language switch), and the console's headers."""
    settings: Settings = request.app.state.settings
    language = language_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    switch = [(code, i18n.NAMES[code]) for code in i18n.LANGUAGES if code != language]
    return Template(
        template_name=name,
        # `here` (the switch's way back) unless the page names another
        context={"here": here}
        | context
        | {"signed_in": signed, "language": language}
        | {"manages": signed and bool(getattr(request.state, "manages", False))}
        | {"switch": switch},
        headers=page_headers(settings, pin_map="pin" in context) | {"Content-Language": language},
        status_code=status,
    )


def language_of(request: Request[Any, Any, Any]) -> str:
    return i18n.chosen(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
