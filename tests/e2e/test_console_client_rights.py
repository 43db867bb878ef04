"""What a caseworker does from a client's console page, over HTTP on the real PostGIS test
database, each through the API's own use case: keep a volunteer away (their live offer for
the client withdrawn) and lift it, the subject-access export as the API's JSON (audited
with the reason given), erasure (anonymised in place, open needs cancelled). A refused post
shows its error on the field and writes nothing; another organisation's client is a 404
on every path, its data untouched."""

from __future__ import annotations

import html
from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.console_support import Town, csrf_of, sign_in, town
from tests.scenario import NOW, Scenario
from tests.support import World

pytestmark = pytest.mark.anyio


async def _token(client: httpx.AsyncClient, url: str) -> tuple[str, str]:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return page.text, csrf_of(page.text)


async def _offered(world: World, t: Town, name: str) -> UUID:
    """A volunteer with a live offer of the client's need."""
    s = Scenario(world)
    volunteer = await s.volunteer("reading-council", name, hours=6)
    await s.offer(t.org, t.need, volunteer, NOW - timedelta(minutes=5))
    return UUID(str(volunteer))


async def _theirs(world: World, t: Town) -> UUID:
    async with world.owner.connect() as conn:
        found = await conn.scalar(
            text("SELECT client_id FROM needs WHERE id = :id"), {"id": t.other_need}
        )
    return UUID(str(found))


