"""A second region for the scope tests: region B (IJsselland, JZ07) beside the world's region A
(Twente, JZ14), with its own provider, groups and a user of every role, and the objects each
region's people make through the API (referrals, a proposal, a hold, occupancy rows, a
re-assessment, a matching run, a places request).

Region A's youth references all start with a marker (``TW-A-``, ``CR-A-``, ``ST-A-``), so a
test can say of any answer to a region-B caller that it carries none of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from backend.domain import utcnow
from backend.notifications.models import Notification
from backend.providers.models import Location, Provider
from backend.regions.models import Municipality, Region
from backend.users.models import ApiKey
from tests.factories import add_api_key, add_group, add_user, group_row, referral_body, set_free

A_MARKERS = ("TW-A-", "CR-A-", "ST-A-")
ROLES_B = ("coordinator", "crisis", "viewer", "admin")


@dataclass
class RegionB:
    region_id: int
    code: str
    provider_id: int
    location_id: int
    group_id: int  # a residential group
    crisis_group_id: int
    tokens: dict[str, str] = field(default_factory=dict)
    api_key: str = ""
    user_ids: list[int] = field(default_factory=list)
    key_ids: list[int] = field(default_factory=list)

    def headers(self, who: str) -> dict[str, str]:
        if who == "key":
            return {"X-API-Key": self.api_key}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_region_b(db: Any, settings: Any) -> RegionB:
    with db.transaction() as session:
        region = Region(code="JZ07", name="IJsselland", settings={})
        session.add(region)
        session.flush()
        deventer = Municipality(region_id=region.id, cbs_code="GM0150", name="Deventer", lat=52.255, lon=6.160)
        session.add(deventer)
        session.flush()
        provider = Provider(region_id=region.id, name="Stichting De Brug", agb_code="43100007", phone_24h="0570-123456")
        session.add(provider)
        session.flush()
        location = Location(
            code="DEV",
            provider_id=provider.id,
            municipality_id=deventer.id,
            name="De Brug Deventer",
            postcode="7411",
            lat=52.25,
            lon=6.16,
        )
        session.add(location)
        session.flush()
        group = add_group(session, location, name="Woongroep Brug")
        crisis = add_group(
            session,
            location,
            name="Crisisgroep IJssel",
            care_form="crisis",
            capacity=4,
            weekly_roster_hours=200.0,
            free_places=2,
        )
        b = RegionB(
            region_id=region.id,  # type: ignore[arg-type]
            code="JZ07",
            provider_id=provider.id,  # type: ignore[arg-type]
            location_id=location.id,  # type: ignore[arg-type]
            group_id=group.id,  # type: ignore[arg-type]
            crisis_group_id=crisis.id,  # type: ignore[arg-type]
        )
        for role in (*ROLES_B, "provider"):
            _user, token = add_user(
                session, settings, f"{role}_ijssel", role, provider.id if role == "provider" else None, region.id
            )
            b.tokens[role] = token
            b.user_ids.append(_user.id)  # type: ignore[arg-type]
        b.api_key = add_api_key(session, provider.id)  # type: ignore[arg-type]
    b.key_ids = _key_ids(db, [b.provider_id])
    return b


def ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class Objects:
    """The ids of one region's objects, by kind."""

    referrals: list[int] = field(default_factory=list)
    proposals: list[int] = field(default_factory=list)
    placements: list[int] = field(default_factory=list)
    holds: list[int] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    reassessments: list[int] = field(default_factory=list)
    terms: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    providers: list[int] = field(default_factory=list)
    locations: list[int] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    audit: list[int] = field(default_factory=list)  # the region's audit rows
    contacts: list[int] = field(default_factory=list)
    endpoints: list[int] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)  # e-mails and webhooks (dead letters)


def _key_ids(db: Any, provider_ids: list[int]) -> list[int]:
    with db.transaction(write=False) as session:
        return [k.id for k in session.exec(select(ApiKey).where(col(ApiKey.provider_id).in_(provider_ids))).all()]


def _accept(client: Any, coordinator: Any, provider: Any, referral_id: int, group_id: int) -> Any:
    """A proposal for ``group_id``, accepted by its provider: an expected arrival (a placement)."""
    proposal = ok(
        client.post(f"/api/v1/referrals/{referral_id}/proposals", json={"group_id": group_id}, headers=coordinator)
    )
    return ok(client.post(f"/api/v1/proposals/{proposal['id']}/accept", headers=provider), 200)


