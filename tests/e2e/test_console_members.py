"""The console's members and settings pages over HTTP on the real PostGIS test database, each
action through the API's own use case: a role changed and taken away with a reason (the
audit log keeps it; the last org admin stays, its 409 in words), an invitation made and
revoked with a reason, the organisation's settings saved against the ETag they were read at,
a programme's policy changed. A refused post shows its error on the field and writes
nothing; another organisation's members and settings are a 404 on every path."""

from __future__ import annotations

import html
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from app.console import i18n
from tests.e2e.console_support import csrf_of, sign_in
from tests.e2e.test_console_language import _english_words, _wholly_welsh
from tests.scenario import Scenario
from tests.support import World

pytestmark = pytest.mark.anyio


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


async def _user(world: World, subject: str) -> UUID:
    async with world.owner.connect() as conn:
        found = await conn.scalar(text("SELECT id FROM users WHERE subject = :s"), {"s": subject})
    return UUID(str(found))


async def _roles(world: World, subject: str) -> list[str]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id"
                " WHERE u.subject = :s ORDER BY m.role"
            ),
            {"s": subject},
        )
        return [r.role for r in rows]


async def _audit(world: World, action: str) -> list[tuple[str | None, dict[str, object]]]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text("SELECT reason, details FROM audit_log WHERE action = :a ORDER BY at, id"),
            {"a": action},
        )
        return [(r.reason, dict(r.details)) for r in rows]


def _etag(raw: str) -> str:
    """The ETag the settings form was read at (its hidden field), as the browser sends it."""
    return html.unescape(raw.split('name="etag" value="')[1].split('"')[0])


async def _page(client: httpx.AsyncClient, url: str) -> tuple[str, str]:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return html.unescape(page.text), csrf_of(page.text)


