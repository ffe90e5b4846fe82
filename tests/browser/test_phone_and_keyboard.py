"""Phone width and keyboard: every main screen fits a 390 px wide phone, and the main paths work
with the keyboard alone (labels, focus order, visible focus)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    # Nothing wider than the phone: no sideways scrolling of the page itself (tables scroll
    # inside their own box).
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"pagina is {width}px breed op een telefoon van 390px"


def test_main_screens_at_phone_width(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    visitor = people("coordinator", phone=True, login=False)
    visitor.page.goto(demo_server.url + "/")
    expect(visitor.page.get_by_label("Gebruikersnaam")).to_be_visible()
    visitor.shot("inloggen", "phone")
    coordinator = visitor.login()
    page = coordinator.page
    expect(page.locator("#regio-matrix")).to_be_visible()
    _fits(page)
    coordinator.shot("regio", "phone")
    page.get_by_role("button", name="Kaart").click()
    expect(page.locator("#regio-kaart .municipality-outline").first).to_be_visible()
    expect(page.locator("#regio-kaart .group-cluster").first).to_be_visible()
    _fits(page)
    coordinator.shot("regio-kaart", "phone")
    # By touch: a tap on a cluster zooms in, a tap on a group opens its details.
    page.locator("#regio-kaart .group-cluster").first.tap()
    marker = page.locator("#regio-kaart .group-marker").first
    marker.wait_for()
    marker.tap()
    expect(page.locator("#regio-kaart .group-details h3")).to_be_visible()
    for route, ready, name in [
        ("wachtlijst", "#wachtlijst-tabel tbody tr", "wachtlijst"),
        ("matching", "#voorstellen-tabel tbody tr", "matching"),
        ("crisis", "#crisis-leeftijd", "crisis-zoeken"),
    ]:
        page.goto(demo_server.app_url(route))
        expect(page.locator(ready).first).to_be_visible()
        _fits(page)
        coordinator.shot(name, "phone")
    # The crisis screen's controls are large enough to tap.
    for control in [
        page.get_by_role("button", name="Zoeken", exact=True),
        page.get_by_label("Leeftijd"),
        page.get_by_label("Gemeente van de jeugdige"),
    ]:
        box = control.bounding_box()
        assert box is not None and box["height"] >= 44, f"te klein om aan te tikken: {box}"


def test_keyboard_only_login_and_report_free_places(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    person = people("aanbieder2", login=False)
    page = person.page
    page.goto(demo_server.url + "/")
    expect(page.get_by_label("Gebruikersnaam")).to_be_focused()
    page.keyboard.type("aanbieder2")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Wachtwoord")).to_be_focused()
    page.keyboard.type(demo_server.passwords["aanbieder2"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mijn groepen")

    # Tab from the top reaches the first group's controls in reading order.
    # (a group whose free places follow the occupancy feed takes no typed figure)
    card = page.locator(".group-card:not(.from-feed)").first
    number = card.get_by_label("Vrije plaatsen")
    expect(number).to_be_visible()
    before = int(number.input_value())
    capacity = int(number.get_attribute("max") or "0")
    number.focus()
    step = "ArrowUp" if before < capacity else "ArrowDown"
    expected = before + 1 if before < capacity else before - 1
    page.keyboard.press(step)
    with page.expect_response(lambda r: "/availability" in r.url and r.request.method == "PUT") as saved:
        page.keyboard.press("Enter")
    assert saved.value.status == 200
    expect(number).to_have_value(str(expected))
    # The focus ring is visible on the focused control.
    page.keyboard.press("Shift+Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "geen zichtbare focus"
    # Saving is announced to screen readers.
    expect(page.locator("#announcer")).to_contain_text(re.compile("opgeslagen"))


def test_a_map_marker_opens_by_keyboard_with_the_details_of_the_table(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    person = people("coordinator", already_logged_in=True)
    page = person.page
    page.goto(demo_server.app_url("regio"))
    expect(page.locator("#groepen-tabel tbody tr").first).to_be_visible()
    kaart = page.get_by_role("button", name="Kaart")
    kaart.click()
    expect(page.locator("#regio-kaart .group-cluster").first).to_be_visible()
    page.wait_for_timeout(300)  # the outlines are drawn
    person.shot("regio-kaart", "desktop")

    def tab_to(selector: str) -> str:
        """Tab from the view buttons until a map item of this kind has the focus: its text."""
        kaart.focus()
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return str(page.evaluate("document.activeElement.textContent"))
        raise AssertionError(f"Tab bereikt geen {selector} op de kaart")

    # A cluster is a button: Enter zooms in on its groups.
    assert "Cluster van" in tab_to("#regio-kaart .group-cluster")
    page.keyboard.press("Enter")
    expect(page.locator("#regio-kaart .group-marker").first).to_be_visible()
    page.wait_for_timeout(400)  # the zoom animation ends; markers stop moving
    # A group is a button: Enter opens its details, with the focus in them.
    name = tab_to("#regio-kaart .group-marker")
    page.keyboard.press("Enter")
    details = page.locator("#regio-kaart .group-details")
    expect(details).to_be_focused()
    group_id = details.get_attribute("data-group-id")
    heading = details.locator("h3").inner_text()
    assert heading in name  # the marker's own name for screen readers
    # The same figures as the group's row in the table under the map.
    row = page.locator(f"#groepen-tabel tr[data-group-id='{group_id}']")
    expect(details.locator("dd").nth(3)).to_have_text(row.locator(".free-places").inner_text())
    expect(details).to_contain_text(row.locator("td").nth(0).inner_text())  # the provider
    # Escape closes the details and gives the focus back to the marker.
    page.keyboard.press("Escape")
    expect(details).to_have_count(0)
    assert page.evaluate("document.activeElement.matches('#regio-kaart .group-marker')")
