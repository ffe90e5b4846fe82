"""Objects owned by provider A, per path parameter name, for the object-level checks.

A domain's route with a new kind of id gets a factory here; a parameter without one is still
probed (with an id that does not exist: the answer must be a clean 404, never a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MISSING_ID = 987_654

Factory = Callable[[Any, Any, Any], Any]  # (client, world, db) -> id owned by provider A


def _group(client: Any, world: Any, db: Any) -> int:
    return int(world.groups_a[0])


def _provider(client: Any, world: Any, db: Any) -> int:
    return int(world.provider_a)


def _cached(world: Any, key: str, make: Callable[[], Any]) -> Any:
    # One object of each kind per world: the probes call the factories for every route.
    cache = world.__dict__.setdefault("_proof_objects", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _referral(client: Any, world: Any, db: Any) -> int:
    def make() -> int:
        from backend.domain import utcnow

        response = client.post(
            "/api/v1/referrals",
            headers=world.headers("coordinator"),
            json={
                "reference": "TW-PROEF-1",
                "birth_year": utcnow().year - 15,
                "birth_month": 3,
                "gender": "m",
                "care_forms": ["woongroep"],
                "required_intensity": _group_row(db, world.groups_a[0]).intensity,
                "risk_profile": "A",
                "origin_region_code": "JZ14",
                "home_municipality": "Enschede",
            },
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    return int(_cached(world, "referral", make))


def _group_row(db: Any, group_id: int) -> Any:
    from backend.providers.models import Group

    with db.transaction(write=False) as session:
        return session.get(Group, group_id)


def _proposal(client: Any, world: Any, db: Any) -> int:
    def make() -> int:
        referral_id = _referral(client, world, db)
        response = client.post(
            f"/api/v1/referrals/{referral_id}/proposals",
            json={"group_id": world.groups_a[0]},
            headers=world.headers("coordinator"),
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    return int(_cached(world, "proposal", make))


def _placement(client: Any, world: Any, db: Any) -> int:
    """An accepted proposal of provider A: an expected arrival (backend/placements)."""

    def make() -> int:
        from backend.domain import utcnow

        referral = client.post(
            "/api/v1/referrals",
            headers=world.headers("coordinator"),
            json={
                "reference": "TW-PROEF-2",
                "birth_year": utcnow().year - 15,
                "birth_month": 3,
                "gender": "m",
                "care_forms": ["woongroep"],
                "required_intensity": _group_row(db, world.groups_a[0]).intensity,
                "risk_profile": "A",
                "origin_region_code": "JZ14",
                "home_municipality": "Enschede",
            },
        )
        assert referral.status_code == 201, referral.text
        proposal = client.post(
            f"/api/v1/referrals/{referral.json()['id']}/proposals",
            json={"group_id": world.groups_a[0]},
            headers=world.headers("coordinator"),
        )
        assert proposal.status_code == 201, proposal.text
        accepted = client.post(f"/api/v1/proposals/{proposal.json()['id']}/accept", headers=world.headers("provider_a"))
        assert accepted.status_code == 200, accepted.text
        return int(accepted.json()["placement_id"])

    return int(_cached(world, "placement", make))


def _hold(client: Any, world: Any, db: Any) -> int:
    def make() -> int:
        from sqlmodel import select

        from backend.providers.models import Location
        from tests.factories import add_group

        with db.transaction() as session:
            location = session.exec(select(Location).where(Location.provider_id == world.provider_a)).one()
            group = add_group(
                session,
                location,
                name="Crisisgroep Proef",
                care_form="crisis",
                capacity=3,
                weekly_roster_hours=150.0,
                free_places=2,
                expertise=[],
            )
        response = client.post(
            "/api/v1/holds",
            json={"group_id": group.id, "crisis_reference": "CR-PROEF-1"},
            headers=world.headers("crisis"),
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    return int(_cached(world, "hold", make))


FACTORIES: dict[str, Factory] = {
    "group_id": _group,
    "provider_id": _provider,
    "referral_id": _referral,
    "proposal_id": _proposal,
    "placement_id": _placement,
    "hold_id": _hold,
}


def owned_by_a(params: list[str], client: Any, world: Any, db: Any) -> tuple[dict[str, Any], bool]:
    """Values for the path parameters, and whether all of them are real objects of provider A."""
    values: dict[str, Any] = {}
    all_known = True
    for name in params:
        factory = FACTORIES.get(name)
        if factory is None:
            values[name] = MISSING_ID
            all_known = False
        else:
            values[name] = factory(client, world, db)
    return values, all_known


def materialize_all(client: Any, world: Any, db: Any) -> None:
    """Create every kind of object up front, so tests can compare state before and after."""
    for factory in FACTORIES.values():
        factory(client, world, db)
