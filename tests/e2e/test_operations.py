"""Health, metrics, rate limits, CORS, the API document, and a database that is down."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from app.factory import create_app
from app.settings import Environment, Settings
from infra.localdb import ClusterState
from tests.support import Db, World, serving

pytestmark = pytest.mark.anyio


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient, world: World) -> None:
    await client.get("/health/live")
    await client.get("/v1/me")  # 401
    text = (await client.get("/metrics")).text
    assert (
        'codeliver_http_requests_total{method="GET",route="/health/live",status="200"} 1.0' in text
    )
    assert 'route="/v1/me",status="401"' in text
    assert "codeliver_http_request_duration_seconds_bucket" in text


async def test_rate_limit_answers_429_with_retry_after(
    settings: Settings, db: Db, world: World
) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_per_minute=60, rate_limit_burst=3)
    async with serving(create_app(limited, database_url=db.app_url)) as client:
        alice, bob = world.headers("alice"), world.headers("bob")
        codes = [(await client.get("/v1/me", headers=alice)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = await client.get("/v1/me", headers=alice)
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/v1/me", headers=bob)).status_code == 200  # per user
        assert (await client.get("/health/live")).status_code == 200  # never limited
        guesses = [
            (await client.get("/v1/me", headers={"Authorization": "Bearer guess"})).status_code
            for _ in range(5)
        ]
        assert guesses == [401, 401, 401, 429, 429]  # failed sign-ins, per client address


async def test_cors_allows_the_configured_map_origin(settings: Settings, db: Db) -> None:
    cors = msgspec.structs.replace(settings, cors_origins=("https://map.example.org",))
    async with serving(create_app(cors, database_url=db.app_url)) as client:
        r = await client.options(
            "/v1/me",
            headers={
                "Origin": "https://map.example.org",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert r.status_code in {200, 204}
        assert r.headers["access-control-allow-origin"] == "https://map.example.org"
        r = await client.options(
            "/v1/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in r.headers


async def test_the_api_document_and_its_ui(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    assert {"/v1/me", "/v1/orgs", "/v1/orgs/{org_id}/members", "/health/ready"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    ui = await client.get("/schema")
    assert ui.status_code == 200
    assert "<html" in ui.text.lower()


async def test_a_database_that_is_down_gives_fast_503s(
    settings: Settings, cluster: ClusterState
) -> None:
    down = cluster.url(database="codeliver").replace(f":{cluster.port}/", ":1/")
    async with serving(create_app(settings, database_url=down)) as client:
        r = await client.get("/v1/me", headers={"Authorization": "Bearer x"})
        assert r.status_code == 401  # auth needs no database
        from app.identity.tokens import DevIssuer

        token = DevIssuer(settings.state_dir / "dev-issuer.pem").issue("alice", ttl_s=60)
        r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.json()["type"] == "http://test/problems/unavailable"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503


async def test_ready_is_503_until_migrated(settings: Settings, cluster: ClusterState) -> None:
    from infra.localdb import LocalCluster
    from tests.conftest import ROOT

    local = LocalCluster(ROOT / ".state" / "test-pg")
    local.drop_database("t_unmigrated")
    local.create_database("t_unmigrated")
    try:
        url = cluster.url(owner=True, database="t_unmigrated")
        async with serving(create_app(settings, database_url=url)) as client:
            r = await client.get("/health/ready")
            assert r.status_code == 503
            assert r.json()["type"] == "http://test/problems/not-ready"
    finally:
        local.drop_database("t_unmigrated")


async def test_a_bug_is_a_500_problem_that_leaks_nothing(settings: Settings, db: Db) -> None:
    from litestar import get

    @get("/v1/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(settings, database_url=db.app_url)
    app.register(boom)
    from app.identity.tokens import DevIssuer

    token = DevIssuer(settings.state_dir / "dev-issuer.pem").issue("alice", ttl_s=60)
    async with serving(app) as client:
        r = await client.get("/v1/boom", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "hunter2" not in r.text
    assert "secret" not in r.text


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/health/live", headers={"X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
    generated = (await client.get("/v1/me")).headers["x-request-id"]
    assert len(generated) == 32


async def test_production_refuses_a_login_that_bypasses_rls(settings: Settings, db: Db) -> None:
    production = msgspec.structs.replace(settings, env=Environment.PRODUCTION, dev_issuer=False)
    app = create_app(production, database_url=db.owner_url)  # the owner is a superuser
    with pytest.raises(ExceptionGroup) as caught:  # Litestar's lifespan runs in a need group
        async with app.lifespan():
            pass
    assert caught.group_contains(RuntimeError, match="row-level security", depth=None)


async def test_production_refuses_a_login_that_owns_the_tables(
    settings: Settings, db: Db, cluster: ClusterState
) -> None:
    from infra.localdb import LocalCluster
    from tests.conftest import ROOT

    local = LocalCluster(ROOT / ".state" / "test-pg")
    role = f"owner_{db.name}"
    local.psql(f"CREATE ROLE {role} LOGIN PASSWORD 'pw' IN ROLE codeliver_rw")
    try:
        local.psql(f"ALTER TABLE programmes OWNER TO {role}", database=db.name)
        url = f"postgresql+asyncpg://{role}:pw@127.0.0.1:{cluster.port}/{db.name}"
        production = msgspec.structs.replace(settings, env=Environment.PRODUCTION, dev_issuer=False)
        with pytest.raises(ExceptionGroup) as caught:
            async with create_app(production, database_url=url).lifespan():
                pass
        assert caught.group_contains(RuntimeError, match="owner of the tables", depth=None)
    finally:
        local.drop_database(db.name)
        local.psql(f"DROP ROLE IF EXISTS {role}")


async def test_problem_types_are_absolute_urls_that_resolve(
    client: httpx.AsyncClient, world: World
) -> None:
    from app import errors
    from app.problems import PROBLEM_TYPES

    missing = await client.get("/v1/nowhere", headers=world.headers("alice"))
    unknown = await client.get(
        "/v1/programmes/00000000-0000-4000-8000-000000000000", headers=world.headers("alice")
    )
    for r in (missing, unknown):  # Litestar's 404 and the domain's: one title
        assert r.status_code == 404, r.text
        body = r.json()
        assert body["type"] == "http://test/problems/not-found"
        assert body["title"] == "Not Found"
        page = await client.get(httpx.URL(body["type"]).path)  # no token: public
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "not-found" in page.text
    for code in PROBLEM_TYPES:
        assert (await client.get(f"/problems/{code}")).status_code == 200, code
    index = await client.get("/problems")
    assert all(f"/problems/{code}" in index.text for code in PROBLEM_TYPES)
    r = await client.get("/problems/no-such-code")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"

    def every(cls: type[errors.CodeliverError]) -> list[type[errors.CodeliverError]]:
        return [cls, *(s for sub in cls.__subclasses__() for s in every(sub))]

    for cls in every(errors.CodeliverError):  # every domain error is described, one title
        described = PROBLEM_TYPES[cls.code]
        assert (described.status, described.title) == (cls.status, cls.title), cls


async def test_problem_types_use_the_public_url_when_configured(settings: Settings, db: Db) -> None:
    public = msgspec.structs.replace(settings, public_url="https://api.example.org/")
    async with serving(create_app(public, database_url=db.app_url)) as client:
        r = await client.get("/v1/me")
    assert r.json()["type"] == "https://api.example.org/problems/unauthenticated"


async def test_cors_lets_the_map_send_and_read_its_headers(settings: Settings, db: Db) -> None:
    cors = msgspec.structs.replace(settings, cors_origins=("https://map.example.org",))
    origin = {"Origin": "https://map.example.org"}
    async with serving(create_app(cors, database_url=db.app_url)) as client:
        r = await client.options(
            "/v1/clients",
            headers=origin
            | {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, "
                "x-access-reason, if-none-match, idempotency-key",
            },
        )
        assert r.status_code == 204, r.text
        r = await client.get("/health/live", headers=origin)
        exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
        assert {"etag", "retry-after", "x-supply-as-of", "x-request-id", "location"} <= exposed
        for refused, field in [
            ({"Access-Control-Request-Headers": "x-secret"}, "Access-Control-Request-Headers"),
            ({"Access-Control-Request-Method": "TRACE"}, "Access-Control-Request-Method"),
            ({"Origin": "https://evil.example"}, "Origin"),
        ]:
            headers = origin | {"Access-Control-Request-Method": "GET"} | refused
            r = await client.options("/v1/me", headers=headers)
            assert r.status_code == 400, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"].endswith("/problems/cors-refused")
            assert [e["field"] for e in r.json()["errors"]] == [field]
            assert "access-control-allow-origin" not in r.headers


async def test_head_answers_every_get_without_a_body(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = world.headers("alice")
    for path in ("/v1/me", "/health/live", "/schema/openapi.json", "/problems/not-found"):
        got = await client.get(path, headers=headers)
        head = await client.head(path, headers=headers)
        assert head.status_code == got.status_code == 200, (path, head.text)
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == got.headers["content-length"]
    r = await client.head("/v1/programmes/00000000-0000-4000-8000-000000000000", headers=headers)
    assert r.status_code == 404
    assert r.content == b""
    r = await client.head("/v1/plans", headers=headers)  # POST only: HEAD is not allowed
    assert r.status_code == 405


async def test_options_and_405_list_every_method_of_the_path(
    client: httpx.AsyncClient, world: World
) -> None:
    def allow(r: httpx.Response) -> set[str]:
        return {m.strip() for m in r.headers["allow"].split(",")}

    r = await client.options("/v1/needs")
    assert allow(r) == {"GET", "HEAD", "OPTIONS", "POST"}, r.headers
    r = await client.options("/v1/service-areas/00000000-0000-4000-8000-000000000000")
    assert allow(r) == {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH"}
    r = await client.put("/v1/needs", headers=world.headers("alice"))
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert allow(r) == {"GET", "HEAD", "OPTIONS", "POST"}


async def test_every_201_declares_and_sends_a_location(
    client: httpx.AsyncClient, world: World
) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    creates = [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "201" in operation.get("responses", {})
    ]
    assert len(creates) >= 12, creates
    for name in creates:
        method, path = name.split(" ")
        headers = spec["paths"][path][method.lower()]["responses"]["201"].get("headers", {})
        assert "Location" in headers, name

    await world.org("org-a")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    r = await client.post(
        "/v1/programmes",
        headers=coordinator,
        json={"name": "Prescriptions", "kind": "community_support"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/v1/programmes/{r.json()['id']}"
    again = await client.get(r.headers["location"], headers=coordinator)
    assert again.status_code == 200
    assert again.json()["id"] == r.json()["id"]
    r = await client.post(
        "/v1/clients",
        headers=await world.person("case-a", org="org-a", role="caseworker"),
        json={"name": "Ada", "address": "1 Road", "location": {"lat": 51.45, "lon": -0.97}},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/v1/clients/{r.json()['id']}"


async def test_large_json_is_compressed_with_brotli_or_gzip(client: httpx.AsyncClient) -> None:
    for encoding in ("br", "gzip"):
        r = await client.get("/schema/openapi.json", headers={"Accept-Encoding": encoding})
        assert r.status_code == 200
        assert r.headers["content-encoding"] == encoding
        assert "/v1/me" in r.json()["paths"]  # httpx decoded it
        assert r.num_bytes_downloaded * 4 < len(r.content), (encoding, r.num_bytes_downloaded)
    r = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert r.headers["content-encoding"] == "gzip"
    small = await client.get("/health/live", headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in small.headers
    plain = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def test_metrics_count_messages_by_channel_status_and_receipt(
    client: httpx.AsyncClient, world: World
) -> None:
    """Operations see texts and email beside pushes: by channel, status, Notify's receipt."""
    from sqlalchemy import text

    await world.person("ops-volunteer")
    before = (await client.get("/metrics")).text
    rows = [  # channel, status, delivery_status
        (None, "pending", None),
        ("push", "sent", None),
        ("sms", "sent", "delivered"),
        ("sms", "sent", "delivered"),
        ("sms", "dead", "permanent-failure"),
        ("email", "sent", "temporary-failure"),
    ]
    async with world.owner.begin() as conn:
        user = await conn.scalar(text("SELECT id FROM users WHERE subject = 'ops-volunteer'"))
        for channel, status, delivery in rows:
            await conn.execute(
                text(
                    "INSERT INTO outbox (user_id, kind, payload, status, channel, delivery_status)"
                    " VALUES (:u, 'offer.created', '{}', :s, :c, :d)"
                ),
                {"u": user, "s": status, "c": channel, "d": delivery},
            )
    after = (await client.get("/metrics")).text

    def grew(name: str, **labels: str) -> float:
        key = tuple(sorted(labels.items()))
        return _samples(after, name).get(key, 0) - _samples(before, name).get(key, 0)

    assert grew("codeliver_messages", channel="none", status="pending") == 1
    assert grew("codeliver_messages", channel="push", status="sent") == 1
    assert grew("codeliver_messages", channel="sms", status="sent") == 2
    assert grew("codeliver_messages", channel="sms", status="dead") == 1
    assert grew("codeliver_messages", channel="email", status="sent") == 1
    receipts = "codeliver_message_receipts"
    assert grew(receipts, channel="sms", delivery_status="delivered") == 2
    assert grew(receipts, channel="sms", delivery_status="permanent-failure") == 1
    assert grew(receipts, channel="email", delivery_status="temporary-failure") == 1
    assert not any(dict(k).get("delivery_status") == "none" for k in _samples(after, receipts))
    assert grew("codeliver_outbox_messages", status="sent") == 4  # the totals stay
