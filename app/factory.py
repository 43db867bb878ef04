"""The composition root: build the Litestar app from settings and wire the real adapters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.assignments.controller import AssignmentController
from app.clients.controller import ClientController
from app.console.assets import console_static_routers
from app.console.controller import console_router
from app.console.templating import template_config
from app.coverage.controller import CoordinatorMetricsController, CoverageController
from app.coverage.page import CoveragePageController
from app.coverage.web_assets import static_routers
from app.db.engine import create_engine, database_urls
from app.db.tenancy import register_system
from app.events.controller import EventController
from app.http_conventions import HttpConventions
from app.http_params import refuse_null
from app.http_request import ApiRequest
from app.identity.middleware import BearerAuthMiddleware
from app.identity.ratelimit import RateLimitMiddleware, TokenBuckets
from app.identity.sessions import Sessions
from app.identity.shared_limits import RateSettlement
from app.identity.tokens import DevIssuer, FirebaseVerifier, TokenVerifier, Verifiers
from app.imports.client_controller import ClientImportController
from app.imports.controller import ImportController
from app.logs import configure_logging
from app.needs.controller import NeedController
from app.notify.controller import MyChannelsController, NotifyCallbackController
from app.offers.admission import AcceptAdmission
from app.offers.controller import OfferController
from app.openapi import openapi_config
from app.ops.health import HealthController
from app.ops.metrics import HttpMetrics, MetricsController
from app.ops.problem_pages import ProblemPageController
from app.ops.telemetry import TelemetryMiddleware, add_request_id
from app.orgs.controller import MeController, OrganisationController
from app.plans.controller import PlanController
from app.problems import EXCEPTION_HANDLERS
from app.programmes.controller import ProgrammeController
from app.rights.controller import MyDataRightsController
from app.service_areas.controller import ServiceAreaController
from app.settings import Environment, Settings, get_settings
from app.volunteers.controller import MyVolunteeringController, VolunteerRosterController
from app.volunteers.skills import SkillController
from app.worker import Worker
from notifications.live import LiveHub, asyncpg_dsn

log = structlog.get_logger(__name__)

# What a browser on an allowed origin may send, and read, beyond CORS's safelisted headers.
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-None-Match",
    "X-Access-Reason",
    "X-Request-Id",
)
CORS_EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-Request-Id",
    "X-Supply-As-Of",
)


def build_verifiers(settings: Settings) -> Verifiers:
    verifiers: list[TokenVerifier] = []
    if settings.dev_issuer_enabled:
        verifiers.append(DevIssuer(settings.state_dir / "dev-issuer.pem"))
    if settings.firebase_project_id:
        verifiers.append(
            FirebaseVerifier(settings.firebase_project_id, settings.firebase_credentials)
        )
    return Verifiers(verifiers)


_PRIVILEGED_LOGIN = text("""
    SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (
             SELECT 1 FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                AND pg_has_role(current_user, c.relowner, 'MEMBER'))
      FROM pg_roles r WHERE r.rolname = current_user
