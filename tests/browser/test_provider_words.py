"""The provider's proposals as the administrator acting for one provider sees them (that
provider's cards only, with what is needed to decide, and the answered ones as history), and the
words and numbers of the main screens: labels, never codes; Dutch notation, never a decimal point."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.factories import referral_body

pytestmark = pytest.mark.browser

# A decimal point between digits ("11.5 km", "0.76"); a thousands dot has three digits after it.
DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d{1,2}(?![\d.])")
# A code as the API sends it: a snake_case name (jeugd_ggz, region_id) or a need tag in lowercase.
SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z_]+\b")
RAW_CODES = re.compile(r"\b(lvb|shg|khw|ggz_verblijf|ouder_kind|jeugd_ggz|jonge_moeder)\b")


def _api(server, username: str) -> httpx.Client:  # type: ignore[no-untyped-def]
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", data={"username": username, "password": server.passwords[username]}
    ).json()["access_token"]
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _proposals_for_two_providers(server) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Two proposals of youths with LVB, to groups of two different providers: (provider A, its
    proposal, provider B's proposal)."""
    coordinator = _api(server, "coordinator")
    chosen: dict[int, int] = {}
    for number in range(1, 6):
        body = referral_body(
            f"TW-WOORD-{number}", needs=["lvb"], care_forms=["woongroep", "behandelgroep", "gezinshuis"], urgency=4
        )
        referral = coordinator.post("/referrals", json=body)
        assert referral.status_code == 201, referral.text
        options = coordinator.get(f"/referrals/{referral.json()['id']}/options").json()["options"]
        option = next((o for o in options if o["provider_id"] not in chosen and o["free_places"] > 0), None)
        if option is None:
            continue
        sent = coordinator.post(f"/referrals/{referral.json()['id']}/proposals", json={"group_id": option["group_id"]})
        assert sent.status_code == 201, sent.text
        chosen[option["provider_id"]] = sent.json()["id"]
        if len(chosen) == 2:
            break
    assert len(chosen) == 2, "the demo has free places at two providers for this youth"
    (provider_a, proposal_a), (_provider_b, proposal_b) = chosen.items()
    return provider_a, proposal_a, proposal_b


def _words_and_numbers(page, screen: str, *, codes_allowed: bool = False) -> None:  # type: ignore[no-untyped-def]
    """``codes_allowed``: a screen that manages codes on purpose (the region's decline reasons
    have stable codes that reports count by)."""
    text = page.locator("main").inner_text()
    assert not DECIMAL_POINT.findall(text), f"{screen}: a decimal point: {DECIMAL_POINT.findall(text)[:5]}"
    if not codes_allowed:
        assert not SNAKE_CASE.findall(text), f"{screen}: codes shown: {SNAKE_CASE.findall(text)[:5]}"
    assert not RAW_CODES.findall(text), f"{screen}: codes shown: {RAW_CODES.findall(text)[:5]}"
    assert "null" not in text and "undefined" not in text and "NaN" not in text, screen


