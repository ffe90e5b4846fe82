"""A coordinator's working day (issue 15): a half-filled referral form survives a reload (the
server keeps the draft); a referral's timeline after a decline and a placement, with its group
and no options once placed; a batch run reviewed line by line, one line dropped and the rest
sent; a pinned pair kept and a forbidden
pair gone after solving again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from backend.domain import utcnow
from tests.browser.conftest import _session_for

pytestmark = pytest.mark.browser


def _api(server: Any, username: str) -> httpx.Client:
    token = _session_for(server, username)["token"]
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _referral_for(group: dict[str, Any], reference: str) -> dict[str, Any]:
    """A waiting youth who fits ``group`` (its care form, intensity, ages, gender policy), urgent
    and long waiting, so that a batch run gives the youth a place."""
    age = (group["age_min"] + group["age_max"]) // 2
    return {
        "reference": reference,
        "birth_year": utcnow().year - age,
        "birth_month": 1,
        "gender": "v" if group["gender_policy"] == "meisjes" else "m",
        "home_postcode": None,
        "home_municipality": group["_municipality"],
        "care_forms": [group["care_form"]],
        "required_intensity": group["intensity"],
        "risk_profile": group["risk_profiles"][0],
        "urgency": 5,
        "waiting_since": (utcnow() - timedelta(days=700)).isoformat(),
    }


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _room(admin: httpx.Client, coordinator: httpx.Client, reference: str, places: int) -> tuple[dict[str, Any], int]:
    """An ordinary group with ``places`` free places (and room in its occupancy for them), and
    a waiting referral that fits it."""
    names = {m["id"]: m["name"] for m in coordinator.get("/municipalities").json()}
    for attempt, group in enumerate(coordinator.get("/groups").json()):
        if (
            group["is_crisis"]
            or group["care_form"] == "jeugdzorgplus"
            or group["capacity"] < group["held_places"] + places
        ):
            continue
        # Real room: the occupancy has space for these youths besides those already expected.
        occupancy = admin.get(f"/occupancy/groups/{group['id']}").json()
        if occupancy["present"] + group["held_places"] + places > occupancy["capacity"]:
            continue
        group["_municipality"] = names[group["municipality_id"]]
        body = _referral_for(group, reference if attempt == 0 else f"{reference}-{attempt}")
        created = coordinator.post("/referrals", json=_without_none(body))
        if created.status_code != 201:
            continue
        rid = created.json()["id"]
        failed = coordinator.get(f"/referrals/{rid}/options/{group['id']}").json()["failed_rules"]
        if any(rule["rule"] != "free_places" for rule in failed):
            coordinator.post(f"/referrals/{rid}/withdraw", json={"reason": "past niet bij deze groep"})
            continue
        report = admin.put(f"/groups/{group['id']}/availability", json={"free_places": group["held_places"] + places})
        if report.status_code != 200:  # e.g. its free places follow the occupancy feed
            coordinator.post(f"/referrals/{rid}/withdraw", json={"reason": "geen ruimte te maken"})
            continue
        return group, rid
    raise AssertionError("geen groep in de demo met ruimte")


def test_draft_timeline_edit_after_decline_and_placement(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    admin, api = _api(demo_server, "admin"), _api(demo_server, "coordinator")
    coordinator = people("coordinator", already_logged_in=True)
    page = coordinator.page

    # A half-filled new referral survives a reload: the server kept it.
    page.get_by_role("link", name="Wachtlijst").click()
    page.get_by_label("Referentie (pseudoniem)").fill("TW-CONCEPT-1")
    page.get_by_label("Geboortejaar").fill("2012")
    page.get_by_label("Woongroep").check()
    page.wait_for_timeout(900)  # the draft is saved a moment after the last change
    page.reload()
    expect(page.get_by_label("Referentie (pseudoniem)")).to_have_value("TW-CONCEPT-1")
    expect(page.get_by_label("Geboortejaar")).to_have_value("2012")
    expect(page.get_by_label("Woongroep")).to_be_checked()
    expect(page.get_by_text("Uw eerder ingevulde gegevens zijn teruggezet.")).to_be_visible()
    assert api.delete("/drafts/verwijzing-nieuw").status_code == 204  # leave the form empty for other tests

    # A youth declined by a group (with a reason), asked again and placed there.
    group, rid = _room(admin, api, "TW-TIJD-B1", 1)
    first = api.post(f"/referrals/{rid}/proposals", json={"group_id": group["id"]}).json()
    declined = admin.post(
        f"/proposals/{first['id']}/decline", json={"reason": "anders", "text": "groep te onrustig nu"}
    )
    assert declined.status_code == 200, declined.text
    # After a call with the provider the coordinator asks the same group again.
    current = api.get(f"/referrals/{rid}")
    again = api.patch(
        f"/referrals/{rid}", json={"excluded_group_ids": []}, headers={"If-Match": current.headers["ETag"]}
    )
    assert again.status_code == 200, again.text
    second = api.post(f"/referrals/{rid}/proposals", json={"group_id": group["id"]}).json()
    placement = admin.post(f"/proposals/{second['id']}/accept").json()["placement_id"]
    arrived = admin.post(f"/placements/{placement}/arrival", json={})
    assert arrived.status_code == 200, arrived.text

    page.goto(demo_server.app_url(f"wachtlijst/{rid}"))
    timeline = page.locator("#tijdlijn-lijst")
    expect(timeline.locator("li")).to_have_count(8)
    expect(timeline.locator("li[data-kind='declined']")).to_contain_text("groep te onrustig nu")
    expect(timeline.locator("li[data-kind='declined']")).to_contain_text(group["name"])
    expect(timeline.locator("li").last).to_contain_text("Aangekomen")
    placed = page.locator("#geplaatst")
    expect(placed).to_contain_text(group["name"])
    expect(placed).to_contain_text(re.compile(r"sinds \d\d-\d\d-\d{4}"))
    expect(page.locator("#verwijzing-status")).to_have_text("Geplaatst")
    # Placed: no options, no proposing, no editing.
    expect(page.locator("#opties")).to_be_hidden()
    expect(page.get_by_role("button", name="Voorstel sturen")).to_have_count(0)
    expect(page.get_by_role("button", name="Wijzigen")).to_have_count(0)
    coordinator.shot("verwijzing-tijdlijn", "desktop")
    phone = people("coordinator", phone=True, already_logged_in=True)
    phone.page.goto(demo_server.app_url(f"wachtlijst/{rid}"))
    expect(phone.page.locator("#tijdlijn-lijst li")).to_have_count(8)
    phone.page.locator("#tijdlijn").scroll_into_view_if_needed()
    phone.shot("verwijzing-tijdlijn", "phone")

    # A waiting referral: edited in the app (Dutch validation) and withdrawn with a reason.
    waiting = api.post("/referrals", json=_without_none(_referral_for(group, "TW-WIJZIG-1"))).json()
    page.goto(demo_server.app_url(f"wachtlijst/{waiting['id']}"))
    page.get_by_role("button", name="Wijzigen").click()
    page.get_by_label("Postcode thuis (4 cijfers)").fill("75a")
    page.get_by_role("button", name="Wijzigingen opslaan").click()
    expect(page.locator("#ref-home_postcode-fout")).to_contain_text("precies 4 cijfers")
    page.get_by_label("Postcode thuis (4 cijfers)").fill("")
    page.get_by_label("Urgentie (1 laag – 5 hoog)").select_option("2")
    page.get_by_role("button", name="Wijzigingen opslaan").click()
    expect(page.locator(".referral-summary")).to_contain_text("urgentie 2")
    page.get_by_role("button", name="Intrekken").click()
    page.get_by_role("button", name="Verwijzing intrekken").click()
    expect(page.locator("#intrek-reden-fout")).to_have_text("Geef een reden van minstens 3 tekens.")
    page.get_by_label("Reden van intrekken").fill("verhuisd buiten de regio")
    page.get_by_role("button", name="Verwijzing intrekken").click()
    expect(page.locator("#verwijzing-status")).to_have_text("Ingetrokken")
    expect(page.locator("#tijdlijn-lijst li").last).to_contain_text("verhuisd buiten de regio")
    assert api.get(f"/referrals/{waiting['id']}").json()["urgency"] == 2


def test_batch_review_drop_a_line_and_send_the_rest(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    admin, api = _api(demo_server, "admin"), _api(demo_server, "coordinator")
    group, keep = _room(admin, api, "TW-BATCH-K1", 2)
    drop = api.post("/referrals", json=_without_none(_referral_for(group, "TW-BATCH-D1"))).json()["id"]
    coordinator = people("coordinator", already_logged_in=True)
    page = coordinator.page
    page.get_by_role("link", name="Matching").click()
    page.get_by_label("Rekentijd hoogstens").select_option("5")
    page.get_by_role("button", name="Batchrun starten").click()
    rows = page.locator("#toewijzingen tbody tr")
    expect(rows.first).to_be_visible(timeout=30_000)
    line = page.locator(f"#toewijzingen tr[data-referral-id='{drop}']")
    expect(line).to_contain_text("TW-BATCH-D1")
    expect(line).to_contain_text(re.compile(r"km"))
    expect(line.locator("td").nth(1)).not_to_have_text("–")  # the provider
    total = rows.count()
    line.get_by_role("button", name="Weglaten: TW-BATCH-D1").click()
    expect(line).to_have_class(re.compile("dropped"))
    # The review is the server's memory too: a reload keeps the dropped line.
    page.wait_for_timeout(900)
    page.reload()
    line = page.locator(f"#toewijzingen tr[data-referral-id='{drop}']")
    expect(line).to_have_class(re.compile("dropped"), timeout=10_000)
    coordinator.shot("matching-beoordeling", "desktop")
    send = page.get_by_role("button", name=f"{total - 1} van {total} voorstellen versturen")
    send.click()
    expect(page.locator("#run-verstuurd")).to_contain_text("1 weggelaten")
    assert api.get(f"/referrals/{drop}").json()["status"] == "waiting"
    assert api.get(f"/referrals/{keep}").json()["status"] == "proposed"
    phone = people("coordinator", phone=True, already_logged_in=True)
    phone.page.get_by_role("button", name="Menu").click()  # a phone folds the menu away
    phone.page.get_by_role("link", name="Matching").click()
    expect(phone.page.locator("#toewijzingen")).to_be_attached()
    phone.page.locator("#run-verstuurd").scroll_into_view_if_needed()
    phone.shot("matching-beoordeling", "phone")


def test_batch_review_pin_and_forbid_then_solve_again(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    admin, api = _api(demo_server, "admin"), _api(demo_server, "coordinator")
    group, pin = _room(admin, api, "TW-PIN-P1", 2)
    forbid = api.post("/referrals", json=_without_none(_referral_for(group, "TW-PIN-F1"))).json()["id"]
    page = people("coordinator", already_logged_in=True).page
    page.get_by_role("link", name="Matching").click()
    page.get_by_label("Rekentijd hoogstens").select_option("5")
    page.get_by_role("button", name="Batchrun starten").click()
    pin_line = page.locator(f"#toewijzingen tr[data-referral-id='{pin}']")
    forbid_line = page.locator(f"#toewijzingen tr[data-referral-id='{forbid}']")
    expect(pin_line).to_be_visible(timeout=30_000)
    expect(forbid_line).to_be_visible()
    first_title = page.locator("#resultaat-titel").inner_text()
    pinned_group = pin_line.locator("td").first.inner_text()
    forbidden_group = forbid_line.locator("td").first.inner_text()
    pin_line.get_by_role("button", name=re.compile(" vastzetten in ")).click()
    forbid_line.get_by_role("button", name=re.compile(" niet in ")).click()
    expect(page.locator("#run-beoordeling")).to_contain_text(f"vast in {pinned_group}")
    expect(page.locator("#run-beoordeling")).to_contain_text(f"niet in {forbidden_group}")

    page.get_by_role("button", name="Opnieuw rekenen").click()
    expect(page.locator("#resultaat-titel")).not_to_have_text(first_title, timeout=30_000)
    # The new run keeps the pinned pair (marked as pinned) and no longer has the forbidden one.
    pin_line = page.locator(f"#toewijzingen tr[data-referral-id='{pin}']")
    expect(pin_line.locator("td").first).to_have_text(pinned_group)
    expect(pin_line.locator("th")).to_contain_text("vast")
    forbid_line = page.locator(f"#toewijzingen tr[data-referral-id='{forbid}']")
    if forbid_line.count():
        expect(forbid_line.locator("td").first).not_to_have_text(forbidden_group)