def make_region_a_objects(client: Any, world: Any, db: Any) -> Objects:
    """Region A's objects, made by region A's own people."""
    h = world.headers
    wilg = world.groups_b[1]  # the world's crisis group
    set_free(client, world, wilg, 3, "provider_b")
    a = Objects(
        groups=[*world.groups_a, *world.groups_b],
        providers=[world.provider_a, world.provider_b],
        locations=[group_row(db, world.groups_a[0]).location_id],
        users=[user.id for user in world.users.values()],
        keys=_key_ids(db, [world.provider_a, world.provider_b]),
    )
    waiting = ok(client.post("/api/v1/referrals", json=referral_body("TW-A-1"), headers=h("coordinator")))
    proposed = ok(client.post("/api/v1/referrals", json=referral_body("TW-A-2"), headers=h("coordinator")))
    a.referrals = [waiting["id"], proposed["id"]]
    proposal = ok(
        client.post(
            f"/api/v1/referrals/{proposed['id']}/proposals",
            json={"group_id": world.groups_a[0]},
            headers=h("coordinator"),
        )
    )
    a.proposals = [proposal["id"]]
    expected = ok(client.post("/api/v1/referrals", json=referral_body("TW-A-3"), headers=h("coordinator")))
    a.referrals.append(expected["id"])
    accepted = _accept(client, h("coordinator"), h("provider_a"), expected["id"], world.groups_a[0])
    a.placements = [accepted["placement_id"]]
    # The crisis group's provider hears of holds by e-mail and webhook (backend/notifications).
    contact = {"name": "Crisisdienst", "email": "crisis@anker.test", "crisis": True}
    a.contacts = [
        ok(client.post(f"/api/v1/providers/{world.provider_b}/contacts", json=contact, headers=h("provider_b")))["id"]
    ]
    hook = {"url": "http://127.0.0.1:9/hook"}
    a.endpoints = [
        ok(client.post(f"/api/v1/providers/{world.provider_b}/webhooks", json=hook, headers=h("provider_b")))["id"]
    ]
    hold = ok(
        client.post(
            "/api/v1/holds", json={"group_id": wilg, "crisis_reference": "CR-A-1", "age": 15}, headers=h("crisis")
        )
    )
    a.holds = [hold["id"]]
    with db.transaction() as session:  # the webhook failed every attempt: a dead letter of region A
        a.notifications = [n.id for n in session.exec(select(Notification).where(Notification.channel != "app"))]
        session.execute(update(Notification).where(col(Notification.channel) != "app").values(status="dead"))
    at = (utcnow() - timedelta(days=1)).isoformat()
    admission = {
        "event_id": "a-1",
        "kind": "admission",
        "group_id": world.groups_a[1],
        "at": at,
        "stay_reference": "ST-A-1",
        "origin_region_code": "JZ14",
    }
    assert (
        ok(client.post("/api/v1/occupancy/events", json={"events": [admission]}, headers=h("key_a")), 200)["accepted"]
        == 1
    )
    staffing = ok(
        client.put(
            f"/api/v1/groups/{world.groups_a[0]}/staffing", json={"weekly_roster_hours": 300}, headers=h("provider_a")
        ),
        200,
    )
    a.reassessments = [staffing["reassessment"]["id"]]
    run = ok(client.post("/api/v1/matching/runs", json={}, headers=h("coordinator")))
    a.runs = [run["id"]]
    term = ok(
        client.post(
            f"/api/v1/groups/{world.groups_a[1]}/places-requests",
            json={"valid_from": (utcnow().date() + timedelta(days=30)).isoformat(), "contracted_places": 7},
            headers=h("provider_a"),
        )
    )
    a.terms = [term["id"]]
    return a


def make_region_b_objects(client: Any, b: RegionB) -> Objects:
    """Region B's own objects, made by region B's people: proof that they can work at all."""
    h = b.headers
    own = Objects(
        groups=[b.group_id, b.crisis_group_id],
        providers=[b.provider_id],
        locations=[b.location_id],
        users=b.user_ids,
        keys=b.key_ids,
    )
    body = {**referral_body("IJ-B-1"), "home_municipality": "Deventer"}
    waiting = ok(client.post("/api/v1/referrals", json=body, headers=h("coordinator")))
    proposed = ok(client.post("/api/v1/referrals", json={**body, "reference": "IJ-B-2"}, headers=h("coordinator")))
    own.referrals = [waiting["id"], proposed["id"]]
    proposal = ok(
        client.post(
            f"/api/v1/referrals/{proposed['id']}/proposals", json={"group_id": b.group_id}, headers=h("coordinator")
        )
    )
    own.proposals = [proposal["id"]]
    expected = ok(client.post("/api/v1/referrals", json={**body, "reference": "IJ-B-3"}, headers=h("coordinator")))
    own.referrals.append(expected["id"])
    own.placements = [_accept(client, h("coordinator"), h("provider"), expected["id"], b.group_id)["placement_id"]]
    hold = ok(
        client.post(
            "/api/v1/holds", json={"group_id": b.crisis_group_id, "crisis_reference": "CR-B-1"}, headers=h("crisis")
        )
    )
    own.holds = [hold["id"]]
    at = (utcnow() - timedelta(days=1)).isoformat()
    admission = {
        "event_id": "b-1",
        "kind": "admission",
        "group_id": b.group_id,
        "at": at,
        "stay_reference": "ST-B-1",
        "origin_region_code": "JZ07",
    }
    assert (
        ok(client.post("/api/v1/occupancy/events", json={"events": [admission]}, headers=h("key")), 200)["accepted"]
        == 1
    )
    staffing = ok(
        client.put(f"/api/v1/groups/{b.group_id}/staffing", json={"weekly_roster_hours": 300}, headers=h("provider")),
        200,
    )
    own.reassessments = [staffing["reassessment"]["id"]]
    own.runs = [ok(client.post("/api/v1/matching/runs", json={}, headers=h("coordinator")))["id"]]
    return own
