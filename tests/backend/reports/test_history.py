"""The post-calculation night by night from the register's history, with hand-computed amounts:
contract versions, active periods, crisis foster care, the tariff table by funded intensity,
and nights not admitting."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from backend.events.models import Event
from backend.events.service import next_seq
from backend.intensity.models import IntensityReassessment
from backend.occupancy.service import today
from backend.providers.models import Group, Location
from backend.register.models import ContractTerm
from tests.backend.reports.helpers import (
    add_tariff,
    add_term,
    admit,
    discharge,
    group_ids,
    report,
    row,
    send,
    set_region_settings,
    since,
)
from tests.factories import add_group, set_free


def test_capacity_change_from_1_july_changes_the_year_by_the_hand_computed_amount(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis], date(2024, 1, 1))
    add_term(db, crisis, date(2025, 1, 1), places=4, day_tariff=300.0)
    before = row(report(client, world, year=2025), crisis)
    # 365 nights × 4 places × €300 × 0.75, nobody present.
    assert before["availability_funding"] == 365 * 4 * 300 * 0.75 == 328_500
    add_term(db, crisis, date(2025, 7, 1), places=8, day_tariff=300.0)
    after = row(report(client, world, year=2025), crisis)
    # 1 Jan–30 Jun: 181 nights × 4; 1 Jul–31 Dec: 184 nights × 8; each place-night €300 × 0.75.
    assert after["availability_funding"] == 181 * 4 * 225 + 184 * 8 * 225 == 494_100
    assert after["availability_funding"] - before["availability_funding"] == 184 * 4 * 225 == 165_600
    assert after["contracted_bed_days"] == 181 * 4 + 184 * 8 == 2196
    assert after["available_bed_days"] == 2196 and after["empty_bed_days"] == 2196
    assert after["contracted_places"] == 8 and after["day_tariff"] == 300.0  # of the last night
    assert after["counted_nights"] == after["funded_nights"] == 365
    periods = [(p["from"], p["to"], p["nights"], p["contracted_places"], p["day_tariff"]) for p in after["inputs"]]
    assert periods == [("2025-01-01", "2025-06-30", 181, 4, 300.0), ("2025-07-01", "2025-12-31", 184, 8, 300.0)]
    assert {p["tariff_source"] for p in after["inputs"]} == {"contract"}
    assert {p["share_source"] for p in after["inputs"]} == {"regio"}
    # No report of a stop was ever stored: every night admits.
    assert after["not_admitting_nights"] == 0 and after["not_admitting_periods"] == []
    # The group's own row (today's mirror) was not touched: the report reads the versions.
    with db.transaction(write=False) as session:
        assert session.get(Group, crisis).capacity == 4
    # A requested (not approved) version changes nothing.
    add_term(db, crisis, date(2025, 10, 1), places=12, day_tariff=300.0, status="requested")
    assert row(report(client, world, year=2025), crisis)["availability_funding"] == 494_100


def test_a_group_active_from_this_year_owes_nothing_for_last_year(client, world, db):
    this_year = today().year
    last_year = this_year - 1
    # The factories' groups start today: last year they did not exist (the old report paid
    # them for the whole year at today's places).
    assert group_ids(report(client, world, year=last_year)) == []
    with db.transaction() as session:
        location = session.exec(select(Location).where(Location.provider_id == world.provider_a)).first()
        new = add_group(
            session,
            location,
            name="Jeugdzorgplus Es",
            care_form="jeugdzorgplus",
            capacity=5,
            weekly_roster_hours=450.0,
            day_tariff=500.0,
            active_from=date(this_year, 1, 1),
        ).id
    assert new not in group_ids(report(client, world, year=last_year))
    this = row(report(client, world, year=this_year), new)
    assert this["counted_nights"] == today().timetuple().tm_yday
    # A contract from long ago does not count before the group's active period either.
    add_term(db, new, date(2020, 1, 1), places=5, day_tariff=500.0, valid_to=date(this_year - 1, 12, 31))
    old = row(report(client, world, year=last_year), new)
    assert old["counted_nights"] == 0 and old["availability_funding"] == 0.0 and old["contracted_bed_days"] == 0
    assert old["contracted_places"] == 0 and old["day_tariff"] is None
    assert old["inputs"] == [
        {
            "from": f"{last_year}-01-01",
            "to": f"{last_year}-12-31",
            "nights": 366 if last_year % 4 == 0 else 365,
            "counted": False,
            "reason": "buiten de actieve periode van de groep",
        }
    ]


def test_a_night_without_an_approved_term_or_with_an_unfunded_term_earns_nothing(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis], date(2025, 1, 1))
    with db.transaction() as session:
        term = session.exec(select(ContractTerm).where(ContractTerm.group_id == crisis)).one()
        term.valid_to = date(2025, 1, 31)  # January: 4 places at €200
        session.add(term)
    add_term(db, crisis, date(2025, 3, 1), places=4, day_tariff=200.0, funded=False, valid_to=date(2025, 3, 31))
    add_term(db, crisis, date(2025, 4, 1), places=2, day_tariff=100.0, share=0.5, valid_to=date(2025, 4, 30))
    send(client, world, [admit("a1", crisis, "2025-03-10", "y1"), discharge("d1", crisis, "2025-03-20", "y1")])
    figures = row(report(client, world, start="2025-01-01", end="2025-04-30"), crisis)
    # Jan: 31 × 4 × 200 × 0.75 = 18600; Feb: no term; Mar: counted, not funded; Apr: 30 × 2 × 100 × 0.5 = 3000.
    assert figures["availability_funding"] == 18_600 + 3_000
    assert figures["counted_nights"] == 31 + 31 + 30 and figures["funded_nights"] == 31 + 30
    assert figures["contracted_bed_days"] == 31 * 4 + 31 * 4 + 30 * 2
    assert figures["available_bed_days"] == 31 * 4 + 30 * 2
    # The ten March nights are occupied (P×Q at that night's tariff), not empty funded nights.
    assert figures["occupied_bed_days"] == 10 and figures["pxq_amount"] == 10 * 200
    assert figures["empty_bed_days"] == 31 * 4 + 30 * 2
    assert figures["availability_share"] == 0.5 and figures["contracted_places"] == 2
    reasons = [(p["from"], p.get("reason"), p.get("availability_funded")) for p in figures["inputs"]]
    assert reasons == [
        ("2025-01-01", None, True),
        ("2025-02-01", "geen goedgekeurde contractversie", None),
        ("2025-03-01", None, False),
        ("2025-04-01", None, True),
    ]
    assert figures["inputs"][3]["share_source"] == "contract"


def test_crisis_foster_care_is_never_availability_funded(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis], date(2024, 1, 1))
    with db.transaction() as session:
        location = session.exec(select(Location).where(Location.provider_id == world.provider_b)).first()
        foster = add_group(
            session,
            location,
            name="Crisispleegzorg Linde",
            care_form="crisispleegzorg",
            capacity=3,
            weekly_roster_hours=30.0,
            day_tariff=54.77,
            active_from=date(2024, 1, 1),
        ).id
        # A term that says otherwise (as an old import could have it) does not make it so.
        term = session.exec(select(ContractTerm).where(ContractTerm.group_id == foster)).one()
        term.availability_funded = True
        session.add(term)
    body = report(client, world, year=2025)
    assert group_ids(body) == [crisis]
    assert body["total"]["availability_funding"] == 365 * 4 * 200 * 0.75


def test_tariff_from_the_table_by_funded_intensity_moves_with_a_reassessment(client, world, db):
    with db.transaction() as session:
        location = session.exec(select(Location).where(Location.provider_id == world.provider_a)).first()
        group = add_group(
            session,
            location,
            name="Driemilieu Hazelaar",
            care_form="driemilieu",
            capacity=6,
            weekly_roster_hours=220.0,
            active_from=date(2024, 1, 1),
        )
        group_id = group.id
        group.intensity = "G"  # today's funded intensity (after the re-assessment)
        session.add(group)
        session.add(
            IntensityReassessment(
                group_id=group_id,
                created_at=datetime(2025, 3, 1, 9, tzinfo=UTC),
                created_by="test",
                capacity_before=6,
                capacity_after=6,
                roster_hours_before=220.0,
                roster_hours_after=260.0,
                hours_per_child_per_day=6.5,
                intensity_before="F",
                intensity_after="G",
                status="approved",
                decided_at=datetime(2025, 5, 20, 9, tzinfo=UTC),
                decided_by="test",
                valid_from=date(2025, 4, 1),
            )
        )
    # The contract names no tariff of its own: the region's table by care form and letter.
    add_term(db, group_id, date(2025, 1, 1), places=6, day_tariff=None)
    add_tariff(db, world.region_id, "driemilieu", "F", 400.0)
    add_tariff(db, world.region_id, "driemilieu", "G", 500.0)
    add_tariff(db, world.region_id, "driemilieu", "", 999.0)  # for letters without a row of their own
    add_tariff(db, world.region_id, "crisis", "F", 1.0)  # another care form's row does not apply
    # One youth of the own region across the change: nights 27 March – 5 April.
    send(
        client,
        world,
        [admit("a1", group_id, "2025-03-27", "y1"), discharge("d1", group_id, "2025-04-06", "y1")],
        who="key_a",
    )
    figures = row(report(client, world, year=2025), group_id)
    # 1 Jan–31 Mar: 90 nights at €400 (F, before the re-assessment's valid_from);
    # 1 Apr–31 Dec: 275 nights at €500 (G). Empty: 6 a night, 5 on the occupied nights.
    full = 6 * 0.75 * (90 * 400 + 275 * 500)
    assert full == 780_750
    assert figures["availability_funding"] == full - 0.75 * (5 * 400 + 5 * 500) == 777_375
    assert figures["pxq_amount"] == 5 * 400 + 5 * 500 == 4_500
    assert figures["day_tariff"] == 500.0
    applied = [(p["from"], p["to"], p["intensity"], p["tariff_key"], p["day_tariff"]) for p in figures["inputs"]]
    assert applied == [
        ("2025-01-01", "2025-03-31", "F", "F", 400.0),
        ("2025-04-01", "2025-12-31", "G", "G", 500.0),
    ]
    assert {p["tariff_source"] for p in figures["inputs"]} == {"tarieftabel"}
    # Without valid_from the decision date counts; a letter without a row uses the care form's row.
    with db.transaction() as session:
        item = session.exec(select(IntensityReassessment)).one()
        item.valid_from = None
        item.intensity_after = "H"
        session.add(item)
    figures = row(report(client, world, year=2025), group_id)
    applied = [(p["from"], p["intensity"], p["day_tariff"]) for p in figures["inputs"]]
    assert applied == [("2025-01-01", "F", 400.0), ("2025-05-20", "H", 999.0)]
    # 139 nights at €400 (1 Jan–19 May), 226 at €999; the ten occupied nights are all at €400.
    assert figures["availability_funding"] == 4.5 * (139 * 400 + 226 * 999) - 0.75 * 10 * 400
    assert figures["pxq_amount"] == 10 * 400


def admitting_report(db, group_id: int, moment: datetime, admitting: bool) -> None:
    """An availability event as the places owner writes it, at a moment in the past."""
    with db.transaction() as session:
        group = session.get(Group, group_id)
        session.add(
            Event(
                seq=next_seq(session),
                type="availability.changed",
                at=moment,
                region_id=group.region_id,
                provider_id=group.provider_id,
                group_id=group_id,
                actor="test",
                payload={"group": {"id": group_id, "free_places": 0, "admitting": admitting}},
            )
        )


def test_not_admitting_nights_from_the_stored_reports_and_the_region_setting(client, world, db):
    crisis = world.groups_b[1]  # 4 places at €200, share 0.75: €150 a place-night
    since(db, [crisis], date(2024, 1, 1))
    admitting_report(db, crisis, datetime(2025, 2, 1, 10, tzinfo=UTC), True)
    # 23:30 UTC on 9 March is 00:30 on 10 March in the Netherlands: the stop starts on 10 March.
    admitting_report(db, crisis, datetime(2025, 3, 9, 23, 30, tzinfo=UTC), False)
    admitting_report(db, crisis, datetime(2025, 3, 12, 8, tzinfo=UTC), False)  # still not admitting
    admitting_report(db, crisis, datetime(2025, 3, 15, 12, tzinfo=UTC), True)
    admitting_report(db, crisis, datetime(2025, 6, 1, 12, tzinfo=UTC), False)  # after the period
    # A youth on the nights of 12 and 13 March.
    send(client, world, [admit("a1", crisis, "2025-03-12", "y1"), discharge("d1", crisis, "2025-03-14", "y1")])
    figures = row(report(client, world, start="2025-03-01", end="2025-03-31"), crisis)
    # Not admitting: the nights of 10–14 March; empty 4 + 4 + 3 + 3 + 4 = 18 bed-days.
    assert figures["not_admitting_nights"] == 5
    assert figures["not_admitting_periods"] == [{"from": "2025-03-10", "to": "2025-03-14", "nights": 5}]
    assert figures["not_admitting_empty_bed_days"] == 18
    assert figures["not_admitting_funding"] == 18 * 150 == 2_700
    # By default the stop is paid: every empty bed-day, 31 × 4 − 2 = 122, at €150.
    assert figures["empty_bed_days"] == 122 and figures["availability_funding"] == 122 * 150 == 18_300
    assert figures["not_admitting_paid"] is True
    set_region_settings(db, fund_not_admitting_nights=False)
    body = report(client, world, start="2025-03-01", end="2025-03-31")
    figures = row(body, crisis)
    assert body["fund_not_admitting_nights"] is False and figures["not_admitting_paid"] is False
    assert figures["availability_funding"] == (122 - 18) * 150 == 15_600
    assert figures["not_admitting_funding"] == 2_700 and body["total"]["not_admitting_funding"] == 2_700
    # A stop reported before the period carries into it: 12–14 March.
    figures = row(report(client, world, start="2025-03-12", end="2025-03-20"), crisis)
    assert figures["not_admitting_nights"] == 3
    assert figures["availability_funding"] == (9 * 4 - 2 - (3 + 3 + 4)) * 150


def test_the_weekly_chart_uses_each_nights_contracted_places(client, world, db):
    crisis = world.groups_b[1]
    since(db, [crisis], date(2024, 1, 1))
    add_term(db, crisis, date(2025, 7, 1), places=8, day_tariff=200.0)
    send(client, world, [admit("a1", crisis, "2024-12-01", "y1"), admit("a2", crisis, "2024-12-01", "y2")])
    chart = client.get(
        f"/api/v1/post-calculation/groups/{crisis}/chart.svg", params={"year": 2025}, headers=world.headers("viewer")
    )
    assert chart.status_code == 200
    # Two youths every night: half of 4 places in January, a quarter of 8 places in August.
    assert "week van 01-01-2025: 50% bezet" in chart.text
    assert "week van 30-07-2025: 25% bezet" in chart.text


def test_a_stop_reported_through_the_availability_api_counts_tonight(client, world, db):
    # The real report path (on PostgreSQL one statement that writes the group JSON itself).
    crisis = world.groups_b[1]
    since(db, [crisis], date(2024, 1, 1))
    tonight = today().isoformat()
    assert row(report(client, world, start=tonight, end=tonight), crisis)["not_admitting_nights"] == 0
    set_free(client, world, crisis, 1, "provider_b", admitting=True)  # a report that changes nothing
    set_free(client, world, crisis, 0, "provider_b", admitting=False, reason="Personeelstekort")
    figures = row(report(client, world, start=tonight, end=tonight), crisis)
    assert figures["not_admitting_nights"] == 1 and figures["not_admitting_periods"][0]["from"] == tonight
    assert figures["not_admitting_funding"] == figures["availability_funding"] == 4 * 150
