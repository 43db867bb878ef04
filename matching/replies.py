"""What a volunteer's text message says: `YES 4821` accepts, `NO 4821` declines the offer
whose reply code is 4821. Pure: the callback applies it (app/notify/callbacks.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_REPLY = re.compile(
    r"^\s*(?P<word>yes|y|accept|no|n|decline)[\s.,:;!-]*(?P<code>\d{4})\s*[.!]*\s*$", re.I
)
_YES = {"yes", "y", "accept"}


class Answer(StrEnum):
    YES = "yes"
    NO = "no"


@dataclass(frozen=True, slots=True)
class Reply:
    answer: Answer
    code: str


def parse(message: str) -> Reply | None:
    """The answer and code of a reply, or None when it is neither (the sender then gets a
    text saying how to answer)."""
    m = _REPLY.match(message or "")
    if m is None:
        return None
    answer = Answer.YES if m["word"].lower() in _YES else Answer.NO
    return Reply(answer, m["code"])
