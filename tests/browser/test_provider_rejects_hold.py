"""Provider refuses a crisis hold: the crisis team holds a place on one of the provider's crisis
places, the planner sees it on its own screen, is told in Dutch what is missing, rejects it with
a reason, and the place is free again. Another provider's planner never sees the hold."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CRISIS_CAPABLE = ("crisis", "jeugdzorgplus")
PLANNERS = ("aanbieder1", "aanbieder2", "aanbieder3")


def _headers(server, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{server.url}/api/v1/auth/token", data={"username": username, "password": server.passwords[username]}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _group(server, headers: dict[str, str], group_id: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = httpx.get(f"{server.url}/api/v1/groups/{group_id}", headers=headers)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _net_text(group: dict) -> str:  # type: ignore[type-arg]
    """The net line of the planner's group card, as frontend/js/screens/provider.js writes it."""
    held = group["held_places"]
    if not held:
        return f"Netto vrij: {group['net_free_places']} van {group['capacity']}"
    places = "plaats" if held == 1 else "plaatsen"
    return f"{held} {places} vastgehouden (crisis of voorstel); netto vrij: {group['net_free_places']}"


def _crisis_place_of_a_planner(server) -> tuple[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    """The first demo planner with a place the crisis team may hold (crisis or jeugdzorgplus)."""
    for username in PLANNERS:
        groups = httpx.get(f"{server.url}/api/v1/groups", headers=_headers(server, username)).json()
        for group in groups:
            if group["care_form"] in CRISIS_CAPABLE:
                return username, group
    pytest.fail("geen demo-aanbieder met een crisisplaats")


def test_planner_rejects_a_hold_with_a_reason_and_the_place_is_free_again(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    owner, group = _crisis_place_of_a_planner(demo_server)
    other = next(name for name in PLANNERS if name != owner)
    planner_api = _headers(demo_server, owner)
    crisis_api = _headers(demo_server, "crisis")
    group_id = group["id"]
    original = _group(demo_server, planner_api, group_id)
    hold_id = None
    try:
        # Setup through the API: the group admits and has a place left to hold (earlier tests
        # may have changed its figures), then the crisis worker holds one.
        if not original["admitting"] or original["free_places"] - original["held_places"] < 1:
            ready = httpx.put(
                f"{demo_server.url}/api/v1/groups/{group_id}/availability",
                headers=planner_api,
                json={"free_places": max(original["free_places"], original["held_places"] + 1), "admitting": True},
            )
            assert ready.status_code == 200, ready.text
        before = _group(demo_server, planner_api, group_id)
        created = httpx.post(
            f"{demo_server.url}/api/v1/holds",
            headers=crisis_api,
            json={"group_id": group_id, "crisis_reference": "TW-WEIGER-01", "age": 15},
        )
        assert created.status_code == 201, created.text
        hold_id = created.json()["id"]
        held = _group(demo_server, planner_api, group_id)
        assert held["held_places"] == before["held_places"] + 1

        # Another provider's planner: the hold is neither in its list nor on its screen.
        stranger = people(other, login=False)
        with stranger.page.expect_response(lambda r: "/api/v1/holds?status=active" in r.url) as listed:
            stranger.login()
        assert listed.value.status == 200
        assert hold_id not in [h["id"] for h in listed.value.json()]
        incoming = stranger.page.locator("#inkomend .card-grid > *")
        expect(incoming.first).to_be_visible()
        expect(stranger.page.locator(f"#inkomend [data-hold-id='{hold_id}']")).to_have_count(0)
        expect(stranger.page.locator("#inkomend")).not_to_contain_text("TW-WEIGER-01")
        refused = httpx.get(f"{demo_server.url}/api/v1/holds/{hold_id}", headers=_headers(demo_server, other))
        assert refused.status_code == 404

        # The owner's planner sees the hold on its own group, and the place counted as held.
        planner = people(owner)
        page = planner.page
        card = page.locator(f"#inkomend .hold-card[data-hold-id='{hold_id}']")
        expect(card).to_be_visible()
        expect(card.get_by_role("heading")).to_have_text(f"Crisisplek vastgehouden: {group['name']}")
        expect(card).to_contain_text("Door de crisisdienst")
        expect(card).to_contain_text("jongere van 15 jaar")
        net = page.locator(f"#g{group_id}-netto")
        expect(net).to_have_text(_net_text(held))

        # Rejecting without a reason: a Dutch message, the reason list gets the focus, and the
        # hold stays.
        card.get_by_text("Weigeren met reden").click()
        reject = card.get_by_role("button", name="Weigeren", exact=True)
        reject.click()
        expect(card.get_by_role("alert")).to_have_text("Kies een reden om te weigeren.")
        expect(card.get_by_label("Reden", exact=True)).to_be_focused()
        assert httpx.get(f"{demo_server.url}/api/v1/holds/{hold_id}", headers=crisis_api).json()["status"] == "active"

        # "Andere reden" without an explanation: the server's Dutch refusal appears on the card.
        card.get_by_label("Reden", exact=True).select_option(label="Andere reden")
        with page.expect_response(lambda r: r.url.endswith(f"/holds/{hold_id}/reject")) as refused_reject:
            reject.click()
        assert refused_reject.value.status == 422
        expect(card.get_by_role("alert")).to_contain_text("geef bij 'anders' de reden in eigen woorden")
        expect(card).to_be_visible()
        expect(reject).to_be_enabled()

        # A reason from the list plus an explanation: the hold is rejected and leaves the screen,
        # with a Dutch confirmation for screen readers.
        card.get_by_label("Reden", exact=True).select_option(label="Onvoldoende personeel om nu op te nemen")
        card.get_by_label("Toelichting (verplicht bij 'anders')").fill("Twee collega's ziek")
        with page.expect_response(lambda r: r.url.endswith(f"/holds/{hold_id}/reject")) as rejected:
            reject.click()
        assert rejected.value.status == 200
        expect(card).to_have_count(0)
        expect(page.locator("#announcer")).to_have_text(
            f"Vasthouding op {group['name']} geweigerd; de plaats is weer vrij."
        )

        # The held place is back: on the planner's group card (live) and in the API.
        after = _group(demo_server, planner_api, group_id)
        assert after["held_places"] == before["held_places"]
        assert after["net_free_places"] == held["net_free_places"] + 1
        expect(net).to_have_text(_net_text(after))
        final = httpx.get(f"{demo_server.url}/api/v1/holds/{hold_id}", headers=crisis_api).json()
        assert final["status"] == "rejected"
        assert final["end_reason_code"] == "personeel"
        assert final["end_reason"] == "Twee collega's ziek"
        hold_id = None
    finally:
        # Leave the shared demo data as it was for the tests that follow.
        if hold_id is not None:
            httpx.delete(f"{demo_server.url}/api/v1/holds/{hold_id}", headers=crisis_api)
        httpx.put(
            f"{demo_server.url}/api/v1/groups/{group_id}/availability",
            headers=planner_api,
            json={
                key: original[key]
                for key in ("free_places", "admitting", "reason", "expected_free_date", "waiting_list")
            },
        )
