"""The contract register in the browser: a contract manager exports the register, adds a
provider with a group in Excel, checks and applies the file, and the coordinator sees the new
group live; a bad file is refused with every problem by sheet, row and column; a provider's
planner keeps a group's profile current and asks for places, which the region decides."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.factories import sheet_rows, workbook

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Care forms whose intensity has no ceiling below S, or no A–S at all.
NO_CEILING = {"driemilieu", "jeugdzorgplus", "gezinshuis", "pleegzorg"}


def _headers(server: Any, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/api/v1/auth/token", data={"username": username, "password": server.passwords[username]}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _append(rows: dict[str, list[list[Any]]], sheet: str, values: dict[str, Any]) -> int:
    """Append a row by column header; returns its row number as a spreadsheet counts."""
    header = rows[sheet][0]
    unknown = set(values) - set(header)
    assert not unknown, f"onbekende kolommen {unknown} in {sheet}"
    rows[sheet].append([values.get(h) for h in header])
    return len(rows[sheet])


def _export(server: Any, headers: dict[str, str]) -> bytes:
    response = httpx.get(f"{server.url}/api/v1/register/export?format=xlsx", headers=headers)
    response.raise_for_status()
    return response.content


def _first_of_last_month() -> date:
    return (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)


def _record_phases(page: Any) -> None:
    """Keep every text the import's progress line shows, however briefly."""
    page.evaluate(
        """() => {
          window.__phases = [];
          const box = document.querySelector('#import-voortgang');
          const note = () => { if (!box.hidden) window.__phases.push(box.querySelector('.phase').textContent); };
          const what = {subtree: true, childList: true, characterData: true, attributes: true};
          new MutationObserver(note).observe(box, what);
        }"""
    )