""")


async def _refuse_privileged_login(engine: AsyncEngine, settings: Settings) -> None:
    """Row-level security does not bind superusers, BYPASSRLS roles or the tables' owner."""
    try:
        async with engine.connect() as conn:
            privileged = await conn.scalar(_PRIVILEGED_LOGIN)
    except OSError:
        if settings.env is Environment.PRODUCTION:
            raise  # never start unchecked in production
        log.warning("database unreachable at start; row-level security check skipped")
        return
    if not privileged:
        return
    message = (
        "the app's database login bypasses row-level security (superuser, BYPASSRLS "
        "or owner of the tables); use a separate login role (see README)"
    )
    if settings.env is Environment.PRODUCTION:
        raise RuntimeError(message)
    log.warning(message)


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    system_database_url: str | None = None,
    embed_worker: bool = False,
) -> Litestar:
    """`system_database_url` is the system login (the owner, or a BYPASSRLS role): for the
    embedded worker, and for candidate searches after the use case has authorised the
    caller. Without it (an explicit `database_url` alone), candidate searches run in the
    caller's transaction, under row-level security, much more slowly."""
    settings = settings or get_settings()
    configure_logging(settings)
    url = database_url or database_urls(settings)[0]
    system_url = system_database_url or (None if database_url else database_urls(settings)[1])
    if system_url == url:  # no separate system login configured: the app's own is not one
        system_url = None
    if embed_worker and system_url is None:
        log.warning("no system login (CODELIVER_MIGRATION_DATABASE_URL): no embedded worker")

    rate_limits = (
        TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
        if settings.rate_limit_per_minute
        else None
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(url, settings)
        app.state.engine = engine
        verifiers = build_verifiers(settings)
        app.state.verifiers = verifiers
        app.state.sessions = Sessions(verifiers)
        worker_task: asyncio.Task[None] | None = None
        system = create_engine(system_url, settings) if system_url else None
        if system is not None:
            register_system(engine, system)
        worker = Worker(system, settings=settings) if embed_worker and system else None
        live = LiveHub(
            asyncpg_dsn(settings.live_database_url or url),  # a session: never pooled
            engine,
            queue_limit=settings.live_queue_limit,
        )
        app.state.live = live
        live_task = asyncio.create_task(live.run(), name="live-events")
        settlement = (
            RateSettlement(engine, rate_limits, settings.rate_limit_settle_s)
            if rate_limits is not None and settings.rate_limit_settle_s
            else None
        )
        app.state.rate_settlement = settlement
        settle_task = (
            asyncio.create_task(settlement.run(), name="rate-settlement") if settlement else None
        )
        try:
            await _refuse_privileged_login(engine, settings)
            if worker is not None:
                worker_task = asyncio.create_task(worker.run(), name="worker")
            yield
        finally:
            if settlement is not None and settle_task is not None:
                settlement.stop()
                await settle_task
            await live.stop()
            await live_task
            if worker is not None and worker_task is not None:
                worker.stop()
                await worker_task
            if system is not None:
                await system.dispose()
            for verifier in verifiers.verifiers:
                if isinstance(verifier, FirebaseVerifier):
                    verifier.close()
            await engine.dispose()

    def provide_engine(state: State) -> AsyncEngine:
        engine: AsyncEngine = state.engine
        return engine

    app = Litestar(
        route_handlers=[
            HealthController,
            MetricsController,
            ProblemPageController,
            MeController,
            OrganisationController,
            ImportController,
            ClientImportController,
            ProgrammeController,
            ClientController,
            NeedController,
            MyVolunteeringController,
            MyChannelsController,
            MyDataRightsController,
            NotifyCallbackController,
            VolunteerRosterController,
            SkillController,
            OfferController,
            AssignmentController,
            PlanController,
            EventController,
            CoverageController,
            CoordinatorMetricsController,
            ServiceAreaController,
            CoveragePageController,
            *static_routers(settings.web_dir),
            console_router(settings),
            *console_static_routers(settings.web_dir),
        ],
        template_config=template_config(),
        dependencies={"db": Provide(provide_engine, sync_to_thread=False)},
        middleware=[TelemetryMiddleware(), BearerAuthMiddleware(), RateLimitMiddleware()],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=ApiRequest,
        before_request=refuse_null,
        before_send=[add_request_id],
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "metrics": HttpMetrics(),
                "rate_limits": rate_limits,
                "accept_admission": AcceptAdmission(settings.accept_slots, settings.accept_wait_s),
            }
        ),
        request_max_body_size=settings.max_body_bytes,
        # Brotli for clients that accept it, else gzip; small responses are not worth it.
        compression_config=CompressionConfig(
            backend="brotli", brotli_gzip_fallback=True, gzip_compress_level=6, minimum_size=1024
        ),
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_headers=[*CORS_REQUEST_HEADERS],
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            expose_headers=[*CORS_EXPOSED_HEADERS],
        )
        if settings.cors_origins
        else None,
        openapi_config=openapi_config(settings.openapi_server),
        logging_config=None,
        debug=False,  # debug pages would leak tracebacks; errors are logged instead
    )
    # In front of the router: HEAD on every GET, full Allow lists, CORS refusals as problems.
    app.asgi_handler = HttpConventions(app, app.asgi_handler)
    return app
