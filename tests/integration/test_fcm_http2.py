"""Our FCM v1 sender (notifications/fcm_http2.py) against the fake FCM on 127.0.0.1, over
cleartext HTTP/2 (httpx, h2), with a real service account credential (google-auth, as
firebase-admin builds it) whose token endpoint is the fake's: each answer's outcome, the
access token fetched once and reused, refreshed ahead of expiry and after a 401."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from notifications.fcm import Push, Result
from notifications.fcm_http2 import Http2Transport, message_of
from tests.fake_fcm import FakeFcm, Server

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeFcm]:
    server = FakeFcm(accepted=set())  # only tokens its endpoint issued get in
    with Server(server):
        yield server


def service_account(fake: FakeFcm) -> Any:
    """A service account key made here, its token_uri the fake's, loaded the way
    app/push.py loads CODELIVER_FIREBASE_CREDENTIALS."""
    from firebase_admin import credentials

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "fake-project",
        "private_key_id": "test-key",
        "private_key": pem,
        "client_email": "push@fake-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": fake.token_uri,
    }
    return credentials.Certificate(info).get_credential()


@pytest.fixture
async def sender(fake: FakeFcm) -> AsyncIterator[Http2Transport]:
    t = Http2Transport("fake-project", service_account(fake), endpoint=fake.endpoint, streams=8)
    yield t
    await t.close()


def push(token: str, **extra: Any) -> Push:
    fields: dict[str, Any] = {
        "token_kind": "token",
        "platform": "android",
        "data": {"kind": "offer.created", "message_id": f"m-{token}"},
        "collapse_key": "offer-1",
        "urgent": True,
        "expires_at": NOW + timedelta(minutes=30),
    }
    return Push(token=token, **(fields | extra))


async def test_messages_go_as_http2_streams_and_come_back_in_order(
    fake: FakeFcm, sender: Http2Transport
) -> None:
    pushes = [push(f"ok-{i}") for i in range(20)] + [push("unregistered-1"), push("ok-last")]
    outcomes = await sender.send(pushes, NOW)
    assert [o.result for o in outcomes] == [Result.OK] * 20 + [Result.UNREGISTERED, Result.OK]
    assert set(fake.http_versions) == {"2"}
    assert len(fake.received) == 22
    sent = next(m for m in fake.received if m["token"] == "ok-3")
    assert sent["android"] == {"priority": "high", "ttl": "1800s", "collapse_key": "offer-1"}
    assert sent["apns"]["headers"]["apns-priority"] == "10"
    assert sent["apns"]["payload"] == {"aps": {"content-available": 1}}


async def test_each_fcm_answer_maps_as_the_sdks_exceptions_do(
    fake: FakeFcm, sender: Http2Transport
) -> None:
    kinds = ["unregistered", "badtoken", "badpayload", "mismatch", "quota", "unavailable"]
    outcomes = await sender.send([push(f"{k}-1") for k in kinds], NOW)
    by_kind = dict(zip(kinds, outcomes, strict=True))
    assert by_kind["unregistered"].result is Result.UNREGISTERED
    assert by_kind["badtoken"].result is Result.INVALID_TOKEN
    assert by_kind["badpayload"].result is Result.BAD_PAYLOAD
    assert by_kind["mismatch"].result is Result.SENDER_ID_MISMATCH
    assert (by_kind["quota"].result, by_kind["quota"].retry_after_s) == (Result.QUOTA, 90.0)
    assert (by_kind["unavailable"].result, by_kind["unavailable"].retry_after_s) == (
        Result.UNAVAILABLE,
        7.0,
    )


async def test_the_token_is_fetched_once_for_many_messages(
    fake: FakeFcm, sender: Http2Transport
) -> None:
    for batch in range(3):
        await sender.send([push(f"ok-{batch}-{i}") for i in range(10)], NOW)
    assert fake.issued == ["fake-access-1"]
    assert set(fake.bearers) == {"fake-access-1"}
    assert sender.refreshes == 1


async def test_the_token_is_refreshed_before_it_expires(
    fake: FakeFcm, sender: Http2Transport
) -> None:
    await sender.send([push("ok-a")], NOW)
    # An hour on: a minute before expiry, inside google-auth's refresh margin.
    sender.credential.expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1)
    await sender.send([push("ok-b"), push("ok-c")], NOW)
    assert fake.issued == ["fake-access-1", "fake-access-2"]
    assert fake.bearers == ["fake-access-1", "fake-access-2", "fake-access-2"]


async def test_a_refused_token_is_replaced_once_and_the_messages_go(
    fake: FakeFcm, sender: Http2Transport
) -> None:
    await sender.send([push("ok-a")], NOW)
    assert fake.accepted is not None
    fake.accepted.discard("fake-access-1")  # revoked at Google's end: 401 from now on
    outcomes = await sender.send([push(f"ok-{i}") for i in range(12)], NOW)
    assert {o.result for o in outcomes} == {Result.OK}
    assert fake.issued == ["fake-access-1", "fake-access-2"]  # one refresh for all streams
    assert fake.bearers[1:] == ["fake-access-2"] * 12


async def test_a_token_that_cannot_be_had_makes_the_batch_transient(fake: FakeFcm) -> None:
    down = FakeFcm()  # never served: its token endpoint refuses the connection
    t = Http2Transport("fake-project", service_account(down), endpoint=fake.endpoint)
    try:
        outcomes = await t.send([push("ok-1"), push("ok-2")], NOW)
    finally:
        await t.close()
    assert [o.result for o in outcomes] == [Result.TRANSIENT, Result.TRANSIENT]
    assert fake.received == []


async def test_the_message_is_the_one_firebase_admin_would_send() -> None:
    """Field for field what the SDK encodes for FcmTransport._message (notifications/fcm.py)."""
    from firebase_admin import messaging

    from notifications.fcm import FcmTransport, static_token

    sdk = FcmTransport("fake-project", credential=static_token("t"))
    try:
        for p in (
            push("ok-1", expires_at=NOW + timedelta(seconds=90.5)),
            push("ok-2", token_kind="fid", collapse_key=None, urgent=False, expires_at=None),
        ):
            encoded = messaging._MessagingService.encode_message(sdk._message(p, NOW))
            assert message_of(p, NOW) == encoded
    finally:
        await sdk.close()


async def test_the_setting_chooses_our_sender_with_the_fixed_token() -> None:
    from app.push import transport_for
    from app.settings import Settings

    fake = FakeFcm()  # any bearer let in; each recorded
    with Server(fake):
        settings = Settings(
            firebase_project_id="fake-project",
            push_send="http2",
            fcm_endpoint=fake.endpoint,
            fcm_access_token="test-token",
        )
        t = transport_for(settings)
        try:
            assert isinstance(t, Http2Transport)
            outcomes = await t.send([push("ok-1"), push("unregistered-2")], NOW)
        finally:
            await t.close()
    assert [o.result for o in outcomes] == [Result.OK, Result.UNREGISTERED]
    assert (fake.bearers, fake.http_versions) == (["test-token"] * 2, ["2", "2"])