def test_contract_manager_adds_a_group_by_file_and_the_coordinator_sees_it_live(
    people, demo_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    coordinator = people("coordinator", already_logged_in=True)
    region = coordinator.page
    expect(region.locator("#groepen-tabel tbody tr").first).to_be_visible()
    region.evaluate("window.__sameLoad = true")

    manager = people("admin")
    page = manager.page
    page.get_by_role("link", name="Contractregister").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contractregister")
    expect(page.locator("#register-regio")).to_contain_text("JZ14")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV (zip)").click()
    assert csv_download.value.suggested_filename == "register-JZ14.zip"
    with page.expect_download() as xlsx_download:
        page.get_by_role("button", name="Download Excel").click()
    assert xlsx_download.value.suggested_filename == "register-JZ14.xlsx"
    exported = tmp_path / "export.xlsx"
    xlsx_download.value.save_as(exported)

    # In "Excel": a new provider with one location, one group and its contract.
    rows = sheet_rows(exported.read_bytes())
    assert "Woongroep Horizon" not in str(rows["groepen"])
    _append(
        rows,
        "aanbieders",
        {
            "AGB-code": "41888888",
            "Naam": "Stichting Nieuwe Horizon",
            "Telefoon 24 uur": "053-1234567",
            "E-mail": "info@nieuwehorizon.nl",
        },
    )
    _append(
        rows,
        "locaties",
        {
            "AGB-code": "41888888",
            "Locatiecode": "ENS",
            "Naam": "Huize Horizon",
            "Postcode": "7511",
            "Gemeente": "GM0153",
            "Breedtegraad": 52.22,
            "Lengtegraad": 6.89,
        },
    )
    _append(
        rows,
        "groepen",
        {
            "AGB-code": "41888888",
            "Groepscode": "H1",
            "Locatiecode": "ENS",
            "Naam": "Woongroep Horizon",
            "Zorgvorm": "woongroep",
            "Leeftijd van": 12,
            "Leeftijd tot": 18,
            "Gender": "gemengd",
            "Risicoprofielen": "AB",
            "Expertise": "trauma, lvb",
            "Roosteruren per week": 200,
        },
    )
    _append(
        rows,
        "contracten",
        {
            "AGB-code": "41888888",
            "Groepscode": "H1",
            "Geldig vanaf": _first_of_last_month().isoformat(),
            "Plaatsen": 6,
            "Dagtarief": 210.5,
            "Beschikbaarheidsbekostiging": "nee",
        },
    )
    changed = tmp_path / "register.xlsx"
    changed.write_bytes(workbook(rows))

    # The dry run first: what would change, and nothing has yet.
    _record_phases(page)
    page.get_by_label("Bestand of bestanden").set_input_files(changed)
    page.get_by_role("button", name="Controleren").click()
    counts = page.locator("#import-aantallen")
    expect(counts.locator("tr[data-sheet='groepen'] td.added")).to_have_text("1")
    expect(counts.locator("tr[data-sheet='aanbieders'] td.added")).to_have_text("1")
    expect(counts.locator("tr[data-sheet='locaties'] td.added")).to_have_text("1")
    expect(counts.locator("tr[data-sheet='contracten'] td.added")).to_have_text("1")
    expect(counts.locator("tr[data-sheet='groepen'] td.changed")).to_have_text("0")
    expect(page.locator("#import-wijzigingen")).to_contain_text("41888888/H1")
    expect(page.locator("#import-samenvatting")).to_contain_text("Nog niets gewijzigd")
    expect(page.locator("#announcer")).to_contain_text("Controle klaar")
    assert "Bestand controleren…" in page.evaluate("window.__phases")
    page.locator("#inlezen").evaluate("node => node.scrollIntoView()")
    manager.shot("contractregister-voorbeeld", "desktop")
    listed = httpx.get(f"{demo_server.url}/api/v1/groups", headers=_headers(demo_server, "coordinator")).json()
    assert not [g for g in listed if g["name"] == "Woongroep Horizon"]
    expect(region.locator("#groepen-tabel")).not_to_contain_text("Woongroep Horizon")

    # The same preview fits a phone.
    phone = people("admin", phone=True, already_logged_in=True)
    phone.page.goto(demo_server.app_url("contractregister"))
    phone.page.get_by_label("Bestand of bestanden").set_input_files(changed)
    phone.page.get_by_role("button", name="Controleren").click()
    expect(phone.page.locator("#import-aantallen tr[data-sheet='groepen'] td.added")).to_have_text("1")
    phone.page.locator("#import-samenvatting").evaluate("node => node.scrollIntoView()")
    phone.shot("contractregister-voorbeeld", "phone")

    # Apply: busy while it runs, then the result; the coordinator's screen follows by itself.
    apply = page.get_by_role("button", name=re.compile("^Toepassen"))
    expect(apply).to_have_text("Toepassen (4 wijzigingen)")
    apply.click()
    expect(page.locator("#import-samenvatting")).to_contain_text("is bijgewerkt", timeout=30_000)
    expect(page.locator("#import-samenvatting")).to_contain_text("groepen: 1 toegevoegd")
    expect(page.locator("#announcer")).to_contain_text("Register bijgewerkt")
    assert "Wijzigingen toepassen…" in page.evaluate("window.__phases")
    expect(apply).to_be_hidden()
    page.locator("#inlezen").evaluate("node => node.scrollIntoView()")
    manager.shot("contractregister-toegepast", "desktop")

    row = region.locator("#groepen-tabel tbody tr", has_text="Woongroep Horizon")
    expect(row).to_have_count(1, timeout=5_000)
    expect(row).to_contain_text("Stichting Nieuwe Horizon")
    expect(row).to_contain_text("Enschede")
    assert region.evaluate("window.__sameLoad") is True, "het regioscherm is herladen"

    # The new group has its contract version, shown to the contract manager per group.
    page.get_by_label("Groep", exact=True).select_option(label="Woongroep Horizon (H1)")
    versions = page.locator("#contractversies-lijst")
    expect(versions.locator("tbody tr")).to_have_count(1)
    expect(versions.locator("tbody tr").first).to_contain_text("geldt nu")
    expect(versions.locator("tbody tr").first).to_contain_text("210,50")

    # The group stops: with an end date before today it leaves the coordinator's screen, live.
    groups = rows["groepen"]
    groups[-1][groups[0].index("Actief tot")] = (date.today() - timedelta(days=1)).isoformat()
    changed.write_bytes(workbook(rows))
    page.get_by_role("button", name="Ander bestand kiezen").click()
    page.get_by_label("Bestand of bestanden").set_input_files(changed)
    page.get_by_role("button", name="Controleren").click()
    expect(counts.locator("tr[data-sheet='groepen'] td.ended")).to_have_text("1")
    expect(page.locator("#import-wijzigingen tr[data-kind='ended']")).to_contain_text("Actief tot")
    page.get_by_role("button", name=re.compile("^Toepassen")).click()
    expect(page.locator("#import-samenvatting")).to_contain_text("groepen: 1 beëindigd", timeout=30_000)
    expect(row).to_have_count(0, timeout=5_000)
    assert region.evaluate("window.__sameLoad") is True
    region.reload()
    expect(region.locator("#groepen-tabel tbody tr").first).to_be_visible()
    expect(region.locator("#groepen-tabel")).not_to_contain_text("Woongroep Horizon")


def test_a_bad_file_shows_every_problem_and_changes_nothing(people, demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    headers = _headers(demo_server, "admin")
    before = sheet_rows(_export(demo_server, headers))
    rows = sheet_rows(_export(demo_server, headers))
    header = rows["groepen"][0]
    rows["groepen"][1][header.index("Zorgvorm")] = "zwembad"
    terms = rows["contracten"][0]
    rows["contracten"][1][terms.index("Plaatsen")] = 0
    agb_row = _append(rows, "aanbieders", {"AGB-code": "4199999", "Naam": "Stichting Zeven"})
    # A valid addition in the same file is not applied either.
    _append(rows, "aanbieders", {"AGB-code": "41777777", "Naam": "Stichting Geldig"})
    bad = tmp_path / "register.xlsx"
    bad.write_bytes(workbook(rows))

    manager = people("admin", already_logged_in=True)
    page = manager.page
    page.goto(demo_server.app_url("contractregister"))
    file_input = page.get_by_label("Bestand of bestanden")

    # Not a register at all: said next to the file, before or by the server.
    page.get_by_role("button", name="Controleren").click()
    expect(page.locator("#register-bestand-fout")).to_contain_text("Kies eerst een bestand")
    text = tmp_path / "notities.txt"
    text.write_text("geen register", encoding="utf-8")
    file_input.set_input_files(text)
    page.get_by_role("button", name="Controleren").click()
    expect(page.locator("#register-bestand-fout")).to_contain_text("Kies één Excel-werkmap (.xlsx)")
    fake = tmp_path / "kapot.xlsx"
    fake.write_text("dit is geen werkmap", encoding="utf-8")
    file_input.set_input_files(fake)
    page.get_by_role("button", name="Controleren").click()
    expect(page.locator("#register-bestand-fout")).to_have_text("Het bestand is geen Excel-werkmap (.xlsx).")
    expect(page.locator("#import-fout")).to_contain_text("Er is niets gewijzigd")

    # Every problem by sheet, row and column; and "Toepassen" is not offered.
    file_input.set_input_files(bad)
    page.get_by_role("button", name="Controleren").click()
    expect(page.locator("#import-fout")).to_contain_text("Het bestand is niet ingelezen")
    expect(page.locator("#import-fout")).to_contain_text("Er is niets gewijzigd")
    problems = page.locator("#import-problemen")
    groups = problems.locator("section[data-sheet='groepen']")
    expect(groups.get_by_role("heading")).to_contain_text("Tabblad groepen")
    expect(groups.locator("li[data-row='2'][data-column='Zorgvorm']")).to_contain_text("Rij 2, kolom 'Zorgvorm':")
    expect(groups.locator("li[data-row='2'][data-column='Zorgvorm']")).to_contain_text("zwembad")
    expect(
        problems.locator("section[data-sheet='contracten'] li[data-row='2'][data-column='Plaatsen']")
    ).to_contain_text("minstens 1")
    expect(
        problems.locator(f"section[data-sheet='aanbieders'] li[data-row='{agb_row}'][data-column='AGB-code']")
    ).to_contain_text("8 cijfers")
    expect(page.get_by_role("button", name=re.compile("^Toepassen"))).to_be_hidden()
    expect(page.locator("#import-fout")).to_be_focused()
    manager.shot("contractregister-problemen", "desktop")
    assert sheet_rows(_export(demo_server, headers)) == before

    phone = people("admin", phone=True, already_logged_in=True)
    phone.page.goto(demo_server.app_url("contractregister"))
    phone.page.get_by_label("Bestand of bestanden").set_input_files(bad)
    phone.page.get_by_role("button", name="Controleren").click()
    expect(phone.page.locator("#import-problemen section[data-sheet='groepen']")).to_be_visible()
    phone.shot("contractregister-problemen", "phone")


def test_viewer_downloads_but_does_not_import(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    viewer = people("viewer", already_logged_in=True)
    page = viewer.page
    page.goto(demo_server.app_url("contractregister"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Contractregister")
    expect(page.get_by_role("button", name="Download Excel")).to_be_enabled()
    expect(page.get_by_role("heading", name="Register inlezen")).to_have_count(0)
    expect(page.get_by_label("Bestand of bestanden")).to_have_count(0)
    expect(page.get_by_role("heading", name="Aanvragen voor plaatsen")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def _planner_group(server: Any, headers: dict[str, str]) -> dict[str, Any]:
    groups = httpx.get(f"{server.url}/api/v1/groups", headers=headers).json()
    return next(g for g in groups if g["care_form"] not in NO_CEILING)


def test_planner_edits_expertise_and_ages_of_a_group(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    headers = _headers(demo_server, "aanbieder1")
    original = _planner_group(demo_server, headers)
    group_id = original["id"]
    planner = people("aanbieder1", already_logged_in=True)
    page = planner.page
    card = page.locator(f".group-card[data-group-id='{group_id}']")
    expect(card).to_be_visible()
    try:
        card.get_by_text("Profiel bewerken").click()
        form = card.locator("form.profile-form")
        expect(form.get_by_role("group", name="Leeftijd in jaren").get_by_label("Van", exact=True)).to_have_value(
            str(original["age_min"])
        )

        # Checked in the browser first, in Dutch, next to the field.
        form.get_by_role("group", name="Leeftijd in jaren").get_by_label("Van", exact=True).fill("19")
        form.get_by_role("group", name="Leeftijd in jaren").get_by_label("Tot en met", exact=True).fill("17")
        form.get_by_role("button", name="Profiel opslaan").click()
        expect(form.locator(f"#g{group_id}-profiel-age_max-fout")).to_have_text(
            "De leeftijd 'tot en met' ligt onder de leeftijd 'van'."
        )
        expect(
            form.get_by_role("group", name="Leeftijd in jaren").get_by_label("Tot en met", exact=True)
        ).to_have_attribute("aria-invalid", "true")
        # The server's refusal, next to the field it is about: too many hours for the care form.
        form.get_by_role("group", name="Leeftijd in jaren").get_by_label("Van", exact=True).fill("13")
        form.get_by_label("Roosteruren per week (netto)").fill("9000")
        with page.expect_response(lambda r: r.url.endswith(f"/groups/{group_id}/profile")) as refused:
            form.get_by_role("button", name="Profiel opslaan").click()
        assert refused.value.status == 422
        expect(form.locator(f"#g{group_id}-profiel-weekly_roster_hours-fout")).to_contain_text("boven het maximum")
        expect(form.get_by_role("alert")).to_contain_text("Uw invoer staat nog in het formulier")
        form.get_by_label("Roosteruren per week (netto)").fill(str(original["weekly_roster_hours"]))

        for box in form.locator("input[name='expertise']").all():
            box.set_checked(box.get_attribute("value") in ("autisme", "eetstoornis"))
        planner.shot("aanbieder-profiel", "desktop")
        with page.expect_response(lambda r: r.url.endswith(f"/groups/{group_id}/profile")) as saved:
            form.get_by_role("button", name="Profiel opslaan").click()
        assert saved.value.status == 200
        sent = saved.value.request.post_data_json
        # Only what changed is sent, so nobody else's edit of the group is overwritten.
        assert "expertise" in sent and set(sent) <= {"age_min", "age_max", "expertise"}
        expect(form.get_by_role("status")).to_contain_text("Profiel opgeslagen")
        expect(card.locator(".profile-line")).to_contain_text("13–17 jaar")
        expect(card.locator(".profile-line")).to_contain_text("Autisme, Eetstoornis")
        expect(page.locator("#announcer")).to_contain_text("Profiel van")

        stored = httpx.get(f"{demo_server.url}/api/v1/groups/{group_id}", headers=headers).json()
        assert (stored["age_min"], stored["age_max"], stored["expertise"]) == (13, 17, ["autisme", "eetstoornis"])
        # After a reload the form shows what was saved.
        page.reload()
        card = page.locator(f".group-card[data-group-id='{group_id}']")
        card.get_by_text("Profiel bewerken").click()
        form = card.locator("form.profile-form")
        expect(form.get_by_role("group", name="Leeftijd in jaren").get_by_label("Van", exact=True)).to_have_value("13")
        expect(
            form.get_by_role("group", name="Leeftijd in jaren").get_by_label("Tot en met", exact=True)
        ).to_have_value("17")
        expect(form.locator("input[name='expertise'][value='eetstoornis']")).to_be_checked()
        expect(form.locator("input[name='expertise'][value='trauma']")).not_to_be_checked()
        page.set_viewport_size({"width": 390, "height": 844})
        card.scroll_into_view_if_needed()
        planner.shot("aanbieder-profiel", "phone")
    finally:
        # Leave the shared demo as it was for the tests after this one.
        restore = {k: original[k] for k in ("age_min", "age_max", "expertise", "weekly_roster_hours")}
        response = httpx.patch(f"{demo_server.url}/api/v1/groups/{group_id}/profile", json=restore, headers=headers)
        assert response.status_code == 200, response.text


def test_planner_asks_for_places_and_the_region_decides(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    headers = _headers(demo_server, "aanbieder1")
    group = _planner_group(demo_server, headers)
    group_id = group["id"]
    manager = people("admin", already_logged_in=True)
    admin = manager.page
    admin.goto(demo_server.app_url("contractregister"))
    requests = admin.locator("#aanvragen-lijst")
    # The open requests are read group by group: one request per group, which takes a moment.
    expect(requests).not_to_contain_text("Aanvragen laden", timeout=30_000)

    planner = people("aanbieder1", already_logged_in=True)
    page = planner.page
    card = page.locator(f".group-card[data-group-id='{group_id}']")
    card.get_by_text("Contract en plaatsen aanvragen").click()
    terms = card.locator(".terms-box")
    expect(terms.locator("li.term").first).to_be_visible()
    form = card.locator("form.places-request")
    form.get_by_label("Aantal plaatsen").fill("0")
    form.get_by_role("button", name="Aanvraag versturen").click()
    expect(form.locator(f"#g{group_id}-aanvraag-contracted_places-fout")).to_contain_text("van 1 tot en met 500")
    wanted = group["capacity"] + 2
    form.get_by_label("Aantal plaatsen").fill(str(wanted))
    form.get_by_label("Toelichting (optioneel)").fill("Tweede woonkamer gereed")
    with page.expect_response(lambda r: r.url.endswith(f"/groups/{group_id}/places-requests")) as sent:
        form.get_by_role("button", name="Aanvraag versturen").click()
    assert sent.value.status == 201
    term_id = sent.value.json()["id"]
    expect(form.get_by_role("status")).to_contain_text("Aanvraag verstuurd")
    expect(terms.locator(f"li[data-term-id='{term_id}']")).to_contain_text("aangevraagd")
    planner.shot("aanbieder-contract", "desktop")

    # The region sees the request appear without reloading, and approves it.
    request_card = requests.locator(f".request-card[data-term-id='{term_id}']")
    expect(request_card).to_be_visible(timeout=5_000)
    expect(request_card).to_contain_text(f"{wanted} plaatsen")
    expect(request_card).to_contain_text("Tweede woonkamer gereed")
    manager.shot("contractregister-aanvragen", "desktop")
    request_card.get_by_label("Toelichting bij het besluit (optioneel)").fill("Akkoord per volgende maand")
    with admin.expect_response(lambda r: r.url.endswith(f"/places-requests/{term_id}/decision")) as decided:
        request_card.get_by_role("button", name="Goedkeuren").click()
    assert decided.value.status == 200 and decided.value.json()["status"] == "approved"
    expect(request_card).to_have_count(0)
    expect(admin.locator("#announcer")).to_contain_text("goedgekeurd")

    # The provider's list shows the approved version (after opening it again).
    card.get_by_text("Contract en plaatsen aanvragen").click()
    card.get_by_text("Contract en plaatsen aanvragen").click()
    expect(terms.locator(f"li[data-term-id='{term_id}']")).to_contain_text("gepland")

    # The region adds a version by hand: refused in Dutch next to the field, then stored.
    admin.get_by_label("Groep", exact=True).select_option(str(group_id))
    versions = admin.locator("#contractversies-lijst")
    expect(versions.locator(f"tr[data-term-id='{term_id}']")).to_contain_text("gepland")
    versions.get_by_text("Nieuwe contractversie").click()
    term_form = versions.locator("form.term-form")
    term_form.get_by_label("Beschikbaarheidsbekostiging", exact=True).check()
    term_form.get_by_label("Beschikbaarheidsdeel (0 tot 1)").fill("1.5")
    term_form.get_by_role("button", name="Versie toevoegen").click()
    expect(term_form.locator(f"#versie-{group_id}-availability_share-fout")).to_contain_text("tussen 0 en 1")
    term_form.get_by_label("Beschikbaarheidsbekostiging", exact=True).uncheck()
    term_form.get_by_label("Geldig vanaf").fill(f"{date.today().year + 1}-06-15")
    term_form.get_by_label("Gecontracteerde plaatsen").fill(str(wanted))
    term_form.get_by_label("Dagtarief in euro (optioneel)").fill("199.75")
    with admin.expect_response(
        lambda r: r.url.endswith(f"/groups/{group_id}/contract-terms") and r.request.method == "POST"
    ) as added:
        term_form.get_by_role("button", name="Versie toevoegen").click()
    assert added.value.status == 201, added.value.text()
    new_id = added.value.json()["id"]
    expect(versions.locator(f"tr[data-term-id='{new_id}']")).to_contain_text("199,75")
    manager.shot("contractregister-versies", "desktop")
