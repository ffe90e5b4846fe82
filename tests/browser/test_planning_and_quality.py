"""Contract manager: the crisis capacity planner for a crisis group, a what-if target that
changes the recommended number of places and its cost; and the data quality report with its
chart, table and CSV."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_planner_target_changes_the_advice_and_its_cost(people) -> None:  # type: ignore[no-untyped-def]
    manager = people("viewer")
    page = manager.page
    page.get_by_role("link", name="Crisiscapaciteit").click()
    expect(page.get_by_role("heading", name="Crisiscapaciteit plannen")).to_be_visible()
    advice = page.locator("#planner-advies-plaatsen .stat-value")
    cost = page.locator("#planner-kosten .stat-value")
    expect(advice).to_be_visible()
    # A crisis group of its own.
    pools = page.get_by_label("Voor")
    pools.select_option(pools.locator("option", has_text="Groep:").first.get_attribute("value"))
    expect(page.get_by_label("Doel: kans op geen plek (%)")).to_have_value("5")
    expect(page.locator("svg.planner-chart")).to_be_visible()
    expect(page.locator("#planner-tabel tbody tr[aria-current='true']")).to_contain_text("advies")
    before_places, before_cost = int(advice.inner_text()), cost.inner_text()
    manager.shot("crisiscapaciteit", "desktop")

    # What if the region accepts only 0.1%: more places, more availability funding.
    page.get_by_label("Doel: kans op geen plek (%)").fill("0.1")
    expect(page.locator("#planner-doel-hint")).to_contain_text("Wat-als")
    expect(advice).not_to_have_text(str(before_places))
    assert int(advice.inner_text()) > before_places
    expect(cost).not_to_have_text(before_cost)
    expect(page.locator("#planner-simulatie")).to_contain_text("simulatie")

    # Back to the region's own target.
    page.get_by_role("button", name="Regio-instelling").click()
    expect(advice).to_have_text(str(before_places))

    phone = people("viewer", phone=True, already_logged_in=True)
    phone.page.goto(page.url)
    expect(phone.page.locator("#planner-advies-plaatsen")).to_be_visible()
    phone.shot("crisiscapaciteit", "phone")


def test_data_quality_report_with_chart_and_csv(people) -> None:  # type: ignore[no-untyped-def]
    coordinator = people("coordinator")
    page = coordinator.page
    page.get_by_role("link", name="Datakwaliteit").click()
    expect(page.locator("#dq-regel")).to_contain_text("2 dagen achter elkaar")
    expect(page.locator("#dq-tabel tbody tr").first).to_be_visible()
    expect(page.locator("svg.funding-chart")).to_be_visible()
    coordinator.shot("datakwaliteit", "desktop")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    assert re.match(r"datakwaliteit-JZ14-.*\.csv$", info.value.suggested_filename)
    first_group = page.locator("#dq-tabel tbody tr th").first.inner_text()
    assert first_group in info.value.path().read_text(encoding="utf-8-sig")
    page.get_by_role("button", name="Per aanbieder").click()
    expect(page.locator("#dq-tabel caption")).to_have_text("Datakwaliteit per aanbieder")
    phone = people("coordinator", phone=True, already_logged_in=True)
    phone.page.goto(page.url)
    expect(phone.page.locator("#dq-tabel tbody tr").first).to_be_visible()
    phone.shot("datakwaliteit", "phone")
