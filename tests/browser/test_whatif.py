"""Contract manager: a what-if simulation that closes a group, with its progress bar and the
table of the baseline against the change; a second, longer run stopped with "Stoppen"; the list
of earlier runs shows both, and "Bekijken" opens the first one again without a new run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, SCREENSHOTS

pytestmark = pytest.mark.browser


def test_close_a_group_then_stop_a_second_run(people) -> None:  # type: ignore[no-untyped-def]
    manager = people("viewer")
    page = manager.page
    page.get_by_role("link", name="Wat-als").click()
    expect(page.get_by_role("heading", name="Wat-als-simulatie")).to_be_visible()
    page.get_by_label("Wijziging", exact=True).select_option("close")
    group = page.locator("#wat-als-groep")
    expect(group.locator("option").first).to_be_attached()
    closed = group.locator("option").first.inner_text().split(" (")[0]
    page.get_by_label("Herhalingen").fill("3")
    page.get_by_role("button", name="Simulatie starten").click()
    bar = page.locator("#wat-als-voortgang")
    expect(bar).to_be_visible()
    expect(page.locator("#wat-als-status")).to_contain_text(closed)
    table = page.locator("#wat-als-tabel")
    expect(table).to_be_visible(timeout=60_000)
    assert bar.evaluate("b => b.value") == 1
    expect(page.locator("#wat-als-status")).to_contain_text(f"Klaar: {closed} gesloten")
    expect(table.locator("tbody tr")).to_have_count(8)
    expect(table).to_contain_text("Mediane wachttijd")
    expect(table.locator("tbody tr").first).to_contain_text("dagen")
    expect(page.locator("svg.whatif-chart")).to_be_visible()
    page.get_by_label("Grafiek van").select_option("mean_distance_km")
    expect(page.locator("svg.whatif-chart")).to_have_attribute(
        "aria-label", re.compile(r"^Staafdiagram van gemiddelde afstand")
    )
    page.screenshot(path=str(SCREENSHOTS / "whatif-1280.png"), full_page=True)
    # The finished run heads the list of earlier runs.
    runs = page.locator("#wat-als-eerdere tbody tr")
    expect(runs.first).to_contain_text(f"{closed} gesloten")
    expect(runs.first).to_contain_text("Klaar")
    expect(runs.first).to_contain_text("Geplaatst:")
    first_run = runs.first.get_attribute("data-run")

    # A long run (batches, many repetitions) stopped halfway.
    page.get_by_label("Wijziging", exact=True).select_option("places")
    page.get_by_label("Plaatsen erbij (positief) of eraf (negatief)").fill("3")
    page.get_by_label("Matchwijze in de simulatie").select_option("batch")
    page.get_by_label("Herhalingen").fill("30")
    page.get_by_role("button", name="Simulatie starten").click()
    stop = page.get_by_role("button", name="Stoppen")
    expect(stop).to_be_visible()
    stop.click()
    expect(page.locator("#wat-als-status")).to_contain_text("Gestopt", timeout=10_000)
    expect(table).to_have_count(0)
    expect(runs.first).to_contain_text("Gestopt")
    stopped_run = runs.first.get_attribute("data-run")
    listed = runs.count()

    # "Bekijken" opens the first run's result again; no new run is started.
    page.locator(f"#wat-als-eerdere tr[data-run='{first_run}']").get_by_role("button", name="Bekijken").click()
    expect(table).to_be_visible()
    expect(page.locator("#wat-als-status")).to_contain_text(f"Klaar: {closed} gesloten")
    expect(table.locator("tbody tr")).to_have_count(8)
    expect(page.get_by_role("heading", name="Uitkomst")).to_be_focused()
    expect(runs).to_have_count(listed)
    expect(runs.first).to_have_attribute("data-run", stopped_run or "")
    manager.shot("whatif-eerdere", "desktop")

    phone = people("viewer", phone=True, already_logged_in=True)
    phone.page.goto(page.url)
    expect(phone.page.locator("#wat-als-groep option").first).to_be_attached()
    phone.page.get_by_label("Herhalingen").fill("2")
    phone.page.get_by_role("button", name="Simulatie starten").click()
    expect(phone.page.locator("#wat-als-tabel")).to_be_visible(timeout=60_000)
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 2, f"wat-als is {width}px breed op een telefoon"
    phone.page.screenshot(path=str(SCREENSHOTS / "whatif-390.png"), full_page=True)
    phone_runs = phone.page.locator("#wat-als-eerdere tbody tr")
    expect(phone_runs).to_have_count(listed + 1)  # the phone's own run came in on top
    phone.page.locator(f"#wat-als-eerdere tr[data-run='{stopped_run}']").get_by_role("button", name="Bekijken").click()
    expect(phone.page.locator("#wat-als-status")).to_contain_text("Gestopt")
    expect(phone.page.locator("#wat-als-tabel")).to_have_count(0)
    phone_runs.first.scroll_into_view_if_needed()
    phone.shot("whatif-eerdere", "phone")


def test_the_result_has_no_serious_accessibility_violation(browser, demo_server) -> None:  # type: ignore[no-untyped-def]
    # The menu walk of test_accessibility.py sees the empty form; this checks the result too.
    from tests.browser.test_accessibility import _check, _context

    context = _context(browser, demo_server, "viewer")
    try:
        page = context.new_page()
        found: dict[str, object] = {}
        page.goto(demo_server.app_url("wat-als"))
        expect(page.locator("#wat-als-groep option").first).to_be_attached()
        page.get_by_label("Herhalingen").fill("2")
        page.get_by_role("button", name="Simulatie starten").click()
        expect(page.locator("#wat-als-tabel")).to_be_visible(timeout=60_000)
        for width, size in (("desktop", {"width": 1280, "height": 860}), ("telefoon", PHONE)):
            page.set_viewport_size(size)
            _check(page, f"wat-als uitkomst ({width})", found)
        assert not found, found
    finally:
        context.close()
