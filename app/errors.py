"""The one error hierarchy. Use cases raise these; `app.problems` maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class CodeliverError(Exception):
    """Base of every domain error; `code` becomes the problem type, `status` the HTTP status.
    Errors that are just their status are titled with its phrase (HTTPStatus); the specific
    ones (need-filled, ...) with their own. `app.problems.PROBLEM_TYPES` describes each code."""

    status = 500
    code = "internal-error"
    title = HTTPStatus(500).phrase

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class InvalidInput(CodeliverError):
    status = 422
    code = "invalid-input"
    title = HTTPStatus(422).phrase

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [FieldError(field, message)])


class MalformedBody(CodeliverError):
    """The request body is not JSON we can read (e.g. nested deeper than the decoder goes)."""

    status = 400
    code = "malformed-json"
    title = "Malformed JSON"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class CorsRefused(CodeliverError):
    """A browser's preflight asked for an origin, method or header the API does not allow."""

    status = 400
    code = "cors-refused"
    title = "CORS request refused"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class UnsupportedMediaType(CodeliverError):
    """A body that is not declared as JSON (`Content-Type: application/json`), or as the
    media type its operation takes (an import's `text/csv`)."""

    status = 415
    code = "unsupported-media-type"
    title = HTTPStatus(415).phrase

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class TooLarge(CodeliverError):
    """A body larger than its operation accepts (an import's file)."""

    status = 413
    code = "payload-too-large"
    title = HTTPStatus(413).phrase

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class Unauthenticated(CodeliverError):
    """No usable credentials. `bearer_error` is RFC 6750's error code for WWW-Authenticate:
    none when the request carried no bearer token at all."""

    status = 401
    code = "unauthenticated"
    title = HTTPStatus(401).phrase
    bearer_error: str | None = None


class InvalidToken(Unauthenticated):
    """A bearer token that is malformed, forged, expired or not for us."""

    bearer_error = "invalid_token"


class Forbidden(CodeliverError):
    status = 403
    code = "forbidden"
    title = HTTPStatus(403).phrase


class NotFound(CodeliverError):
    """Unknown, or not yours: another tenant's ids look exactly like unknown ones."""

    status = 404
    code = "not-found"
    title = HTTPStatus(404).phrase


class Conflict(CodeliverError):
    status = 409
    code = "conflict"
    title = HTTPStatus(409).phrase


class PreconditionFailed(CodeliverError):
    """`If-Match` names a version that is no longer current: someone changed it meanwhile."""

    status = 412
    code = "precondition-failed"
    title = HTTPStatus(412).phrase


class SlotTaken(Conflict):
    """Every slot of the need is taken (or it no longer wants volunteers)."""

    code = "need-filled"
    title = "The need is already filled"


class OfferClosed(Conflict):
    """The offer was already answered, withdrawn or has expired."""

    code = "offer-closed"
    title = "The offer is no longer open"


class NotEligible(Conflict):
    """The volunteer no longer meets the need (vetting lapsed, at their cap, a clash)."""

    code = "not-eligible"
    title = "Not eligible for this need"


class RateLimited(CodeliverError):
    status = 429
    code = "rate-limited"
    title = HTTPStatus(429).phrase

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Rate limit exceeded; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Unavailable(CodeliverError):
    status = 503
    code = "unavailable"
    title = HTTPStatus(503).phrase
