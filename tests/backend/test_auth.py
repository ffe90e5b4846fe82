"""Authentication and authorisation: who may read and change which group."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from backend.domain import utcnow


def test_every_api_route_needs_authentication(client, app):
    for route in app.routes:
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or set()
        # Logging in (both steps), renewing with a refresh token and setting a password with a
        # reset code carry their own credential.
        if not path.startswith("/api/v1") or path in (
            "/api/v1/auth/token",
            "/api/v1/auth/mfa",
            "/api/v1/auth/refresh",
            "/api/v1/auth/password",
            "/api/v1/figure-confirmations",  # the signed one-click link is its credential
        ):
            continue
        for method in methods - {"HEAD", "OPTIONS"}:
            url = path.replace("{group_id}", "1").replace("{provider_id}", "1")
            url = url.replace("{", "").replace("}", "")
            response = client.request(method, url)
            assert response.status_code == 401, (method, path, response.status_code)


@pytest.mark.parametrize("who", ["provider_a", "key_a"])
def test_provider_cannot_read_or_change_other_providers_group(client, world, who):
    other = world.groups_b[0]
    assert client.get(f"/api/v1/groups/{other}", headers=world.headers(who)).status_code == 404
    response = client.put(f"/api/v1/groups/{other}/availability", json={"free_places": 0}, headers=world.headers(who))
    assert response.status_code == 404
    assert response.json()["detail"] == "Groep niet gevonden."
    listed = client.get("/api/v1/groups", headers=world.headers(who)).json()
    assert {g["provider_id"] for g in listed} == {world.provider_a}
    own = client.put(
        f"/api/v1/groups/{world.groups_a[0]}/availability", json={"free_places": 0}, headers=world.headers(who)
    )
    assert own.status_code == 200


def test_other_provider_group_looks_like_missing_group(client, world):
    missing = client.get("/api/v1/groups/999999", headers=world.headers("provider_a"))
    foreign = client.get(f"/api/v1/groups/{world.groups_b[0]}", headers=world.headers("provider_a"))
    assert missing.status_code == foreign.status_code == 404
    assert missing.json() == foreign.json()


@pytest.mark.parametrize("who", ["coordinator", "crisis", "viewer"])
def test_roles_that_may_not_report_availability_get_403(client, world, who):
    response = client.put(
        f"/api/v1/groups/{world.groups_a[0]}/availability", json={"free_places": 0}, headers=world.headers(who)
    )
    assert response.status_code == 403


def test_admin_may_report_for_any_group(client, world):
    response = client.put(
        f"/api/v1/groups/{world.groups_b[0]}/availability", json={"free_places": 0}, headers=world.headers("admin")
    )
    assert response.status_code == 200


def test_expired_and_forged_tokens_are_refused(client, world, settings):
    claims = {"sub": str(world.users["admin"].id), "role": "admin", "exp": utcnow() - timedelta(minutes=1)}
    expired = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    response = client.get("/api/v1/groups", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["code"] == "token_expired"
    claims["exp"] = utcnow() + timedelta(hours=1)
    forged = jwt.encode(claims, "een-ander-geheim-van-minstens-32-tekens!!", algorithm="HS256")
    response = client.get("/api/v1/groups", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.json()["code"] == "token_invalid"
    none_alg = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    assert client.get("/api/v1/groups", headers={"Authorization": f"Bearer {none_alg}"}).status_code == 401


def test_invalid_api_key_is_refused(client, world):
    for key in ["pw_nope.nope", "zomaar", world.api_keys["key_a"] + "x"]:
        response = client.get("/api/v1/groups", headers={"X-API-Key": key})
        assert response.status_code == 401


def _revoke(db, key: str) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from backend.users.models import ApiKey

    prefix = key.removeprefix("pw_").split(".", 1)[0]
    with db.transaction() as session:
        record = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        record.revoked = True
        session.add(record)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_a_revoked_api_key_is_refused_once_its_verification_is_forgotten(world, db, database_url, monkeypatch):
    """Verified keys are remembered briefly (no database look-up per request); revoking a key
    takes effect when that time is up, and at once when nothing is remembered."""
    from fastapi.testclient import TestClient

    from backend.auth import verified_keys
    from backend.main import create_app
    from tests.conftest import make_settings
    from tests.factories import add_api_key

    clock = FakeClock(verified_keys.clock())  # starts at the real time, then only moves when told
    monkeypatch.setattr(verified_keys, "clock", clock)
    with db.transaction() as session:
        remembered, not_remembered = (add_api_key(session, world.provider_a) for _ in range(2))
    path = "/api/v1/availability"
    with TestClient(create_app(make_settings(database_url, api_key_cache_seconds=0.5))) as c:
        assert c.get(path, headers={"X-API-Key": remembered}).status_code == 200
        _revoke(db, remembered)
        assert c.get(path, headers={"X-API-Key": remembered}).status_code == 200
        clock.advance(0.6)
        refused = c.get(path, headers={"X-API-Key": remembered})
        assert refused.status_code == 401 and refused.json()["code"] == "api_key_invalid"
    with TestClient(create_app(make_settings(database_url, api_key_cache_seconds=0))) as c:
        assert c.get(path, headers={"X-API-Key": not_remembered}).status_code == 200
        _revoke(db, not_remembered)
        assert c.get(path, headers={"X-API-Key": not_remembered}).status_code == 401


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ("", "198.51.100.9", "203.0.113.1", "198.51.100.9"),  # no proxies trusted: the peer
        ("10.0.0.0/8", "198.51.100.9", "203.0.113.1", "198.51.100.9"),  # peer is no proxy
        ("10.0.0.0/8", "10.0.0.2", "203.0.113.1", "203.0.113.1"),
        ("10.0.0.0/8", "10.0.0.2", "192.0.2.66, 203.0.113.1", "203.0.113.1"),  # written by the client
        ("10.0.0.0/8", "10.0.0.2", "203.0.113.1, 10.9.9.9", "203.0.113.1"),  # two proxies
        ("10.0.0.0/8", "10.0.0.2", "geen-adres, 203.0.113.1", "203.0.113.1"),
        ("10.0.0.0/8", "10.0.0.2", "203.0.113.1, geen-adres", "10.0.0.2"),  # broken chain: the proxy
        ("10.0.0.0/8", "10.0.0.2", None, "10.0.0.2"),
        ("::1, 10.0.0.0/8", "::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_address_believes_forwarded_for_only_from_trusted_proxies(trusted, peer, forwarded, expected):
    from starlette.requests import Request

    from backend.auth import client_address
    from backend.config import Settings

    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    request = Request({"type": "http", "client": (peer, 50000), "headers": headers})
    assert client_address(request, Settings(trusted_proxies=trusted)) == expected


def test_a_typo_in_trusted_proxies_stops_the_start():
    from pydantic import ValidationError

    from backend.config import Settings

    with pytest.raises(ValidationError, match="PLEKWIJZER_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, nginx")
