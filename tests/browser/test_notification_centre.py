"""The notification centre: a planner's bell shows a new proposal live, with its unread count,
and the Meldingen screen holds the planner's choices, contacts and webhooks."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _session_for

pytestmark = pytest.mark.browser


def _send_proposal_to(server, provider_id: int) -> int:  # type: ignore[no-untyped-def]
    """As the coordinator: a proposal for a waiting youth to one of this provider's groups."""
    headers = {"Authorization": f"Bearer {_session_for(server, 'coordinator')['token']}"}
    api = f"{server.url}/api/v1"
    waiting = httpx.get(f"{api}/referrals", params={"status": "waiting"}, headers=headers).json()
    for referral in waiting:
        options = httpx.get(f"{api}/referrals/{referral['id']}/options", params={"limit": 200}, headers=headers)
        for option in options.json().get("options", []):
            if option.get("provider_id") == provider_id and option.get("free_places", 0) > 0:
                sent = httpx.post(
                    f"{api}/referrals/{referral['id']}/proposals",
                    json={"group_id": option["group_id"]},
                    headers=headers,
                )
                if sent.status_code == 201:
                    return int(sent.json()["id"])
    raise AssertionError("no waiting youth fits this provider in the demo")


def test_the_bell_shows_a_new_proposal_live_with_its_unread_count(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    planner = people("aanbieder1", already_logged_in=True)
    page = planner.page
    me = _session_for(demo_server, "aanbieder1")
    bell = page.locator("#bell")
    expect(bell).to_be_visible()
    unread = httpx.get(
        f"{demo_server.url}/api/v1/notifications", headers={"Authorization": f"Bearer {me['token']}"}
    ).json()["unread"]
    proposal_id = _send_proposal_to(demo_server, me["providerId"])
    count = page.locator("#bell-count")
    expect(count).to_have_text(str(unread + 1), timeout=5_000)
    expect(bell).to_have_attribute("aria-label", f"Meldingen, {unread + 1} ongelezen")
    bell.click()
    first = page.locator("#inbox .inbox-item").first
    expect(first).to_contain_text("Nieuw plaatsingsvoorstel")
    expect(first).to_contain_text(f"Plaatsingsvoorstel {proposal_id}")
    # The proposal itself shows among the incoming ones too (the screen follows the live feed).
    expect(page.locator(f".proposal-card[data-proposal-id='{proposal_id}']")).to_be_visible()
    planner.shot("meldingen", "desktop")
    first.get_by_role("button", name="Gelezen").click()
    expect(count).to_have_text(str(unread)) if unread else expect(count).to_be_hidden()

    page.get_by_role("link", name="Instellingen").click()
    expect(page.get_by_role("heading", name="Mijn meldingen")).to_be_visible()
    page.get_by_label("E-mailadres voor meldingen").fill("planner@demo.test")
    page.get_by_label("Nieuw plaatsingsvoorstel: per e-mail").check()
    page.get_by_role("button", name="Opslaan").click()
    expect(page.locator("#announcer")).to_have_text("Uw meldingsvoorkeuren zijn opgeslagen.")
    expect(page.get_by_role("heading", name="Webhooks naar uw eigen systemen")).to_be_visible()
    planner.shot("meldingen-instellingen", "desktop")

    phone = people("aanbieder1", phone=True, already_logged_in=True)
    phone.page.locator("#bell").click()
    expect(phone.page.locator("#inbox")).to_be_visible()
    phone.shot("meldingen", "phone")

    # The administrator's list of notifications that could not be delivered.
    admin = people("admin", already_logged_in=True)
    admin.page.goto(demo_server.app_url("meldingen"))
    expect(admin.page.get_by_role("heading", name="Onbezorgde meldingen")).to_be_visible()
    expect(admin.page.locator("#nav")).not_to_contain_text("Meldingen")  # opened from the bell, not the menu
