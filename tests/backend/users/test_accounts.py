"""Managing people and API keys: who may manage whom (404 outside one's reach), validation in
Dutch that changes nothing, the audit trail, password-reset codes and key expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.domain import utcnow
from backend.providers.models import Provider
from backend.regions.models import Region
from backend.users.models import ApiKey, User
from tests.factories import PASSWORD, add_user, count_events_and_audit


@pytest.fixture
def second_region(world, db):  # type: ignore[no-untyped-def]
    """A second region with a provider, a coordinator and a key; and the region's own admin
    (``admin`` of the world is bound to region JZ14 and so a region administrator)."""
    from tests.factories import add_api_key

    with db.transaction() as session:
        region = Region(code="JZ99", name="Elders", settings={})
        session.add(region)
        session.flush()
        provider = Provider(region_id=region.id, name="Stichting Elders", agb_code="41000099", phone_24h="010-1")
        session.add(provider)
        session.flush()
        other_coordinator, _ = add_user(session, world.settings, "coordinator_elders", "coordinator", None, region.id)
        _boss, boss_token = add_user(session, world.settings, "beheer_landelijk", "admin", None, None)
        planner_admin, planner_admin_token = add_user(
            session, world.settings, "linde_beheer", "provider", world.provider_a, world.region_id
        )
        planner_admin.manages_provider = True
        session.add(planner_admin)
        key = add_api_key(session, provider.id)  # type: ignore[arg-type]
    world.tokens["national"] = boss_token
    # The flag is read from the account, so this token (issued before the flag) works too.
    world.tokens["linde_beheer"] = planner_admin_token
    return {"region": region, "provider": provider, "coordinator": other_coordinator, "key": key}


def users_seen(client, world, who: str) -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/users", headers=world.headers(who))
    assert response.status_code == 200, response.text
    return {u["username"] for u in response.json()}


def test_a_region_admin_manages_only_its_own_region(client, world, db, second_region):
    assert "coordinator_elders" not in users_seen(client, world, "admin")
    assert "coordinator_elders" in users_seen(client, world, "national")
    foreign = second_region["coordinator"].id
    for method, path in [
        ("post", f"/api/v1/users/{foreign}/deactivate"),
        ("post", f"/api/v1/users/{foreign}/password-reset"),
        ("patch", f"/api/v1/users/{foreign}"),
    ]:
        response = client.request(method, path, headers=world.headers("admin"), json={"role": "viewer"})
        assert response.status_code == 404 and response.json()["detail"] == "Gebruiker niet gevonden.", path
    before = count_events_and_audit(db)
    elsewhere = client.post(
        "/api/v1/users",
        json={"username": "nieuw", "role": "coordinator", "region": "JZ99"},
        headers=world.headers("admin"),
    )
    assert elsewhere.status_code == 404
    assert count_events_and_audit(db) == before
    # Its own region is the default: the new coordinator is tied to JZ14.
    made = client.post(
        "/api/v1/users", json={"username": "coord2", "role": "coordinator"}, headers=world.headers("admin")
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["region_code"], body["role"], body["active"]) == ("JZ14", "coordinator", True)
    assert len(body["reset"]["code"]) == 23  # 4 groups of 5, shown once
    keys = client.get("/api/v1/api-keys", headers=world.headers("admin")).json()
    assert second_region["provider"].id not in {k["provider_id"] for k in keys}


def test_a_new_person_sets_a_password_with_the_one_time_code(client, world, db):
    made = client.post(
        "/api/v1/users", json={"username": "nieuwe.planner", "role": "viewer"}, headers=world.headers("admin")
    ).json()
    code = made["reset"]["code"]
    no_password = client.post("/api/v1/auth/token", data={"username": "nieuwe.planner", "password": "x" * 12})
    assert no_password.status_code == 401
    short = client.post("/api/v1/auth/password", json={"code": code, "password": "kort"})
    assert short.status_code == 422 and "minstens 12 tekens" in short.json()["detail"]
    done = client.post("/api/v1/auth/password", json={"code": code.lower(), "password": "Tulpen-op-de-maan-2031"})
    assert done.status_code == 204, done.text
    again = client.post("/api/v1/auth/password", json={"code": code, "password": "Groene-wolk-zingt-88"})
    assert again.status_code == 401 and again.json()["code"] == "reset_code_invalid"
    login = client.post("/api/v1/auth/token", data={"username": "nieuwe.planner", "password": "Tulpen-op-de-maan-2031"})
    assert login.status_code == 200
    with db.transaction(write=False) as session:
        actions = [a.action for a in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
        entries = session.exec(select(AuditEntry)).all()
    assert actions == ["user.create", "user.password_set"]
    assert all(code not in str(e.detail) for e in entries)


def test_a_password_reset_ends_sessions_and_the_old_password(client, world, db):
    user_id = world.users["coordinator"].id
    reset = client.post(f"/api/v1/users/{user_id}/password-reset", headers=world.headers("admin"))
    assert reset.status_code == 201
    assert client.get("/api/v1/auth/me", headers=world.headers("coordinator")).status_code == 401
    old = client.post("/api/v1/auth/token", data={"username": "coordinator", "password": PASSWORD})
    assert old.status_code == 401
    # An expired code is refused.
    from backend.users.models import PasswordReset

    with db.transaction() as session:
        row = session.exec(select(PasswordReset)).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.add(row)
    late = client.post(
        "/api/v1/auth/password", json={"code": reset.json()["code"], "password": "Tulpen-op-de-maan-2031"}
    )
    assert late.status_code == 401


def test_a_role_change_ends_sessions_and_is_audited(client, world, db):
    user_id = world.users["viewer"].id
    changed = client.patch(f"/api/v1/users/{user_id}", json={"role": "coordinator"}, headers=world.headers("admin"))
    assert changed.status_code == 200 and changed.json()["role"] == "coordinator"
    assert client.get("/api/v1/auth/me", headers=world.headers("viewer")).json()["code"] == "session_ended"
    to_provider = client.patch(f"/api/v1/users/{user_id}", json={"role": "provider"}, headers=world.headers("admin"))
    assert to_provider.status_code == 422
    own = client.post(f"/api/v1/users/{world.users['admin'].id}/deactivate", headers=world.headers("admin"))
    assert own.status_code == 422
    with db.transaction(write=False) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.role_change")).one()
    assert entry.detail == {"role": {"oud": "viewer", "nieuw": "coordinator"}} and entry.purpose == "account_management"


def test_a_provider_admin_manages_only_its_own_planners_and_keys(client, world, db, second_region):
    who = "linde_beheer"
    assert users_seen(client, world, who) == {"provider_a", "linde_beheer"}
    planner = client.post(
        "/api/v1/users", json={"username": "planner_linde", "role": "provider"}, headers=world.headers(who)
    )
    assert planner.status_code == 201, planner.text
    assert planner.json()["provider_id"] == world.provider_a and planner.json()["region_id"] == world.region_id
    before = count_events_and_audit(db)
    for body in (
        {"username": "x1", "role": "coordinator"},
        {"username": "x2", "role": "provider", "manages_provider": True},
    ):
        assert client.post("/api/v1/users", json=body, headers=world.headers(who)).status_code == 403
    other = client.post(
        "/api/v1/users",
        json={"username": "x3", "role": "provider", "provider": world.provider_b},
        headers=world.headers(who),
    )
    assert other.status_code == 404
    other_user = world.users["provider_b"].id
    assert client.post(f"/api/v1/users/{other_user}/deactivate", headers=world.headers(who)).status_code == 404
    assert count_events_and_audit(db) == before
    # Keys: its own provider's only; another provider's key is "not found".
    keys = client.get("/api/v1/api-keys", headers=world.headers(who)).json()
    assert {k["provider_id"] for k in keys} == {world.provider_a}
    with db.transaction(write=False) as session:
        foreign_key = session.exec(select(ApiKey).where(ApiKey.provider_id == world.provider_b)).first()
    assert client.post(f"/api/v1/api-keys/{foreign_key.id}/revoke", headers=world.headers(who)).status_code == 404
    made = client.post("/api/v1/api-keys", json={"name": "Roosterkoppeling"}, headers=world.headers(who))
    assert made.status_code == 201 and made.json()["key"].startswith("pw_")
    assert client.get("/api/v1/availability", headers={"X-API-Key": made.json()["key"]}).status_code == 200
    revoked = client.post(f"/api/v1/api-keys/{made.json()['id']}/revoke", headers=world.headers(who))
    assert revoked.status_code == 200 and revoked.json()["revoked"]
    assert client.post(f"/api/v1/api-keys/{made.json()['id']}/revoke", headers=world.headers(who)).status_code == 409
    # The planner it made is refused as soon as it is deactivated.
    planner_id = planner.json()["id"]
    assert client.post(f"/api/v1/users/{planner_id}/deactivate", headers=world.headers(who)).status_code == 200


@pytest.mark.parametrize("who", ["provider_a", "key_a", "coordinator", "viewer"])
def test_others_may_not_manage_anyone(client, world, who):
    assert client.get("/api/v1/users", headers=world.headers(who)).status_code == 403
    assert client.post("/api/v1/api-keys", json={"name": "x"}, headers=world.headers(who)).status_code == 403


def test_validation_is_dutch_and_changes_nothing(client, world, db):
    before = count_events_and_audit(db)
    cases = [
        ({"username": "coordinator", "role": "viewer"}, 422),  # exists
        ({"username": "z", "role": "baas"}, 422),
        ({"username": "z", "role": "viewer", "provider": world.provider_a}, 422),
        ({"username": "z", "role": "provider"}, 422),
        ({"username": "z", "role": "viewer", "region": "XX00"}, 404),
        ({"username": "z", "role": "viewer", "wachtwoord": "x"}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/v1/users", json=body, headers=world.headers("admin"))
        assert response.status_code == status, (body, response.text)
        assert response.json()["detail"]
    past = (utcnow() - timedelta(days=1)).isoformat()
    key = client.post(
        "/api/v1/api-keys",
        json={"name": "oud", "provider": world.provider_a, "expires_at": past},
        headers=world.headers("admin"),
    )
    assert key.status_code == 422 and key.json()["detail"] == "De vervaldatum moet in de toekomst liggen."
    assert count_events_and_audit(db) == before
    with db.transaction(write=False) as session:
        assert session.exec(select(User).where(User.username == "z")).first() is None


def test_an_expired_key_is_refused_and_last_use_is_noted_once_a_minute(client, world, db):
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    made = client.post(
        "/api/v1/api-keys",
        json={"name": "tijdelijk", "provider": world.provider_a, "expires_at": soon},
        headers=world.headers("admin"),
    ).json()
    assert made["last_used_at"] is None
    assert client.get("/api/v1/availability", headers={"X-API-Key": made["key"]}).status_code == 200

    def stored() -> ApiKey:
        with db.transaction(write=False) as session:
            return session.get(ApiKey, made["id"])  # type: ignore[return-value]

    first_use = stored().last_used_at
    assert first_use is not None
    assert client.get("/api/v1/availability", headers={"X-API-Key": made["key"]}).status_code == 200
    assert stored().last_used_at == first_use  # not a write on every request
    with db.transaction() as session:
        row = session.get(ApiKey, made["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    from backend.auth import verified_keys

    verified_keys.clear()  # what the cache time would do
    refused = client.get("/api/v1/availability", headers={"X-API-Key": made["key"]})
    assert refused.status_code == 401 and refused.json()["code"] == "api_key_expired"
