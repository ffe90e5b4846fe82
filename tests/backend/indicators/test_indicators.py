"""Indicators on a hand-built history (March and April 2025) with figures worked out by hand:
waiting times with censored youths, proposals and declines by reason, placements out of the
region and beyond the maximum distance, scaling up and down, occupancy, crisis holds; the
exports carry the same figures; and who may see what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from backend.crisis.models import Hold
from backend.matching.models import Proposal, Referral
from backend.placements.models import Placement
from backend.proposals.models import DECLINE_REASONS
from backend.providers.models import Group
from backend.regions.models import Region
from tests.backend.reports.helpers import admit, discharge, send, since
from tests.backend.scope.regions import build_region_b

PERIOD = {"start": "2025-03-01", "end": "2025-04-30"}
LETTERS = "ABCDEFGHIJKLMNOPQRS"


def t(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def letter(group: Group, steps: int) -> str:
    return LETTERS[LETTERS.index(group.intensity) + steps]


class History:
    """What was built, for the assertions."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}


def build_history(db: Any, world: Any, client: Any) -> tuple[History, Any]:
    b = build_region_b(db, world.settings)
    history = History()
    a0, a1 = world.groups_a  # De Linde: woongroep, behandelgroep (Enschede)
    b0, b1 = world.groups_b  # Het Anker: gezinshuis, crisis (Almelo)
    since(db, world.groups_a + world.groups_b)
    with db.transaction() as session:
        # Twelve decline reasons: the eleventh and later are counted too (:reason11 is no :reason1).
        region = session.get(Region, world.region_id)
        extra = [{"code": f"extra_{i}", "label": f"Extra reden {i}"} for i in range(5)]
        reasons = [{"code": c, "label": label} for c, label in DECLINE_REASONS.items()]
        region.settings = {"decline_reasons": [*reasons, *extra, {"code": "wachtlijst_vol", "label": "Wachtlijst vol"}]}
        session.add(region)
        g = {gid: session.get(Group, gid) for gid in (a0, a1, b0, b1, b.group_id, b.crisis_group_id)}

        def referral(ref: str, waiting: str, **extra: Any) -> Referral:
            values: dict[str, Any] = {
                "region_id": world.region_id,
                "reference": ref,
                "birth_year": 2010,
                "birth_month": 5,
                "gender": "v",
                "home_lat": 52.22,
                "home_lon": 6.89,
                "home_municipality_id": world.municipality_ids["Enschede"],
                "origin_region_code": "JZ14",
                "care_forms": ["woongroep"],
                "required_intensity": g[a0].intensity,
                "waiting_since": t(waiting),
                "status": "waiting",
                "created_at": t(waiting),
                "updated_at": t(waiting),
            }
            values.update(extra)
            row = Referral(**values)
            session.add(row)
            session.flush()
            history.ids[ref] = row.id  # type: ignore[assignment]
            return row

        # Waits in days to the first proposal / to the arrival (c: censored):
        #   R1: 2 / 10, R2: 4 / 20, R3: 6 / c (still waiting), R4: c / c, R5: withdrawn after 3 days.
        # R1 lives in Almelo, 10 km at most, and is placed in Enschede (some 22 km): too far, and
        # one letter heavier than it needs. R6 began before the period and is placed outside it.
        r1 = referral("H-1", "2025-03-01", home_lat=52.356, home_lon=6.659, max_distance_km=10.0,
                      required_intensity=letter(g[a0], -1), status="discharged")  # fmt: skip
        r2 = referral("H-2", "2025-03-02", care_forms=["gezinshuis"], status="discharged")
        r3 = referral("H-3", "2025-03-03", care_forms=["behandelgroep"], required_intensity=g[a1].intensity)
        referral("H-4", "2025-03-04", home_municipality_id=world.municipality_ids["Almelo"])
        referral("H-5", "2025-03-05", status="withdrawn", updated_at=t("2025-03-08"))
        r6 = referral("H-6", "2025-01-10", required_intensity=letter(g[b.group_id], 1), status="placed")
        referral("H-7", "2025-05-02")  # after the period: in no cohort

        def proposal(ref: Referral, group: int, created: str, status: str, reason: str | None = None) -> None:
            session.add(
                Proposal(
                    referral_id=ref.id,
                    group_id=group,
                    provider_id=g[group].provider_id,
                    region_id=world.region_id,
                    status=status,
                    decline_reason=reason,
                    created_at=t(created),
                    created_by="test",
                    expires_at=t(created) + timedelta(days=2),
                )
            )

        proposal(r1, a0, "2025-03-03", "accepted")
        proposal(r2, a1, "2025-03-06", "declined", "groepsdynamiek")
        proposal(r2, b0, "2025-03-07", "accepted")
        proposal(r3, a0, "2025-03-09", "declined", "groepsdynamiek")
        proposal(r3, a1, "2025-04-02", "declined", "wachtlijst_vol")
        proposal(r3, a0, "2025-04-10", "expired")
        session.flush()

        def placement(ref: Referral, group: int, arrived: str, **extra: Any) -> Placement:
            values: dict[str, Any] = {"status": "arrived", **extra}
            row = Placement(
                referral_id=ref.id,
                group_id=group,
                provider_id=g[group].provider_id,
                region_id=world.region_id,
                expected_arrival=t(arrived).date(),
                stay_reference=f"st-{ref.reference}-{group}",
                arrived_at=t(arrived),
                created_at=t(arrived),
                created_by="test",
                updated_at=t(arrived),
                **values,
            )
            session.add(row)
            session.flush()
            return row

        first = placement(r1, a0, "2025-03-11", status="discharged", discharged_at=t("2025-04-20"),
                          destination="residential")  # fmt: skip
        # R1 moves on to the heavier behandelgroep: a transfer, not a new placement.
        placement(r1, a1, "2025-04-20", transferred_from=first.id)
        placement(r2, b0, "2025-03-22", status="discharged", discharged_at=t("2025-04-25"), destination="home")
        placement(r6, b.group_id, "2025-04-05")  # out of the region, lighter than needed

        def hold(group: int, created: datetime, status: str, minutes: int | None = None) -> None:
            session.add(
                Hold(
                    group_id=group,
                    provider_id=g[group].provider_id,
                    region_id=world.region_id,
                    status=status,
                    crisis_reference=f"CR-H-{len(history.ids)}-{created.day}",
                    minutes=120,
                    created_at=created,
                    expires_at=created + timedelta(minutes=120),
                    created_by="test",
                    confirmed_at=created + timedelta(minutes=minutes) if minutes else None,
                )
            )
            history.ids["holds"] = history.ids.get("holds", 0) + 1

        hold(b1, t("2025-03-10", 12), "confirmed", 30)
        hold(b.crisis_group_id, t("2025-03-15", 2), "confirmed", 90)  # found in IJsselland
        hold(b1, t("2025-04-01", 23), "expired")
    # The crisis group: one youth 1-6 March (5 nights), one from IJsselland 3-8 March (5 nights).
    send(
        client,
        world,
        [
            admit("a1", b1, "2025-03-01", "own"),
            discharge("d1", b1, "2025-03-06", "own"),
            admit("a2", b1, "2025-03-03", "other", origin="JZ07"),
            discharge("d2", b1, "2025-03-08", "other"),
        ],
    )
    return history, b


