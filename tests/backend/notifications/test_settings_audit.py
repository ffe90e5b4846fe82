"""Who changed where notifications go is in the audit log: a provider's contacts, its webhook
endpoints and a person's own preferences (a changed address sends a crisis hold elsewhere)."""

from __future__ import annotations

from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.audit.purposes import Purpose


def entries(db, object_type: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        query = select(AuditEntry).where(AuditEntry.object_type == object_type)
        return list(session.exec(query.order_by(AuditEntry.id)))  # type: ignore[arg-type]


def test_contacts_and_webhooks_changes_are_audited_without_the_secret(client, world, db):
    h = world.headers("provider_b")
    contacts = f"/api/v1/providers/{world.provider_b}/contacts"
    added = client.post(
        contacts, json={"name": "Crisisdienst", "email": "crisis@anker.test", "crisis": True}, headers=h
    )
    assert added.status_code == 201, added.text
    refused = client.post(contacts, json={"name": "Zonder adres", "email": "geen-adres"}, headers=h)
    assert refused.status_code == 422
    assert client.delete(f"/api/v1/provider-contacts/{added.json()['id']}", headers=h).status_code == 204

    rows = entries(db, "provider_contact")
    assert [r.action for r in rows] == ["provider_contact.add", "provider_contact.remove"]  # not the refused one
    assert {r.object_id for r in rows} == {str(added.json()["id"])}
    assert rows[0].detail["email"] == "crisis@anker.test" and rows[0].detail["crisis"] is True
    assert rows[1].detail["email"] == "crisis@anker.test"  # what was removed stays readable
    user = world.users["provider_b"]
    assert all(str(user.id) in r.actor and r.purpose == Purpose.notification_settings for r in rows)
    assert all(r.region_id == world.region_id for r in rows)

    endpoint = client.post(
        f"/api/v1/providers/{world.provider_b}/webhooks", json={"url": "https://ecd.anker.test/hook"}, headers=h
    ).json()
    assert client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=h).status_code == 204
    rows = entries(db, "webhook_endpoint")
    assert [r.action for r in rows] == ["webhook_endpoint.add", "webhook_endpoint.remove"]
    assert rows[0].detail["url"] == "https://ecd.anker.test/hook"
    # The signing secret is shown once to the provider and never written to the log.
    assert all(endpoint["secret"] not in str(r.detail) for r in rows)


def test_a_change_of_ones_own_preferences_is_audited(client, world, db):
    h = world.headers("coordinator")
    wanted = {"email": "coord@regio.test", "channels": {"proposal_declined": ["app", "email"]}, "digest": True}
    assert client.put("/api/v1/notifications/preferences", json=wanted, headers=h).status_code == 200
    assert client.put("/api/v1/notifications/preferences", json={"quiet_start": "22:00"}, headers=h).status_code == 422
    (row,) = entries(db, "notification_preference")
    assert row.action == "notification_preference.change"
    assert row.object_id == str(world.users["coordinator"].id)
    assert row.detail["email"] == "coord@regio.test" and row.detail["digest"] is True
    assert row.detail["channels"] == {"proposal_declined": ["app", "email"]}
