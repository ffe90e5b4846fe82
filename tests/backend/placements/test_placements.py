"""The placement lifecycle: accepted (expected, place held) -> arrived (admission) ->
discharged (referral ends, place free, profile-C count down); no-show, transfer, a crisis hold
for a referral, the provider's own feed, idempotent actions and who may act."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
from sqlmodel import select

from backend.domain import utcnow
from backend.occupancy.models import OccupancyEvent, OccupancyStay
from backend.occupancy.service import today
from backend.placements.models import Placement
from backend.providers.models import Location
from backend.referrals.models import Referral
from backend.regions.models import Region
from tests.backend.scope.regions import build_region_b
from tests.conftest import make_settings
from tests.factories import add_group, create_referral, group_row, referral_body
from tests.servers import running_server


def _propose(client, world, referral_id: int, group_id: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.post(
        f"/api/v1/referrals/{referral_id}/proposals", json={"group_id": group_id}, headers=world.headers("coordinator")
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _accepted(client, world, reference: str, group_id: int, who: str = "provider_a", **referral) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """A referral whose proposal for ``group_id`` was accepted; the proposal's answer."""
    ref = create_referral(client, world, reference, **referral)
    proposal = _propose(client, world, ref["id"], group_id)
    response = client.post(f"/api/v1/proposals/{proposal['id']}/accept", headers=world.headers(who))
    assert response.status_code == 200, response.text
    return {**response.json(), "referral_id": ref["id"]}


