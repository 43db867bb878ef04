"""One need's console page over HTTP, on the real PostGIS test database: its timeline, its
candidates and "offer to this volunteer", the next wave now, cancel with a reason and
record the outcome, each through the API's own use case, each refused write shown on its
field with nothing written."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.e2e.console_support import csrf_of, sign_in, town
from tests.scenario import NOW, Scenario
from tests.support import World

pytestmark = pytest.mark.anyio


async def _page_and_token(client: httpx.AsyncClient, url: str) -> tuple[httpx.Response, str]:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return page, csrf_of(page.text)


async def test_a_candidate_is_offered_by_name_and_the_timeline_says_so(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    s = Scenario(world)
    need = await s.need(
        t.org, t.programme, t.client, title="Soon", window_start=NOW + timedelta(hours=2)
    )
    ann = await s.volunteer("reading-council", "Ann Able", hours=6)
    await s.volunteer("reading-council", "Far Fay", at=(51.9, -0.2), hours=6)  # 60 km away
    await sign_in(client, t.token)
    url = f"/console/needs/{need}"
    page, token = await _page_and_token(client, url)
    assert "Who could take it" in page.text
    assert "Ann Able" in page.text
    assert "Far Fay" not in page.text
    assert "Posted" in page.text

    made = await client.post(f"{url}/offers", data={"volunteer": str(ann), "_csrf_token": token})
    assert made.status_code == 303
    assert made.headers["location"].endswith("?done=offered")
    page = await client.get(url)
    assert "Offered to 1 volunteer (by a caseworker): Ann Able" in page.text
    assert await world.count("offers", f"need_id = '{need}' AND source = 'manual'") == 1

    # Asked already: the API refuses a second offer, and the page says why on the list.
    again = await client.post(f"{url}/offers", data={"volunteer": str(ann), "_csrf_token": token})
    assert again.status_code == 422
    assert "That volunteer cannot be offered it" in again.text
    assert 'href="#candidates"' in again.text
    junk = await client.post(f"{url}/offers", data={"volunteer": "nobody", "_csrf_token": token})
    assert junk.status_code == 422
    assert "Choose a volunteer from the list" in junk.text
    assert await world.count("offers", f"need_id = '{need}'") == 1


async def test_the_next_wave_now_when_nobody_else_could_take_it_says_so(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    await sign_in(client, t.token)
    url = f"/console/needs/{t.need}"
    page, token = await _page_and_token(client, url)
    assert "Nobody else could take it now" in page.text
    sent = await client.post(f"{url}/offers", data={"_csrf_token": token})
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("?done=nobody")
    assert await world.count("offers", f"need_id = '{t.need}'") == 0


async def test_cancel_asks_for_a_reason_and_writes_nothing_without_one(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    await sign_in(client, t.token)
    url = f"/console/needs/{t.need}"
    form, token = await _page_and_token(client, f"{url}/cancel")
    assert "Why is" in form.text
    for reason in ("", "no", "x" * 501):
        refused = await client.post(f"{url}/cancel", data={"reason": reason, "_csrf_token": token})
        assert refused.status_code == 422
        assert 'href="#reason"' in refused.text
        assert "Enter why the need is cancelled" in refused.text
    assert await world.count("needs", f"id = '{t.need}' AND status = 'open'") == 1
    done = await client.post(
        f"{url}/cancel", data={"reason": "Family are taking her.", "_csrf_token": token}
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=cancelled")
    page = await client.get(url)
    assert "Family are taking her." in page.text
    assert "Cancel this need" not in page.text
    assert await world.count("needs", f"id = '{t.need}' AND status = 'cancelled'") == 1
    twice = await client.post(f"{url}/cancel", data={"reason": "Again.", "_csrf_token": token})
    assert twice.status_code == 409
    assert "It cannot be cancelled now" in twice.text


async def test_the_outcome_of_a_completed_need_is_recorded_and_shown(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    s = Scenario(world)
    bo = await s.volunteer("reading-council", "Bo Brave", hours=6)
    need = await s.need(
        t.org, t.programme, t.client, title="Done one", status="completed", filled=1
    )
    await s.offer(
        t.org,
        need,
        bo,
        NOW - timedelta(hours=3),
        status="accepted",
        responded_at=NOW - timedelta(hours=3),
    )
    await s.assignment(
        t.org,
        need,
        bo,
        status="completed",
        accepted_at=NOW - timedelta(hours=3),
        checked_in_at=NOW - timedelta(hours=2),
        completed_at=NOW - timedelta(hours=1),
        minutes=50,
    )
    await sign_in(client, t.token)
    url = f"/console/needs/{need}"
    page, token = await _page_and_token(client, url)
    for text in (
        "Bo Brave accepted and is assigned",
        "Bo Brave checked in",
        "completed it (50 minutes)",
    ):
        assert text in page.text
    assert "Record the outcome" in page.text
    assert "Who could take it" not in page.text
    refused = await client.post(f"{url}/outcome", data={"note": "hm", "_csrf_token": token})
    assert refused.status_code == 422
    assert "Select how it went for the person" in refused.text
    assert await world.count("needs", f"id = '{need}' AND outcome IS NULL") == 1
    done = await client.post(
        f"{url}/outcome",
        data={"outcome": "referred", "note": "To the falls team.", "_csrf_token": token},
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=outcome")
    page = await client.get(url)
    assert "Outcome recorded: Referred to a professional service" in page.text
    assert "To the falls team." in page.text
    assert await world.count("audit_log", "action = 'need.outcome'") == 1

    # An open need has no outcome yet: the API's refusal, on the field, nothing written.
    open_url = f"/console/needs/{t.need}"
    early = await client.post(f"{open_url}/outcome", data={"outcome": "done", "_csrf_token": token})
    assert early.status_code == 409
    assert "It cannot have an outcome yet" in early.text
    assert await world.count("needs", f"id = '{t.need}' AND outcome IS NULL") == 1


async def test_the_work_queue_shows_escalated_then_soonest_and_only_ones_own(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)  # its need starts in a day, less the seconds since NOW: in the queue
    s = Scenario(world)
    far = NOW + timedelta(days=9)
    await s.need(
        t.org,
        t.programme,
        t.client,
        title="Ran out",
        window_start=far,
        escalated_at=NOW - timedelta(hours=2),
        escalation_reason="no_candidates",
    )
    await s.need(
        t.org, t.programme, t.client, title="In 3 hours", window_start=NOW + timedelta(hours=3)
    )
    await s.need(
        t.org, t.programme, t.client, title="In 3 days", window_start=NOW + timedelta(days=3)
    )
    await s.need(
        t.org,
        t.programme,
        t.client,
        title="Filled soon",
        window_start=NOW + timedelta(hours=2),
        status="filled",
        filled=1,
    )
    await s.need(
        t.org,
        t.programme,
        t.client,
        title="Begun unfilled",
        window_start=NOW - timedelta(minutes=30),
        escalated_at=NOW - timedelta(hours=1),
    )
    other = await world.org("berkshire-nhs")
    theirs = await s.programme(other, "Lifts")
    await s.need(
        other,
        theirs,
        await s.client(other),
        title="Their escalation",
        window_start=NOW + timedelta(hours=1),
        escalated_at=NOW,
    )
    await sign_in(client, t.token)
    page = await client.get("/console/needs")
    assert page.status_code == 200
    queue = page.text.split('id="queue"')[1].split("</div>")[0]
    titles = [part.split("</a>")[0].rsplit(">", 1)[1] for part in queue.split("<li")[1:]]
    assert titles == ["Ran out", "In 3 hours", "Shopping run 0"]
    assert "Offers ran out" in queue
    assert "no candidates" in queue
    assert "Their escalation" not in page.text
    later = await client.get("/console/needs?status=cancelled")
    assert 'id="queue"' not in later.text  # the queue heads the unfiltered list only

    # Its JSON twin, the same use case: the same needs in the same order, and why.
    auth = {"Authorization": f"Bearer {t.token}"}
    api = await client.get("/v1/needs/attention", headers=auth)
    assert api.status_code == 200, api.text
    got = [(q["need"]["title"], q["why"]) for q in api.json()["items"]]
    assert got == [
        ("Ran out", "escalated"),
        ("In 3 hours", "starts_soon"),
        ("Shopping run 0", "starts_soon"),
    ]
    assert api.json()["more"] is False
    first = await client.get("/v1/needs/attention?limit=2", headers=auth)
    assert [q["need"]["title"] for q in first.json()["items"]] == ["Ran out", "In 3 hours"]
    assert first.json()["more"] is True
    bad = await client.get("/v1/needs/attention?limit=0", headers=auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "limit"
    volunteer = await world.person("vol", org="reading-council", role="volunteer")
    none = await client.get("/v1/needs/attention", headers=volunteer)
    assert none.status_code == 200
    assert none.json() == {"items": [], "more": False}
