"""Data quality of the free places on a hand-built update history: the share of days with an
update, the longest gap and the region's compliance rule, per group and provider, with the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from backend.events.models import Event
from backend.events.service import next_seq
from backend.regions.models import Region
from tests.backend.reports.helpers import since

MARCH = [date(2025, 3, 1) + timedelta(days=i) for i in range(31)]


def moment(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def history(db, world) -> tuple[int, int, int]:
    """X is not updated on 10 and 11 March (two days running); Y misses five single days in
    March; Z misses four. Every update is an ``availability.changed`` event carrying the new
    ``reported_at``; a hold's event carries the old one and is no update."""
    x, y = world.groups_a
    z = world.groups_b[0]
    since(db, [x, y, z])
    updates: dict[int, list[datetime]] = {
        x: [moment(d) for d in MARCH if d.day not in (10, 11)] + [moment(date(2025, 3, 5), 15)],
        y: [moment(d) for d in MARCH if d.day not in (3, 8, 13, 18, 23)],
        # 20 March's update at 00:30 Dutch time, which is still 19 March in UTC.
        z: [moment(d) for d in MARCH if d.day not in (3, 8, 13, 18, 20)] + [moment(date(2025, 3, 19), 23, 30)],
    }
    with db.transaction() as session:
        for group_id, moments in updates.items():
            for at in sorted(moments):
                event(session, group_id, at, reported_at=at)
        # A crisis hold on X on 11 March: its event carries X's figure of 9 March.
        event(session, x, moment(date(2025, 3, 11), 12), reported_at=moment(date(2025, 3, 9)))
        # An update on 1 April (Dutch time) is outside March.
        event(session, x, moment(date(2025, 3, 31), 22, 30), reported_at=moment(date(2025, 3, 31), 22, 30))
    return x, y, z


def event(session, group_id: int, at: datetime, *, reported_at: datetime) -> None:
    session.add(
        Event(
            seq=next_seq(session),
            type="availability.changed",
            at=at,
            group_id=group_id,
            payload={"group": {"id": group_id, "reported_at": reported_at.isoformat().replace("+00:00", "Z")}},
        )
    )
    session.flush()


def report(client, world, who="viewer"):
    response = client.get(
        "/api/v1/data-quality",
        params={"region": "JZ14", "start": "2025-03-01", "end": "2025-03-31"},
        headers=world.headers(who),
    )
    assert response.status_code == 200, response.text
    return response.json()


def row(body, group_id):
    return next(r for r in body["groups"] if r["group_id"] == group_id)


def test_share_longest_gap_and_compliance_per_group_and_provider(client, world, db):
    x, y, z = history(db, world)
    body = report(client, world)
    assert body["rule"] == {"days_running": 2, "days_per_month": 5}
    gx, gy, gz = row(body, x), row(body, y), row(body, z)
    assert (gx["days"], gx["days_with_update"], gx["longest_gap_days"]) == (31, 29, 2)
    assert (gx["longest_gap_from"], gx["longest_gap_to"]) == ("2025-03-10", "2025-03-11")
    assert gx["update_share"] == 29 / 31 and gx["compliant"] is False
    assert gx["reasons"] == ["2 dagen achter elkaar niet bijgewerkt (regel: 2)"]
    assert (gy["days_with_update"], gy["longest_gap_days"], gy["compliant"]) == (26, 1, False)
    assert gy["missed_days_by_month"] == {"2025-03": 5}
    assert gy["reasons"] == ["2025-03: op 5 dagen niet bijgewerkt (regel: 5 per maand)"]
    # Z's update at 00:30 on 20 March (Dutch time) counts for 20 March.
    assert (gz["days_with_update"], gz["longest_gap_days"], gz["compliant"]) == (27, 1, True)
    provider_a = next(p for p in body["providers"] if p["provider_id"] == world.provider_a)
    assert provider_a["days"] == 62 and provider_a["days_with_update"] == 55
    assert provider_a["update_share"] == 55 / 62 and provider_a["longest_gap_days"] == 2
    assert provider_a["non_compliant_groups"] == 2 and provider_a["compliant"] is False

    # The region relaxes its rule: 3 days running, 6 per month.
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {**region.settings, "compliance_days_running": 3, "compliance_days_per_month": 6}
        session.add(region)
    relaxed = report(client, world, who="coordinator")
    assert row(relaxed, x)["compliant"] and row(relaxed, y)["compliant"]

    # The CSV has the same figures, for Dutch Excel.
    response = client.get(
        "/api/v1/data-quality/export.csv",
        params={"region": "JZ14", "start": "2025-03-01", "end": "2025-03-31"},
        headers=world.headers("admin"),
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "datakwaliteit-JZ14-2025-03-01-2025-03-31.csv" in response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header = lines[2]
    by_group = {line[header.index("Groep-id")]: dict(zip(header, line, strict=True)) for line in lines[3:]}
    assert by_group[str(x)]["Aandeel dagen bijgewerkt"] == "93,5%"
    assert by_group[str(x)]["Langste gat (dagen)"] == "2" and by_group[str(x)]["Langste gat vanaf"] == "10-03-2025"
    assert by_group[str(z)]["Voldoet aan meldregel"] == "ja"


def test_who_may_read_it_and_bad_periods(client, world):
    url = "/api/v1/data-quality"
    for who in ("provider_a", "crisis"):
        assert client.get(url, params={"region": "JZ14"}, headers=world.headers(who)).status_code == 403
    bad = client.get(url, params={"start": "2025-03-31", "end": "2025-03-01"}, headers=world.headers("viewer"))
    assert bad.status_code == 422 and "einddatum" in bad.json()["detail"]
    long = client.get(url, params={"start": "2023-01-01", "end": "2025-03-01"}, headers=world.headers("viewer"))
    assert long.status_code == 422 and long.json()["code"] == "period_too_long"
