from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.errors import Unauthenticated
from app.identity.tokens import AUDIENCE, DEV_ISSUER, DevIssuer, Verifiers

pytestmark = pytest.mark.anyio


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path / "key.pem")


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 60,
        **overrides,
    }


async def test_a_token_it_issued_verifies(issuer: DevIssuer) -> None:
    token = issuer.issue("alice", ttl_s=60, email="Alice@Example.org", name="Alice")
    identity = await Verifiers([issuer]).verify(token)
    assert (identity.issuer, identity.subject) == (DEV_ISSUER, "alice")
    assert identity.email == "alice@example.org"
    assert identity.name == "Alice"


def test_the_key_is_kept_and_reused(tmp_path: Path) -> None:
    first = DevIssuer(tmp_path / "key.pem")
    token = first.issue("bob", ttl_s=60)
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    second = DevIssuer(tmp_path / "key.pem")
    assert jwt.decode(token, second._public, algorithms=["EdDSA"], audience=AUDIENCE)


async def test_an_unverified_email_is_ignored(issuer: DevIssuer) -> None:
    token = jwt.encode(
        _claims(email="x@example.org", email_verified=False), issuer._private, algorithm="EdDSA"
    )
    assert (await issuer.verify(token)).email is None


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"aud": "someone-else"}, "(?i)audience"),
        ({"sub": ""}, "subject"),
    ],
)
async def test_bad_claims_are_refused(
    issuer: DevIssuer, claims: dict[str, object], message: str
) -> None:
    token = jwt.encode(_claims(**claims), issuer._private, algorithm="EdDSA")
    with pytest.raises(Unauthenticated, match=message):
        await issuer.verify(token)


async def test_a_missing_subject_is_refused(issuer: DevIssuer) -> None:
    claims = _claims()
    del claims["sub"]
    with pytest.raises(Unauthenticated):
        await issuer.verify(jwt.encode(claims, issuer._private, algorithm="EdDSA"))


async def test_another_key_is_refused(issuer: DevIssuer) -> None:
    forged = jwt.encode(_claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    with pytest.raises(Unauthenticated, match="Signature"):
        await Verifiers([issuer]).verify(forged)


async def test_alg_none_is_refused(issuer: DevIssuer) -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    with pytest.raises(Unauthenticated):
        await Verifiers([issuer]).verify(unsigned)


async def test_hmac_with_the_public_key_is_refused(issuer: DevIssuer) -> None:
    # The classic algorithm-confusion attack: sign HS256 with the public key's bytes.
    from cryptography.hazmat.primitives import serialization

    public = issuer._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    forged = jwt.encode(_claims(), public, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        await Verifiers([issuer]).verify(forged)


async def test_unknown_issuers_and_garbage_are_refused(issuer: DevIssuer) -> None:
    other = jwt.encode(_claims(iss="https://evil.example"), issuer._private, algorithm="EdDSA")
    with pytest.raises(Unauthenticated, match="issuer not accepted"):
        await Verifiers([issuer]).verify(other)
    with pytest.raises(Unauthenticated, match="Malformed"):
        await Verifiers([issuer]).verify("not-a-jwt")
