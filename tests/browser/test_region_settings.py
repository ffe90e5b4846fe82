"""Admin: the region settings screen. A share above 1 is refused in Dutch next to the field and
nothing is saved; a valid share (typed with a decimal comma) is saved and still there after a
reload. A coordinator reads the same screen without being able to change it."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

URL = "/api/v1/regions/JZ14/settings"


def _api(server, username: str) -> httpx.Client:  # type: ignore[no-untyped-def]
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", data={"username": username, "password": server.passwords[username]}
    ).json()["access_token"]
    # A generous timeout: the demo server shares a loaded machine with the browser and the suite.
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_admin_changes_the_availability_share(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    api = _api(demo_server, "admin")
    original = api.get(URL).json()
    assert original["settings"]["availability_share"] == 0.75
    try:
        admin = people("admin")
        page = admin.page
        page.get_by_role("link", name="Instellingen").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Regio-instellingen")
        share = page.get_by_label("Beschikbaarheidsdeel", exact=True)
        expect(share).to_have_value("0,75")
        # The screen says the share is the region's own choice.
        expect(page.locator("#inst-availability_share-hint")).to_contain_text("keuze van de regio")
        # The band table and the decline reasons are there to edit.
        expect(page.get_by_label("D", exact=True)).to_have_value("3")
        expect(page.locator("#inst-redenen tbody tr:not(.row-error)")).to_have_count(6)
        admin.shot("instellingen", "desktop")

        share.fill("1,5")
        page.get_by_role("button", name="Instellingen opslaan").click()
        expect(page.locator("#inst-availability_share-fout")).to_have_text("Beschikbaarheidsdeel mag hoogstens 1 zijn")
        expect(share).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#instellingen-fout")).to_contain_text("Niet opgeslagen")
        assert api.get(URL).json()["settings"]["availability_share"] == 0.75

        share.fill("0,6")
        page.get_by_role("button", name="Instellingen opslaan").click()
        expect(page.locator("#instellingen-opgeslagen")).to_contain_text("opgeslagen")
        expect(page.locator("#inst-availability_share-fout")).to_have_text("")
        assert api.get(URL).json()["settings"]["availability_share"] == 0.6
        page.reload()
        expect(page.get_by_label("Beschikbaarheidsdeel", exact=True)).to_have_value("0,6")

        phone = people("admin", phone=True, already_logged_in=True)
        phone.page.goto(demo_server.app_url("instellingen"))
        expect(phone.page.get_by_label("Beschikbaarheidsdeel", exact=True)).to_have_value("0,6")
        phone.shot("instellingen", "phone")

        reader = people("coordinator", already_logged_in=True)
        reader.page.goto(demo_server.app_url("instellingen"))
        expect(reader.page.get_by_label("Beschikbaarheidsdeel", exact=True)).to_be_disabled()
        expect(reader.page.get_by_role("button", name="Instellingen opslaan")).to_have_count(0)
    finally:
        # The demo server is shared by the browser suite: put the settings back as they were.
        current = api.get(URL).json()
        restored = api.put(URL, json=original["settings"], headers={"If-Match": f'"{current["version"]}"'})
        assert restored.status_code == 200, restored.text
        api.close()
