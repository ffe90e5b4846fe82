"""Post-calculation with hand-computed figures, exports, and who may see what."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

from openpyxl import load_workbook
from sqlmodel import select

from backend.providers.models import Location
from backend.regions.models import Region
from tests.backend.reports.helpers import admit, discharge, report, row, send, since
from tests.factories import add_group


def test_hand_computed_period(client, world, db):
    crisis = world.groups_b[1]  # 4 places, day tariff 200, availability share 0.75 by default
    since(db, world.groups_a + world.groups_b)
    send(
        client,
        world,
        [
            admit("a1", crisis, "2025-03-01", "own"),
            discharge("d1", crisis, "2025-03-06", "own"),
            admit("a2", crisis, "2025-03-03", "other", origin="JZ07"),
            discharge("d2", crisis, "2025-03-08", "other"),
        ],
    )
    body = report(client, world, start="2025-03-01", end="2025-03-10")
    figures = row(body, crisis)
    # 10 nights × 4 places = 40; own youth nights 1–5 March (5), other 3–7 March (5): 10 occupied.
    assert {
        k: figures[k]
        for k in (
            "available_bed_days",
            "occupied_bed_days",
            "occupied_bed_days_own_region",
            "occupied_bed_days_other_regions",
            "empty_bed_days",
            "occupancy_rate",
            "availability_funding",
            "pxq_amount",
            "below_50",
        )
    } == {
        "available_bed_days": 40,
        "occupied_bed_days": 10,
        "occupied_bed_days_own_region": 5,
        "occupied_bed_days_other_regions": 5,
        "empty_bed_days": 30,
        "occupancy_rate": 0.25,
        "availability_funding": 4500.0,  # 30 × €200 × 0.75
        "pxq_amount": 1000.0,
        "below_50": True,
    }  # 5 own-region nights × €200
    # Only availability-funded groups are in the report; the woongroep and gezinshuis are not.
    assert [r["group_id"] for r in body["groups"]] == [crisis]
    assert body["providers"][0]["availability_funding"] == 4500.0 and body["total"]["groups_below_50"] == 1


def test_crisis_group_full_with_other_regions_owes_no_availability_funding(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis])
    send(client, world, [admit(f"a{i}", crisis, "2025-02-20", f"y{i}", origin="JZ25") for i in range(4)])
    figures = row(report(client, world, start="2025-03-01", end="2025-03-31"), crisis)
    assert figures["occupied_bed_days"] == 124 and figures["occupied_bed_days_other_regions"] == 124
    assert figures["empty_bed_days"] == 0 and figures["availability_funding"] == 0.0
    assert figures["pxq_amount"] == 0.0 and figures["occupancy_rate"] == 1.0 and figures["below_50"] is False
    # The share is a contract setting of the region.
    with db.transaction() as session:
        region = session.exec(select(Region)).one()
        region.settings = {"availability_share": 0.5}
        session.add(region)
    figures = row(report(client, world, start="2025-04-01", end="2025-04-10"), crisis)
    assert figures["availability_funding"] == 0.0 and figures["availability_share"] == 0.5


def test_stay_across_the_year_end_and_a_leap_year(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis])
    send(client, world, [admit("a1", crisis, "2023-12-30", "y1"), discharge("d1", crisis, "2025-01-03", "y1")])
    y2023, y2024, y2025 = (row(report(client, world, year=y), crisis) for y in (2023, 2024, 2025))
    assert y2023["occupied_bed_days"] == 2  # nights of 30 and 31 December
    assert y2024["days"] == 366 and y2024["available_bed_days"] == 4 * 366  # leap year
    assert y2024["occupied_bed_days"] == 366 and y2024["empty_bed_days"] == 3 * 366
    assert y2024["availability_funding"] == 3 * 366 * 200 * 0.75
    assert y2025["occupied_bed_days"] == 2 and y2025["days"] == 365  # nights of 1 and 2 January
    assert y2024["below_50"] is True  # 25% occupancy


def test_roles_and_providers_see_their_own_groups(client, world, db):
    with db.transaction() as session:
        location = session.exec(select(Location).where(Location.provider_id == world.provider_a)).first()
        own = add_group(
            session,
            location,
            name="Driemilieu Eik",
            care_form="driemilieu",
            capacity=6,
            weekly_roster_hours=500.0,
            day_tariff=480.0,
        ).id
    since(db, [own, world.groups_b[1]])
    assert (
        client.get(
            "/api/v1/post-calculation", params={"region": "JZ14", "year": 2025}, headers=world.headers("crisis")
        ).status_code
        == 403
    )
    mine = report(client, world, who="provider_a", year=2025)
    assert [r["group_id"] for r in mine["groups"]] == [own]
    assert [r["group_id"] for r in report(client, world, who="viewer", year=2025)["groups"]] == [own, world.groups_b[1]]
    bad = client.get(
        "/api/v1/post-calculation",
        params={"region": "JZ14", "start": "2025-05-01", "end": "2025-04-01"},
        headers=world.headers("admin"),
    )
    assert bad.status_code == 422 and "einddatum" in bad.json()["detail"]


def test_exports_csv_excel_and_chart(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis])
    send(client, world, [admit("a1", crisis, "2024-01-10", "y1"), discharge("d1", crisis, "2024-03-01", "y1")])
    params = {"region": "JZ14", "year": 2024}
    headers = world.headers("coordinator")
    text = client.get("/api/v1/post-calculation/export.csv", params=params, headers=headers)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig")), delimiter=";"))
    header, first = lines[1], lines[2]
    assert "Beschikbaarheidsbekostiging" in header and first[1] == "Crisisgroep Wilg"
    # 51 nights of 1464: empty 1413 × 200 × 0.75 = 211950, with a decimal comma.
    assert first[header.index("Beschikbaarheidsbekostiging")] == "211950,00"
    assert first[header.index("Bezettingsgraad")] == "3,5%"
    assert lines[-1][1] == "Totaal regio"
    book = client.get("/api/v1/post-calculation/export.xlsx", params=params, headers=headers)
    sheet = load_workbook(io.BytesIO(book.content))["Per groep"]
    values = [cell.value for cell in sheet[2]]
    assert values[0] == crisis and 211950 in values
    chart = client.get(f"/api/v1/post-calculation/groups/{crisis}/chart.svg", params={"year": 2024}, headers=headers)
    assert chart.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(chart.text)  # noqa: S314 (our own SVG)
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect")][1:]
    assert len(bars) == 53 and "Bezetting Crisisgroep Wilg" in chart.text and "jan" in chart.text
