"""Text messages and email through GOV.UK Notify, with its official client
(`notifications-python-client`), and a log transport for local runs.

A transport sends `Text`s and reports one `Outcome` per text, in order, as the push
transports do (notifications/fcm.py): the dispatcher decides what each means. Every text
carries the outbox row's message id as Notify's `reference`, so a retry after a lost answer
is the same reference to Notify (and in its callbacks), never a new message of ours.

Notify's answers: 201 with the notification's id; 400 `ValidationError` naming
`phone_number` or `email_address` (a bad address: the channel goes unhealthy), any other
400 (missing personalisation, a template that is not there) and 403 (a bad key): permanent
for this channel; 429 (rate limit, daily limit) and 5xx: retried with backoff, no sooner
than Retry-After.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from notifications.fcm import Outcome, Result

log = structlog.get_logger(__name__)

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Text:
    """One text message or email to one address."""

    channel: str  # sms | email
    address: str
    kind: str  # the outbox kind: with channel and language, which template
    language: str  # en | cy
    personalisation: dict[str, str]
    reference: str  # the outbox row's message id


def template_key(channel: str, kind: str, language: str) -> str:
    return f"{channel}.{kind}.{language}"


class TextTransport(Protocol):
    async def send(self, texts: Sequence[Text], now: datetime) -> list[Outcome]: ...

    def carries(self, channel: str, kind: str) -> bool:
        """Whether this kind can go by this channel at all (a template is set up for it)."""
        ...

    async def close(self) -> None: ...


class LogTexts:
    """Without Notify settings: every text goes to the log, as push's log transport does."""

    def carries(self, channel: str, kind: str) -> bool:
        return True

    async def send(self, texts: Sequence[Text], now: datetime) -> list[Outcome]:
        for t in texts:
            log.info(
                "text", channel=t.channel, kind=t.kind, reference=t.reference, **t.personalisation
            )
        return [Outcome(Result.OK) for _ in texts]

    async def close(self) -> None:
        return None


def _errors(exc: Any) -> list[dict[str, Any]]:
    message = exc.message  # Notify's `errors` list, or a message string
    return [e for e in message if isinstance(e, dict)] if isinstance(message, list) else []


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: Any) -> Outcome:
    """The outcome of a Notify `HTTPError` (its `status_code`; 503 when no answer came)."""
    status = exc.status_code
    messages = [str(e.get("message", "")) for e in _errors(exc)]
    detail = "; ".join(messages) or str(exc)
    if status == 400:
        about_address = any(m.startswith(("phone_number", "email_address")) for m in messages)
        return Outcome(Result.BAD_ADDRESS if about_address else Result.BAD_PAYLOAD, None, detail)
    if status == 403:
        return Outcome(Result.FORBIDDEN, None, detail)
    if status == 429:
        return Outcome(Result.QUOTA, _retry_after(exc), detail)
    if status == 503:
        return Outcome(Result.UNAVAILABLE, _retry_after(exc), detail)
    return Outcome(Result.TRANSIENT, _retry_after(exc), f"{status}: {detail}")


class NotifyTransport:
    """GOV.UK Notify through `NotificationsAPIClient`: blocking requests in a small thread
    pool, one client per thread (the client is not thread-safe). `base_url` is Notify's API,
    or a proxy, or the tests' fake; `templates` maps `channel.kind.language` to template
    ids (app.settings: CODELIVER_NOTIFY_TEMPLATES); Welsh falls back to English."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        templates: Mapping[str, str],
        *,
        threads: int = 8,
        timeout_s: float = 10.0,
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.templates = dict(templates)
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="notify")

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            from notifications_python_client.notifications import NotificationsAPIClient

            client = NotificationsAPIClient(  # type: ignore[no-untyped-call]
                self.api_key, base_url=self.base_url, timeout=self.timeout_s
            )
            self._local.client = client
        return client

    def carries(self, channel: str, kind: str) -> bool:
        return template_key(channel, kind, FALLBACK_LANGUAGE) in self.templates

    def template_for(self, t: Text) -> str | None:
        return self.templates.get(template_key(t.channel, t.kind, t.language)) or (
            self.templates.get(template_key(t.channel, t.kind, FALLBACK_LANGUAGE))
        )

    def _send_one(self, t: Text) -> Outcome:
        from notifications_python_client.errors import APIError

        template = self.template_for(t)
        if template is None:
            detail = f"no template for {template_key(t.channel, t.kind, t.language)}"
            return Outcome(Result.BAD_PAYLOAD, None, detail)
        client = self._client()
        try:
            if t.channel == "sms":
                answer = client.send_sms_notification(
                    t.address, template, personalisation=t.personalisation, reference=t.reference
                )
            else:
                answer = client.send_email_notification(
                    t.address, template, personalisation=t.personalisation, reference=t.reference
                )
        except APIError as exc:
            return classify(exc)
        return Outcome(Result.OK, provider_id=str(answer.get("id")) if answer else None)

    async def send(self, texts: Sequence[Text], now: datetime) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        sends = [loop.run_in_executor(self._pool, self._send_one, t) for t in texts]
        return list(await asyncio.gather(*sends))

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, True)
