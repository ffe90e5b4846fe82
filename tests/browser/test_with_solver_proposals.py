"""Coordinator runs the batch matching with progress and result; the proposals reach the
provider, who accepts one and records the arrival; the coordinator sees the status change
live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_batch_run_proposals_and_provider_accepts(people) -> None:  # type: ignore[no-untyped-def]
    coordinator = people("coordinator", already_logged_in=True)
    page = coordinator.page
    page.get_by_role("link", name="Matching").click()
    page.get_by_label("Rekentijd hoogstens").select_option("5")
    page.get_by_label("Voorstellen meteen versturen").check()
    page.get_by_role("button", name="Batchrun starten").click()
    # Progress while it runs (a bar against the time limit), then the result.
    expect(page.get_by_role("progressbar", name="Voortgang van de batchrun")).to_be_visible()
    result = page.locator("#run-resultaat")
    expect(result.locator("#toewijzingen")).to_be_visible(timeout=30_000)
    expect(page.locator("#run-voortgang")).to_contain_text("Klaar in")
    expect(result).to_contain_text("Geplaatst")
    expect(result.locator("#toewijzingen tbody tr").first).to_be_visible()
    expect(result).not_to_contain_text("null")
    # The unplaced youths are listed with the reasons the solver gives.
    if result.locator("#niet-geplaatst > li").count():
        expect(result.locator("#niet-geplaatst > li").first.locator("li").first).not_to_be_empty()
    open_rows = page.locator("#voorstellen-tabel tbody tr", has_text="Openstaand")
    expect(open_rows.first).to_be_visible()
    coordinator.shot("matching", "desktop")

    planner = people("aanbieder1", already_logged_in=True)
    incoming = planner.page.locator("#inkomend .proposal-card")
    expect(incoming.first).to_be_visible()
    planner.shot("aanbieder-voorstellen", "desktop")
    card = incoming.first
    proposal_id = card.get_attribute("data-proposal-id")
    # Declining needs a reason: said in Dutch, nothing sent.
    card.get_by_text("Afwijzen met reden").click()
    card.get_by_role("button", name="Afwijzen").click()
    expect(card.get_by_role("alert")).to_have_text("Kies een reden om af te wijzen.")
    # Accepting asks when the youth is expected (today by default); the place stays held.
    expect(card.get_by_label("Verwachte aankomst")).to_be_visible()
    card.get_by_role("button", name="Accepteren").click()
    expect(planner.page.locator(f"#inkomend [data-proposal-id='{proposal_id}']")).to_have_count(0)
    # The expected arrival is a card of its own: "Aangekomen" starts care with the provider's own
    # stay reference.
    expected = planner.page.locator("#inkomend .placement-card").first
    expect(expected).to_contain_text("Aankomst verwacht")
    placement_id = expected.get_attribute("data-placement-id")
    expected.get_by_label("Eigen verblijfsreferentie (optioneel)").fill("LINDE-2026-1")
    expected.get_by_role("button", name="Aangekomen").click()
    expect(planner.page.locator(f"#inkomend [data-placement-id='{placement_id}']")).to_have_count(0)

    row = page.locator(f"#voorstellen-tabel tr[data-proposal-id='{proposal_id}']")
    expect(row).to_contain_text("Geaccepteerd", timeout=2_000)
    expect(row).to_contain_text(re.compile(r"\S"))
