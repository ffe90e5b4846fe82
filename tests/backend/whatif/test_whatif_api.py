"""The what-if simulation as a background job: a small built history of Twente, a closed group
against the baseline, progress and cancelling, region scoping and refused input."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from backend.audit.models import AuditEntry
from backend.errors import RuleViolation
from backend.placements.models import Placement
from backend.providers.models import Group
from backend.referrals.models import Referral
from backend.regions.models import Region
from backend.whatif import service
from backend.whatif.models import WhatIfRun, WhatIfRunCreate
from tests.backend.reports.helpers import add_term, since
from tests.backend.scope.regions import build_region_b
from tests.backend.test_region_scope import other_region_coordinator
from tests.factories import add_user

START, END = "2025-01-01", "2025-03-31"
URL = "/api/v1/whatif/runs"


def history(db, world, n: int = 8) -> None:
    """``n`` referrals for a woongroep, one every ten days from 2 January; the first one really
    arrived in Esdoorn on 5 January and left on 25 January (the only completed stay)."""
    since(db, world.groups_a + world.groups_b)
    with db.transaction() as session:
        ids = []
        for k in range(n):
            moment = datetime(2025, 1, 2, 9, tzinfo=UTC) + timedelta(days=10 * k)
            ref = Referral(
                region_id=world.region_id,
                reference=f"WI-{k}",
                birth_year=2010,
                birth_month=3,
                gender="m",
                home_lat=52.22 + 0.01 * k,
                home_lon=6.89,
                origin_region_code="JZ14",
                care_forms=["woongroep", "behandelgroep"],
                required_intensity="A",
                waiting_since=moment,
                status="waiting",
                created_at=moment,
                updated_at=moment,
            )
            session.add(ref)
            session.flush()
            ids.append(ref.id)
        session.add(
            Placement(
                referral_id=ids[0],
                group_id=world.groups_a[0],
                provider_id=world.provider_a,
                region_id=world.region_id,
                status="discharged",
                expected_arrival=date(2025, 1, 5),
                stay_reference="wi-0",
                arrived_at=datetime(2025, 1, 5, 12, tzinfo=UTC),
                discharged_at=datetime(2025, 1, 25, 12, tzinfo=UTC),
                created_at=datetime(2025, 1, 4, tzinfo=UTC),
                created_by="test",
                updated_at=datetime(2025, 1, 25, tzinfo=UTC),
            )
        )


def start(client, world, who="viewer", **body):
    return client.post(URL, json={"start": START, "end": END, **body}, headers=world.headers(who))


def finished(client, world, run_id: int, who="viewer", seconds: float = 30.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"{URL}/{run_id}", headers=world.headers(who)).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {body}")


def figure(result: dict, key: str) -> dict:
    return next(f for f in result["figures"] if f["key"] == key)


def test_closing_a_group_places_no_more_youths_than_the_baseline(client, world, db):
    history(db, world)
    # Esdoorn (8 places) and Eik (6) take woongroep/behandelgroep youths: close Esdoorn.
    response = start(client, world, change="close", group_id=world.groups_a[0], repetitions=3)
    assert response.status_code == 202, response.text
    run = finished(client, world, response.json()["id"])
    assert run["status"] == "done", run
    assert run["progress"] == 1.0 and "Esdoorn gesloten" in run["params"]["description"]
    result = run["result"]
    assert result["referrals"] == 8 and result["repetitions"] == 3 and result["completed_stays"] == 1
    placed = figure(result, "placed")
    assert placed["change"]["mean"] <= placed["baseline"]["mean"]
    assert placed["baseline"]["mean"] == 8  # 14 places for 8 youths: all placed at once
    assert figure(result, "median_wait_days")["baseline"]["mean"] == 0
    # What happened: one youth arrived, three days after the referral; seven still waited.
    assert placed["observed"] == 1
    assert figure(result, "share_out_of_region")["observed"] == 0
    # Availability funding: only crisis group Wilg has it (4 places × 90 nights × €200 × 0.75,
    # empty all period); closing Esdoorn does not change it.
    money = figure(result, "availability_funding")
    assert money["observed"] == money["baseline"]["mean"] == money["change"]["mean"] == pytest.approx(54_000)
    # The coordinator reads the run too; the start is in the audit log, in aggregate.
    assert client.get(f"{URL}/{run['id']}", headers=world.headers("coordinator")).status_code == 200
    with db.transaction(write=False) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "whatif.run")).all()
        assert len(rows) == 1 and rows[0].purpose == "whatif_simulation"


def test_places_follow_the_register_day_by_day(client, world, db):
    history(db, world)
    esdoorn, eik = world.groups_a
    wilg = world.groups_b[1]
    # Eik opens on 15 February (day 45); Wilg's contract goes from 4 to 2 places on 1 February.
    with db.transaction() as session:
        group = session.get(Group, eik)
        group.active_from = date(2025, 2, 15)
        session.add(group)
    add_term(db, wilg, date(2025, 2, 1), places=2, day_tariff=200.0, share=0.75)
    response = start(client, world, change="close", group_id=esdoorn, repetitions=2)
    assert response.status_code == 202, response.text
    run = finished(client, world, response.json()["id"])
    assert run["status"] == "done", run
    result = run["result"]
    # Esdoorn closed: nobody is placed in Eik before it opens, so the first referrals wait for it
    # (six weeks and more); with Esdoorn open everybody is placed at once.
    waits = figure(result, "p90_wait_days")
    assert waits["baseline"]["mean"] == 0 and waits["change"]["mean"] >= 30
    assert figure(result, "placed")["change"]["mean"] == 8
    # Wilg, empty all period: 31 nights × 4 places + 59 nights × 2 places, at €200 × 0.75.
    money = figure(result, "availability_funding")
    expected = (31 * 4 + 59 * 2) * 200 * 0.75
    assert money["observed"] == money["baseline"]["mean"] == money["change"]["mean"] == pytest.approx(expected)
    assert result["more_placed_with_change"] == 0
    assert any("2 groepen hadden niet de hele periode evenveel plaatsen" in n for n in result["notes"])


def test_progress_rises_and_stoppen_cancels_a_running_run(client, world, db, monkeypatch):
    history(db, world, n=4)
    monkeypatch.setattr(service, "CHECK_EVERY_S", 0.0)
    original = service.replay

    def slow_replay(*args, should_stop=None, **kwargs):
        # every day of the replay takes 20 ms: the run lasts long enough to watch and stop
        def slow() -> bool:
            time.sleep(0.02)
            return should_stop() if should_stop else False

        return original(*args, should_stop=slow, **kwargs)

    monkeypatch.setattr(service, "replay", slow_replay)
    run_id = start(client, world, policy="batch", repetitions=30).json()["id"]
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len([p for p in seen if p > 0]) < 3:
        body = client.get(f"{URL}/{run_id}", headers=world.headers("viewer")).json()
        if body["status"] == "running" and (not seen or body["progress"] != seen[-1]):
            seen.append(body["progress"])
        time.sleep(0.05)
    assert seen == sorted(seen) and seen[-1] > 0, seen
    # One run at a time per region.
    busy = start(client, world, who="admin", change="close", group_id=world.groups_a[0])
    assert busy.status_code == 409 and busy.json()["code"] == "whatif_busy"
    asked = time.monotonic()
    cancelled = client.post(f"{URL}/{run_id}/cancel", headers=world.headers("viewer"))
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"] is True
    body = finished(client, world, run_id, seconds=5)
    assert body["status"] == "cancelled" and body["result"] is None
    assert time.monotonic() - asked < 2.5


def test_another_regions_people_get_404_and_coordinators_only_read(client, world, db):
    history(db, world, n=2)
    run_id = start(client, world, change="places", group_id=world.groups_a[1], places_delta=-2, repetitions=2).json()[
        "id"
    ]
    finished(client, world, run_id)
    stranger = other_region_coordinator(db, world)
    with db.transaction() as session:
        _user, token = add_user(session, world.settings, "viewer_elders", "viewer", None, _elders(session))
    viewer_b = {"Authorization": f"Bearer {token}"}
    for headers in (stranger, viewer_b):
        assert client.get(f"{URL}/{run_id}", headers=headers).status_code == 404
    assert client.post(f"{URL}/{run_id}/cancel", headers=viewer_b).status_code == 404
    other = client.post(URL, json={"start": START, "end": END, "region_id": world.region_id}, headers=viewer_b)
    assert other.status_code == 404
    # Coordinators read, they do not start or stop; providers see nothing.
    assert start(client, world, who="coordinator", change="close", group_id=world.groups_a[0]).status_code == 403
    assert client.post(f"{URL}/{run_id}/cancel", headers=world.headers("coordinator")).status_code == 403
    assert client.get(f"{URL}/{run_id}", headers=world.headers("provider_a")).status_code == 403


def test_the_list_of_earlier_runs_is_the_regions_own(client, world, db):
    history(db, world, n=2)
    first = start(client, world, change="close", group_id=world.groups_a[0], repetitions=2).json()["id"]
    finished(client, world, first)
    second = start(client, world, change="places", group_id=world.groups_a[1], places_delta=1, repetitions=2)
    second = second.json()["id"]
    finished(client, world, second)
    listed = client.get(URL, headers=world.headers("coordinator"))
    assert listed.status_code == 200, listed.text
    runs = listed.json()
    assert [r["id"] for r in runs] == [second, first]  # newest first
    assert runs[1]["description"] == "Woongroep Esdoorn gesloten" and runs[1]["status_label"] == "Klaar"
    assert (runs[1]["start"], runs[1]["end"]) == (START, END) and runs[1]["created_by"].endswith(":viewer")
    assert runs[1]["headline"]["placed_baseline"] == 2 and runs[1]["finished_at"]
    assert "result" not in runs[1] and "params" not in runs[1]  # no youth data, no figures
    page = client.get(URL, params={"limit": 1, "before_id": second}, headers=world.headers("viewer")).json()
    assert [r["id"] for r in page] == [first]
    # Another region's people see none of them, and may not ask for this region's.
    stranger = other_region_coordinator(db, world)
    assert client.get(URL, headers=stranger).json() == []
    asked = client.get(URL, params={"region_id": world.region_id}, headers=stranger)
    assert asked.status_code == 404 and asked.json()["detail"] == "Regio niet gevonden."
    # A service-wide administrator sees every region's, or one region's.
    with db.transaction() as session:
        _user, token = add_user(session, world.settings, "national", "admin", None, None)
    national = {"Authorization": f"Bearer {token}"}
    assert [r["id"] for r in client.get(URL, headers=national).json()] == [second, first]
    assert client.get(URL, params={"region_id": _elders_id(db)}, headers=national).json() == []
    assert client.get(URL, headers=world.headers("provider_a")).status_code == 403
    bad = client.get(URL, params={"limit": 0}, headers=world.headers("viewer"))
    assert bad.status_code == 422 and bad.json()["code"]


def _elders_id(db) -> int:
    with db.transaction(write=False) as session:
        return _elders(session)


def _elders(session) -> int:
    from backend.regions.models import Region

    return session.exec(select(Region.id).where(Region.code == "JZ99")).one()


BAD = [
    ({"change": "close", "group_id": 999_999}, "group_unknown", "bestaat niet"),
    ({"start": "2025-03-31", "end": "2025-01-01", "change": "close", "group_id": 0}, "period_invalid", "einddatum"),
    ({"start": "2021-01-01", "end": "2025-01-01", "change": "close", "group_id": 0}, "period_too_long", "drie jaar"),
    ({"change": "merge", "group_id": 0, "other_group_id": 0}, "merge_same_group", "zichzelf"),
    ({"change": "places", "group_id": 0, "places_delta": -9}, "places_below_zero", "niet 9 af"),
    ({}, "change_missing", "Kies een wijziging"),
]


def test_bad_input_is_refused_in_dutch_and_stores_nothing(client, world, db):
    since(db, world.groups_a + world.groups_b)
    for body, code, words in BAD:
        body = {k: (world.groups_a[0] if v == 0 and k.endswith("group_id") else v) for k, v in body.items()}
        response = start(client, world, who="admin", **body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code and words in response.json()["detail"], response.json()
    with db.transaction(write=False) as session:
        assert session.exec(select(func.count()).select_from(WhatIfRun)).one() == 0
        actions = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "whatif.run")
        assert session.exec(actions).one() == 0


def test_a_run_whose_process_ended_says_so_and_blocks_nothing(client, world, db):
    history(db, world, n=2)
    with db.transaction() as session:
        lost = WhatIfRun(
            region_id=world.region_id,
            status="running",
            progress=0.4,
            params={"description": "Esdoorn gesloten"},
            created_by="test",
            created_at=datetime.now(UTC) - timedelta(hours=2),
        )
        session.add(lost)
        session.flush()
        lost_id = lost.id
    body = client.get(f"{URL}/{lost_id}", headers=world.headers("viewer")).json()
    assert body["status"] == "failed" and "opnieuw startte" in body["error"]
    fresh = start(client, world, change="close", group_id=world.groups_a[0], repetitions=2)
    assert fresh.status_code == 202, fresh.text
    assert finished(client, world, fresh.json()["id"])["status"] == "done"


def test_the_neighbouring_regions_groups_come_in_as_a_fallback_without_funding(world, db):
    b = build_region_b(db, world.settings)
    since(db, [b.group_id, b.crisis_group_id])
    history(db, world)
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {**(region.settings or {}), "neighbours": ["JZ07"]}
        session.add(region)
    with db.transaction(write=False) as session:
        read = service.read_history(
            session, session.get(Region, world.region_id), service.Period(date(2025, 1, 1), date(2025, 3, 31))
        )
    assert read.fallback == {b.group_id, b.crisis_group_id}
    assert not read.in_region[b.group_id] and read.in_region[world.groups_a[0]]
    assert all(s.rate == 0 for gid in read.fallback for s in read.schedule[gid])
    assert {g.id for g in read.groups} >= {b.group_id, *world.groups_a}
    # A change can only name the region's own groups.
    own = {gid: s for gid, s in read.schedule.items() if gid not in read.fallback}
    with pytest.raises(RuleViolation):
        service.check_change(
            WhatIfRunCreate(start=date(2025, 1, 1), end=date(2025, 3, 31), change="close", group_id=b.group_id),
            own,
            read.group_names,
        )
