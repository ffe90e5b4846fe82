"""Helpers shared by the referral and matching tests."""

from __future__ import annotations

from typing import Any

from backend.domain import utcnow


def referral_body(reference: str = "TW-0001", **overrides: Any) -> dict[str, Any]:
    today = utcnow().date()
    body: dict[str, Any] = {
        "reference": reference, "birth_year": today.year - 14, "birth_month": 1, "gender": "m",
        "home_municipality": "Enschede", "care_forms": ["woongroep", "behandelgroep"],
        "required_intensity": "C", "risk_profile": "A", "needs": ["trauma"], "urgency": 3,
    }
    body.update(overrides)
    return body


def create_referral(client: Any, world: Any, reference: str = "TW-0001", **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/referrals", json=referral_body(reference, **overrides),
                           headers=world.headers("coordinator"))
    assert response.status_code == 201, response.text
    return response.json()


def group_row(db: Any, group_id: int) -> Any:
    from backend.providers.models import Group

    with db.session(write=False) as session:
        return session.get(Group, group_id)


def set_free(client: Any, world: Any, group_id: int, free: int, who: str, **extra: Any) -> None:
    response = client.put(f"/api/v1/groups/{group_id}/availability",
                          json={"free_places": free, **extra}, headers=world.headers(who))
    assert response.status_code == 200, response.text
