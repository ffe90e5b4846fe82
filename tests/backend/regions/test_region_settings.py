"""Region settings through the API: read with defaults, change as an admin (validated as a whole,
audited, published), refusals in Dutch that change nothing, and the readers that follow a
change (crisis hold, proposal expiry, post-calculation share, crisis neighbours, decline reasons)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

import solver
from backend.audit.models import AuditEntry
from backend.domain import DEFAULT_INTENSITY_BANDS, as_utc, utcnow
from backend.errors import RuleViolation
from backend.events.models import Event
from backend.matching.adapter import WEIGHT_FIELDS
from backend.proposals.models import DECLINE_REASONS
from backend.providers.models import Group
from backend.regions.models import Region
from backend.regions.settings import RegionSettings, load_settings, region_settings
from tests.backend.crisis.helpers import build_crisis_places
from tests.backend.reports.helpers import since
from tests.factories import add_user, create_referral

URL = "/api/v1/regions/JZ14/settings"


def get_settings(client, world, who="admin"):
    response = client.get(URL, headers=world.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def put(client, world, body, who="admin", url=URL, **headers):
    return client.put(url, json=body, headers={**world.headers(who), **headers})


def changed_body(client, world, **changes):
    """The full settings as the screen would send them, with some values changed."""
    body = get_settings(client, world)["settings"]
    body.update(changes)
    return body


def stored(db, code="JZ14"):
    with db.transaction(write=False) as session:
        return session.exec(select(Region).where(Region.code == code)).one().settings


def fingerprint(db):
    """What a refused change must leave as it was: the stored settings, audit rows and events."""
    with db.transaction(write=False) as session:
        settings = [r.settings for r in session.exec(select(Region).order_by(Region.id)).all()]
        audits = len(session.exec(select(AuditEntry)).all())
        events = len(session.exec(select(Event)).all())
    return settings, audits, events


def refused(response, field, *fragments):
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_input", body
    messages = [e["message"] for e in body["errors"] if (e["field"] or "").startswith(field)]
    assert messages, body
    for fragment in fragments:
        assert any(fragment in m for m in messages), (fragment, messages)
        assert fragment in body["detail"]
    return body


def other_region(db, code="JZ99", name="Elders"):
    with db.transaction() as session:
        region = Region(code=code, name=name, settings={})
        session.add(region)
        session.flush()
        return region.id


# --- reading ------------------------------------------------------------------------------------


def test_get_returns_every_default_with_dutch_help(client, world):
    response = client.get(URL, headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    view = response.json()
    assert view["region"] == {"code": "JZ14", "name": "Twente"}
    settings = view["settings"]
    assert settings["availability_share"] == 0.75
    assert settings["availability_share_by_care_form"] == {} and settings["availability_share_by_group"] == {}
    assert settings["fund_not_admitting_nights"] is True
    assert settings["intensity_bands"] == [[letter, float(lower)] for letter, lower in DEFAULT_INTENSITY_BANDS]
    assert settings["family_home_max_children"] == 6
    assert settings["hold_minutes"] is None and settings["proposal_expiry_hours"] is None
    assert settings["stale_after_hours"] is None and settings["neighbours"] == []
    assert settings["profile_c_limit"] == 2 and settings["matching_time_limit_s"] == 10.0
    assert settings["matching_weights"]["need"] == 0.40 and settings["matching_weights"]["distance_scale_km"] == 25.0
    assert [(r["code"], r["label"], r["retired"]) for r in settings["decline_reasons"]] == [
        (code, label, False) for code, label in DECLINE_REASONS.items()
    ]
    # Empty means the service-wide value, which the screen shows.
    assert view["service_defaults"] == {"hold_minutes": 120, "proposal_expiry_hours": 24.0, "stale_after_hours": 24.0}
    assert set(view["fields"]) == set(RegionSettings.model_fields)
    assert view["fields"]["availability_share"]["label"] == "Beschikbaarheidsdeel"
    assert "keuze van de regio" in view["fields"]["availability_share"]["help"]
    assert set(view["weights"]) == set(settings["matching_weights"])
    assert view["problems"] == []


def test_coordinator_and_viewer_read_their_region_others_do_not(client, world, db):
    assert get_settings(client, world, "coordinator")["region"]["code"] == "JZ14"
    assert get_settings(client, world, "viewer")["region"]["code"] == "JZ14"
    for who in ("provider_a", "key_a", "crisis"):
        answer = client.get(URL, headers=world.headers(who))
        assert answer.status_code == 403 and "rechten" in answer.json()["detail"], who
    assert client.get("/api/v1/regions/JZ77/settings", headers=world.headers("admin")).status_code == 404
    # A coordinator of another region learns nothing about JZ14, like every region-scoped route.
    elders = other_region(db)
    with db.transaction() as session:
        _user, token = add_user(session, world.settings, "coordinator_elders", "coordinator", None, elders)
    stranger = client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert stranger.status_code == 404 and stranger.json()["detail"] == "Regio niet gevonden."


# --- changing -----------------------------------------------------------------------------------


def test_a_valid_change_is_stored_audited_and_published(client, world, db):
    before = get_settings(client, world)
    body = dict(before["settings"])
    body.update(availability_share=0.6, hold_minutes=45, availability_share_by_care_form={"crisis": 0.9})
    response = put(client, world, body, **{"If-Match": f'"{before["version"]}"'})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["settings"]["availability_share"] == 0.6 and view["settings"]["hold_minutes"] == 45
    assert response.headers["ETag"] == f'"{view["version"]}"' and view["version"] != before["version"]
    assert get_settings(client, world, "viewer")["settings"]["availability_share_by_care_form"] == {"crisis": 0.9}
    # Only what differs from the defaults is stored; the defaults keep following the code.
    assert stored(db) == {
        "availability_share": 0.6,
        "hold_minutes": 45,
        "availability_share_by_care_form": {"crisis": 0.9},
    }
    with db.transaction(write=False) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "region.settings_change")).all()
        [event] = session.exec(select(Event).where(Event.type == "region.settings_changed")).all()
    assert entry.actor == f"user:{world.users['admin'].id}:admin" and entry.object_id == str(world.region_id)
    assert entry.purpose
    assert entry.detail["changed"] == {
        "availability_share": {"before": 0.75, "after": 0.6},
        "hold_minutes": {"before": None, "after": 45},
        "availability_share_by_care_form": {"before": {}, "after": {"crisis": 0.9}},
    }
    assert event.region_id == world.region_id
    assert event.payload["changed"] == ["availability_share", "availability_share_by_care_form", "hold_minutes"]
    # Saving the same again changes nothing and records nothing.
    again = put(client, world, view["settings"])
    assert again.status_code == 200 and again.json()["version"] == view["version"]
    with db.transaction(write=False) as session:
        assert len(session.exec(select(Event).where(Event.type == "region.settings_changed")).all()) == 1


def test_keys_the_settings_do_not_manage_are_kept(client, world, db):
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {"eigen_sleutel": {"x": 1}, "neighbours": []}
        session.add(region)
    assert put(client, world, changed_body(client, world, profile_c_limit=3)).status_code == 200
    assert stored(db) == {"eigen_sleutel": {"x": 1}, "profile_c_limit": 3}


@pytest.mark.parametrize(
    ("changes", "field", "fragments"),
    [
        ({"availability_share": 1.5}, "availability_share", ["Beschikbaarheidsdeel mag hoogstens 1 zijn"]),
        ({"availability_share": -0.1}, "availability_share", ["Beschikbaarheidsdeel moet minstens 0 zijn"]),
        (
            {"availability_share": "0,75"},
            "availability_share",
            ["Beschikbaarheidsdeel moet een getal zijn", "geen tekst"],
        ),
        ({"availability_share": "0.75"}, "availability_share", ["geen tekst"]),
        ({"availability_share": True}, "availability_share", ["moet een getal zijn"]),
        ({"availability_share_by_care_form": {"crisis": 1.5}}, "availability_share_by_care_form", ["hoogstens 1"]),
        (
            {"availability_share_by_care_form": {"pizza": 0.5}},
            "availability_share_by_care_form",
            ["onbekende zorgvorm"],
        ),
        ({"hold_minutes": "90"}, "hold_minutes", ["moet een geheel getal zijn"]),
        ({"hold_minutes": 0}, "hold_minutes", ["minstens 5"]),
        ({"hold_minutes": 90.5}, "hold_minutes", ["geheel getal"]),
        ({"family_home_max_children": 13}, "family_home_max_children", ["hoogstens 12"]),
        ({"stale_after_hours": 0}, "stale_after_hours", ["groter"]),
        ({"fund_not_admitting_nights": "ja"}, "fund_not_admitting_nights", ["ja (true) of nee (false)"]),
        ({"matching_weights": {"afstand": 1}}, "matching_weights", ["afstand is geen bekend veld"]),
        ({"matching_weights": {"need": -1}}, "matching_weights.need", ["minstens 0"]),
        ({"profile_c_limit": 1.5}, "profile_c_limit", ["geheel getal"]),
        ({"neighbours": ["JZ 7"]}, "neighbours", ["geen regiocode"]),
        ({"onbekend": 1}, "onbekend", ["onbekend is geen bekend veld"]),
    ],
)
def test_wrong_values_are_refused_in_dutch_and_change_nothing(client, world, db, changes, field, fragments):
    body = changed_body(client, world, **changes)
    before = fingerprint(db)
    refused(put(client, world, body), field, *fragments)
    assert fingerprint(db) == before


@pytest.mark.parametrize(
    ("bands", "fragment"),
    [
        ([["A", 0], ["B", 2], ["D", 4]], "zonder gaten"),  # a letter skipped
        ([["A", 0], ["B", 2], ["B", 4]], "zonder gaten"),  # a letter twice
        ([["A", 0], ["B", 3], ["C", 2]], "oplopend"),  # a lower bound going down
        ([["A", 0], ["B", 3], ["C", 3]], "oplopend"),  # two bands with the same bound
        ([["A", 1], ["B", 3]], "de ondergrens van A moet 0 zijn"),
        ([["B", 0], ["C", 3]], "eerst komt A"),
        ([], "minstens de letter A"),
        ([["A", 0], ["B", "2"]], "geen tekst"),
    ],
)
def test_band_tables_that_do_not_ascend_without_gaps_are_refused(client, world, db, bands, fragment):
    before = fingerprint(db)
    response = put(client, world, changed_body(client, world, intensity_bands=bands))
    refused(response, "intensity_bands", fragment)
    assert "Intensiteitstabel" in response.json()["detail"]
    assert fingerprint(db) == before


def test_a_shorter_band_table_is_used_by_the_intensity_calculation(client, world):
    bands = [["A", 0], ["B", 2], ["C", 4.5]]
    assert put(client, world, changed_body(client, world, intensity_bands=bands)).status_code == 200
    # 220 rostered hours, 8 places, norm 0.95: 4.1 hours a child a day, B in this table (E by default).
    answer = client.post(
        "/api/v1/intensity/calculate",
        json={"weekly_roster_hours": 220, "places": 8},
        headers=world.headers("provider_a"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["intensity"] == "B"


def test_roles_and_regions_that_may_not_change_settings(client, world, db):
    body = changed_body(client, world, availability_share=0.5)
    before = fingerprint(db)
    for who in ("coordinator", "viewer", "crisis", "provider_a", "key_a"):
        answer = put(client, world, body, who)
        assert answer.status_code == 403 and answer.json()["code"] == "role_forbidden", who
    assert fingerprint(db) == before
    # An admin bound to another region may not touch JZ14 (nor see it): 404, as for every
    # object of another region.
    elders = other_region(db)
    with db.transaction() as session:
        _user, token = add_user(session, world.settings, "admin_elders", "admin", None, elders)
    before = fingerprint(db)
    elders_admin = {"Authorization": f"Bearer {token}"}
    answer = client.put(URL, json=body, headers=elders_admin)
    assert answer.status_code == 404 and answer.json()["detail"] == "Regio niet gevonden."
    assert client.get(URL, headers=elders_admin).status_code == 404
    assert fingerprint(db) == before
    # ... but its own region it may change.
    own = client.put("/api/v1/regions/JZ99/settings", json={"hold_minutes": 30}, headers=elders_admin)
    assert own.status_code == 200, own.text
    assert stored(db, "JZ99") == {"hold_minutes": 30}
    # An admin bound to no region acts for every region.
    with db.transaction() as session:
        _user, token = add_user(session, world.settings, "admin_landelijk", "admin", None, None)
    everywhere = {"Authorization": f"Bearer {token}"}
    for url in (URL, "/api/v1/regions/JZ99/settings"):
        assert client.put(url, json={"profile_c_limit": 4}, headers=everywhere).status_code == 200, url
    assert stored(db)["profile_c_limit"] == 4 and stored(db, "JZ99") == {"profile_c_limit": 4}


def test_a_save_on_an_old_version_is_refused(client, world, db):
    old = get_settings(client, world)
    assert put(client, world, changed_body(client, world, availability_share=0.5)).status_code == 200
    before = fingerprint(db)
    late = put(client, world, {**old["settings"], "hold_minutes": 60}, **{"If-Match": f'"{old["version"]}"'})
    assert late.status_code == 412 and "intussen gewijzigd" in late.json()["detail"]
    assert fingerprint(db) == before


def test_neighbours_must_be_other_existing_regions(client, world, db):
    other_region(db, "JZ07", "IJsselland")
    before = fingerprint(db)
    refused(put(client, world, changed_body(client, world, neighbours=["JZ07", "JZ55"])), "neighbours", "JZ55")
    refused(put(client, world, changed_body(client, world, neighbours=["JZ14"])), "neighbours", "eigen buurregio")
    refused(put(client, world, changed_body(client, world, neighbours=["JZ07", "jz07"])), "neighbours", "meer dan eens")
    assert fingerprint(db) == before
    assert put(client, world, changed_body(client, world, neighbours=["jz07"])).status_code == 200
    assert stored(db)["neighbours"] == ["JZ07"]
    # The crisis search reads the neighbours with its own query on the JSON column.
    search = client.post(
        "/api/v1/crisis/search", json={"age": 15, "lat": 52.22, "lon": 6.89}, headers=world.headers("crisis")
    )
    assert search.status_code == 200, search.text
    assert search.json()["neighbour_regions"] == ["JZ07"]


def test_a_share_per_group_must_name_a_group_of_the_region(client, world, db):
    crisis = world.groups_b[1]
    before = fingerprint(db)
    body = changed_body(client, world, availability_share_by_group={str(crisis): 0.4, "987654": 0.5})
    refused(put(client, world, body), "availability_share_by_group", "groep 987654 hoort niet bij deze regio")
    refused(
        put(client, world, changed_body(client, world, availability_share_by_group={"Wilg": 0.5})),
        "availability_share_by_group",
        "geen groepsnummer",
    )
    assert fingerprint(db) == before
    body = changed_body(client, world, availability_share_by_group={str(crisis): 0.4})
    assert put(client, world, body).status_code == 200


# --- decline reasons ----------------------------------------------------------------------------


def _reasons(client, world):
    return get_settings(client, world)["settings"]["decline_reasons"]


def test_a_reason_can_be_retired_and_added_but_not_removed(client, world, db):
    reasons = _reasons(client, world)
    without = [r for r in reasons if r["code"] != "veiligheid"]
    before = fingerprint(db)
    refused(
        put(client, world, changed_body(client, world, decline_reasons=without)),
        "decline_reasons",
        "veiligheid",
        "vervallen",
    )
    renamed = [{**r, "code": "veilig"} if r["code"] == "veiligheid" else r for r in reasons]
    refused(put(client, world, changed_body(client, world, decline_reasons=renamed)), "decline_reasons", "veiligheid")
    twice = [*reasons, dict(reasons[0])]
    refused(put(client, world, changed_body(client, world, decline_reasons=twice)), "decline_reasons", "meer dan eens")
    bad_code = [*reasons, {"code": "Wachtlijst vol", "label": "Wachtlijst vol", "retired": False}]
    refused(
        put(client, world, changed_body(client, world, decline_reasons=bad_code)),
        "decline_reasons.6.code",
        "kleine letters",
    )
    all_retired = [{**r, "retired": True} for r in reasons]
    refused(
        put(client, world, changed_body(client, world, decline_reasons=all_retired)), "decline_reasons", "minstens één"
    )
    assert fingerprint(db) == before

    changed = [{**r, "retired": True} if r["code"] == "personeel" else r for r in reasons] + [
        {"code": "wachtlijst_vol", "label": "Wachtlijst van de groep is vol", "retired": False}
    ]
    changed[0] = {**changed[0], "label": "Geen plek meer vrij  "}  # spacing tidied, same label
    response = put(client, world, changed_body(client, world, decline_reasons=changed))
    assert response.status_code == 200, response.text
    saved = {r["code"]: r for r in response.json()["settings"]["decline_reasons"]}
    assert saved["personeel"]["retired"] is True and saved["geen_plek_meer"]["label"] == "Geen plek meer vrij"
    assert saved["wachtlijst_vol"]["label"] == "Wachtlijst van de groep is vol"
    # Providers are offered the active reasons of their region.
    offered = client.get("/api/v1/referrals/vocabulary", headers=world.headers("key_a")).json()["decline_reasons"]
    assert "personeel" not in offered and offered["wachtlijst_vol"] == "Wachtlijst van de groep is vol"


def test_declines_follow_the_regions_reasons(client, world, db):
    reasons = [{**r, "retired": r["code"] == "personeel"} for r in _reasons(client, world)]
    reasons.append({"code": "wachtlijst_vol", "label": "Wachtlijst vol", "retired": False})
    assert put(client, world, changed_body(client, world, decline_reasons=reasons)).status_code == 200
    ref = create_referral(client, world)
    proposal = client.post(
        f"/api/v1/referrals/{ref['id']}/proposals",
        json={"group_id": world.groups_a[0]},
        headers=world.headers("coordinator"),
    ).json()
    url = f"/api/v1/proposals/{proposal['id']}/decline"
    retired = client.post(url, json={"reason": "personeel"}, headers=world.headers("provider_a"))
    assert retired.status_code == 422 and "vervallen" in retired.json()["detail"]
    assert "wachtlijst_vol" in retired.json()["detail"] and "personeel," not in retired.json()["detail"]
    declined = client.post(url, json={"reason": "wachtlijst_vol"}, headers=world.headers("provider_a"))
    assert declined.status_code == 200, declined.text
    assert (
        declined.json()["decline_reason"] == "wachtlijst_vol" and declined.json()["decline_label"] == "Wachtlijst vol"
    )


# --- the readers follow a change ----------------------------------------------------------------


def test_a_crisis_hold_lasts_the_regions_hold_minutes(client, world):
    assert put(client, world, changed_body(client, world, hold_minutes=35)).status_code == 200
    made = client.post(
        "/api/v1/holds",
        json={"group_id": world.groups_b[1], "crisis_reference": "CR-1"},
        headers=world.headers("crisis"),
    )
    assert made.status_code == 201, made.text
    assert made.json()["minutes"] == 35


def test_a_proposal_expires_after_the_regions_hours(client, world, db):
    assert put(client, world, changed_body(client, world, proposal_expiry_hours=6)).status_code == 200
    ref = create_referral(client, world)
    made = client.post(
        f"/api/v1/referrals/{ref['id']}/proposals",
        json={"group_id": world.groups_a[0]},
        headers=world.headers("coordinator"),
    )
    assert made.status_code == 201, made.text
    from backend.proposals.models import Proposal

    with db.transaction(write=False) as session:
        proposal = session.get(Proposal, made.json()["id"])
    assert as_utc(proposal.expires_at) - as_utc(proposal.created_at) == timedelta(hours=6)


def test_reports_are_stale_after_the_regions_hours_on_every_screen(client, world, db):
    """Twente allows 2 hours; IJsselland keeps the service's 24. Reports of 3 hours ago are stale
    in Twente only: in the lists, the provider's picture, the live snapshot, crisis search and
    overview, the ranking, and the event a claim sends on the live feed."""
    places = build_crisis_places(db, world)
    three_hours_ago = utcnow() - timedelta(hours=3)
    watched = [world.groups_a[0], world.groups_b[1], places.deventer]
    with db.transaction() as session:
        for group_id in watched:
            group = session.get(Group, group_id)
            group.reported_at = three_hours_ago
            session.add(group)

    twente = watched[:2]  # the lists are region-scoped; crisis search below shows both regions

    def stale_in_lists():
        groups = client.get("/api/v1/groups", headers=world.headers("admin")).json()
        return {g["id"]: g["stale"] for g in groups if g["id"] in watched}

    assert stale_in_lists() == dict.fromkeys(twente, False)
    assert put(client, world, changed_body(client, world, stale_after_hours=2)).status_code == 200
    assert stale_in_lists() == dict.fromkeys(twente, True)

    single = client.get(f"/api/v1/groups/{world.groups_a[0]}", headers=world.headers("coordinator")).json()
    assert single["stale"] is True
    picture = client.get(
        "/api/v1/availability", params={"provider_id": world.provider_a}, headers=world.headers("provider_a")
    ).json()
    assert picture["stale_after_hours"] == world.settings.stale_after_hours
    assert picture["stale_after_hours_by_region"] == {str(world.region_id): 2}
    assert {g["id"]: g["stale"] for g in picture["groups"]}[world.groups_a[0]] is True

    with client.websocket_connect("/api/v1/live?snapshot=true", headers=world.headers("admin")) as ws:
        snapshot = ws.receive_json()
    assert {g["id"]: g["stale"] for g in snapshot["groups"] if g["id"] in watched} == stale_in_lists()

    found = client.post(
        "/api/v1/crisis/search", json={"age": 15, "postcode": "7511", "radius_km": 400}, headers=world.headers("crisis")
    ).json()["results"]
    assert {r["group_id"]: r["stale"] for r in found if r["group_id"] in watched} == {
        world.groups_b[1]: True,
        places.deventer: False,
    }
    overview = client.get("/api/v1/crisis/overview?region_code=JZ14", headers=world.headers("crisis")).json()
    assert {g["group_id"]: g["stale"] for g in overview["groups"]}[world.groups_b[1]] is True

    ref = create_referral(client, world)
    options = client.get(f"/api/v1/referrals/{ref['id']}/options", headers=world.headers("coordinator")).json()
    shown = {o["group_id"]: o["stale"] for o in options["options"] + options["expected_free_soon"]}
    assert shown[world.groups_a[0]] is True

    held = client.post(
        "/api/v1/holds",
        json={"group_id": world.groups_b[1], "crisis_reference": "CR-9"},
        headers=world.headers("crisis"),
    )
    assert held.status_code == 201, held.text
    with db.transaction(write=False) as session:
        # The newest hold event (the notifications of the hold to its provider come after it).
        event = session.exec(
            select(Event).where(Event.type == "hold.created").order_by(Event.seq.desc())  # type: ignore[union-attr]
        ).first()
    assert event is not None and event.payload["group"]["stale"] is True

    # Back to the service's value: the same reports are fresh again.
    assert put(client, world, changed_body(client, world, stale_after_hours=None)).status_code == 200
    assert stale_in_lists() == dict.fromkeys(twente, False)


def test_the_post_calculation_uses_the_regions_shares(client, world, db):
    crisis = world.groups_b[1]
    # The post-calculation counts nights in the group's active period and contract versions
    # only; the factories' groups start today, so this one has existed since 2020.
    since(db, [crisis])
    params = {"start": "2025-03-01", "end": "2025-03-10"}

    def share():
        report = client.get("/api/v1/post-calculation", params=params, headers=world.headers("viewer"))
        assert report.status_code == 200, report.text
        [row] = [g for g in report.json()["groups"] if g["group_id"] == crisis]
        return row["availability_share"], row["availability_funding"]

    assert share() == (0.75, 10 * 4 * 200 * 0.75)  # 4 empty places for 10 nights at 200 a day
    assert put(client, world, changed_body(client, world, availability_share=0.5)).status_code == 200
    assert share() == (0.5, 10 * 4 * 200 * 0.5)
    body = changed_body(client, world, availability_share_by_care_form={"crisis": 0.8})
    assert put(client, world, body).status_code == 200
    assert share()[0] == 0.8
    body = changed_body(client, world, availability_share_by_group={str(crisis): 0.25})
    assert put(client, world, body).status_code == 200
    assert share()[0] == 0.25


def test_matching_weights_come_from_the_screen_too(client, world):
    weights = {**get_settings(client, world)["settings"]["matching_weights"], "distance": 0.6}
    assert (
        put(client, world, changed_body(client, world, matching_weights=weights, profile_c_limit=1)).status_code == 200
    )
    ref = create_referral(client, world)
    options = client.get(f"/api/v1/referrals/{ref['id']}/options", headers=world.headers("coordinator")).json()
    assert options["weights"]["distance"] == 0.6 and options["weights"]["profile_c_limit"] == 1


# --- stored JSON: backward compatible, and broken values reported, not guessed at ------------------


def test_stored_settings_that_break_the_rules_are_shown_and_refused_by_readers(client, world, db):
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {"availability_share": 2, "hold_minutes": 50}
        session.add(region)
    view = get_settings(client, world)
    assert view["settings"]["availability_share"] == 0.75 and view["settings"]["hold_minutes"] == 50
    assert [p["field"] for p in view["problems"]] == ["availability_share"]
    assert "Beschikbaarheidsdeel mag hoogstens 1 zijn" in view["problems"][0]["message"]
    report = client.get("/api/v1/post-calculation", params={"year": 2025}, headers=world.headers("viewer"))
    assert report.status_code == 422 and report.json()["code"] == "region_settings_invalid"
    assert "Beschikbaarheidsdeel" in report.json()["detail"]
    # Saving repairs it; the audit shows what was stored.
    assert put(client, world, view["settings"]).status_code == 200
    assert stored(db) == {"hold_minutes": 50}
    with db.transaction(write=False) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "region.settings_change")).all()
    assert entry.detail["changed"] == {"availability_share": {"before": 2, "after": 0.75}}


def test_old_json_loads_with_defaults_and_as_leniently_as_before():
    settings, problems = load_settings(
        {"availability_share": "0.5", "matching_weights": {"distance": 0.6, "profile_c_limit": 1}, "iets": True}
    )
    assert problems == []
    assert settings.availability_share == 0.5 and settings.matching_weights.distance == 0.6
    assert settings.profile_c_limit == 1 and settings.hold_minutes is None
    assert settings.bands() == [(letter, float(lower)) for letter, lower in DEFAULT_INTENSITY_BANDS]
    assert region_settings(None) == RegionSettings()
    region = Region(code="JZ01", name="Test", settings={"matching_weights": {"afstand": 1}})
    with pytest.raises(RuleViolation, match="afstand"):
        region_settings(region)


def test_the_weights_are_the_solvers_with_the_solvers_defaults():
    defaults = solver.Weights()
    weights = RegionSettings().matching_weights.model_dump()
    assert set(weights) | {"profile_c_limit"} == set(WEIGHT_FIELDS)
    assert weights == {name: getattr(defaults, name) for name in weights}
    assert RegionSettings().profile_c_limit == defaults.profile_c_limit
