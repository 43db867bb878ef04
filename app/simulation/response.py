"""How an alerted volunteer answers (pure). Every parameter is an assumption: no published
curve of acceptance against travel time exists. Published per-alert acceptance in
volunteer-responder apps runs 17-47 % (JMIR mHealth and uHealth, 2023); the defaults give
about 30 % over the simulated borough's trips (docs/simulation.md).

- Acceptance decays with travel time, logistically:
  p(t) = p_max / (1 + exp((t - t50) / slope)), t in door-to-door minutes.
- A share of alerts is never answered (the offer lapses).
- Answers come after a lognormal delay (median `delay_median_min`, shape `delay_sigma`).
- A volunteer already holding an active assignment declines with `busy_decline`.
- An accepted slot is not attended with `no_show`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Answer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    SILENT = "silent"  # never answers


@dataclass(frozen=True)
class ResponseModel:
    p_max: float = 0.6  # acceptance of a trip on the doorstep
    t50_min: float = 20.0  # travel minutes at which acceptance halves
    slope_min: float = 6.0  # how sharply it falls around t50
    p_silent: float = 0.3
    delay_median_min: float = 8.0
    delay_sigma: float = 1.0
    busy_decline: float = 0.7
    no_show: float = 0.05
    browse_per_day: float = 2.0  # open calls: feed visits per volunteer per waking day

    def p_accept(self, minutes: float) -> float:
        """The chance that a volunteer who answers says yes to a trip of `minutes`."""
        return self.p_max / (1.0 + math.exp((minutes - self.t50_min) / self.slope_min))

    def delay_s(self, rng: random.Random) -> float:
        return 60.0 * self.delay_median_min * math.exp(rng.gauss(0.0, self.delay_sigma))

    def answer(self, rng: random.Random, minutes: float, *, busy: bool) -> tuple[Answer, float]:
        """(what they answer, after how many seconds). Draws a fixed number of variates
        so that one volunteer's answer does not shift everyone else's."""
        silent, busy_draw, accept_draw = rng.random(), rng.random(), rng.random()
        delay = self.delay_s(rng)
        if silent < self.p_silent:
            return Answer.SILENT, delay
        if busy and busy_draw < self.busy_decline:
            return Answer.DECLINE, delay
        return (Answer.ACCEPT if accept_draw < self.p_accept(minutes) else Answer.DECLINE), delay

    def attends(self, rng: random.Random) -> bool:
        return rng.random() >= self.no_show

    def visits(self, rng: random.Random) -> int:
        """How many times a volunteer opens the open-call feed in a waking day: Poisson."""
        count, p, limit = 0, rng.random(), math.exp(-self.browse_per_day)
        while p > limit:
            count, p = count + 1, p * rng.random()
        return count


@dataclass(frozen=True)
class CaseworkerModel:
    """How the caseworker answers an escalation (pure; assumed, like the response model).

    The cascade hands a need it could not fill to a person (`need.escalated`); in the
    product the caseworker then sends the next wave now (`POST /v1/needs/{id}/offers`
    without names). They read it after a lognormal delay, within staff hours (a rota,
    08:00-20:00 every day, as NHS Volunteer Responders' support team kept), and try again
    at most `follow_ups` times a need, while its window has not begun: past that they
    would phone round, which the product does not see.
    """

    follow_ups: int = 2
    delay_median_min: float = 20.0
    delay_sigma: float = 1.0
    hours: tuple[int, int] = (8, 20)  # staff on from, until (local hours, every day)

    def acts_at(self, rng: random.Random, escalated_at: datetime) -> datetime:
        """When the caseworker sends the next wave for an escalation at `escalated_at`."""
        delay = timedelta(
            minutes=self.delay_median_min * math.exp(rng.gauss(0.0, self.delay_sigma))
        )
        first, last = self.hours
        at = escalated_at
        if at.hour >= last:  # the evening shift has gone: the next morning
            at = (at + timedelta(days=1)).replace(hour=first, minute=0, second=0, microsecond=0)
        elif at.hour < first:
            at = at.replace(hour=first, minute=0, second=0, microsecond=0)
        return at + delay