def get(client: Any, world: Any, who: str = "coordinator", **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/indicators", params={**PERIOD, **params}, headers=world.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def history(db, world, client):
    return build_history(db, world, client)


def test_hand_built_history(client, world, history):
    body = get(client, world)
    assert body["months"] == ["2025-03", "2025-04"]

    wait = body["waiting"]["to_proposal"]
    # KM over 2e, 3c, 4e, 6e, (still waiting)c: S = 0.8, 0.533, 0.267 -> median 6 days; 10% never
    # had a proposal, so the 90th percentile is not known. Dropping the censored would say 4.
    assert (wait["referrals"], wait["ended"], wait["censored"]) == (5, 3, 2)
    assert wait["median_days"] == 6.0 and wait["p90_days"] is None
    placed = body["waiting"]["to_placement"]
    # 10e, 20e, three censored: S(10) = 0.75, S(20) = 0.5 -> median 20 days.
    assert (placed["ended"], placed["censored"], placed["median_days"], placed["p90_days"]) == (2, 3, 20.0, None)
    assert [m["referrals"] for m in wait["by_month"]] == [5, 0]
    assert body["waiting"]["still_waiting"] == 2  # H-3 and H-4 (H-5 withdrawn; the placed ones not)

    proposals = body["proposals"]
    total = proposals["total"]
    assert {k: total[k] for k in ("sent", "accepted", "declined", "expired", "open", "withdrawn")} == {
        "sent": 6,
        "accepted": 2,
        "declined": 3,
        "expired": 1,
        "open": 0,
        "withdrawn": 0,
    }
    assert [(r["reason"], r["declined"]) for r in proposals["declined_by_reason"]] == [
        ("groepsdynamiek", 2),
        ("wachtlijst_vol", 1),
    ]
    assert proposals["declined_by_reason"][0]["label"] == "Groepsdynamiek laat het nu niet toe"
    assert [(m["month"], m["sent"], m["declined"]) for m in proposals["by_month"]] == [
        ("2025-03", 4, 2),
        ("2025-04", 2, 1),
    ]
    by_provider = {p["provider_id"]: p for p in proposals["by_provider"]}
    assert by_provider[world.provider_a]["sent"] == 5 and by_provider[world.provider_b]["sent"] == 1
    behandel = next(g for g in proposals["by_group"] if g["group_id"] == world.groups_a[1])
    assert behandel["declined_by_reason"] == {"groepsdynamiek": 1, "wachtlijst_vol": 1}

    placements = body["placements"]["total"]
    # Three arrivals (the transfer is no new placement): H-6 outside the region; H-1 too far.
    assert placements["placements"] == 3 and placements["out_of_region"] == 1
    assert (placements["with_max_distance"], placements["beyond_max_distance"]) == (1, 1)
    scaling = body["scaling"]
    assert scaling["total"]["heavier_than_needed"] == 1  # H-1
    assert scaling["total"]["lighter_than_needed"] == 1  # H-6
    assert scaling["total"]["outside_intensity_scale"] == 1  # H-2 in a family home
    assert {d["destination"]: d["discharges"] for d in scaling["discharges_by_destination"]} == {
        "residential": 1,
        "home": 1,
    }
    assert scaling["care_form_moves"] == [
        {
            "from": "woongroep",
            "from_label": "Woongroep",
            "to": "behandelgroep",
            "to_label": "Behandelgroep",
            "direction": "op",
            "moves": 1,
        }
    ]

    crisis = body["crisis"]["total"]
    assert (crisis["holds"], crisis["confirmed"], crisis["expired"]) == (3, 2, 1)
    assert crisis["own_region_share"] == 0.5
    assert (crisis["median_minutes_to_place"], crisis["p90_minutes_to_place"]) == (60.0, 90.0)

    occupancy = {g["group_id"]: g for g in body["occupancy"]["groups"]}
    crisis_group = occupancy[world.groups_b[1]]
    # 61 nights × 4 places; 10 nights occupied (youths from both regions count).
    assert (crisis_group["occupied_bed_days"], crisis_group["place_days"]) == (10, 244)
    assert crisis_group["below_50"] is True
    assert set(occupancy) == set(world.groups_a + world.groups_b)  # every group, funded or not
    march = body["occupancy"]["by_month"][0]
    assert march["occupied_bed_days"] == 10 and march["place_days"] == 31 * (8 + 6 + 5 + 4)

    fresh = {p["provider_id"]: p for p in body["freshness"]["providers"]}
    assert set(fresh) == {world.provider_a, world.provider_b} and fresh[world.provider_a]["groups"] == 2

    # Filters: the youth's first-choice care form for waiting times, the group's for the rest.
    body = get(client, world, care_form="behandelgroep")
    assert body["waiting"]["to_proposal"]["referrals"] == 1  # H-3
    assert body["proposals"]["total"]["sent"] == 2  # to Behandelgroep Eik
    assert [g["group_id"] for g in body["occupancy"]["groups"]] == [world.groups_a[1]]
    almelo = get(client, world, municipality=world.municipality_ids["Almelo"])
    assert almelo["waiting"]["to_proposal"]["referrals"] == 1  # H-4 lives in Almelo
    assert almelo["crisis"]["total"]["holds"] == 2  # the holds on Crisisgroep Wilg in Almelo
    per_provider = get(client, world, provider=world.provider_b)
    assert per_provider["waiting"] is None  # a wait is the region's, not a provider's
    assert per_provider["proposals"]["total"]["sent"] == 1

    # The exports carry the same figures.
    h = world.headers("viewer")
    csv_response = client.get("/api/v1/indicators/export.csv", params=PERIOD, headers=h)
    assert csv_response.status_code == 200
    assert 'filename="stuurinformatie-JZ14-2025-03-01-2025-04-30.csv"' in csv_response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig")), delimiter=";"))
    reasons = lines.index(["Afwijzingen per reden"])
    assert lines[reasons + 2 : reasons + 4] == [
        ["Groepsdynamiek laat het nu niet toe", "groepsdynamiek", "2"],
        ["Wachtlijst vol", "wachtlijst_vol", "1"],
    ]
    waits = lines.index(["Wachttijden (Kaplan-Meier; nog wachtenden gecensureerd)"])
    assert lines[waits + 4][:5] == ["Hele periode", "5", "6,0", "", "2"]
    xlsx = client.get("/api/v1/indicators/export.xlsx", params=PERIOD, headers=h)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["Crisis per maand"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2] == ("Maand", "Zoekacties", "Vastgehouden plaatsen", "Bevestigd", "Bevestigd in eigen regio")
    assert rows[-1] == ("Hele periode", 0, 3, 2, 1)


def test_who_sees_what(client, world, history):
    # A provider: its own groups only.
    body = get(client, world, "provider_a")
    assert body["scope"] == "aanbieder" and body["waiting"] is None
    assert body["proposals"]["total"]["sent"] == 5
    assert {g["provider_id"] for g in body["occupancy"]["groups"]} == {world.provider_a}
    assert [p["provider_id"] for p in body["freshness"]["providers"]] == [world.provider_a]
    assert body["crisis"]["total"]["holds"] == 0  # the holds were on Het Anker's group
    h = world.headers("provider_a")
    for params in ({"provider": world.provider_b}, {"region": "JZ07"}):
        for path in ("/api/v1/indicators", "/api/v1/indicators/export.csv", "/api/v1/indicators/export.xlsx"):
            response = client.get(path, params={**PERIOD, **params}, headers=h)
            assert response.status_code == 404, (path, params, response.text)

    # Every indicator refuses another region's data.
    _history, b = history
    for who in ("coordinator", "viewer", "admin", "provider", "crisis"):
        h = b.headers(who)
        for path in ("/api/v1/indicators", "/api/v1/indicators/export.csv", "/api/v1/indicators/export.xlsx"):
            response = client.get(path, params={**PERIOD, "region": "JZ14"}, headers=h)
            assert response.status_code in (403, 404), (who, path, response.text)
            assert "Stichting De Linde" not in response.text
    # Region B's coordinator naming region A's provider or municipality in its own region: 404.
    h = b.headers("coordinator")
    assert client.get("/api/v1/indicators", params={"provider": world.provider_a}, headers=h).status_code == 404
    municipality = {"municipality": world.municipality_ids["Enschede"]}
    assert client.get("/api/v1/indicators", params=municipality, headers=h).status_code == 404
    # Its own region holds none of region A's figures: the hold it did not make, no proposals.
    own = client.get("/api/v1/indicators", params=PERIOD, headers=h).json()
    assert own["region"] == "JZ07" and own["proposals"]["total"]["sent"] == 0
    assert own["crisis"]["total"]["holds"] == 0 and own["waiting"]["to_proposal"]["referrals"] == 0
    assert {g["group_id"] for g in own["occupancy"]["groups"]} == {b.group_id, b.crisis_group_id}
    # The crisis team has no indicators at all.
    assert client.get("/api/v1/indicators", headers=world.headers("crisis")).status_code == 403


def test_bad_input_is_refused_in_dutch_and_the_default_period(client, world):
    h = world.headers("coordinator")
    cases = [
        ({"start": "2025-05-01", "end": "2025-04-01"}, "einddatum"),
        ({"start": "2020-01-01", "end": "2025-01-01"}, "drie jaar"),
        ({"care_form": "kasteel"}, "zorgvorm"),
        ({"intensity": "Z"}, "intensiteit"),
        ({"region": "JZ99"}, "niet gevonden"),
    ]
    for params, words in cases:
        response = client.get("/api/v1/indicators", params=params, headers=h)
        assert response.status_code in (404, 422), (params, response.text)
        assert words in response.json()["detail"], (params, response.text)
    # Without a period: the last twelve months, whole months from the first.
    body = client.get("/api/v1/indicators", headers=world.headers("coordinator")).json()
    today = date.today()
    assert body["period_end"] == today.isoformat() or abs((date.fromisoformat(body["period_end"]) - today).days) <= 1
    assert len(body["months"]) == 12 and body["period_start"].endswith("-01")