def test_the_admin_acting_for_one_provider_sees_only_its_cards_and_their_history(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    provider_a, proposal_a, proposal_b = _proposals_for_two_providers(demo_server)
    admin = people("admin", already_logged_in=True)
    page = admin.page
    page.goto(demo_server.app_url("aanbieder"))
    page.get_by_label("Aanbieder").select_option(str(provider_a))
    with page.expect_response(lambda r: "/api/v1/proposals?" in r.url) as listed:
        page.get_by_role("button", name="Tonen").click()
    # The server answers for provider A only, and the screen shows provider A's card only.
    assert f"provider_id={provider_a}" in listed.value.url
    assert {p["provider_id"] for p in listed.value.json()} == {provider_a}
    card = page.locator(f"#inkomend .proposal-card[data-proposal-id='{proposal_a}']")
    expect(card).to_be_visible()
    expect(page.locator(f"#inkomend [data-proposal-id='{proposal_b}']")).to_have_count(0)
    # What the provider needs to decide, in words: gender and age, needs, urgency, whom to ask.
    expect(card).to_contain_text("Jongen van")
    expect(card).to_contain_text("LVB (licht verstandelijke beperking)")
    expect(card).to_contain_text("4 van 5")
    expect(card).to_contain_text("Voorgesteld door coordinator")
    expect(card).to_contain_text("Coördinatiepunt Jeugdhulp Twente")
    _words_and_numbers(page, "aanbieder (beheerder)")
    card.scroll_into_view_if_needed()
    admin.shot("aanbieder-voorstel", "desktop")

    # Declined, the proposal stays below as history, with the answer and when.
    card.get_by_text("Afwijzen met reden").click()
    card.get_by_label("Reden", exact=True).select_option("groepsdynamiek")
    card.get_by_role("button", name="Afwijzen").click()
    answered = page.locator(f"#beantwoorde-voorstellen [data-answered-proposal-id='{proposal_a}']")
    expect(answered).to_contain_text("Afgewezen: Groepsdynamiek laat het nu niet toe")
    expect(answered).to_contain_text(re.compile(r"op \d{2}-\d{2}-\d{4} \d{2}:\d{2} door admin"))
    expect(page.locator(f"#inkomend .proposal-card[data-proposal-id='{proposal_a}']")).to_have_count(0)
    expect(page.locator(f"#inkomend [data-answered-proposal-id='{proposal_b}']")).to_have_count(0)
    # The list is drawn again when a live change comes in (the decline's own notice): scroll
    # the element that is there at that moment, once it stays.
    page.wait_for_timeout(300)
    answered.evaluate("e => e.scrollIntoView({block: 'center'})")
    admin.shot("aanbieder-voorstellen-geschiedenis", "desktop")
    phone = people("admin", phone=True, already_logged_in=True)
    phone.page.goto(demo_server.app_url("aanbieder"))
    phone.page.get_by_label("Aanbieder").select_option(str(provider_a))
    phone.page.get_by_role("button", name="Tonen").click()
    expect(phone.page.locator(f"#beantwoorde-voorstellen [data-answered-proposal-id='{proposal_a}']")).to_be_visible()
    phone.page.locator("#inkomend").scroll_into_view_if_needed()
    phone.shot("aanbieder-voorstellen-geschiedenis", "phone")


def test_main_screens_show_labels_and_dutch_numbers(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    coordinator = people("coordinator", already_logged_in=True)
    page = coordinator.page
    for route, ready in (
        ("regio", "#groepen-tabel tbody tr, table tbody tr"),
        ("wachtlijst", "table tbody tr"),
        ("rapportages", "table tbody tr"),
        ("bezetting", "main table"),
        ("instellingen", "form fieldset"),
    ):
        page.goto(demo_server.app_url(route))
        expect(page.locator(ready).first).to_be_attached(timeout=10_000)
        expect(page.locator("main .loading")).to_have_count(0)
        _words_and_numbers(page, route, codes_allowed=route == "instellingen")
    # A youth's options: distances and scores.
    page.goto(demo_server.app_url("wachtlijst"))
    page.locator("table tbody tr a", has_text="Opties").first.click()
    expect(page.locator(".option, .options li").first).to_be_visible(timeout=10_000)
    _words_and_numbers(page, "opties")

    crisis = people("crisis", already_logged_in=True).page
    crisis.get_by_label("Leeftijd").fill("14")
    crisis.get_by_label("Gemeente van de jeugdige").select_option(label="Enschede")
    crisis.get_by_role("button", name="Zoeken", exact=True).click()
    expect(crisis.locator("#crisis-resultaten li.result").first).to_be_visible()
    expect(crisis.locator("#crisis-resultaten .distance").first).to_have_text(re.compile(r"^\d+(,\d)? km$"))
    expect(crisis.get_by_label("Crisiscode")).to_have_value(re.compile(r"^CR-\d{4}-\d{4}-[A-Z2-9]{3}$"))
    _words_and_numbers(crisis, "crisis")

    planner = people("aanbieder1", already_logged_in=True).page
    expect(planner.locator(".group-card").first).to_be_visible()
    _words_and_numbers(planner, "aanbieder")
