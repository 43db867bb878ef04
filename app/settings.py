"""Every setting in one place: `CODELIVER_*` environment variables, validated at start."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import msgspec

PREFIX = "CODELIVER_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
IMPORT_CEILING_BYTES = 67_108_864  # the import route's own cap: the setting may not pass it


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    env: Environment = Environment.DEVELOPMENT
    # Database: the app's (non-superuser) login; migrations use the owner's when given.
    database_url: str | None = None
    migration_database_url: str | None = None
    db_pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    db_max_overflow: Annotated[int, msgspec.Meta(ge=0, le=200)] = 10
    db_statement_timeout_ms: Annotated[int, msgspec.Meta(ge=100)] = 15_000
    db_pool_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0  # then a fast 503
    # Accepts enter a few at a time (fewer than the pool holds), waiting without a connection
    # for up to `accept_wait_s`, then a 503 (app/offers/admission.py).
    accept_slots: Annotated[int, msgspec.Meta(ge=1, le=200)] = 8
    accept_wait_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0
    # Through PgBouncer in transaction mode (`codeliver formation env`): no prepared-statement
    # cache and no session settings at startup (app/db/engine.py). The live channel's LISTEN
    # needs a session: `live_database_url` connects it directly (a libpq-style URL, several
    # hosts with target_session_attrs=read-write allowed); unset, it uses database_url.
    database_pooled: bool = False
    live_database_url: str | None = None
    state_dir: Path = PROJECT_ROOT / ".state"
    formation_dir: Path | None = None  # `codeliver formation`: default <state_dir>/formation
    pg_port: Annotated[int, msgspec.Meta(ge=1024, le=65535)] | None = None
    # HTTP
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    public_url: str | None = None
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1_048_576
    # An import's CSV file: 50,000 volunteers with every column take about 9 MB.
    import_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=IMPORT_CEILING_BYTES)] = 16_777_216
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 600
    rate_limit_burst: Annotated[int, msgspec.Meta(ge=1)] = 60
    # How often each process settles what its callers spent with the others' (0: never, so
    # each process limits alone and N processes allow N times the limit).
    rate_limit_settle_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.5
    cors_origins: tuple[str, ...] = ()
    # Live events (WS /v1/events)
    live_heartbeat_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 25.0
    live_queue_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 256
    # Identity
    dev_issuer: bool | None = None  # default: on outside production
    dev_token_ttl_s: Annotated[int, msgspec.Meta(ge=60, le=30 * 86400)] = 12 * 3600
    firebase_project_id: str | None = None
    firebase_credentials: Path | None = None
    # Firebase Auth sign-in on the map page (the browser's web config; the API key is public).
    # The emulator URL is for development and tests only: refused in production.
    firebase_web_api_key: str | None = None
    firebase_auth_domain: str | None = None  # default: <project id>.firebaseapp.com
    firebase_auth_emulator_url: str | None = None
    # Signs the console's CSRF tokens; unset, a secret made once in the state folder (one
    # machine). Several machines behind one address must share one.
    console_secret: str | None = None
    # Push: FCM when a Firebase project is set (credentials from the file, or application
    # default credentials); otherwise the log transport. `push_send`: `threaded`,
    # firebase-admin's send_each in a thread, or `http2`, our own FCM v1 sender
    # (notifications/fcm_http2.py: httpx over HTTP/2, at most `fcm_streams` requests in
    # flight over `fcm_connections` connections); chosen by measurement (docs/decisions.md, 62).
    push_transport: Literal["auto", "fcm", "log"] = "auto"
    push_send: Literal["threaded", "http2"] = "threaded"
    fcm_streams: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    fcm_connections: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1
    fcm_endpoint: str | None = None  # a staging proxy or the tests' fake FCM server
    fcm_access_token: str | None = None  # a fixed token for that endpoint (never Google's)
    # FCM's quota per project (600,000 messages a minute), shared by every worker.
    fcm_rate_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 600_000
    push_lease_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 60
    push_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 8
    push_poll_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.2
    # Text messages and email through GOV.UK Notify (notifications/notify.py; README, "GOV.UK
    # Notify"): the service's API key, the API's base URL (the tests' fake, or a proxy), the
    # template id of each message as `channel.kind.language=template-id`, comma-separated
    # (`sms.offer.created.en=...`), the bearer token Notify sends on its callbacks, and the
    # share of Notify's 3,000 requests a minute per key that all of our workers use together.
    # Without a key, the log transport prints each text instead.
    notify_transport: Literal["auto", "notify", "log"] = "auto"
    notify_api_key: str | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_templates: tuple[str, ...] = ()
    notify_callback_token: str | None = None
    notify_rate_per_minute: Annotated[int, msgspec.Meta(ge=1, le=3000)] = 3000
    # Addresses by postcode (app/geocoder.py; docs/decisions.md, 43): `os_places` (OS Places
    # API, the council's key under the PSGA; UPRN and point per address), `postcodes_io` (a
    # postcodes.io-compatible server at `geocoder_url`: the postcode's centre, no UPRN),
    # `gazetteer` (the demo borough's own addresses, for local runs) or `none` (the caseworker
    # drops a pin). `geocoder_url` also points OS Places at a proxy or the tests' fake.
    geocoder: Literal["none", "os_places", "postcodes_io", "gazetteer"] = "none"
    geocoder_url: str | None = None
    os_places_key: str | None = None
    geocoder_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    # Maps: cells and points describing fewer clients than this are suppressed; an optional
    # raster base map for the coordinator's page ({z}/{x}/{y} template).
    coverage_k_min: Annotated[int, msgspec.Meta(ge=2, le=100)] = 3
    # The worker recomputes each organisation's supply snapshot this often; maps of the
    # current week read a snapshot up to the max age old, else compute their view on the spot.
    coverage_refresh_s: Annotated[float, msgspec.Meta(ge=5, le=86_400)] = 120.0
    coverage_snapshot_max_age_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 600.0
    # The worker applies the queued changes to the volunteers' kept coverage facts this
    # often, and rebuilds them whole this often (geo/volunteer_facts.py; maps never read a
    # stale fact: the queued users are computed from the tables until then).
    coverage_facts_refresh_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0
    coverage_facts_rebuild_s: Annotated[float, msgspec.Meta(ge=60, le=86_400)] = 3600.0
    # Batch plans: how long CP-SAT may search (matching/plan_solver.py: TIME_LIMIT_S).
    plan_time_limit_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 5.0
    map_tile_url: str | None = None
    map_tile_attribution: str = ""
    # The map page's assets: web/src, web/dist (npm run build) and Leaflet from node_modules.
    web_dir: Path = PROJECT_ROOT / "web"
    # The demo comes alive: the seed's volunteers (`demo-volunteer-*`) answer their offers by
    # the simulation's response model, its delays divided by the speed-up (development only:
    # refused in production; docs/simulation.md, "The demo comes alive").
    demo_responders: bool = False
    demo_responders_speedup: Annotated[float, msgspec.Meta(ge=1, le=1000)] = 10.0
    # Logs
    log_level: str = "INFO"
    log_json: bool | None = None  # default: JSON in production

    @property
    def dev_issuer_enabled(self) -> bool:
        if self.dev_issuer is None:
            return self.env is not Environment.PRODUCTION
        return self.dev_issuer

    @property
    def firebase_sign_in(self) -> bool:
        """The map page offers Firebase Auth e-mail/password sign-in."""
        return self.firebase_web_api_key is not None

    @property
    def notify_template_ids(self) -> dict[str, str]:
        """`channel.kind.language` -> Notify template id (`CODELIVER_NOTIFY_TEMPLATES`)."""
        return dict(pair.split("=", 1) for pair in self.notify_templates)

    @property
    def logs_as_json(self) -> bool:
        return self.env is Environment.PRODUCTION if self.log_json is None else self.log_json

    @property
    def openapi_server(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


_LIST_FIELDS = {"cors_origins", "notify_templates"}


def _decode(type_: type, value: object) -> object:
    if type_ is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(type_)


def load_settings(environ: dict[str, str] | os._Environ[str] | None = None) -> Settings:
    """Read and validate the settings; raise SettingsError naming the bad variable."""
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    known = set(Settings.__struct_fields__)
    for key, value in environ.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :].lower()
        if name not in known:
            continue  # other tools' CODELIVER_* (e.g. the test harness) are not ours
        if name in _LIST_FIELDS:
            raw[name] = [part.strip() for part in value.split(",") if part.strip()]
        elif value == "" and name not in {"host"}:
            continue
        else:
            raw[name] = value
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.rsplit("$.", 1)[-1].rstrip("`").split("[")[0] if "$." in message else ""
        raise SettingsError(f"{PREFIX}{field.upper()}: {message.split(' - at ')[0]}") from exc
    _check_firebase_web(settings)
    _check_notify(settings)
    _check_geocoder(settings)
    _check_pooled(settings)
    _check_production(settings, environ)
    return settings


def _check_pooled(settings: Settings) -> None:
    if settings.database_pooled and not settings.live_database_url:
        raise SettingsError(
            "CODELIVER_DATABASE_POOLED needs CODELIVER_LIVE_DATABASE_URL: the live channel "
            "LISTENs on a session of its own, which a transaction-mode pooler does not keep"
        )


def _check_firebase_web(settings: Settings) -> None:
    if settings.firebase_web_api_key and not settings.firebase_project_id:
        raise SettingsError(
            "CODELIVER_FIREBASE_WEB_API_KEY needs CODELIVER_FIREBASE_PROJECT_ID: the API "
            "accepts only the ID tokens of the project it verifies"
        )
    url = settings.firebase_auth_emulator_url
    if url and not url.startswith(("http://", "https://")):
        raise SettingsError("CODELIVER_FIREBASE_AUTH_EMULATOR_URL: must start with http(s)://")


_CHANNELS = ("sms", "email")
_LANGUAGES = ("en", "cy")


def _check_notify(settings: Settings) -> None:
    for pair in settings.notify_templates:
        key, sep, template = pair.partition("=")
        channel, _, rest = key.partition(".")
        kind, _, language = rest.rpartition(".")
        if not sep or not template or channel not in _CHANNELS or not kind:
            raise SettingsError(
                f"CODELIVER_NOTIFY_TEMPLATES: {pair!r} is not channel.kind.language=template-id"
            )
        if language not in _LANGUAGES:
            raise SettingsError(f"CODELIVER_NOTIFY_TEMPLATES: {pair!r}: language must be en or cy")
    if settings.notify_transport == "notify" and not settings.notify_api_key:
        raise SettingsError("CODELIVER_NOTIFY_API_KEY is required for the Notify transport")


def _check_geocoder(settings: Settings) -> None:
    url = settings.geocoder_url
    if url and not url.startswith(("http://", "https://")):
        raise SettingsError("CODELIVER_GEOCODER_URL: must start with http(s)://")
    if settings.geocoder == "os_places" and not settings.os_places_key:
        raise SettingsError("CODELIVER_OS_PLACES_KEY is required for CODELIVER_GEOCODER=os_places")
    if settings.geocoder == "postcodes_io" and not url:
        raise SettingsError(
            "CODELIVER_GEOCODER_URL is required for CODELIVER_GEOCODER=postcodes_io (the "
            "server's base URL, such as https://api.postcodes.io)"
        )


def _check_production(settings: Settings, environ: dict[str, str] | os._Environ[str]) -> None:
    if settings.env is not Environment.PRODUCTION:
        return
    if settings.dev_issuer_enabled:
        raise SettingsError(
            "CODELIVER_DEV_ISSUER: the development token issuer must be off in production"
        )
    if settings.firebase_auth_emulator_url:
        raise SettingsError(
            "CODELIVER_FIREBASE_AUTH_EMULATOR_URL is set: the map page would sign in to an "
            "emulator, refusing to start in production"
        )
    if settings.geocoder == "gazetteer":
        raise SettingsError(
            "CODELIVER_GEOCODER=gazetteer: the demo borough's made-up addresses are for local "
            "runs, refusing to start in production"
        )
    if settings.demo_responders:
        raise SettingsError(
            "CODELIVER_DEMO_RESPONDERS is on: the demo's volunteers would answer offers by "
            "themselves, refusing to start in production"
        )
    if environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        raise SettingsError(
            "FIREBASE_AUTH_EMULATOR_HOST is set: the emulator accepts unsigned tokens, "
            "refusing to start in production"
        )
    if not settings.database_url:
        raise SettingsError("CODELIVER_DATABASE_URL is required in production")
    if not settings.migration_database_url:
        raise SettingsError(
            "CODELIVER_MIGRATION_DATABASE_URL is required in production: migrations run as "
            "the tables' owner, the app as a separate role that row-level security binds"
        )
    if not settings.firebase_project_id:
        raise SettingsError(
            "CODELIVER_FIREBASE_PROJECT_ID: production needs an identity provider to accept"
        )
    if settings.notify_api_key and not settings.notify_callback_token:
        raise SettingsError(
            "CODELIVER_NOTIFY_CALLBACK_TOKEN is required with CODELIVER_NOTIFY_API_KEY in "
            "production: Notify's callbacks must authenticate"
        )
    if settings.fcm_access_token and not settings.fcm_endpoint:
        raise SettingsError(
            "CODELIVER_FCM_ACCESS_TOKEN is only for CODELIVER_FCM_ENDPOINT (a proxy or a fake)"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
