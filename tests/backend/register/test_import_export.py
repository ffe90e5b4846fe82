"""The register file: export, import, dry run, and refusal of a bad file as a whole, on both
databases, through the API as a contract manager uses it."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlmodel import col, select

from backend.domain import utcnow
from backend.events.models import Event
from backend.intensity.models import IntensityReassessment
from backend.providers.models import Group
from backend.regions.models import Postcode
from backend.register import sheets as S
from backend.register.models import ContractTerm
from tests.factories import count_events_and_audit, group_row, sheet_rows, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export(client: Any, world: Any, fmt: str = "xlsx") -> bytes:
    response = client.get(f"/api/v1/register/export?format={fmt}", headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    return response.content


def upload(client: Any, world: Any, name: str, data: bytes, *, dry_run: bool = False, who: str = "admin") -> Any:
    return client.post(
        f"/api/v1/register/import?dry_run={'true' if dry_run else 'false'}",
        files=[("files", (name, data, XLSX if name.endswith(".xlsx") else "application/octet-stream"))],
        headers=world.headers(who),
    )


def nothing_changed(counts: dict[str, dict[str, int]]) -> bool:
    return all(n == 0 for sheet in counts.values() for n in sheet.values())


def test_export_then_import_changes_nothing(client, world, db) -> None:  # type: ignore[no-untyped-def]
    data = export(client, world)
    before = count_events_and_audit(db)
    response = upload(client, world, "register.xlsx", data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] and nothing_changed(body["counts"]) and body["changes"] == []
    # Nothing was written but the one audit row and event of the import itself, and the
    # "import finished" notice to the person who imported.
    events, audits = count_events_and_audit(db)
    assert (events - before[0], audits - before[1]) == (2, 1)
    with db.transaction(write=False) as session:
        newest = session.exec(select(Event).order_by(col(Event.seq).desc()).limit(2)).all()
    assert sorted(e.type for e in newest) == ["notification.new", "register.imported"]
    assert export(client, world) == data or sheet_rows(export(client, world)) == sheet_rows(data)


def test_csv_zip_round_trip_and_headers_are_dutch(client, world) -> None:  # type: ignore[no-untyped-def]
    data = export(client, world, "csv")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        groups = archive.read("groepen.csv").decode()
    assert names == sorted(f"{s.name}.csv" for s in S.SHEETS)
    assert groups.splitlines()[0].startswith("AGB-code,Groepscode,Locatiecode,Naam,Zorgvorm")
    response = upload(client, world, "register.zip", data, dry_run=True)
    assert response.status_code == 200 and nothing_changed(response.json()["counts"])


def test_dry_run_reports_additions_and_changes_nothing(client, world, db) -> None:  # type: ignore[no-untyped-def]
    rows = sheet_rows(export(client, world))
    provider = rows["aanbieders"][1]
    rows["aanbieders"].append(["41999999", "Stichting Nieuw", "053-1111111", "info@nieuw.nl", None, None])
    rows["locaties"].append(["41999999", "HGL", "Nieuw Hengelo", "7551", "GM0153", 52.26, 6.79])
    rows["groepen"].append(
        [
            "41999999",
            "W1",
            "HGL",
            "Woongroep Nieuw",
            "woongroep",
            None,
            12,
            18,
            "gemengd",
            "AB",
            "trauma",
            200,
            0.95,
            "nee",
            None,
            None,
        ]
    )
    rows["contracten"].append(["41999999", "W1", "2026-01-01", None, 6, 210.5, "nee", None])
    # A changed phone number of an existing provider.
    provider[2] = "053-9999999"
    before_groups = _group_count(db)
    before = count_events_and_audit(db)
    response = upload(client, world, "register.xlsx", workbook(rows), dry_run=True)
    assert response.status_code == 200, response.text
    counts = response.json()["counts"]
    assert counts["aanbieders"] == {"added": 1, "changed": 1, "ended": 0}
    assert counts["groepen"]["added"] == 1 and counts["contracten"]["added"] == 1
    assert _group_count(db) == before_groups and count_events_and_audit(db) == before

    applied = upload(client, world, "register.xlsx", workbook(rows))
    assert applied.status_code == 200, applied.text
    assert _group_count(db) == before_groups + 1
    with db.transaction(write=False) as session:
        group = session.exec(select(Group).where(Group.code == "W1")).one()
        terms = session.exec(select(ContractTerm).where(ContractTerm.group_id == group.id)).all()
        assert (group.capacity, group.day_tariff, group.reported_at) == (6, 210.5, None)
        assert [(t.contracted_places, t.day_tariff, t.availability_funded) for t in terms] == [(6, 210.5, False)]
    # The new group is on the coordinator's list, shown as not yet reported (stale).
    listed = client.get("/api/v1/groups", headers=world.headers("coordinator")).json()
    new = [g for g in listed if g["code"] == "W1"]
    assert new and new[0]["stale"] and new[0]["capacity"] == 6
    # And importing the same file again changes nothing.
    again = upload(client, world, "register.xlsx", workbook(rows), dry_run=True)
    assert nothing_changed(again.json()["counts"])


def _group_count(db: Any) -> int:
    with db.transaction(write=False) as session:
        return len(session.exec(select(Group.id)).all())


def test_a_bad_file_is_refused_whole_with_every_problem_named(client, world, db) -> None:  # type: ignore[no-untyped-def]
    rows = sheet_rows(export(client, world))
    # Row 2 of providers: an AGB code of 7 digits.
    rows["aanbieders"].append(["4199999", "Stichting Zeven", None, None, None, None])
    header = rows["groepen"][0]
    care_form = header.index("Zorgvorm")
    rows["groepen"][1][care_form] = "zwembad"
    terms_header = rows["contracten"][0]
    places = terms_header.index("Plaatsen")
    family_home_row = next(i for i, r in enumerate(rows["groepen"]) if r[care_form] == "gezinshuis")
    family = rows["groepen"][family_home_row]
    family_key = (family[header.index("AGB-code")], family[header.index("Groepscode")])
    for index, row in enumerate(rows["contracten"][1:], start=1):
        if (row[terms_header.index("AGB-code")], row[terms_header.index("Groepscode")]) == family_key:
            row[places] = 7
            family_term_row = index + 1
        elif index == 1:
            row[places] = 0
    # A valid addition in the same file must not be applied either.
    rows["aanbieders"].append(["41999998", "Stichting Geldig", None, None, None, None])
    before_export = sheet_rows(export(client, world))
    before = count_events_and_audit(db)
    response = upload(client, world, "register.xlsx", workbook(rows))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "register_invalid" and "niets gewijzigd" in body["detail"]
    found = {(p["sheet"], p["row"], p["column"]): p["message"] for p in body["problems"]}
    agb_row = len(rows["aanbieders"]) - 1
    assert "8 cijfers" in found[("aanbieders", agb_row, "AGB-code")]
    assert "onbekende zorgvorm 'zwembad'" in found[("groepen", 2, "Zorgvorm")]
    assert "minstens 1" in found[("contracten", 2, "Plaatsen")]
    assert "hoogstens 6 kinderen, niet 7" in found[("contracten", family_term_row, "Plaatsen")]
    assert all(p["text"].startswith("tabblad ") for p in body["problems"])
    assert count_events_and_audit(db) == before
    assert sheet_rows(export(client, world)) == before_export


def test_a_comma_decimal_share_is_refused_in_dutch(client, world) -> None:  # type: ignore[no-untyped-def]
    rows = sheet_rows(export(client, world))
    share = rows["contracten"][0].index("Beschikbaarheidsdeel")
    rows["contracten"][1][share] = "0,75"
    rows["contracten"][2][share] = 1.5
    response = upload(client, world, "register.xlsx", workbook(rows), dry_run=True)
    assert response.status_code == 422
    found = {(p["row"], p["column"]): p["message"] for p in response.json()["problems"]}
    assert "punt als decimaalteken" in found[(2, "Beschikbaarheidsdeel")]
    assert "tussen 0 en 1" in found[(3, "Beschikbaarheidsdeel")]


def test_crisis_foster_care_is_never_availability_funded(client, world) -> None:  # type: ignore[no-untyped-def]
    rows = sheet_rows(export(client, world))
    rows["groepen"].append(
        [
            "41000002",
            "CP1",
            "ALM",
            "Crisispleeggezin Berk",
            "crisispleegzorg",
            None,
            0,
            18,
            "gemengd",
            "ABC",
            None,
            10,
            None,
            "ja",
            None,
            None,
        ]
    )
    rows["contracten"].append(["41000002", "CP1", "2026-01-01", None, 2, 54.77, "ja", None])
    response = upload(client, world, "register.xlsx", workbook(rows))
    assert response.status_code == 422
    messages = [p["message"] for p in response.json()["problems"]]
    assert any("crisispleegzorg" in m and "nooit" in m for m in messages)


def test_not_a_workbook_and_wrong_headers_are_explained(client, world) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, world, "register.xlsx", b"dit is geen werkmap")
    assert response.status_code == 422 and "geen Excel-werkmap" in response.json()["detail"]
    rows = sheet_rows(export(client, world))
    rows["groepen"][0][0] = "Zorgaanbieder"
    response = upload(client, world, "register.xlsx", workbook(rows))
    assert response.status_code == 422 and "onbekende kolom" in response.json()["detail"]


def test_only_an_admin_imports_and_a_formula_stays_text(client, world, db) -> None:  # type: ignore[no-untyped-def]
    data = export(client, world)
    for who in ("coordinator", "viewer", "provider_a", "crisis"):
        assert upload(client, world, "register.xlsx", data, who=who).status_code == 403
    # A CSV cell is text, whatever it starts with; the export must keep it text.
    csv_zip = export(client, world, "csv")
    with zipfile.ZipFile(io.BytesIO(csv_zip)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["aanbieders.csv"] = files["aanbieders.csv"].replace(b"Stichting De Linde", b'"=HYPERLINK(""http://x"")"')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    assert upload(client, world, "register.zip", buffer.getvalue()).status_code == 200
    exported = load_workbook(io.BytesIO(export(client, world)))["aanbieders"]
    names = [row[1] for row in exported.iter_rows(values_only=True)]
    assert '\'=HYPERLINK("http://x")' in names
    # And the guard does not creep: importing the export again changes nothing.
    again = upload(client, world, "register.xlsx", export(client, world), dry_run=True)
    assert nothing_changed(again.json()["counts"])


def test_a_group_ended_in_the_register_leaves_every_screen_but_keeps_its_history(client, world, db) -> None:  # type: ignore[no-untyped-def]
    crisis_group = world.groups_b[1]
    code = group_row(db, crisis_group).code
    assert crisis_group in crisis_places(client, world)
    rows = sheet_rows(export(client, world))
    header = rows["groepen"][0]
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    for row in rows["groepen"][1:]:
        if (row[header.index("AGB-code")], row[header.index("Groepscode")]) == ("41000002", code):
            # The world's groups start today; this one started a year ago and ended yesterday.
            row[header.index("Actief vanaf")] = (utcnow().date() - timedelta(days=365)).isoformat()
            row[header.index("Actief tot")] = yesterday
    preview = upload(client, world, "register.xlsx", workbook(rows), dry_run=True).json()
    assert preview["counts"]["groepen"] == {"added": 0, "changed": 0, "ended": 1}, preview["problems"]
    assert upload(client, world, "register.xlsx", workbook(rows)).status_code == 200
    listed = {g["id"] for g in client.get("/api/v1/groups", headers=world.headers("coordinator")).json()}
    assert crisis_group not in listed and world.groups_b[0] in listed
    everything = client.get("/api/v1/groups?include_inactive=true", headers=world.headers("coordinator")).json()
    ended = next(g for g in everything if g["id"] == crisis_group)
    assert ended["active_to"] == yesterday
    assert crisis_group not in crisis_places(client, world)
    # The live feed told everyone: the last event carries the group with its end date.
    with db.transaction(write=False) as session:
        changed = session.exec(
            select(Event).where(Event.group_id == crisis_group).order_by(col(Event.seq).desc())
        ).first()
        assert changed is not None and changed.payload["group"]["active_to"] == yesterday


def crisis_places(client: Any, world: Any) -> set[int]:
    found = client.post(
        "/api/v1/crisis/search",
        json={"age": 14, "lat": 52.36, "lon": 6.66, "radius_km": 50},
        headers=world.headers("crisis"),
    )
    assert found.status_code == 200, found.text
    return {r["group_id"] for r in found.json()["results"]}


def test_a_municipality_without_coordinates_gets_the_centre_of_its_postcodes(client, world, db) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        session.add_all(
            [
                Postcode(pc4="7491", place="Delden", municipality_name="Hof van Twente", lat=52.26, lon=6.70),
                Postcode(pc4="7471", place="Goor", municipality_name="Hof van Twente", lat=52.24, lon=6.58),
            ]
        )
    rows = sheet_rows(export(client, world))
    rows["gemeenten"].append(["GM1735", "Hof van Twente", None, None])
    rows["gemeenten"].append(["GM9999", "Nergenshuizen", None, None])
    refused = upload(client, world, "register.xlsx", workbook(rows), dry_run=True)
    assert refused.status_code == 422
    [problem] = refused.json()["problems"]
    assert (problem["row"], problem["column"]) == (len(rows["gemeenten"]), "Breedtegraad")
    rows["gemeenten"].pop()
    assert upload(client, world, "register.xlsx", workbook(rows)).status_code == 200
    towns = {m["cbs_code"]: m for m in client.get("/api/v1/municipalities", headers=world.headers("admin")).json()}
    assert (towns["GM1735"]["lat"], towns["GM1735"]["lon"]) == (52.25, 6.64)


def test_roster_hours_from_the_register_that_cross_a_band_open_a_reassessment(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    funded = group_row(db, group).intensity
    rows = sheet_rows(export(client, world))
    header = rows["groepen"][0]
    code = group_row(db, group).code
    for row in rows["groepen"][1:]:
        if (row[header.index("AGB-code")], row[header.index("Groepscode")]) == ("41000001", code):
            row[header.index("Roosteruren per week")] = 400
    response = upload(client, world, "register.xlsx", workbook(rows))
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["groepen"]["changed"] == 1
    assert (group_row(db, group).weekly_roster_hours, group_row(db, group).intensity) == (400, funded)
    with db.transaction(write=False) as session:
        opened = session.exec(select(IntensityReassessment).where(IntensityReassessment.group_id == group)).all()
        assert [(r.status, r.intensity_after) for r in opened] == [("open", "H")]
