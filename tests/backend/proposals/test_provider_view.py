"""What a provider's screen reads: one provider's proposals, holds and placements (also for the
administrator acting for it), what a proposal says to decide on it, and answered proposals kept
as history."""

from __future__ import annotations

from sqlmodel import select

from backend.providers.models import Location
from backend.regions.models import Region
from tests.factories import add_group, create_referral

CONTACT = "Coördinatiepunt Twente, 053 481 00 00"


def _propose(client, world, referral_id: int, group_id: int) -> dict:  # type: ignore[no-untyped-def]
    sent = client.post(
        f"/api/v1/referrals/{referral_id}/proposals", json={"group_id": group_id}, headers=world.headers("coordinator")
    )
    assert sent.status_code == 201, sent.text
    return sent.json()


def _crisis_groups(db, world) -> list[int]:  # type: ignore[no-untyped-def]
    """A crisis group of each provider (only crisis places can be held)."""
    with db.transaction() as session:
        return [
            add_group(
                session,
                session.exec(select(Location).where(Location.provider_id == provider)).first(),
                name=f"Crisisgroep {provider}",
                care_form="crisis",
                weekly_roster_hours=300.0,
            ).id
            for provider in (world.provider_a, world.provider_b)
        ]


def test_the_admin_acting_for_one_provider_sees_only_that_providers_cards(client, world, db):
    for_a = _propose(client, world, create_referral(client, world, "TW-A")["id"], world.groups_a[0])
    for_b = _propose(
        client, world, create_referral(client, world, "TW-B", care_forms=["gezinshuis"])["id"], world.groups_b[0]
    )
    accepted = client.post(f"/api/v1/proposals/{for_b['id']}/accept", headers=world.headers("provider_b"))
    assert accepted.status_code == 200, accepted.text
    for group_id, code in zip(_crisis_groups(db, world), ("CR-A1", "CR-B1"), strict=True):
        held = client.post(
            "/api/v1/holds", json={"group_id": group_id, "crisis_reference": code}, headers=world.headers("crisis")
        )
        assert held.status_code == 201, held.text
    admin = world.headers("admin")

    def providers(path: str, provider_id: int | None) -> set[int]:
        query = f"?provider_id={provider_id}" if provider_id else ""
        response = client.get(f"/api/v1/{path}{query}", headers=admin)
        assert response.status_code == 200, response.text
        return {row["provider_id"] for row in response.json()}

    # Without the narrowing the administrator sees both providers (the region's overview) ...
    assert providers("proposals", None) == {world.provider_a, world.provider_b}
    # ... acting for provider A, none of provider B's proposals, holds or expected arrivals.
    assert providers("proposals", world.provider_a) == {world.provider_a}
    assert providers("holds", world.provider_a) == {world.provider_a}
    assert providers("placements", world.provider_a) == set()
    assert providers("placements", world.provider_b) == {world.provider_b}
    ids = {p["id"] for p in client.get(f"/api/v1/proposals?provider_id={world.provider_a}", headers=admin).json()}
    assert ids == {for_a["id"]}


def test_a_provider_cannot_ask_for_another_providers_list(client, world):
    _propose(client, world, create_referral(client, world)["id"], world.groups_a[0])
    for path in ("proposals", "holds", "placements"):
        other = client.get(f"/api/v1/{path}?provider_id={world.provider_a}", headers=world.headers("provider_b"))
        assert other.status_code == 404, (path, other.text)
        assert other.json()["detail"] == "Aanbieder niet gevonden."
        unknown = client.get(f"/api/v1/{path}?provider_id=999999", headers=world.headers("admin"))
        assert unknown.status_code == 404, (path, unknown.text)
    own = client.get(f"/api/v1/proposals?provider_id={world.provider_a}", headers=world.headers("provider_a"))
    assert own.status_code == 200 and len(own.json()) == 1


def test_a_proposal_says_what_to_decide_and_stays_as_history_after_the_answer(client, world, db):
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {**region.settings, "coordinator_contact": CONTACT}
        session.add(region)
    referral = create_referral(client, world, needs=["lvb", "trauma"], urgency=4, gender="v")
    sent = _propose(client, world, referral["id"], world.groups_a[0])
    seen = client.get("/api/v1/proposals?status=open", headers=world.headers("provider_a")).json()
    card = next(p for p in seen if p["id"] == sent["id"])
    assert card["profile"]["age"] == 14 or card["profile"]["age"] == 13
    assert card["profile"]["gender"] == "v" and card["profile"]["urgency"] == 4
    assert card["profile"]["need_labels"] == ["LVB (licht verstandelijke beperking)", "Trauma"]
    assert card["profile"]["required_intensity"] == "C"
    assert card["proposed_by"] == "coordinator" and card["coordinator_contact"] == CONTACT
    assert card["reference"] is None  # a provider never sees the youth's reference

    declined = client.post(
        f"/api/v1/proposals/{sent['id']}/decline",
        json={"reason": "groepsdynamiek"},
        headers=world.headers("provider_a"),
    )
    assert declined.status_code == 200, declined.text
    history = client.get("/api/v1/proposals", headers=world.headers("provider_a")).json()
    answered = next(p for p in history if p["id"] == sent["id"])
    assert answered["status_label"] == "Afgewezen"
    assert answered["decline_label"] == "Groepsdynamiek laat het nu niet toe"
    assert answered["answered_by"] == "provider_a" and answered["answered_at"] is not None
    assert answered["profile"]["need_labels"]  # the history still says whom it was about
