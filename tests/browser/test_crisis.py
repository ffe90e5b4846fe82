"""Crisis team: search at phone width, hold with one tap, countdown, confirm; the other crisis
worker's screen follows live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _search(page, age: str = "14", municipality: str = "Enschede") -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Leeftijd").fill(age)
    page.get_by_label("Gemeente van de jeugdige").select_option(label=municipality)
    page.get_by_role("button", name="Zoeken", exact=True).click()
    expect(page.locator("#crisis-resultaten li.result").first).to_be_visible()


def _seconds(text: str) -> int:
    """A countdown ("119:56" or "1:59:56") in seconds."""
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    return total


def test_search_hold_confirm_and_the_other_worker_sees_it(people) -> None:  # type: ignore[no-untyped-def]
    worker = people("crisis", phone=True)
    colleague = people("crisis2")
    page = worker.page
    expect(page).to_have_url(re.compile("#/crisis$"))

    # Validation as you go: no age, no place -> Dutch messages next to the fields.
    page.get_by_role("button", name="Zoeken", exact=True).click()
    expect(page.locator("#crisis-leeftijd-fout")).to_have_text("Vul de leeftijd in (0 tot en met 27 jaar).")
    expect(page.locator("#crisis-gemeente-fout")).to_have_text("Kies een gemeente of vul een postcode in.")
    expect(page.get_by_label("Leeftijd")).to_be_focused()

    # A half-filled search survives a reload of the phone's tab (the server keeps the draft).
    def kept_all(response) -> bool:  # type: ignore[no-untyped-def]
        body = response.request.post_data or ""
        return "/drafts/crisis-zoeken" in response.url and '"gender":"meisje"' in body and '"place":""' not in body

    with page.expect_response(kept_all):
        page.get_by_label("Leeftijd").fill("15")
        page.locator("#crisis-geslacht").select_option("meisje")
        page.get_by_label("Gemeente van de jeugdige").select_option(label="Hengelo")
    page.reload()
    expect(page.get_by_label("Leeftijd")).to_have_value("15")
    expect(page.locator("#crisis-geslacht")).to_have_value("meisje")
    expect(page.locator("#crisis-gemeente option:checked")).to_have_text("Hengelo")

    _search(page)
    _search(colleague.page)
    distances = [
        float(t.replace(" km", "").replace(",", "."))  # Dutch notation: 11,5 km
        for t in page.locator("#crisis-resultaten li.result .distance").all_inner_texts()
    ]
    tiers = page.locator("#crisis-resultaten li.result .meta").all_inner_texts()
    own = [d for d, t in zip(distances, tiers, strict=True) if "eigen regio" in t]
    assert own == sorted(own), "resultaten in de eigen regio staan niet dichtstbijzijnde eerst"

    first = page.locator("#crisis-resultaten li.result").first
    group_id = first.get_attribute("data-group-id")
    group_name = first.locator("h3").inner_text()
    free_before = int(first.locator(".free-count").inner_text())
    theirs = colleague.page.locator(f"#crisis-resultaten li[data-group-id='{group_id}'] .free-count")
    expect(theirs).to_have_text(str(free_before))

    # Large targets at phone width.
    box = first.get_by_role("button", name=re.compile("vasthouden")).bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    first.get_by_role("button", name=re.compile("vasthouden")).click()

    held = page.locator("#mijn-vasthoudingen .hold-card").first
    expect(held).to_contain_text(group_name)
    timer = held.get_by_role("timer")
    # Two hours as 1:59:56 (hours:minutes:seconds), not 119:56.
    expect(timer).to_have_text(re.compile(r"^1:[0-5]\d:[0-5]\d$"))
    first_reading = timer.inner_text()
    # The countdown runs: it shows a different time a moment later.
    expect(timer).not_to_have_text(first_reading, timeout=3_000)

    # The colleague sees one place fewer and the team's hold, without reloading.
    expect(theirs).to_have_text(str(free_before - 1), timeout=2_000)
    team_row = colleague.page.locator("#team-vasthoudingen li", has_text=group_name)
    expect(team_row).to_have_count(1, timeout=2_000)
    page.evaluate("window.scrollTo(0, 0)")
    worker.shot("crisis", "phone")
    colleague.shot("crisis", "desktop")

    held.get_by_role("button", name=re.compile("Bevestigen")).click()
    expect(page.locator("#mijn-vasthoudingen")).to_contain_text("geplaatst")
    # Confirmed: the hold disappears from the other crisis worker's screen.
    expect(team_row).to_have_count(0, timeout=2_000)


def test_release_gives_the_place_back(people) -> None:  # type: ignore[no-untyped-def]
    page = people("crisis2", already_logged_in=True).page
    _search(page, municipality="Almelo")
    first = page.locator("#crisis-resultaten li.result").first
    free_before = int(first.locator(".free-count").inner_text())
    group_id = first.get_attribute("data-group-id")
    first.get_by_role("button", name=re.compile("vasthouden")).click()
    card = page.locator("#mijn-vasthoudingen .hold-card").first
    expect(card.get_by_role("timer")).to_be_visible()
    result = page.locator(f"#crisis-resultaten li[data-group-id='{group_id}'] .free-count")
    expect(result).to_have_text(str(free_before - 1))
    # The phone reloads the tab: the server remembers the hold, so the card, its countdown and
    # both actions come back.
    expires = card.get_by_role("timer").inner_text()
    page.reload()
    card = page.locator("#mijn-vasthoudingen .hold-card").first
    timer = card.get_by_role("timer")
    expect(timer).to_have_text(re.compile(r"^\d{1,3}(:\d\d){1,2}$"))
    assert abs(_seconds(timer.inner_text()) - _seconds(expires)) < 30
    expect(timer).not_to_have_text(timer.inner_text(), timeout=3_000)
    expect(card.get_by_role("button", name=re.compile("Bevestigen"))).to_be_visible()
    card.get_by_role("button", name="Vrijgeven").click()
    expect(page.locator("#mijn-vasthoudingen")).to_contain_text("vrijgegeven")
    _search(page, municipality="Almelo")
    expect(result).to_have_text(str(free_before))


def test_a_name_as_crisis_code_is_refused_in_dutch(people) -> None:  # type: ignore[no-untyped-def]
    page = people("crisis", already_logged_in=True).page
    _search(page, municipality="Hengelo")
    page.get_by_label("Crisiscode").fill("Jan Jansen")
    page.locator("#crisis-resultaten li.result").first.get_by_role("button", name=re.compile("vasthouden")).click()
    expect(page.locator("#crisis-code-fout")).to_contain_text("geen naam")
    expect(page.get_by_label("Crisiscode")).to_have_value("Jan Jansen")
    expect(page.locator("#mijn-vasthoudingen")).to_be_hidden()
