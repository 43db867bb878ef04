"""A fake GOV.UK Notify API on 127.0.0.1 that answers as Notify does, reached through the
official `notifications-python-client` (point its base URL here).

It checks the client's JWT (HS256, `iss` the service id, signed with the key's secret): a
token signed with another key is 403 AuthError. Templates declare the personalisation
they need: a missing field is 400 BadRequestError. The recipient chooses the answer:
addresses containing `bad` are 400 ValidationError (`phone_number Not a UK mobile number`,
`email_address Not a valid email address`); `quota` 429 RateLimitError with Retry-After;
`down` 500; `flaky` 500 once per reference, then 201. Anything else is 201 with a fresh id.
Every request is recorded with its reference.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn

from infra.localdb import free_port
from tests import fake_asgi

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"codeliver_test-{SERVICE_ID}-{SECRET}"
WRONG_KEY = f"codeliver_test-{SERVICE_ID}-{uuid.UUID(int=7)}"
RETRY_AFTER_S = 30

OFFER_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
VERIFY_TEMPLATE = "a4c5b2ae-2a43-4d66-8ab7-1e0a4c6d7a11"
REPLY_TEMPLATE = "0b2d3c4e-1f2a-4b3c-9d4e-5f6a7b8c9d0e"
REMINDER_TEMPLATE = "6c2e1a5d-3b4f-4e8a-9c1d-2e3f4a5b6c7d"
STAFF_TEMPLATE = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"  # what staff are told of a need
GAP_TEMPLATE = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
DIGEST_TEMPLATE = "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f"  # a caseworker's daily digest
LAPSING_TEMPLATE = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"  # a DBS check to renew
VETTING_SUMMARY_TEMPLATE = "8f9a0b1c-2d3e-4f4a-9b5c-6d7e8f9a0b1c"  # a week's lapsing checks
TEMPLATES: dict[str, tuple[str, ...]] = {  # template id -> the personalisation it needs
    OFFER_TEMPLATE: ("summary", "help", "area", "when", "reply_code"),
    VERIFY_TEMPLATE: ("code",),
    REPLY_TEMPLATE: ("answer",),
    REMINDER_TEMPLATE: ("help", "when"),
    STAFF_TEMPLATE: ("summary", "help", "when", "link"),
    GAP_TEMPLATE: ("summary", "link"),
    LAPSING_TEMPLATE: ("summary", "expires", "days"),
    VETTING_SUMMARY_TEMPLATE: ("summary", "lapsing", "lapsed", "link"),
    DIGEST_TEMPLATE: (
        "summary",
        "escalated",
        "volunteer_left",
        "filled",
        "completed",
        "gap_alerts",
        "link",
    ),
}
STAFF_NEED_KINDS = ("escalated", "volunteer_left", "filled")
SETTINGS = (  # CODELIVER_NOTIFY_TEMPLATES for the templates above
    f"sms.offer.created.en={OFFER_TEMPLATE}",
    f"email.offer.created.en={OFFER_TEMPLATE}",
    f"sms.channel.verify.en={VERIFY_TEMPLATE}",
    f"email.channel.verify.en={VERIFY_TEMPLATE}",
    f"sms.sms.reply.en={REPLY_TEMPLATE}",
    f"sms.assignment.reminder.en={REMINDER_TEMPLATE}",
    f"email.assignment.reminder.en={REMINDER_TEMPLATE}",
    # need.completed has none: it goes by push (the channel cannot carry it)
    *(f"{c}.need.{k}.en={STAFF_TEMPLATE}" for c in ("sms", "email") for k in STAFF_NEED_KINDS),
    f"email.coverage.gap_alert.en={GAP_TEMPLATE}",
    f"email.staff.digest.en={DIGEST_TEMPLATE}",
    f"sms.vetting.lapsing.en={LAPSING_TEMPLATE}",
    f"email.vetting.lapsing.en={LAPSING_TEMPLATE}",
    f"email.vetting.summary.en={VETTING_SUMMARY_TEMPLATE}",
)


def _errors(status: int, error: str, message: str) -> bytes:
    return json.dumps(
        {"errors": [{"error": error, "message": message}], "status_code": status}
    ).encode()


@dataclass
class FakeNotify:
    port: int = field(default_factory=free_port)
    received: list[dict[str, Any]] = field(default_factory=list)
    delay_s: float = 0.0
    _flaked: set[str] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def references(self) -> list[str]:
        return [str(m.get("reference")) for m in self.received]

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.InvalidTokenError:
            return False
        return bool(claims.get("iss") == SERVICE_ID)

    def answer(
        self, path: str, message: dict[str, Any], authorised: bool
    ) -> tuple[int, bytes, dict[str, str]]:
        if not authorised:
            return 403, _errors(403, "AuthError", "Invalid token: API key not found"), {}
        sms = path.endswith("/sms")
        address = str(message.get("phone_number" if sms else "email_address", ""))
        if "bad" in address:
            text = (
                "phone_number Not a UK mobile number"
                if sms
                else "email_address Not a valid email address"
            )
            return 400, _errors(400, "ValidationError", text), {}
        needed = TEMPLATES.get(str(message.get("template_id")))
        if needed is None:
            return 400, _errors(400, "BadRequestError", "Template not found"), {}
        missing = [k for k in needed if k not in (message.get("personalisation") or {})]
        if missing:
            text = f"Missing personalisation: {', '.join(missing)}"
            return 400, _errors(400, "BadRequestError", text), {}
        if "quota" in address:
            text = "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"
            return 429, _errors(429, "RateLimitError", text), {"retry-after": str(RETRY_AFTER_S)}
        flaky_key = f"{address}:{message.get('reference')}"
        if "down" in address or ("flaky" in address and flaky_key not in self._flaked):
            self._flaked.add(flaky_key)
            return 500, _errors(500, "Exception", "Internal server error"), {}
        body = {
            "id": str(uuid.uuid4()),
            "reference": message.get("reference"),
            "content": {"body": "...", "from_number": "Codeliver"},
            "template": {"id": message.get("template_id"), "version": 1, "uri": "..."},
        }
        return 201, json.dumps(body).encode(), {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if await fake_asgi.lifespan(scope, receive, send):
            return
        message = json.loads(await fake_asgi.body(receive) or b"{}")
        headers = dict(scope["headers"])
        message["_path"] = scope["path"]
        self.received.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status, payload, extra = self.answer(scope["path"], message, self._authorised(headers))
        message["_status"] = status
        raw_headers = [(b"content-type", b"application/json")]
        raw_headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})


class Server:
    """Runs a FakeNotify with uvicorn on its own thread and loop."""

    def __init__(self, fake: FakeNotify) -> None:
        config = uvicorn.Config(fake, host="127.0.0.1", port=fake.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


if __name__ == "__main__":  # a standalone fake, for benchmarks: python -m tests.fake_notify PORT
    import sys

    fake = FakeNotify(port=int(sys.argv[1]))
    uvicorn.run(fake, host="127.0.0.1", port=fake.port, log_level="warning")
