"""Finalising a post-calculation: who may, once per period, the stored figures never change, and
what differs now is reported (also in the exports)."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.events.models import Event
from backend.providers.models import Group
from backend.regions.models import Region
from backend.reports.models import FinalisedPostCalculation
from tests.backend.reports.helpers import add_term, report, row, since
from tests.factories import add_user

FINALISE = "/api/v1/post-calculation/finalise"


def finalise(client, world, who="admin", **body):
    return client.post(FINALISE, json={"region": "JZ14", **body}, headers=world.headers(who))


def test_finalised_figures_stay_and_the_difference_is_reported(client, world, db):
    crisis = world.groups_b[1]  # 4 places at €200, share 0.75
    since(db, [crisis], date(2024, 1, 1))
    answer = finalise(client, world, year=2025)
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["finalised"]["finalised_by_name"] == "admin"
    assert row(stored, crisis)["availability_funding"] == 365 * 4 * 150 == 219_000
    with db.transaction(write=False) as session:
        kept = session.exec(select(FinalisedPostCalculation)).one()
        assert kept.period_start == date(2025, 1, 1) and kept.period_end == date(2025, 12, 31)
        assert kept.finalised_by.endswith(":admin")
        assert kept.result["groups"][0]["inputs"][0]["contracted_places"] == 4  # inputs stored too
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "post_calculation.finalise")).one()
        assert audit.detail["availability_funding"] == 219_000 and audit.object_id == str(kept.id)
        event = session.exec(select(Event).where(Event.type == "post_calculation.finalised")).one()
        assert event.payload["period_start"] == "2025-01-01" and event.region_id == world.region_id

    # Nothing changed yet.
    body = report(client, world, year=2025)
    assert body["finalised"]["finalised_by_name"] == "admin"
    assert body["changes_since_finalisation"]["changed"] is False

    # Later the region approves 6 places from 1 July 2025, and the group is renamed.
    add_term(db, crisis, date(2025, 7, 1), places=6, day_tariff=200.0)
    with db.transaction() as session:
        group = session.get(Group, crisis)
        group.name = "Crisisgroep Wilg-Oost"
        session.add(group)
    body = report(client, world, year=2025)
    figures = row(body, crisis)
    assert figures["availability_funding"] == 219_000 and figures["contracted_places"] == 4  # stored
    assert figures["group_name"] == "Crisisgroep Wilg"
    changes = body["changes_since_finalisation"]
    assert changes["changed"] is True
    (group_change,) = changes["groups"]
    assert group_change["status"] == "gewijzigd"
    # Now: 181 × 4 × €150 + 184 × 6 × €150 = 108600 + 165600 = 274200, 55200 more.
    assert group_change["fields"]["availability_funding"] == {"old": 219_000, "new": 274_200, "difference": 55_200}
    assert group_change["fields"]["contracted_places"] == {"old": 4, "new": 6, "difference": 2}
    assert group_change["fields"]["contracted_bed_days"]["difference"] == 184 * 2
    assert len(group_change["fields"]["inputs"]["new"]) == 2
    assert changes["total"]["availability_funding"]["difference"] == 55_200
    assert figures["availability_funding_difference"] == 55_200 and figures["changed_since_finalisation"] is True
    assert body["total"]["availability_funding"] == 219_000

    # The exports carry the marker and the difference.
    headers = world.headers("coordinator")
    text = client.get("/api/v1/post-calculation/export.csv", params={"region": "JZ14", "year": 2025}, headers=headers)
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][2].startswith("Vastgesteld op ") and lines[0][2].endswith(" door admin")
    header, first = lines[1], lines[2]
    assert first[header.index("Beschikbaarheidsbekostiging")] == "219000,00"
    assert first[header.index("Verschil beschikbaarheid na vaststelling")] == "55200,00"
    assert lines[-1][header.index("Verschil beschikbaarheid na vaststelling")] == "55200,00"
    book = client.get("/api/v1/post-calculation/export.xlsx", params={"region": "JZ14", "year": 2025}, headers=headers)
    workbook = load_workbook(io.BytesIO(book.content))
    sheet = workbook["Per groep"]
    labels = [cell.value for cell in sheet[1]]
    values = [cell.value for cell in sheet[2]]
    assert values[labels.index("Verschil beschikbaarheid na vaststelling")] == 55_200
    status = {r[0].value: r[1].value for r in workbook["Regio"].iter_rows()}
    assert status["Status"].startswith("Vastgesteld op ")

    # The stored row was not touched by any of this; a provider sees its own stored group.
    with db.transaction(write=False) as session:
        assert session.exec(select(FinalisedPostCalculation)).one().result == kept.result
    mine = report(client, world, who="provider_b", year=2025)
    assert [r["group_id"] for r in mine["groups"]] == [crisis] and mine["finalised"] is not None
    assert report(client, world, who="provider_a", year=2025)["groups"] == []

    # A group that became availability-funded for December 2025 after the finalisation.
    woongroep = world.groups_a[0]
    since(db, [woongroep], date(2024, 1, 1))
    add_term(db, woongroep, date(2025, 12, 1), places=8, day_tariff=100.0)
    theirs = report(client, world, who="provider_a", year=2025)
    assert theirs["groups"] == [] and theirs["total"]["availability_funding"] == 0
    (new_group,) = theirs["changes_since_finalisation"]["groups"]
    assert new_group["status"] == "nieuw" and new_group["group_id"] == woongroep
    # 31 nights × 8 places × €100 × 0.75.
    assert new_group["fields"]["availability_funding"] == {"old": None, "new": 18_600, "difference": 18_600}
    region = report(client, world, year=2025)["changes_since_finalisation"]["total"]
    assert region["availability_funding"]["difference"] == 55_200 + 18_600
    assert region["groups"] == {"old": 1, "new": 2, "difference": 1}
    text = client.get("/api/v1/post-calculation/export.csv", params={"region": "JZ14", "year": 2025}, headers=headers)
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[-1][header.index("Verschil beschikbaarheid na vaststelling")] == "73800,00"


def test_formula_text_is_quoted_in_the_exports(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis], date(2024, 1, 1))
    with db.transaction() as session:
        group = session.get(Group, crisis)
        group.name = '=HYPERLINK("http://x","klik")'
        session.add(group)
    params = {"region": "JZ14", "year": 2025}
    headers = world.headers("coordinator")
    text = client.get("/api/v1/post-calculation/export.csv", params=params, headers=headers)
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[2][1] == '\'=HYPERLINK("http://x","klik")'
    assert lines[0][2] == "Voorlopig: nog niet vastgesteld"
    book = client.get("/api/v1/post-calculation/export.xlsx", params=params, headers=headers)
    cell = load_workbook(io.BytesIO(book.content))["Per groep"]["B2"]
    assert cell.value == '\'=HYPERLINK("http://x","klik")' and cell.data_type == "s"


def test_who_may_finalise_and_only_once(client, world, db):
    since(db, [world.groups_b[1]], date(2024, 1, 1))
    for who in ("coordinator", "viewer", "provider_b", "crisis", "key_b"):
        answer = finalise(client, world, who=who, year=2025)
        assert answer.status_code == 403, (who, answer.text)
    with db.transaction() as session:
        other = Region(code="JZ07", name="IJsselland", settings={})
        session.add(other)
        session.flush()
        _user, other_admin = add_user(session, world.settings, "admin_ijsselland", "admin", region_id=other.id)
        _user, national = add_user(session, world.settings, "beheer", "admin", region_id=None)
    answer = client.post(
        FINALISE, json={"region": "JZ14", "year": 2025}, headers={"Authorization": f"Bearer {other_admin}"}
    )
    assert answer.status_code == 404 and answer.json()["detail"] == "Regio niet gevonden."
    # A period that has not ended cannot be finalised yet.
    answer = finalise(client, world, start="2025-01-01", end="2099-12-31")
    assert answer.status_code == 422
    answer = finalise(client, world, year=2099)
    assert answer.status_code == 422 and answer.json()["code"] == "period_not_ended"
    assert finalise(client, world, year=2025).status_code == 201
    again = finalise(client, world, year=2025)
    assert again.status_code == 409 and again.json()["code"] == "post_calculation_finalised"
    assert "al vastgesteld" in again.json()["detail"] and "door admin" in again.json()["detail"]
    # An admin bound to no region acts for every region; another period is another finalisation.
    answer = client.post(
        FINALISE,
        json={"region": "jz14", "start": "2025-01-01", "end": "2025-06-30"},
        headers={"Authorization": f"Bearer {national}"},
    )
    assert answer.status_code == 201 and answer.json()["finalised"]["finalised_by_name"] == "beheer"
    assert finalise(client, world, year=2025, start="2025-01-01").status_code == 422
    assert (
        client.post(
            FINALISE, json={"region": "JZ14", "year": 2025, "total": 1}, headers=world.headers("admin")
        ).status_code
        == 422
    )
    with db.transaction(write=False) as session:
        assert len(session.exec(select(FinalisedPostCalculation)).all()) == 2
