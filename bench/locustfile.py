"""The locust users of bench/load_mix.py (run by it; not on its own): 70 % volunteers, 20 %
caseworkers, 10 % coordinators, each making one request per task at a constant rate, so the
offered rate is the user count times LOAD_MIX_RATE.

LOAD_MIX_WORLD is the JSON written by bench/load_world.py; LOAD_MIX_HOSTS the comma-separated
`codeliver serve` addresses, shared round-robin by the users (one per user). An answer is an
error unless it is what the API promises for that call: a 409 to an accept or decline of an
offer already answered, filled or closed is an answer, not a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

WORLD: dict[str, Any] = json.loads(open(os.environ["LOAD_MIX_WORLD"]).read())  # noqa: SIM115
HOSTS = os.environ["LOAD_MIX_HOSTS"].split(",")
RATE = float(os.environ.get("LOAD_MIX_RATE", "1"))
_numbers = itertools.count()


class _User(FastHttpUser):
    abstract = True
    host = HOSTS[0]
    wait_time = constant_throughput(RATE)

    def on_start(self) -> None:
        self.n = next(_numbers)
        self.base = HOSTS[self.n % len(HOSTS)]
        self.rng = random.Random(self.n)

    def call(
        self,
        method: str,
        path: str,
        name: str,
        token: str,
        ok: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        with self.client.request(
            method, self.base + path, name=name, headers=headers, catch_response=True, **kwargs
        ) as r:
            if r.status_code in ok:
                r.success()
                return r
            r.failure(f"{r.status_code}: {(r.text or '')[:200]}")
            return None


class Volunteer(_User):
    weight = 7

    def on_start(self) -> None:
        super().on_start()
        self.token = WORLD["volunteers"][self.n % len(WORLD["volunteers"])]
        self.cursor: str | None = None
        self.open: list[str] = []

    def _offers(self, params: dict[str, str], name: str) -> None:
        r = self.call("GET", "/v1/volunteers/me/offers", name, self.token, params=params)
        if r is not None:
            page = r.json()
            self.cursor = page["next_cursor"] or self.cursor
            if "since" not in params:
                self.open = [o["id"] for o in page["items"] if o["status"] == "pending"]

    @task(3)
    def poll(self) -> None:
        self._offers({}, "GET offers")

    @task(3)
    def sync(self) -> None:
        if self.cursor is None:
            self._offers({}, "GET offers")
        else:
            self._offers({"since": self.cursor}, "GET offers?since")

    @task(1)
    def answer(self) -> None:
        if not self.open:
            self._offers({}, "GET offers")
            return
        offer = self.open.pop(self.rng.randrange(len(self.open)))
        verb = "accept" if self.rng.random() < 1 / 3 else "decline"
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        path = f"/v1/offers/{offer}/{verb}"
        self.call("POST", path, f"POST {verb}", self.token, (200, 409), headers=headers)


class Caseworker(_User):
    weight = 2

    def on_start(self) -> None:
        super().on_start()
        self.me = WORLD["caseworkers"][self.n % len(WORLD["caseworkers"])]
        self.needs: list[str] = list(self.me["needs"])
        self.posted = 0

    @task(1)
    def post(self) -> None:
        self.posted += 1
        day = datetime.fromisoformat(WORLD["start"]) + timedelta(
            days=2, hours=self.rng.randrange(24 * 20)
        )
        body = {
            "programme_id": self.me["programme_id"],
            "title": f"Load need {self.n}-{self.posted}",
            "mode": "remote",
            "windows": [{"start": day.isoformat(), "end": (day + timedelta(hours=1)).isoformat()}],
            "duration_minutes": 30,
        }
        r = self.call("POST", "/v1/needs", "POST needs", self.me["token"], (201,), json=body)
        if r is not None:
            self.needs.append(r.json()["need"]["id"])

    @task(1)
    def read(self) -> None:
        if not self.needs:
            return self.post()
        need = self.rng.choice(self.needs)
        self.call("GET", f"/v1/needs/{need}", "GET need", self.me["token"])
        return None

    @task(1)
    def candidates(self) -> None:
        if not self.needs:
            return self.post()
        need = self.rng.choice(self.needs)
        path = f"/v1/needs/{need}/candidates"
        self.call("GET", path, "GET candidates", self.me["token"], params={"limit": "10"})
        return None


class Coordinator(_User):
    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.token = WORLD["coordinators"][self.n % len(WORLD["coordinators"])]

    @task(1)
    def tile(self) -> None:
        z, x, y = self.rng.choice(WORLD["tiles"])
        self.call("GET", f"/v1/coverage/tiles/{z}/{x}/{y}.mvt", "GET tile", self.token)

    @task(1)
    def metrics(self) -> None:
        self.call("GET", "/v1/metrics/summary", "GET metrics", self.token)
