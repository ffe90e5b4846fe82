"""Admin: the audit log screen. Searching by one youth record shows who read it and why; the
CSV download holds the same rows; both the search and the download are in the log themselves."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _api(server, username: str) -> httpx.Client:  # type: ignore[no-untyped-def]
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", data={"username": username, "password": server.passwords[username]}
    ).json()["access_token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def test_admin_searches_one_youth_record_and_downloads_it(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    coordinator = _api(demo_server, "coordinator")
    referral = coordinator.get("/api/v1/referrals").json()[0]
    assert coordinator.get(f"/api/v1/referrals/{referral['id']}?purpose=matching_options").status_code == 200

    admin = people("admin")
    page = admin.page
    page.get_by_role("link", name="Auditlog").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Auditlog")
    page.get_by_label("Jeugddossier (nummer)").fill(str(referral["id"]))
    page.get_by_label("Persoon (gebruikersnaam)").fill("coordinator")
    page.get_by_role("button", name="Zoeken").click()
    table = page.locator("#audit-resultaat table")
    expect(table).to_contain_text("Passende plekken zoeken")
    expect(table).to_contain_text("Wachtlijst inzien")
    expect(table).to_contain_text(f"Verwijzing {referral['id']}")
    # Words, not codes: the action's label and the person's name; the code stays in the title.
    expect(table).to_contain_text("Verwijzing ingezien")
    expect(table).not_to_contain_text("referral.read")
    expect(table).not_to_contain_text("user:")
    expect(table.locator("td[data-action='referral.read']").first).to_have_attribute("title", "referral.read")
    admin.shot("auditlog", "desktop")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    content = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    assert "Tijdstip (Nederlandse tijd)" in content and "Passende plekken zoeken" in content

    api = _api(demo_server, "admin")
    logged = api.get("/api/v1/audit", params={"object_type": "audit_log"}).json()
    actions = {row["action"] for row in logged if row["actor"].endswith(":admin")}
    assert {"audit.read", "audit.export"} <= actions
    assert next(r for r in logged if r["action"] == "audit.export")["detail"]["filters"] == {
        "youth_record": f"referral:{referral['id']}",
        "actor": "coordinator",
    }