async def test_a_role_is_changed_and_taken_away_with_a_reason_and_the_last_admin_stays(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org("reading-council")
    admin = await world.person("ada-admin", org="reading-council", role="org_admin")
    await world.person("carl-case", org="reading-council", role="caseworker")
    carl = await _user(world, "carl-case")
    await sign_in(client, _token(admin))
    listed, _ = await _page(client, "/console/members")
    assert 'href="/console/members"' in listed
    assert 'href="/console/settings"' in listed
    assert "Carl Case" in listed
    assert "Caseworker" in listed

    url = f"/console/members/{carl}/change?org={org}"
    form, token = await _page(client, f"{url}&role=caseworker")
    assert 'value="coordinator"' in form
    for reason in ("", "no"):
        refused = await client.post(
            url,
            data={
                "role": "caseworker",
                "to": "coordinator",
                "reason": reason,
                "_csrf_token": token,
            },
        )
        assert refused.status_code == 422
        assert 'href="#reason"' in refused.text
        assert "Enter the reason, in 3 to 500 characters" in refused.text
    unchosen = await client.post(
        url, data={"role": "caseworker", "to": "", "reason": "Promoted.", "_csrf_token": token}
    )
    assert unchosen.status_code == 422
    assert 'href="#to"' in unchosen.text
    assert await _roles(world, "carl-case") == ["caseworker"]
    assert await _audit(world, "membership.changed") == []

    done = await client.post(
        url,
        data={
            "role": "caseworker",
            "to": "coordinator",
            "reason": "Runs the rota now.",
            "_csrf_token": token,
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/members?org={org}&done=changed"
    assert await _roles(world, "carl-case") == ["coordinator"]
    [(reason, details)] = await _audit(world, "membership.changed")
    assert reason == "Runs the rota now."
    assert details == {"from": "caseworker", "to": "coordinator"}
    after, _ = await _page(client, done.headers["location"])
    assert "The role was changed." in after
    assert f'data-user="{carl}" data-role="coordinator"' in after

    # The last org admin: taking it away is refused in words (409), and nothing changes.
    ada = await _user(world, "ada-admin")
    removal = f"/console/members/{ada}/remove?org={org}"
    _, token = await _page(client, f"{removal}&role=org_admin")
    refused = await client.post(
        removal, data={"role": "org_admin", "reason": "Leaving.", "_csrf_token": token}
    )
    assert refused.status_code == 409
    assert "last organisation admin" in html.unescape(refused.text)
    assert await _roles(world, "ada-admin") == ["org_admin"]
    assert await _audit(world, "membership.removed") == []

    _, token = await _page(client, f"/console/members/{carl}/remove?org={org}&role=coordinator")
    gone = await client.post(
        f"/console/members/{carl}/remove?org={org}",
        data={"role": "coordinator", "reason": "Left the council.", "_csrf_token": token},
    )
    assert gone.status_code == 303
    assert await _roles(world, "carl-case") == []
    assert [r for r, _ in await _audit(world, "membership.removed")] == ["Left the council."]


async def test_an_invitation_is_made_and_revoked_with_a_reason(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org("reading-council")
    coordinator = await world.person("cora-coord", org="reading-council", role="coordinator")
    await sign_in(client, _token(coordinator))
    page, token = await _page(client, "/console/members")
    assert 'value="org_admin"' not in page  # a coordinator may not grant it
    bad = await client.post(
        f"/console/members/invite?org={org}",
        data={"email": "not an address", "role": "caseworker", "_csrf_token": token},
    )
    assert bad.status_code == 422
    assert 'href="#email"' in bad.text
    above = await client.post(
        f"/console/members/invite?org={org}",
        data={"email": "boss@example.org", "role": "org_admin", "_csrf_token": token},
    )
    assert above.status_code == 403
    assert "You may not give or take away that role" in above.text
    assert await world.count("invitations") == 0
    made = await client.post(
        f"/console/members/invite?org={org}",
        data={"email": "New.Person@example.org", "role": "caseworker", "_csrf_token": token},
    )
    assert made.status_code == 303
    listed, _ = await _page(client, made.headers["location"])
    assert "new.person@example.org" in listed
    async with world.owner.connect() as conn:
        invitation = await conn.scalar(text("SELECT id FROM invitations"))
    url = f"/console/members/invitations/{invitation}/revoke?org={org}"
    _, token = await _page(client, url)
    refused = await client.post(url, data={"reason": "", "_csrf_token": token})
    assert refused.status_code == 422
    assert await world.count("invitations") == 1
    revoked = await client.post(
        url, data={"reason": "Sent to the wrong person.", "_csrf_token": token}
    )
    assert revoked.status_code == 303
    assert await world.count("invitations") == 0
    assert [r for r, _ in await _audit(world, "invitation.revoked")] == [
        "Sent to the wrong person."
    ]
    again = await client.get(url)
    assert again.status_code == 404


async def test_settings_are_saved_against_what_was_read_and_programmes_policies_change(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org("reading-council")
    admin = await world.person("ada-admin", org="reading-council", role="org_admin")
    other = await world.person("otto-admin", org="reading-council", role="org_admin")
    programme = await Scenario(world).programme(org, "Errands")
    await sign_in(client, _token(admin))
    page, token = await _page(client, "/console/settings")
    assert "How long safeguarding records are kept" in page
    assert "their DBS check records" in page
    assert '<option value="Europe/London" selected>' in page
    etag = _etag((await client.get("/console/settings")).text)
    assert etag.startswith('"')
    form = {
        "name": "Reading Council",
        "time_zone": "Europe/London",
        "vetting_recheck_months": "36",
        "safeguarding_retention_months": "11",
        "etag": etag,
        "_csrf_token": token,
    }
    bad = await client.post(f"/console/settings?org={org}", data=form)
    assert bad.status_code == 422
    assert 'href="#safeguarding_retention_months"' in bad.text
    assert "Enter a whole number of months from 12 to 1200" in bad.text
    words = await client.post(
        f"/console/settings?org={org}", data=form | {"safeguarding_retention_months": "six"}
    )
    assert words.status_code == 422
    assert await _audit(world, "organisation.updated") == []

    # Someone else saves first: this form's change is refused, theirs is shown.
    theirs = await client.patch(
        f"/v1/orgs/{org}", headers=other, json={"time_zone": "Europe/Dublin"}
    )
    assert theirs.status_code == 200
    stale = await client.post(
        f"/console/settings?org={org}",
        data=form | {"safeguarding_retention_months": "120", "time_zone": "Europe/Paris"},
    )
    assert stale.status_code == 412
    assert "Someone else changed these settings" in html.unescape(stale.text)
    assert '<option value="Europe/Dublin" selected>' in stale.text
    fresh = _etag(stale.text)
    assert fresh != etag
    saved = await client.post(
        f"/console/settings?org={org}",
        data=form
        | {
            "safeguarding_retention_months": "120",
            "time_zone": "Europe/Paris",
            "etag": fresh,
        },
    )
    assert saved.status_code == 303, saved.text
    now = (await client.get(f"/v1/orgs/{org}", headers=admin)).json()
    assert (now["time_zone"], now["safeguarding_retention_months"]) == ("Europe/Paris", 120)

    url = f"/console/settings/programmes/{programme}"
    _policy, token = await _page(client, url)
    fields = {
        "min_vetting": "none",
        "wave_size": "3",
        "offer_timeout_min": "15",
        "max_waves": "4",
        "alert_cap": "12",
        "checkin_radius_m": "250",
        "stale_claim_min": "1440",
        "_csrf_token": token,
    }
    current = (await client.get(f"/v1/programmes/{programme}", headers=admin)).json()
    fields |= {"offer_timeout_min": str(round(current["offer_timeout_s"] / 60))}
    refused = await client.post(url, data=fields | {"wave_size": "0"})
    assert refused.status_code == 422
    assert 'href="#wave_size"' in refused.text
    changed = await client.post(url, data=fields | {"wave_size": "5", "min_vetting": "basic"})
    assert changed.status_code == 303
    after = (await client.get(f"/v1/programmes/{programme}", headers=admin)).json()
    assert (after["wave_size"], after["min_vetting"]) == (5, "basic")
    assert after["offer_timeout_s"] == current["offer_timeout_s"]  # untouched: not rounded


async def test_coordinators_read_the_settings_and_caseworkers_see_neither_page(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org("reading-council")
    coordinator = await world.person("cora-coord", org="reading-council", role="coordinator")
    caseworker = await world.person("carl-case", org="reading-council", role="caseworker")
    await sign_in(client, _token(coordinator))
    page, token = await _page(client, "/console/settings")
    assert 'id="settings-form"' not in page
    assert "Only the organisation's admins can change these." in page
    refused = await client.post(
        f"/console/settings?org={org}",
        data={
            "name": "Mine now",
            "time_zone": "Europe/London",
            "vetting_recheck_months": "36",
            "safeguarding_retention_months": "72",
            "_csrf_token": token,
        },
    )
    assert refused.status_code == 403
    assert (await client.get(f"/v1/orgs/{org}", headers=coordinator)).json()["name"] != "Mine now"

    client.cookies.clear()
    await sign_in(client, _token(caseworker))
    needs, _ = await _page(client, "/console/needs")
    assert 'href="/console/members"' not in needs
    assert 'href="/console/settings"' not in needs
    assert (await client.get("/console/members")).status_code == 403
    assert (await client.get("/console/settings")).status_code == 403


async def test_another_organisations_members_and_settings_are_404_pages(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org("reading-council")
    await world.org("berkshire-nhs")
    await world.person("ada-admin", org="reading-council", role="org_admin")
    await world.person("carl-case", org="reading-council", role="caseworker")
    theirs = await world.person("bea-admin", org="berkshire-nhs", role="org_admin")
    carl = await _user(world, "carl-case")
    programme = await Scenario(world).programme(org, "Errands")
    await sign_in(client, _token(theirs))
    for url in (
        f"/console/members?org={org}",
        f"/console/members/{carl}/change?org={org}&role=caseworker",
        f"/console/members/{carl}/remove?org={org}&role=caseworker",
        f"/console/settings?org={org}",
        f"/console/settings/programmes/{programme}",
        "/console/members?org=not-an-id",
    ):
        r = await client.get(url)
        assert r.status_code == 404, url
        assert "Carl Case" not in r.text
        assert "Reading Council" not in r.text
    _, token = await _page(client, "/console/members")
    r = await client.post(
        f"/console/members/{carl}/remove?org={org}",
        data={"role": "caseworker", "reason": "Taking over.", "_csrf_token": token},
    )
    assert r.status_code == 404
    assert await _roles(world, "carl-case") == ["caseworker"]


async def test_the_members_and_settings_pages_are_wholly_welsh_errors_too(
    world: World, client: httpx.AsyncClient
) -> None:
    english = _english_words()
    org = await world.org("reading-council")
    admin = await world.person("ada-admin", org="reading-council", role="org_admin")
    await world.person("carl-case", org="reading-council", role="caseworker")
    await world.person("cora-coord", org="reading-council", role="coordinator")
    carl = await _user(world, "carl-case")
    programme = await Scenario(world).programme(org, "Errands")
    r = await client.post(
        f"/v1/orgs/{org}/members",
        headers=admin,
        json={"email": "new.person@example.org", "role": "caseworker"},
    )
    assert r.status_code == 201
    async with world.owner.connect() as conn:
        invitation = await conn.scalar(text("SELECT id FROM invitations"))
    client.cookies.set(i18n.COOKIE, "cy", path="/console")
    await sign_in(client, _token(admin))
    for path in (
        "/console/members",
        f"/console/members/{carl}/change?org={org}&role=caseworker",
        f"/console/members/{carl}/remove?org={org}&role=caseworker",
        f"/console/members/invitations/{invitation}/revoke?org={org}",
        "/console/settings",
        f"/console/settings/programmes/{programme}",
    ):
        _wholly_welsh(await client.get(path), english)
    _, token = await _page(client, "/console/members")
    refused = await client.post(
        f"/console/members/{carl}/change?org={org}",
        data={"role": "caseworker", "to": "coordinator", "reason": "", "_csrf_token": token},
    )
    assert refused.status_code == 422
    assert "Rhowch y rheswm, mewn 3 i 500 nod" in html.unescape(refused.text)
    bad = await client.post(
        f"/console/settings?org={org}",
        data={
            "name": "Reading",
            "time_zone": "Europe/London",
            "vetting_recheck_months": "0",
            "safeguarding_retention_months": "72",
            "_csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert "Rhowch nifer cyfan o fisoedd o 1 i 120" in html.unescape(bad.text)
    assert await _audit(world, "membership.changed") == []
    assert await _audit(world, "organisation.updated") == []

    client.cookies.clear()
    client.cookies.set(i18n.COOKIE, "cy", path="/console")
    await sign_in(client, _token(await world.person("cora-coord")))
    _wholly_welsh(await client.get("/console/settings"), english)
