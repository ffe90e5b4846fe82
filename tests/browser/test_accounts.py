"""Managing people and keys in the web app: a region administrator creates a coordinator, who
sets a password with the one-time code and logs in; a provider administrator creates a planner
and an API key and revokes the key. Screenshots at desktop and phone width."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_region_admin_creates_a_coordinator_who_sets_a_password_and_logs_in(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    admin = people("admin")
    page = admin.page
    page.get_by_role("link", name="Gebruikers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gebruikers en API-sleutels")
    page.get_by_label("Gebruikersnaam").fill("coordinator.nieuw")
    page.get_by_label("Rol", exact=True).select_option("coordinator")
    page.get_by_role("button", name="Gebruiker aanmaken").click()
    secret = page.get_by_test_id("eenmalig")
    expect(secret).to_have_text(re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){3}$"))
    code = secret.inner_text()
    row = page.locator("tr[data-gebruiker='coordinator.nieuw']")
    expect(row).to_contain_text("coördinatiepunt")
    expect(row).to_contain_text("JZ14")  # the region administrator's own region
    admin.shot("beheer", "desktop")

    newcomer = people("coordinator.nieuw", login=False)
    page = newcomer.page
    page.goto(demo_server.url + "/app/#/login")
    page.get_by_role("link", name="Wachtwoord instellen").click()
    page.get_by_label("Code").fill(code)
    page.get_by_label("Nieuw wachtwoord").fill("Zeven-blauwe-ballonnen-91")
    page.get_by_label("Herhaal het wachtwoord").fill("Zeven-blauwe-ballonnen-91")
    page.get_by_role("button", name="Wachtwoord instellen").click()
    expect(page.locator("#inlog-fout")).to_contain_text("Uw wachtwoord is ingesteld")
    demo_server.passwords["coordinator.nieuw"] = "Zeven-blauwe-ballonnen-91"
    newcomer.login()
    expect(page.locator("#who")).to_contain_text("coordinator.nieuw")


def test_provider_admin_creates_a_planner_and_revokes_a_key(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    manager = people("aanbieder1", phone=True)
    page = manager.page
    page.goto(demo_server.app_url("beheer"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Gebruikers en API-sleutels")
    page.get_by_label("Gebruikersnaam").fill("planner.linde")
    page.get_by_role("button", name="Gebruiker aanmaken").click()
    expect(page.locator("tr[data-gebruiker='planner.linde']")).to_contain_text("zorgaanbieder")

    page.get_by_label("Naam", exact=True).fill("Roosterkoppeling")
    page.get_by_role("button", name="Sleutel aanmaken").click()
    secret = page.get_by_test_id("eenmalig")
    expect(secret).to_have_text(re.compile(r"^pw_.+"))
    key = secret.inner_text()
    assert httpx.get(f"{demo_server.url}/api/v1/availability", headers={"X-API-Key": key}).status_code == 200
    row = page.locator("tr[data-sleutel='Roosterkoppeling']")
    row.get_by_role("button", name="Intrekken").click()
    row.get_by_role("button", name="Zeker intrekken?").click()
    expect(page.locator("tr[data-sleutel='Roosterkoppeling']")).to_contain_text("ingetrokken")
    manager.shot("beheer", "phone")
    assert httpx.get(f"{demo_server.url}/api/v1/availability", headers={"X-API-Key": key}).status_code == 401
