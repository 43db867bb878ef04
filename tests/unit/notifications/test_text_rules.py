"""Text messages and email, without a database: what a text may carry (a property), which
channel a message goes by, how Notify's answers are read, what a reply says, and the
settings that name the templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.notify.channels import phone_number
from app.settings import SettingsError, load_settings
from matching.replies import Answer, Reply, parse
from notifications.channels import STAFF, Channel, Route, route
from notifications.fcm import Result
from notifications.notify import classify
from notifications.texts import ALLOWED, personalisation_for

SECRETS = ["Ada Lovelace", "07700 900123", "ada@example.org", "1 Secret Road", "51.4551,-0.9712"]


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["offer.created", "assignment.reminder", "channel.verify", "x.y"]),
    facts=st.dictionaries(
        st.sampled_from([*ALLOWED, "name", "address", "phone", "location", "note", "title"]),
        st.one_of(st.sampled_from(SECRETS), st.text(max_size=300), st.booleans(), st.integers()),
        max_size=12,
    ),
)
def test_no_text_ever_carries_personal_data(kind: str, facts: dict[str, Any]) -> None:
    given = personalisation_for(kind, facts)
    assert set(given) <= {"summary", *ALLOWED}
    for key, value in given.items():
        assert key == "summary" or ALLOWED[key].match(value)
    encoded = json.dumps(given)
    for secret in SECRETS:
        assert secret not in encoded


def ch(name: str, position: int, *, verified: bool = True, healthy: bool = True) -> Channel:
    return Channel(name, None if name == "push" else f"{name}-address", position, verified, healthy)


def test_offers_follow_the_order_and_fall_back_along_it() -> None:
    order = [ch("sms", 0), ch("push", 1), ch("email", 2)]
    assert route("offer.created", {}, order, has_devices=True) == Route("sms", "sms-address", True)
    assert route("offer.created", {}, order, has_devices=True, tried=["sms"]) == Route(
        "push", None, True
    )
    last = route("offer.created", {}, order, has_devices=False, tried=["sms"])
    assert last == Route("email", "email-address", False)
    assert route("offer.created", {}, order, has_devices=False, tried=["sms", "email"]) is None
    # unverified and unhealthy channels are passed over
    skipped = [ch("sms", 0, verified=False), ch("email", 1, healthy=False), ch("push", 2)]
    assert route("assignment.reminder", {}, skipped, has_devices=True) == Route("push", None, False)
    # no channels chosen: push, as before channels existed
    assert route("offer.created", {}, [], has_devices=True) == Route("push", None, False)


def test_an_escalations_reason_is_one_of_our_words_never_free_text() -> None:
    assert personalisation_for("need.escalated", {"reason": "no candidates"})["reason"]
    assert "reason" not in personalisation_for("need.escalated", {"reason": "my mum is ill"})


def test_what_staff_are_told_follows_their_order_but_a_claim_is_a_push() -> None:
    order = [ch("email", 0), ch("sms", 1)]
    for kind in STAFF:
        assert route(kind, {}, order, has_devices=False) == Route("email", "email-address", True)
    tried = route("need.escalated", {}, order, has_devices=False, tried=["email"])
    assert tried == Route("sms", "sms-address", False)
    assert route("need.escalated", {}, [], has_devices=True) == Route("push", None, False)
    assert route("need.claimed", {}, order, has_devices=True) == Route("push", None, False)
    # No email template for the kind: email is passed over, not tried and failed.
    no_email = route(
        "need.completed", {}, order, has_devices=False, carries=lambda c, k: c != "email"
    )
    assert no_email == Route("sms", "sms-address", False)
    nothing = route("need.completed", {}, order, has_devices=True, carries=lambda c, k: False)
    assert nothing == Route("push", None, False)


def test_other_kinds_are_pushes_and_codes_go_by_their_own_channel() -> None:
    order = [ch("sms", 0), ch("push", 1)]
    assert route("need.claimed", {}, order, has_devices=True) == Route("push", None, False)
    unverified = [ch("sms", 0, verified=False)]
    verify = route("channel.verify", {"channel": "sms"}, unverified, has_devices=True)
    assert verify == Route("sms", "sms-address", False)
    assert route("channel.verify", {"channel": "email"}, unverified, has_devices=True) is None
    assert route("sms.reply", {}, unverified, has_devices=True) is None  # not a verified phone
    assert route("sms.reply", {}, order, has_devices=True) == Route("sms", "sms-address", False)


class _Response:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self._body = body
        self.headers = headers or {}

    def json(self) -> Any:
        return self._body


def _error(status: int, error: str, message: str, **headers: str) -> Any:
    from notifications_python_client.errors import HTTPError

    body = {"errors": [{"error": error, "message": message}], "status_code": status}
    return HTTPError(_Response(status, body, headers))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "result", "retry_after"),
    [
        (
            _error(400, "ValidationError", "phone_number Not a UK mobile number"),
            "bad_address",
            None,
        ),
        (_error(400, "ValidationError", "email_address Not a valid email"), "bad_address", None),
        (_error(400, "BadRequestError", "Missing personalisation: code"), "bad_payload", None),
        (_error(403, "AuthError", "Invalid token: API key not found"), "forbidden", None),
        (_error(429, "RateLimitError", "Exceeded", **{"Retry-After": "30"}), "quota", 30.0),
        (_error(429, "TooManyRequestsError", "Exceeded send limits"), "quota", None),
        (_error(500, "Exception", "Internal server error"), "transient", None),
    ],
)
def test_each_notify_error_is_read_as_notify_means_it(
    error: Any, result: str, retry_after: float | None
) -> None:
    outcome = classify(error)
    assert (outcome.result, outcome.retry_after_s) == (Result(result), retry_after)


def test_no_answer_at_all_is_retried() -> None:
    from notifications_python_client.errors import HTTPError

    assert classify(HTTPError(None)).result is Result.UNAVAILABLE  # the client's 503


def test_replies_are_read_leniently_and_nothing_else_is_an_answer() -> None:
    assert parse("YES 4821") == Reply(Answer.YES, "4821")
    assert parse("  yes, 4821! ") == Reply(Answer.YES, "4821")
    assert parse("No 0042") == Reply(Answer.NO, "0042")
    assert parse("n 0042") == Reply(Answer.NO, "0042")
    for other in ("YES", "4821", "YES 48211", "yes please 4821", "STOP", "", "maybe 4821"):
        assert parse(other) is None, other


def test_phone_numbers_are_kept_as_notify_names_them() -> None:
    assert phone_number("07700 900123") == "+447700900123"
    assert phone_number("+44 7700 900123") == "+447700900123"
    assert phone_number("447700900123") == "+447700900123"  # a received text's source
    assert phone_number("call me") is None
    assert phone_number("0770") is None


def test_templates_are_named_by_channel_kind_and_language() -> None:
    loaded = load_settings({"CODELIVER_NOTIFY_TEMPLATES": "sms.offer.created.cy=t1, email.x.en=t2"})
    assert loaded.notify_template_ids == {"sms.offer.created.cy": "t1", "email.x.en": "t2"}
    for bad in ("sms.offer.created.en", "fax.offer.created.en=t", "sms.offer.created.fr=t"):
        with pytest.raises(SettingsError, match="CODELIVER_NOTIFY_TEMPLATES"):
            load_settings({"CODELIVER_NOTIFY_TEMPLATES": bad})
    with pytest.raises(SettingsError, match="CODELIVER_NOTIFY_CALLBACK_TOKEN"):
        load_settings(
            {
                "CODELIVER_ENV": "production",
                "CODELIVER_DEV_ISSUER": "false",
                "CODELIVER_DATABASE_URL": "postgresql://a/b",
                "CODELIVER_MIGRATION_DATABASE_URL": "postgresql://c/d",
                "CODELIVER_FIREBASE_PROJECT_ID": "p",
                "CODELIVER_NOTIFY_API_KEY": "k",
            }
        )
