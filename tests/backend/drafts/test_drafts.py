"""Drafts: a person's half-finished form kept on the server (a reload or a second device finds
it), one per person and form, small, expiring, scanned for a BSN, and audited when it holds youth
data; nobody reads another person's draft."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.domain import utcnow
from backend.drafts.models import MAX_PER_PERSON, Draft
from backend.drafts.service import purge_expired

URL = "/api/v1/drafts/verwijzing-nieuw"


def _drafts(db) -> list[Draft]:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        return list(session.exec(select(Draft).order_by(Draft.id)).all())


def test_a_draft_comes_back_for_its_owner_only_and_goes_when_sent(client, world, db):
    me = world.headers("coordinator")
    assert client.get(URL, headers=me).status_code == 404
    first = client.put(URL, json={"data": {"reference": "TW-9", "needs": ["trauma"]}}, headers=me)
    assert first.status_code == 200, first.text
    second = client.put(URL, json={"data": {"reference": "TW-10", "birth_year": 2011}}, headers=me)
    assert second.json()["version"] == 2
    back = client.get(URL, headers=me).json()
    assert back["data"] == {"reference": "TW-10", "birth_year": 2011} and back["form_label"] == "Nieuwe verwijzing"
    # another person (even an administrator) has no draft of this form
    assert client.get(URL, headers=world.headers("admin")).status_code == 404
    assert len(_drafts(db)) == 1
    # youth data: the save and the read are in the audit log
    with db.transaction(write=False) as session:
        actions = [a.action for a in session.exec(select(AuditEntry).where(AuditEntry.object_type == "draft")).all()]
    assert actions == ["draft.save", "draft.save", "draft.read"]
    assert client.delete(URL, headers=me).status_code == 204
    assert client.get(URL, headers=me).status_code == 404 and _drafts(db) == []
    assert client.delete(URL, headers=me).status_code == 204  # already gone: no error


def test_bad_drafts_are_refused_in_dutch_and_change_nothing(client, world, db):
    me = world.headers("coordinator")
    client.put(URL, json={"data": {"reference": "TW-1"}}, headers=me)
    cases = [
        (URL, {"data": {"note": "bsn 111222333"}}, "BSN"),
        (URL, {"data": {"text": "x" * 17_000}}, "te groot"),
        ("/api/v1/drafts/wat-dan-ook", {"data": {}}, "geen concept"),
        ("/api/v1/drafts/verwijzing-wijzigen:abc", {"data": {}}, "geen concept"),
        (URL, {"data": "geen object"}, None),
    ]
    for url, body, words in cases:
        response = client.put(url, json=body, headers=me)
        assert response.status_code == 422, (url, response.text)
        if words:
            assert words in response.json()["detail"]
    assert client.get(URL, headers=me).json()["data"] == {"reference": "TW-1"}
    # a provider's system has no forms
    refused = client.put(URL, json={"data": {}}, headers=world.headers("key_a"))
    assert refused.status_code == 403
    assert client.get(URL).status_code == 401


def test_old_drafts_expire_and_the_number_per_person_is_limited(client, world, db):
    me = world.headers("coordinator")
    for n in range(MAX_PER_PERSON + 2):
        assert (
            client.put(f"/api/v1/drafts/verwijzing-wijzigen:{n}", json={"data": {"n": n}}, headers=me).status_code
            == 200
        )
    kept = _drafts(db)
    assert len(kept) == MAX_PER_PERSON and kept[-1].data == {"n": MAX_PER_PERSON + 1}
    with db.transaction() as session:
        session.execute(update(Draft).values(expires_at=utcnow() - timedelta(minutes=1)))
    assert client.get(f"/api/v1/drafts/verwijzing-wijzigen:{MAX_PER_PERSON + 1}", headers=me).status_code == 404
    purge_expired(db)
    assert _drafts(db) == []


def test_every_form_of_a_working_day_keeps_a_draft_and_only_youth_forms_are_audited(client, world, db):
    # (role, form key, holds youth data): the crisis search, the provider's group forms, the
    # register's new contract version and the account forms.
    forms = [
        ("crisis", "crisis-zoeken", True),
        ("provider_a", "groepsprofiel:1", False),
        ("provider_a", "plaatsen-aanvraag:1", False),
        ("admin", "contractversie:1", False),
        ("admin", "gebruiker-nieuw", False),
        ("admin", "sleutel-nieuw", False),
    ]
    for role, key, _youth in forms:
        url = f"/api/v1/drafts/{key}"
        saved = client.put(url, json={"data": {"veld": "half af"}}, headers=world.headers(role))
        assert saved.status_code == 200, (key, saved.text)
        assert client.get(url, headers=world.headers(role)).json()["data"] == {"veld": "half af"}
    with db.transaction(write=False) as session:
        audited = {
            a.detail["form_key"]
            for a in session.exec(select(AuditEntry).where(AuditEntry.object_type == "draft")).all()
        }
    assert audited == {key for _role, key, youth in forms if youth}