async def test_a_volunteer_who_met_the_client_is_kept_away_and_the_exclusion_lifted(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    ann = await _offered(world, t, "Ann Able")
    await sign_in(client, t.token)
    url = f"/console/clients/{t.client}"
    page, token = await _token(client, url)
    assert "No volunteer is kept away from this client." in page
    assert f'<option value="{ann}">Ann Able</option>' in page

    for reason in ("", "no", "x" * 501):
        refused = await client.post(
            f"{url}/exclusions",
            data={"volunteer": str(ann), "reason": reason, "_csrf_token": token},
        )
        assert refused.status_code == 422
        assert 'href="#reason"' in refused.text
        assert "Enter the reason, in 3 to 500 characters" in refused.text
    unnamed = await client.post(
        f"{url}/exclusions", data={"volunteer": "", "reason": "Asked.", "_csrf_token": token}
    )
    assert unnamed.status_code == 422
    assert "Select the volunteer to keep away" in unnamed.text
    stranger = await Scenario(world).volunteer("berkshire-nhs", "Not Ours", hours=6)
    forged = await client.post(
        f"{url}/exclusions",
        data={"volunteer": str(stranger), "reason": "Asked.", "_csrf_token": token},
    )
    assert forged.status_code == 422
    assert "That volunteer cannot be kept away: not a volunteer of this organisation" in forged.text
    assert await world.count("client_exclusions") == 0
    assert await world.count("offers", f"volunteer_id = '{ann}' AND status = 'pending'") == 1

    kept = await client.post(
        f"{url}/exclusions",
        data={
            "volunteer": str(ann),
            "reason": "Asked for a woman.",
            "_csrf_token": token,
        },
    )
    assert kept.status_code == 303
    assert kept.headers["location"] == f"{url}?done=kept-away"
    page = html.unescape((await client.get(kept.headers["location"])).text)
    assert "will not be offered this client's needs again" in page
    assert "Asked for a woman." in page
    assert f'<option value="{ann}">' not in page  # kept away already: not offered as a choice
    assert await world.count("offers", f"volunteer_id = '{ann}' AND status = 'withdrawn'") == 1
    assert await world.count("audit_log", "action = 'client.exclusion_added'") == 1

    lifted = await client.post(f"{url}/exclusions/{ann}/lift", data={"_csrf_token": token})
    assert lifted.status_code == 303
    assert lifted.headers["location"] == f"{url}?done=lifted"
    assert await world.count("client_exclusions") == 0
    assert await world.count("audit_log", "action = 'client.exclusion_removed'") == 1
    again = await client.post(f"{url}/exclusions/{ann}/lift", data={"_csrf_token": token})
    assert again.status_code == 404  # a second click: lifted already, as the API says


async def test_the_subject_access_export_is_the_api_s_json_audited_with_the_reason(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    await sign_in(client, t.token)
    url = f"/console/clients/{t.client}/export"
    page, token = await _token(client, url)
    assert "Who asked for it, and how?" in page
    before = await world.count("audit_log", "action = 'client.read'")
    for reason in ("", "no", "x" * 201):
        refused = await client.post(url, data={"reason": reason, "_csrf_token": token})
        assert refused.status_code == 422
        assert 'href="#reason"' in refused.text
        assert "Enter who asked for it and how, in 3 to 200 characters" in refused.text
    asked = "Subject-access request by email, 2 December"
    done = await client.post(url, data={"reason": asked, "_csrf_token": token})
    assert done.status_code == 200
    assert done.headers["content-type"].startswith("application/json")
    disposition = done.headers["content-disposition"]
    assert disposition == f'attachment; filename="client-{t.client}-subject-access.json"'
    assert done.headers["cache-control"] == "no-store"
    exported = done.json()
    assert exported["client"]["id"] == str(t.client)
    assert exported["client"]["name"] == "A Client"
    reasons = [entry["reason"] for entry in exported["audit"]]
    assert reasons[-1] == asked  # the export lists its own read
    # The page views read the record too (audited "case management"); the export once more.
    assert await world.count("audit_log", f"reason = '{asked}'") == 1
    assert await world.count("audit_log", "action = 'client.read'") > before


async def test_erasure_asks_for_a_reason_then_anonymises_and_cancels_open_needs(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    await sign_in(client, t.token)
    url = f"/console/clients/{t.client}"
    page, token = await _token(client, f"{url}/erase")
    assert "This cannot be undone." in page
    for reason in ("", "no"):
        refused = await client.post(f"{url}/erase", data={"reason": reason, "_csrf_token": token})
        assert refused.status_code == 422
        assert "Enter the reason, in 3 to 500 characters" in refused.text
    assert await world.count("clients", f"id = '{t.client}' AND erased_at IS NULL") == 1
    assert await world.count("needs", f"id = '{t.need}' AND status = 'open'") == 1

    done = await client.post(
        f"{url}/erase", data={"reason": "Erasure request by letter.", "_csrf_token": token}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{url}?done=erased"
    page = html.unescape((await client.get(done.headers["location"])).text)
    assert "personal data was erased" in page
    assert "A Client" not in page
    assert 'id="change-client"' not in page
    assert 'id="erase-link"' not in page
    assert 'id="keep-away"' not in page
    assert await world.count("needs", f"id = '{t.need}' AND status = 'cancelled'") == 1
    assert await world.count("audit_log", "action = 'client.erased'") == 1
    twice = await client.post(f"{url}/erase", data={"reason": "Again.", "_csrf_token": token})
    assert twice.status_code == 409
    assert "It cannot be erased: This client has already been erased" in twice.text
    export = await client.post(f"{url}/export", data={"reason": "SAR", "_csrf_token": token})
    assert export.json()["client"]["address"] is None


async def test_another_organisations_client_is_404_on_every_data_rights_path(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    theirs = await _theirs(world, t)
    await sign_in(client, t.token)
    _, token = await _token(client, f"/console/clients/{t.client}")
    stranger = await Scenario(world).volunteer("berkshire-nhs", "Their Volunteer", hours=6)
    base = f"/console/clients/{theirs}"
    for path in (f"{base}/export", f"{base}/erase"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "A Client" not in answer.text
    posts = {
        f"{base}/export": {"reason": "Curious."},
        f"{base}/erase": {"reason": "Taking over."},
        f"{base}/exclusions": {"volunteer": str(stranger), "reason": "Taking over."},
        f"{base}/exclusions/{stranger}/lift": {},
    }
    for path, data in posts.items():
        answer = await client.post(path, data=data | {"_csrf_token": token})
        assert answer.status_code == 404, path
        assert "A Client" not in answer.text
        assert "application/json" not in answer.headers["content-type"]
    assert await world.count("clients", f"id = '{theirs}' AND erased_at IS NULL") == 1
    assert await world.count("client_exclusions") == 0
    forged = await client.post(f"/console/clients/{t.client}/erase", data={"reason": "No CSRF."})
    assert forged.status_code == 403
    assert await world.count("clients", "erased_at IS NOT NULL") == 0
