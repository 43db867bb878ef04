"""The facts a text or email may carry, gathered as the dispatcher sends it (on the system
login, in its own transaction): an offer's kind of help, coarse area, start and answer-by
time and its reply code; a reminder's kind and start; a channel's verification code; what
staff are told of a need: its kind, start (in the organisation's time zone), why it
escalated, and the link to its console page (an id, no words of anyone's). A gap alert's
link is the coverage map; a daily digest's counts link the console's work queue. A DBS
reminder carries the check's expiry and days left; a coordinator's weekly count of lapsing
checks its two counts and the console's link.
notifications/texts.py keeps only their whitelisted shapes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.notify import codes
from geo.texts import need_facts
from matching.model import Escalation
from notifications.channels import (
    DIGEST,
    LAPSING,
    OFFER,
    REMINDER,
    REPLY,
    STAFF,
    VERIFY,
    VETTING_SUMMARY,
)

_DROP_LAPSED = text("DELETE FROM reply_codes WHERE volunteer_id = :v AND expires_at <= :now")
_CLAIM = text("""
INSERT INTO reply_codes (offer_id, volunteer_id, code, expires_at)
SELECT o.id, o.volunteer_id, :code, o.expires_at FROM offers o
 WHERE o.id = :offer AND o.volunteer_id = :v
ON CONFLICT DO NOTHING
""")
_CODE = text("SELECT code FROM reply_codes WHERE offer_id = :offer")
ESCALATED = "need.escalated"
ESCALATIONS = frozenset(e.value for e in Escalation)
_STAFF_NEEDS = text("""
SELECT n.id, p.kind, lower(n.windows) AS starts, g.time_zone
  FROM needs n JOIN programmes p ON p.id = n.programme_id
  JOIN organisations g ON g.id = n.org_id
 WHERE n.id = ANY (CAST(:ids AS uuid[]))
""")
_SET_VERIFY = text("""
UPDATE contact_channels SET code_hash = :hash, code_expires_at = :until, code_attempts = 0
 WHERE user_id = :v AND channel = :channel AND verified_at IS NULL
""")


async def reply_code(
    conn: AsyncConnection, offer_id: UUID, volunteer_id: UUID, now: datetime
) -> str | None:
    """The offer's reply code, made on its first text: random, unique among the volunteer's
    live codes (a retry of the same text finds the same code)."""
    await conn.execute(_DROP_LAPSED, {"v": volunteer_id, "now": now})
    for _ in range(20):
        code = await conn.scalar(_CODE, {"offer": offer_id})
        if code is not None:
            return str(code)
        params = {"offer": offer_id, "v": volunteer_id, "code": codes.new_reply_code()}
        await conn.execute(_CLAIM, params)
    return None  # pragma: no cover - twenty collisions among a handful of live codes


def _local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone or "Europe/London"))


def _area(distance_m: float | None) -> str:
    if distance_m is None:
        return "remote"
    km = distance_m / 1000
    return "less than 1 km from home" if km < 1 else f"about {math.ceil(km)} km from home"


def _need_text(fact: Any) -> dict[str, str]:
    out = {"help": str(fact.kind).replace("_", " ")}
    if fact.starts is not None:
        out["when"] = _local(fact.starts, fact.time_zone).strftime("%a %-d %b %H:%M")
    out["area"] = "remote" if fact.mode == "remote" else _area(fact.distance_m)
    return out


async def _staff_facts(
    conn: AsyncConnection, rows: Sequence[Any], console: str
) -> dict[int, dict[str, str]]:
    ids = {UUID(r.payload["need_id"]) for r in rows if r.payload.get("need_id")}
    found = {n.id: n for n in await conn.execute(_STAFF_NEEDS, {"ids": list(ids)})} if ids else {}
    out: dict[int, dict[str, str]] = {}
    for r in rows:
        facts = {"link": f"{console}/coverage"}  # a gap alert: the map
        need = found.get(UUID(r.payload["need_id"])) if r.payload.get("need_id") else None
        if need is not None:
            facts = {
                "help": str(need.kind).replace("_", " "),
                "link": f"{console}/console/needs/{need.id}",
            }
            if need.starts is not None:
                facts["when"] = _local(need.starts, need.time_zone).strftime("%a %-d %b %H:%M")
        reason = r.payload.get("reason")
        if r.kind == ESCALATED and reason in ESCALATIONS:  # a word of ours, never free text
            facts["reason"] = str(reason).replace("_", " ")
        out[r.id] = facts
    return out


async def personalise(
    conn: AsyncConnection, rows: Sequence[Any], now: datetime, *, console: str = ""
) -> dict[int, dict[str, str]]:
    """Facts for each leased outbox row that goes by text or email, by row id. `console`:
    the app's public address (`CODELIVER_PUBLIC_URL`), for the links staff are sent."""
    pairs = [
        (UUID(r.payload["need_id"]), r.user_id)
        for r in rows
        if r.kind in (OFFER, REMINDER) and r.payload.get("need_id")
    ]
    needs = await need_facts(conn, pairs)
    out = await _staff_facts(conn, [r for r in rows if r.kind in STAFF], console.rstrip("/"))
    for r in rows:
        facts: dict[str, str] = {}
        fact = (
            needs.get((UUID(r.payload["need_id"]), r.user_id)) if r.payload.get("need_id") else None
        )
        if r.kind in (OFFER, REMINDER) and fact is not None:
            facts = _need_text(fact)
        if r.kind == OFFER and r.payload.get("offer_id"):
            code = await reply_code(conn, UUID(r.payload["offer_id"]), r.user_id, now)
            facts["reply_code"] = code or ""
            if r.expires_at is not None and fact is not None:
                facts["answer_by"] = _local(r.expires_at, fact.time_zone).strftime("%H:%M")
        if r.kind == VERIFY:
            facts["code"] = await _verification(conn, r.user_id, str(r.payload.get("channel")), now)
        if r.kind == REPLY:
            facts["answer"] = str(r.payload.get("answer", ""))
        if r.kind == DIGEST:
            counts = r.payload.get("counts") or {}
            facts = {str(k): str(v) for k, v in counts.items()}
            facts["link"] = f"{console.rstrip('/')}/console"
        if r.kind == LAPSING:
            facts = _lapsing(r.payload)
        if r.kind == VETTING_SUMMARY:
            facts = {k: str(r.payload.get(k, "")) for k in ("lapsing", "lapsed")}
            org = r.payload.get("org_id", "")  # the roster, at the checks the count names
            facts["link"] = f"{console.rstrip('/')}/console/volunteers?org={org}&check=30"
        if r.kind not in STAFF:
            out[r.id] = facts
    return out


def _lapsing(payload: dict[str, Any]) -> dict[str, str]:
    try:
        expires = date.fromisoformat(str(payload.get("expires_on")))
    except ValueError:
        return {}
    return {"expires": f"{expires.day} {expires:%b %Y}", "days": str(payload.get("days", ""))}


async def _verification(conn: AsyncConnection, user_id: UUID, channel: str, now: datetime) -> str:
    """A fresh code for each send: only its hash is kept, and the latest text is the one
    that verifies (a retry replaces the code it would have carried)."""
    code = codes.new_verification_code()
    params = {
        "hash": codes.code_hash(user_id, channel, code),
        "until": now + codes.VERIFY_TTL,
        "v": user_id,
        "channel": channel,
    }
    await conn.execute(_SET_VERIFY, params)
    return code