def _arrive(client, world, placement_id: int, who: str = "provider_a", **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/placements/{placement_id}/arrival", json=body, headers=world.headers(who))


def _admissions(db, group_id: int) -> list[OccupancyEvent]:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        return list(
            session.exec(
                select(OccupancyEvent).where(OccupancyEvent.group_id == group_id, OccupancyEvent.kind == "admission")
            ).all()
        )


def _referral(db, referral_id: int) -> Referral:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        return session.get(Referral, referral_id)  # type: ignore[return-value]


def test_accepting_expects_the_youth_and_only_the_arrival_admits(client, world, db):
    group_id = world.groups_a[0]
    ref = create_referral(client, world, "TW-1")
    proposal = _propose(client, world, ref["id"], group_id)
    expected = (today() + timedelta(days=3)).isoformat()
    accepted = client.post(
        f"/api/v1/proposals/{proposal['id']}/accept",
        json={"expected_arrival": expected},
        headers=world.headers("provider_a"),
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "accepted" and body["expected_arrival"] == expected
    assert body["stay_reference"] == f"plaatsing-{body['placement_id']}"
    # No admission at acceptance; the place stays held for the expected youth.
    assert _admissions(db, group_id) == []
    group = group_row(db, group_id)
    assert (group.free_places, group.held_places) == (2, 1)
    assert _referral(db, ref["id"]).status == "accepted"

    placement_id = body["placement_id"]
    arrived = _arrive(client, world, placement_id, stay_reference="DL-2026-17")
    assert arrived.status_code == 200, arrived.text
    placement = arrived.json()
    assert placement["status"] == "arrived" and placement["status_label"] == "Aangekomen"
    assert placement["stay_reference"] == "DL-2026-17"  # the provider's own system's code
    assert placement["referral_id"] is None and placement["reference"] is None  # a provider's view
    group = group_row(db, group_id)
    assert (group.free_places, group.held_places) == (1, 0)
    admissions = _admissions(db, group_id)
    assert [(a.stay_reference, a.source, a.origin_region_code) for a in admissions] == [
        ("DL-2026-17", "plekwijzer", "JZ14")
    ]
    with db.transaction(write=False) as session:
        stay = session.exec(select(OccupancyStay).where(OccupancyStay.group_id == group_id)).one()
        assert (stay.referral_id, stay.risk_profile, stay.discharged_at) == (ref["id"], "A", None)
    referral = _referral(db, ref["id"])
    assert referral.status == "placed" and referral.placed_group_id == group_id and referral.placed_at is not None

    # The same arrival again changes nothing.
    again = _arrive(client, world, placement_id)
    assert again.status_code == 409 and "aangekomen" in again.json()["detail"]
    assert len(_admissions(db, group_id)) == 1
    # The coordinator sees the placement with the referral.
    seen = client.get(f"/api/v1/placements?referral_id={ref['id']}", headers=world.headers("coordinator")).json()
    assert [(p["id"], p["reference"], p["group_name"]) for p in seen] == [(placement_id, "TW-1", "Woongroep Esdoorn")]


def test_a_second_admission_for_the_same_referral_is_refused(client, world, db):
    accepted = _accepted(client, world, "TW-2", world.groups_a[0])
    assert _arrive(client, world, accepted["placement_id"]).status_code == 200
    # A crisis hold for the same youth, confirmed: it would be a second open stay.
    crisis_group = world.groups_b[1]
    hold = client.post(
        "/api/v1/holds",
        json={"group_id": crisis_group, "referral_id": accepted["referral_id"], "age": 14},
        headers=world.headers("crisis"),
    )
    assert hold.status_code == 201, hold.text
    confirm = client.post(f"/api/v1/holds/{hold.json()['id']}/confirm", headers=world.headers("crisis"))
    assert confirm.status_code == 409, confirm.text
    assert "tweede opname voor dezelfde verwijzing" in confirm.json()["detail"]
    # Refused means unchanged: the hold is still active and holds its place, no admission.
    assert client.get(f"/api/v1/holds/{hold.json()['id']}", headers=world.headers("crisis")).json()["status"] == (
        "active"
    )
    assert group_row(db, crisis_group).held_places == 1
    assert _admissions(db, crisis_group) == []
    with db.transaction(write=False) as session:
        open_stays = session.exec(
            select(OccupancyStay).where(
                OccupancyStay.referral_id == accepted["referral_id"],
                OccupancyStay.discharged_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    assert len(open_stays) == 1


def test_the_expected_arrival_date_is_checked(client, world, db):
    ref = create_referral(client, world, "TW-3")
    proposal = _propose(client, world, ref["id"], world.groups_a[0])
    url = f"/api/v1/proposals/{proposal['id']}/accept"
    for days, code in ((-1, "arrival_in_past"), (91, "arrival_too_far")):
        response = client.post(
            url,
            json={"expected_arrival": (today() + timedelta(days=days)).isoformat()},
            headers=world.headers("provider_a"),
        )
        assert response.status_code == 422 and response.json()["code"] == code, response.text
    # Refused means unchanged: still open, still holding its place.
    assert client.get(f"/api/v1/proposals/{proposal['id']}", headers=world.headers("provider_a")).json()["status"] == (
        "open"
    )
    assert group_row(db, world.groups_a[0]).held_places == 1
    default = client.post(url, headers=world.headers("provider_a")).json()
    assert default["expected_arrival"] == today().isoformat()


def test_a_no_show_puts_the_youth_back_on_the_waiting_list(client, world, db):
    group_id = world.groups_a[0]
    accepted = _accepted(client, world, "TW-4", group_id)
    waiting_since = _referral(db, accepted["referral_id"]).waiting_since
    url = f"/api/v1/placements/{accepted['placement_id']}/no-show"
    assert (
        client.post(url, json={"kind": "no_show", "reason": "x"}, headers=world.headers("coordinator")).status_code
        == 422
    )
    # The coordinator may see and call off an expected arrival, but not record an arrival.
    assert _arrive(client, world, accepted["placement_id"], who="coordinator").status_code == 403
    response = client.post(
        url,
        json={"kind": "no_show", "reason": "Niet komen opdagen bij de intake"},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["status_label"], body["end_reason"]) == (
        "no_show",
        "Niet verschenen",
        "Niet komen opdagen bij de intake",
    )
    group = group_row(db, group_id)
    assert (group.free_places, group.held_places) == (2, 0)  # the held place is free again
    referral = _referral(db, accepted["referral_id"])
    assert referral.status == "waiting" and referral.placed_group_id is None
    assert referral.waiting_since == waiting_since  # no lost turn
    assert group_id not in referral.excluded_group_ids  # not the group's doing
    assert _admissions(db, group_id) == []
    late = _arrive(client, world, accepted["placement_id"])
    assert late.status_code == 409 and "niet verschenen" in late.json()["detail"]
    # The youth can be proposed again, and the provider may call off an arrival too.
    again = _accepted(client, world, "TW-4b", group_id)
    cancelled = client.post(
        f"/api/v1/placements/{again['placement_id']}/no-show",
        json={"kind": "cancelled", "reason": "Ouders willen het niet meer"},
        headers=world.headers("key_a"),
    )
    assert cancelled.status_code == 200 and cancelled.json()["status_label"] == "Gaat niet door"


def _profile_c_world(client, world, db) -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {**region.settings, "profile_c_limit": 2}
        session.add(region)
        loc = session.get(Location, group_row(db, world.groups_a[0]).location_id)
        den = add_group(
            session, loc, name="Woongroep Den", risk_profiles="ABC", free_places=3, expertise=["agressie", "trauma"]
        )
        return den.id  # type: ignore[no-any-return]


def _run(client, world, referral_id: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.post(
        "/api/v1/matching/runs", json={"referral_ids": [referral_id]}, headers=world.headers("coordinator")
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_discharge_closes_the_referral_and_frees_a_profile_c_slot(client, world, db):
    den = _profile_c_world(client, world, db)
    c_youth = {"risk_profile": "C", "needs": ["agressie"], "care_forms": ["woongroep"]}
    # One profile-C youth placed outside plekwijzer: the provider's feed says so.
    outside = client.post(
        "/api/v1/occupancy/events",
        json={
            "events": [
                {
                    "event_id": "eigen-1",
                    "kind": "admission",
                    "group_id": den,
                    "at": (utcnow() - timedelta(days=10)).isoformat(),
                    "stay_reference": "DEN-OUD-1",
                    "origin_region_code": "JZ14",
                    "risk_profile": "C",
                }
            ]
        },
        headers=world.headers("key_a"),
    )
    assert outside.status_code == 200 and outside.json()["accepted"] == 1, outside.text
    # A second one placed through plekwijzer, arrived.
    placed = _accepted(client, world, "TW-C1", den, **c_youth)
    arrived = _arrive(client, world, placed["placement_id"])
    assert arrived.status_code == 200, arrived.text
    # The region allows two profile-C youths per group: a third does not fit in the Den.
    third = create_referral(client, world, "TW-C3", **c_youth)
    run = _run(client, world, third["id"])
    assert run["assignments"] == []
    assert any("profiel C" in reason for reason in run["unplaced"][0]["reasons"]), run["unplaced"]

    discharged = client.post(
        f"/api/v1/placements/{placed['placement_id']}/discharge",
        json={"destination": "foster_care"},
        headers=world.headers("provider_a"),
    )
    assert discharged.status_code == 200, discharged.text
    assert discharged.json()["destination_label"] == "Pleegzorg"
    referral = client.get(f"/api/v1/referrals/{placed['referral_id']}", headers=world.headers("coordinator")).json()
    assert (referral["status"], referral["status_label"]) == ("discharged", "Uitgestroomd")
    assert referral["placed_group_id"] == den and referral["placed_at"] and referral["discharged_at"]
    assert referral["discharge_destination_label"] == "Pleegzorg"
    group = group_row(db, den)
    assert (group.free_places, group.held_places) == (3, 0)  # the place is free again
    with db.transaction(write=False) as session:
        stay = session.exec(select(OccupancyStay).where(OccupancyStay.referral_id == placed["referral_id"])).one()
        assert stay.discharged_at is not None

    run = _run(client, world, third["id"])
    assert [(a["referral_id"], a["group_id"]) for a in run["assignments"]] == [(third["id"], den)]


def test_the_providers_own_feed_moves_the_placement(client, world, db):
    group_id = world.groups_a[0]
    accepted = _accepted(client, world, "TW-5", group_id)
    reference = accepted["stay_reference"]

    def send(kind: str, event_id: str, **extra):  # type: ignore[no-untyped-def]
        response = client.post(
            "/api/v1/occupancy/events",
            json={
                "events": [
                    {
                        "event_id": event_id,
                        "kind": kind,
                        "group_id": group_id,
                        "at": utcnow().isoformat(),
                        "stay_reference": reference,
                        "origin_region_code": "JZ14",
                        **extra,
                    }
                ]
            },
            headers=world.headers("key_a"),
        )
        assert response.status_code == 200 and response.json()["accepted"] == 1, response.text

    # The provider's system admits the youth under the stay reference it was given: that is
    # the arrival (one stay, not two).
    send("admission", "sys-1")
    placement = client.get(f"/api/v1/placements/{accepted['placement_id']}", headers=world.headers("provider_a"))
    assert placement.json()["status"] == "arrived"
    assert _referral(db, accepted["referral_id"]).status == "placed"
    group = group_row(db, group_id)
    assert (group.free_places, group.held_places) == (1, 0)
    assert len(_admissions(db, group_id)) == 1
    # ... and its discharge ends the placement and the referral.
    send("discharge", "sys-2")
    placement = client.get(f"/api/v1/placements/{accepted['placement_id']}", headers=world.headers("provider_a")).json()
    assert (placement["status"], placement["destination"], placement["destination_label"]) == (
        "discharged",
        "unknown",
        "Anders/onbekend",
    )
    referral = _referral(db, accepted["referral_id"])
    assert referral.status == "discharged" and referral.discharge_destination == "unknown"
    assert group_row(db, group_id).free_places == 2


def _feed(client, world, group_id: int, *events: dict) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.post(
        "/api/v1/occupancy/events",
        json={"events": [{"group_id": group_id, "origin_region_code": "JZ14", **e} for e in events]},
        headers=world.headers("key_a"),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_corrected_admission_moves_the_arrival_and_a_withdrawn_one_undoes_it(client, world, db):
    group_id = world.groups_a[0]
    first = _accepted(client, world, "TW-6", group_id)
    second = _accepted(client, world, "TW-7", group_id)
    now = utcnow()
    for accepted, event_id in ((first, "sys-10"), (second, "sys-20")):
        body = {"event_id": event_id, "kind": "admission", "at": now.isoformat()}
        assert _feed(client, world, group_id, {**body, "stay_reference": accepted["stay_reference"]})["accepted"] == 1
    assert group_row(db, group_id).free_places == 0

    # A correction: the first youth came in yesterday, not today. The placement keeps its
    # arrival, now on the corrected moment, and the youth still has exactly one open stay.
    earlier = now - timedelta(days=1)
    result = _feed(
        client,
        world,
        group_id,
        {"event_id": "sys-11", "kind": "cancel", "cancels_event_id": "sys-10", "at": now.isoformat()},
        {
            "event_id": "sys-12",
            "kind": "admission",
            "at": earlier.isoformat(),
            "stay_reference": first["stay_reference"],
        },
    )
    assert result["accepted"] == 2, result
    placement = client.get(f"/api/v1/placements/{first['placement_id']}", headers=world.headers("provider_a")).json()
    assert placement["status"] == "arrived"
    assert placement["arrived_at"].startswith(earlier.date().isoformat())
    with db.transaction(write=False) as session:
        stays = session.exec(select(OccupancyStay).where(OccupancyStay.referral_id == first["referral_id"])).all()
        assert [s.discharged_at for s in stays] == [None]

    # Withdrawn without a replacement: the arrival did not happen. The placement ends, the
    # youth waits again and the place is free.
    result = _feed(
        client,
        world,
        group_id,
        {"event_id": "sys-21", "kind": "cancel", "cancels_event_id": "sys-20", "at": now.isoformat()},
    )
    assert result["accepted"] == 1, result
    placement = client.get(f"/api/v1/placements/{second['placement_id']}", headers=world.headers("provider_a")).json()
    assert placement["status"] == "cancelled" and placement["arrived_at"] is None
    referral = _referral(db, second["referral_id"])
    assert (referral.status, referral.placed_group_id) == ("waiting", None)
    assert group_row(db, group_id).free_places == 1


def test_a_confirmed_crisis_hold_for_a_referral_places_it(client, world, db):
    crisis_group = world.groups_b[1]
    ref = create_referral(client, world, "TW-6")
    hold = client.post(
        "/api/v1/holds",
        json={"group_id": crisis_group, "referral_id": ref["id"], "age": 14},
        headers=world.headers("crisis"),
    )
    assert hold.status_code == 201, hold.text
    confirm = client.post(f"/api/v1/holds/{hold.json()['id']}/confirm", headers=world.headers("crisis"))
    assert confirm.status_code == 200, confirm.text
    referral = _referral(db, ref["id"])
    assert referral.status == "placed" and referral.placed_group_id == crisis_group
    with db.transaction(write=False) as session:
        placement = session.exec(select(Placement).where(Placement.referral_id == ref["id"])).one()
        stay = session.exec(select(OccupancyStay).where(OccupancyStay.referral_id == ref["id"])).one()
    assert (placement.status, placement.hold_id, placement.group_id) == ("arrived", hold.json()["id"], crisis_group)
    assert stay.stay_reference == placement.stay_reference and stay.group_id == crisis_group
    group = group_row(db, crisis_group)
    assert (group.free_places, group.held_places) == (0, 0)


def test_arrival_with_an_idempotency_key_happens_once(client, world, db):
    accepted = _accepted(client, world, "TW-7", world.groups_a[0])
    url = f"/api/v1/placements/{accepted['placement_id']}/arrival"
    headers = {**world.headers("key_a"), "Idempotency-Key": "arrival-tw7-1"}
    first = client.post(url, json={"stay_reference": "LINDE-7"}, headers=headers)
    second = client.post(url, json={"stay_reference": "LINDE-7"}, headers=headers)
    assert first.status_code == second.status_code == 200, second.text
    assert first.json() == second.json() and first.json()["stay_reference"] == "LINDE-7"
    assert len(_admissions(db, world.groups_a[0])) == 1
    assert group_row(db, world.groups_a[0]).free_places == 1


def test_a_transfer_is_one_discharge_and_one_admission(client, world, db):
    source, target = world.groups_a
    accepted = _accepted(client, world, "TW-8", source)
    assert _arrive(client, world, accepted["placement_id"]).status_code == 200
    moved = client.post(
        f"/api/v1/placements/{accepted['placement_id']}/transfer",
        json={"group_id": target},
        headers=world.headers("provider_a"),
    )
    assert moved.status_code == 201, moved.text
    following = moved.json()
    assert following["group_id"] == target and following["status"] == "arrived"
    assert following["transferred_from"] == accepted["placement_id"]
    old = client.get(f"/api/v1/placements/{accepted['placement_id']}", headers=world.headers("provider_a")).json()
    assert (old["status"], old["destination"]) == ("discharged", "residential")
    assert (group_row(db, source).free_places, group_row(db, target).free_places) == (2, 0)
    with db.transaction(write=False) as session:
        stays = session.exec(
            select(OccupancyStay).where(OccupancyStay.referral_id == accepted["referral_id"]).order_by(OccupancyStay.id)  # type: ignore[arg-type]
        ).all()
    assert [(s.group_id, s.discharged_at is None) for s in stays] == [(source, False), (target, True)]
    referral = _referral(db, accepted["referral_id"])
    assert referral.status == "placed" and referral.placed_group_id == target
    # Another provider's group is not a transfer target.
    refused = client.post(
        f"/api/v1/placements/{following['id']}/transfer",
        json={"group_id": world.groups_b[0]},
        headers=world.headers("provider_a"),
    )
    assert refused.status_code == 404


def test_only_the_own_provider_and_region_see_or_act(client, world, db, settings):
    accepted = _accepted(client, world, "TW-9", world.groups_a[0])
    pid = accepted["placement_id"]
    b = build_region_b(db, settings)
    calls = [
        ("get", f"/api/v1/placements/{pid}", None),
        ("post", f"/api/v1/placements/{pid}/arrival", {}),
        ("post", f"/api/v1/placements/{pid}/no-show", {"kind": "no_show", "reason": "niet gekomen"}),
        ("post", f"/api/v1/placements/{pid}/discharge", {"destination": "home"}),
    ]
    for method, url, body in calls:
        for headers in (world.headers("provider_b"), world.headers("key_b")):
            response = client.request(method, url, json=body, headers=headers)
            assert response.status_code == 404, (url, response.text)
    # Another region's coordinator: the placement does not exist for them (reading, calling off).
    for method, url, body in calls[0], calls[2]:
        response = client.request(method, url, json=body, headers=b.headers("coordinator"))
        assert response.status_code == 404, (url, response.text)
    for headers in (world.headers("provider_b"), b.headers("coordinator")):
        assert client.get("/api/v1/placements", headers=headers).json() == []
    # Nothing changed by the refused calls.
    placement = client.get(f"/api/v1/placements/{pid}", headers=world.headers("coordinator")).json()
    assert placement["status"] == "accepted" and placement["reference"] == "TW-9"


def test_an_arrival_racing_a_crisis_confirmation_leaves_one_open_stay(database_url, world, db):
    """Real concurrent transactions (on PostgreSQL when it is set up): the expected arrival of a
    youth and the confirmation of a crisis hold for the same youth. Exactly one wins; the youth
    has one open stay."""
    settings = make_settings(database_url)
    with running_server(settings) as base:
        coordinator = world.headers("coordinator")
        referral = httpx.post(f"{base}/api/v1/referrals", headers=coordinator, json=referral_body("TW-RACE"))
        assert referral.status_code == 201, referral.text
        referral_id = referral.json()["id"]
        proposal = httpx.post(
            f"{base}/api/v1/referrals/{referral_id}/proposals",
            headers=coordinator,
            json={"group_id": world.groups_a[0]},
        )
        assert proposal.status_code == 201, proposal.text
        accepted = httpx.post(
            f"{base}/api/v1/proposals/{proposal.json()['id']}/accept", headers=world.headers("provider_a")
        )
        assert accepted.status_code == 200, accepted.text
        hold = httpx.post(
            f"{base}/api/v1/holds",
            headers=world.headers("crisis"),
            json={"group_id": world.groups_b[1], "referral_id": referral_id, "age": 14},
        )
        assert hold.status_code == 201, hold.text
        calls = [
            (f"{base}/api/v1/placements/{accepted.json()['placement_id']}/arrival", world.headers("provider_a")),
            (f"{base}/api/v1/holds/{hold.json()['id']}/confirm", world.headers("crisis")),
        ]
        codes: dict[str, int] = {}
        barrier = threading.Barrier(len(calls))

        def go(url: str, headers: dict[str, str]) -> None:
            barrier.wait()
            codes[url] = httpx.post(url, headers=headers, json={} if "arrival" in url else None, timeout=30).status_code

        threads = [threading.Thread(target=go, args=call) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(codes.values()) == [200, 409], codes
    with db.transaction(write=False) as session:
        stays = session.exec(
            select(OccupancyStay).where(
                OccupancyStay.referral_id == referral_id,
                OccupancyStay.discharged_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
        placements = session.exec(select(Placement).where(Placement.referral_id == referral_id)).all()
    assert len(stays) == 1
    assert sorted(p.status for p in placements) in (["arrived"], ["arrived", "cancelled"])
    winner = next(p for p in placements if p.status == "arrived")
    assert stays[0].group_id == winner.group_id
    # Arrival won: the refused confirmation changed nothing, the hold still holds its place.
    # Confirmation won: the expected arrival was called off and its place released.
    held = group_row(db, world.groups_a[0]).held_places + group_row(db, world.groups_b[1]).held_places
    assert held == (1 if winner.group_id == world.groups_a[0] else 0)
