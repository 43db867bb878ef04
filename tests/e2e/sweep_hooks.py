"""Schemathesis hooks for the sweep (tests/e2e/test_api_sweep.py), loaded by `st run` through
SCHEMATHESIS_HOOKS. One hook: `filter_failure` drops a failure only when it matches a rule
below exactly (operation, failure code, and what the response says); anything else fails the
sweep. Each dropped failure is appended to $CODELIVER_SWEEP_DROPPED as a JSON line, so the
test can say what was set aside and why.

Two kinds of rule:
- FALSE_POSITIVES: the API is right and Schemathesis cannot know it (documented in the test
  module's docstring).
- OPEN: real defects found and not fixed yet; each names the defect.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import schemathesis

# CPython before 3.11.8 keeps the AST constructor's recursion counter in per-interpreter state:
# two threads in `ast.parse` at once (a garbage collection inside one lets the other run) end
# in `SystemError: AST constructor recursion depth mismatch` (python/cpython#106905, fixed in
# 3.11.8 by #113476). Hypothesis parses lambdas' source while generating, and the sweep runs two
# workers as threads: parse one at a time (re-entrant, in case a finalizer parses too).
_PARSE = threading.RLock()
_parse = ast.parse


@functools.wraps(_parse)
def _parse_alone(*args: Any, **kwargs: Any) -> Any:
    with _PARSE:
        return _parse(*args, **kwargs)


ast.parse = _parse_alone

Predicate = Callable[[Any, Any], bool]  # (case, response) -> the failure is this rule's


@dataclass(frozen=True)
class Rule:
    name: str
    code: str  # Schemathesis failure code, e.g. ST202 (positive_data_acceptance)
    operations: frozenset[str] | None  # "GET /v1/needs"; None: any operation
    matches: Predicate
    reason: str


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _errors(response: Any) -> list[tuple[str, str]]:
    errors = _problem(response).get("errors") or []
    return [(str(e.get("field", "")), str(e.get("message", ""))) for e in errors]


def _only_fields(*fields: str, status: int = 422) -> Predicate:
    """The response is `status` and every field error names one of `fields`."""

    def matches(case: Any, response: Any) -> bool:
        errors = _errors(response)
        return (
            response.status_code == status
            and bool(errors)
            and all(field in fields for field, _ in errors)
        )

    return matches


def _messages(*starts: str, status: int = 422) -> Predicate:
    """The response is `status` and every field error's message starts with one of `starts`."""

    def matches(case: Any, response: Any) -> bool:
        errors = _errors(response)
        return (
            response.status_code == status
            and bool(errors)
            and all(message.startswith(starts) for _, message in errors)
        )

    return matches


def _messages_containing(*parts: str, status: int = 422) -> Predicate:
    """The response is `status` and every field error's message contains one of `parts`."""

    def matches(case: Any, response: Any) -> bool:
        errors = _errors(response)
        return (
            response.status_code == status
            and bool(errors)
            and all(any(part in message for part in parts) for _, message in errors)
        )

    return matches


PAGED = frozenset(
    {
        "GET /v1/clients",
        "GET /v1/needs",
        "GET /v1/programmes",
        "GET /v1/service-areas",
        "GET /v1/volunteers",
        "GET /v1/orgs/{org_id}/members",
        "GET /v1/clients/{client_id}/exclusions",
        "GET /v1/needs/{need_id}/offers",
        "GET /v1/needs/{need_id}/assignments",
    }
)
SYNCED = frozenset({"GET /v1/volunteers/me/assignments", "GET /v1/volunteers/me/offers"})

