"""Coordinator: a referral form that validates as you type, the ranked options with every score
component as a bar, and "why not" for any group. Contract manager: the post-calculation report
with charts and the CSV download."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_referral_form_validates_and_shows_ranked_options(people) -> None:  # type: ignore[no-untyped-def]
    coordinator = people("coordinator")
    page = coordinator.page
    page.get_by_role("link", name="Wachtlijst").click()
    expect(page.get_by_role("heading", name="Nieuwe verwijzing")).to_be_visible()
    expect(page.locator("#wachtlijst-tabel tbody tr").first).to_be_visible()

    # Validates as you type, in Dutch, next to the field.
    reference = page.get_by_label("Referentie (pseudoniem)")
    reference.fill("123456789")
    expect(page.locator("#ref-reference-fout")).to_contain_text("lijkt op een BSN")
    expect(reference).to_have_attribute("aria-invalid", "true")
    reference.fill("TW-BROWSER-01")
    expect(page.locator("#ref-reference-fout")).to_have_text("")
    page.get_by_label("Postcode thuis (4 cijfers)").fill("75a")
    expect(page.locator("#ref-home_postcode-fout")).to_contain_text("precies 4 cijfers")
    page.get_by_label("Postcode thuis (4 cijfers)").fill("")
    coordinator.shot("wachtlijst", "desktop")

    # Submitting with gaps names each one and keeps what was typed.
    page.get_by_role("button", name="Verwijzing opslaan en opties tonen").click()
    expect(page.locator("#ref-birth_year-fout")).to_have_text("Vul het geboortejaar in.")
    expect(page.locator("#ref-care_forms-fout")).to_have_text("Kies minstens één zorgvorm.")
    expect(reference).to_have_value("TW-BROWSER-01")

    page.get_by_label("Geboortejaar").fill("2011")
    page.get_by_label("Geboortemaand").select_option(label="maart")
    page.get_by_label("Geslacht").select_option(label="Meisje")
    page.get_by_label("of woongemeente").select_option(label="Hengelo")
    page.get_by_label("Woongroep").check()
    page.get_by_label("Behandelgroep").check()
    page.get_by_label("Benodigde verblijfsintensiteit").select_option("E")
    page.get_by_label("Trauma").check()
    page.get_by_role("button", name="Verwijzing opslaan en opties tonen").click()

    expect(page).to_have_url(re.compile(r"#/wachtlijst/\d+$"))
    expect(page.locator(".referral-summary")).to_contain_text("TW-BROWSER-01")
    options = page.locator("#opties li.option")
    expect(options.first).to_be_visible()
    # Each option shows every score component as a bar with its label.
    first = options.first
    expect(first.get_by_role("meter")).to_have_count(4)
    expect(first.get_by_role("meter", name=re.compile("Afstand tot thuis"))).to_be_visible()
    scores = [
        float(s.replace("score ", "").replace(",", "."))
        for s in page.locator("#opties .option .score").all_inner_texts()
    ]
    assert scores == sorted(scores, reverse=True), "opties staan niet op volgorde van score"
    coordinator.shot("opties", "desktop")

    # "Why not" for a group that cannot take her: a crisis group fails on care form.
    why = page.get_by_label("Groep", exact=True)
    crisis_option = why.locator("option", has_text="Crisisverblijf").first
    why.select_option(crisis_option.get_attribute("value"))
    page.get_by_role("button", name="Waarom (niet)?").click()
    expect(page.locator("#waarom-resultaat")).to_contain_text("Deze groep past niet, omdat:")
    expect(page.locator("#waarom-resultaat .failed-rules")).to_contain_text("Zorgvorm past niet bij de verwijzing")

    phone = people("coordinator", phone=True, already_logged_in=True)
    phone.page.goto(page.url)
    expect(phone.page.locator("#opties li.option").first).to_be_visible()
    phone.shot("opties", "phone")


def test_report_with_charts_and_csv_download(people) -> None:  # type: ignore[no-untyped-def]
    manager = people("viewer")
    page = manager.page
    expect(page).to_have_url(re.compile("#/rapportages$"))
    rows = page.locator("#rapport-tabel tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("svg.funding-chart")).to_be_visible()
    expect(page.locator("#rapport-tabel").get_by_role("meter").first).to_be_visible()
    manager.shot("rapportages", "desktop")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("nacalculatie-") and download.suggested_filename.endswith(".csv")
    text = download.path().read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ","))
    assert len(table) > 2
    first_group = rows.first.locator("th").inner_text().replace(" onder 50%", "").strip()
    assert first_group in text, "de CSV bevat niet dezelfde groepen als het scherm"

    with page.expect_download() as info:
        page.get_by_role("button", name="Download Excel").click()
    assert info.value.suggested_filename.endswith(".xlsx")

    # Per provider, and one group's weekly chart.
    page.get_by_role("button", name="Per aanbieder").click()
    expect(page.locator("#rapport-tabel caption")).to_have_text("Nacalculatie per aanbieder")
    page.get_by_role("button", name="Per groep").click()
    rows.first.get_by_role("button", name=re.compile("Grafiek")).click()
    expect(page.locator("#groep-grafiek img.group-chart")).to_be_visible()

    phone = people("viewer", phone=True, already_logged_in=True)
    expect(phone.page.locator("#rapport-tabel tbody tr").first).to_be_visible()
    phone.shot("rapportages", "phone")


def test_indicators_dashboard_charts_have_titles_and_tables(people) -> None:  # type: ignore[no-untyped-def]
    manager = people("viewer")
    page = manager.page
    page.get_by_role("link", name="Stuurinformatie").click()
    expect(page.locator("#ind-kerncijfers")).to_be_visible()
    occupancy = page.locator("#ind-bezetting")
    chart = occupancy.get_by_role("img", name="Bezettingsgraad per groep")
    expect(chart).to_be_visible()
    # Every chart is an image with a title and a description, and the table of its figures.
    # (A chart without any figure in the period is a sentence instead, still with its table.)
    figures = page.locator("figure.indicator-figure")
    assert figures.count() >= 5
    for figure in figures.all():
        assert figure.locator("details table").count() == 1
    charts = page.locator("figure.indicator-figure svg[role=img]")
    assert charts.count() >= 3
    for chart_svg in charts.all():
        labelled = (chart_svg.get_attribute("aria-labelledby") or "").split()
        assert len(labelled) == 2, labelled
        assert (chart_svg.locator(f"#{labelled[0]}").text_content() or "").strip()
        assert (chart_svg.locator(f"#{labelled[1]}").text_content() or "").strip()
    # The crisis team's searches of the demo year, per month in the crisis section.
    crisis = page.locator("#ind-crisis")
    searches = crisis.locator("[data-stat=zoekacties] .stat-value")
    expect(searches).to_have_text(re.compile(r"^\d{2,}$"))
    expect(crisis.locator("table thead th", has_text="Zoekacties")).to_have_count(1)
    groups = occupancy.locator("table", has=page.locator("caption", has_text="Bezetting per groep")).locator("tbody tr")
    all_groups = groups.count()
    assert all_groups > 1

    # A filter narrows every section (here the occupancy of crisis groups only).
    page.get_by_label("Zorgvorm", exact=True).select_option(label="Crisisverblijf")
    expect(groups).not_to_have_count(all_groups)
    # (The table is empty for a moment while the narrowed figures load.)
    expect(groups.first.locator("td:nth-child(3)")).to_have_text("Crisisverblijf")
    forms = {text.strip() for text in groups.locator("td:nth-child(3)").all_text_contents()}
    assert forms == {"Crisisverblijf"}, forms

    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    assert info.value.suggested_filename.startswith("stuurinformatie-JZ14-")


# Every column of a table box is in view: the box does not scroll sideways.
NO_SIDEWAYS = "box => box.scrollWidth <= box.clientWidth + 1"


def test_at_desktop_width_every_column_and_action_is_in_view(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    """At 1280 px (and 1920 px) the waiting list shows its "Opties" buttons and the
    post-calculation table its chart column without any sideways scrolling, and the top bar of
    the role with the longest menu fits."""
    person = people("admin", already_logged_in=True)
    page = person.page
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 860})
        page.goto(demo_server.app_url("wachtlijst"))
        options = page.locator("#wachtlijst-tabel tbody tr a.button", has_text="Opties")
        expect(options.first).to_be_visible()
        assert page.locator("#wachtlijst-tabel").locator("xpath=..").evaluate(NO_SIDEWAYS)
        for index in range(min(options.count(), 3)):
            box = options.nth(index).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
        for heading in ("Referentie", "Leeftijd", "Intensiteit", "Urgentie", "Status"):
            expect(page.locator("#wachtlijst-tabel thead th", has_text=heading)).to_be_visible()

        page.goto(demo_server.app_url("rapportages"))
        charts = page.locator("#rapport-tabel tbody tr").first.get_by_role("button", name=re.compile("^Grafiek"))
        expect(charts).to_be_visible(timeout=10_000)
        assert page.locator("#rapport-tabel").locator("xpath=..").evaluate(NO_SIDEWAYS)
        box = charts.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, (width, box)
        for heading in ("Bezetting", "Lege dagen", "Opnamestop", "Beschikbaarheid", "P×Q"):
            cell = page.locator("#rapport-tabel thead th", has_text=heading)
            expect(cell).to_be_visible()
            right = cell.bounding_box()
            assert right is not None and right["x"] + right["width"] <= width, (heading, width, right)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # The top bar: eleven menu items, the live status and logging out, inside the width.
        assert page.locator("#topbar").evaluate(NO_SIDEWAYS)
        logout = page.get_by_role("button", name="Uitloggen").bounding_box()
        assert logout is not None and logout["x"] + logout["width"] <= width