FALSE_POSITIVES: tuple[Rule, ...] = (
    Rule(
        "csv-body",
        "ST202",
        frozenset(
            {"POST /v1/orgs/{org_id}/imports/volunteers", "POST /v1/orgs/{org_id}/imports/clients"}
        ),
        lambda case, response: (
            response.status_code in {413, 415, 422}
            and bool(_errors(response))
            and all(field in {"file", "header"} for field, _ in _errors(response))
        ),
        "the body is a CSV file (text/csv, docs/imports.md), which the document leaves out: "
        "generated clients read JSON bodies only; without it the 415 or 422 names `file` or "
        "`header`",
    ),
    Rule(
        "opaque-cursor",
        "ST202",
        PAGED | SYNCED,
        _only_fields("cursor", "since"),
        "a page or sync cursor is an opaque string the API issued; any other string is a "
        "well-formed request for a page that cannot exist (422), and no schema can say which "
        "strings the server signed",
    ),
    Rule(
        "etag-precondition",
        "ST202",
        frozenset({"PATCH /v1/orgs/{org_id}"}),
        lambda case, response: (
            response.status_code == 412
            and bool((case.headers or {}).get("If-Match"))
            and _problem(response).get("type", "").endswith("/precondition-failed")
        ),
        "`If-Match` carries an ETag the server issued (a digest of the current version); any "
        "other string is well-formed and names a version that is not current (412, nothing "
        "written), which no schema can tell apart",
    ),
    Rule(
        "one-time-code",
        "ST202",
        frozenset({"POST /v1/volunteers/me/channels/{channel}/verify"}),
        _only_fields("code"),
        "a verification code is a secret the server texted or emailed; any other six digits "
        "are well-formed and wrong (422 on that field, counted against the tries)",
    ),
    Rule(
        "idempotency-key-reuse",
        "ST202",
        None,
        _only_fields("Idempotency-Key"),
        "Schemathesis sends one Idempotency-Key value with different requests; a key names one "
        "request, and its reuse for another is refused with 422 (draft-ietf-httpapi-"
        "idempotency-key-header)",
    ),
    Rule(
        "idempotent-replay",
        "ST302",
        frozenset({"POST /v1/volunteers/me/devices"}),
        lambda case, response: bool((case.headers or {}).get("Idempotency-Key")),
        "Schemathesis reuses one Idempotency-Key: a retry replays the first 201, whose device a "
        "later DELETE (in the same stateful run) already removed, so its Location is a 404",
    ),
    Rule(
        "cross-field-rule",
        "ST202",
        None,
        _messages(
            "must be after",  # an end after its start: POST /v1/plans, needs' windows
            "the period is at most",  # GET /v1/metrics/summary: from..to within 366 days
            "going off duty takes no",  # POST /v1/volunteers/me/duty: on_duty false alone
            "inverted or empty",  # bbox: west < east and south < north
            "four numbers",  # bbox: each finite (1e999 matches the pattern, is infinite)
            "the period may span at most",  # POST /v1/plans: 31 days
            "the polygon has no area",  # service areas: a ring of one repeated point
            "longitudes must be",
            "latitudes must be",
            "positions are all",  # service areas: all 2D or all 3D
            "give both start and end",  # availability exceptions: hours, or the whole day
            "give exactly one of",  # members: an email or a user_id
            "required for a DBS check",  # vetting: checked_on unless the level is none
            "must be within [",  # tiles: x and y within 0..2^z - 1
            "overlaps an earlier",  # availability: a day's windows (a date's hours) disjoint
            "is in the past",  # availability exceptions: from today (the server's date)
            "is more than 366 days ahead",  # ... to a year ahead
            "is more than a year in the past",  # availability: away_until
            "must be in the next",  # on duty: until within 24 hours
            "cannot be in the future",  # vetting: checked_on
            "at most 2.0 degrees wide",  # coverage: the bbox's size
            "every ring must be closed",  # service areas: last position = first
            "within WGS 84 bounds",  # service areas: each position's lon and lat in range
            "longer than 14 days",  # needs: a window's span (end - start)
            "the role to change to is the role held",  # members: change-role's to != role
        ),
        "a rule between two values (an order, a span's length) or a number's range inside a "
        "string: JSON Schema cannot state it, the 422 names the field",
    ),
    Rule(
        "iana-time-zone",
        "ST202",
        None,
        _messages("unknown IANA time zone", "must be your profile's time zone"),
        "a time zone is a name in the IANA database (and availability is in the profile's): "
        "the schema says a string of 1 to 64 characters; listing ~600 names as an enum would "
        "tie the document to the server's tzdata",
    ),
    Rule(
        "vocabulary",
        "ST202",
        None,
        _messages_containing("is not an ISO 639-1 language code", "unknown skill "),
        "a language is one of the ISO 639-1 codes and a skill one of the platform's or the "
        "organisation's (a table): the schema states their shape, not the list",
    ),
    Rule(
        "ineligible-volunteer",
        "ST202",
        frozenset({"POST /v1/needs/{need_id}/offers"}),
        _messages("not eligible: "),
        "an offer names a real volunteer whom the matching rules exclude today (not approved, "
        "vetting, distance...): the ids are well-formed, the volunteer's state refuses them; "
        "the 422 names the field and the broken rule",
    ),
    Rule(
        "referential-id",
        "ST202",
        None,
        _messages("no such ", "no organisation ", "not a volunteer of this organisation"),
        "a schema-valid id or slug in a body that names nothing (or nothing of the caller's): "
        "the request is well-formed, the reference is not (422 naming the field)",
    ),
)


# Real defects found by the sweep and not fixed yet. Each rule names the defect, and goes with
# its fix. None open: the last four (a query `null` read as absent, X-Access-Reason's length,
# lax body conversion, undeclared instant bounds) are fixed and held by the sweep and by
# tests/e2e/test_strict_input.py.
OPEN: tuple[Rule, ...] = ()

RULES = FALSE_POSITIVES + OPEN


def matching_rule(label: str, code: str, case: Any, response: Any) -> Rule | None:
    for rule in RULES:
        if rule.code != code or (rule.operations is not None and label not in rule.operations):
            continue
        if rule.matches(case, response):
            return rule
    return None


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    label = case.operation.label
    rule = matching_rule(label, failure.code, case, response)
    if rule is None:
        return True
    log = os.environ.get("CODELIVER_SWEEP_DROPPED")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"rule": rule.name, "operation": label, "code": failure.code}))
            out.write("\n")
    return False
