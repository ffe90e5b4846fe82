"""Login sessions in one process: short access tokens, refresh-token rotation and reuse
detection, logout, and ending a person's sessions (token, refresh token and websocket)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import select
from starlette.websockets import WebSocketDisconnect

from backend.config import Settings
from backend.users.models import AuthSession, RefreshToken
from tests.factories import PASSWORD

WITHIN = 1.5  # seconds after the deadline by which the websocket must be closed (a busy machine)


def login(client, username: str = "viewer") -> dict:  # type: ignore[no-untyped-def]
    # viewer: no second factor in the tests' settings
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(client, token: str):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/auth/me", headers=bearer(token))


def refresh(client, refresh_token: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


def test_access_tokens_live_at_most_15_minutes(client, world, database_url):
    body = login(client)
    assert 0 < body["expires_in"] <= 15 * 60
    assert body["refresh_token"] and body["refresh_expires_in"] > 0
    with pytest.raises(ValidationError):
        Settings(database_url=database_url, access_token_minutes=60)


def test_refresh_rotates_and_a_used_refresh_token_ends_the_whole_session(client, world, db):
    first = login(client)
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert me(client, second["access_token"]).json()["role"] == "viewer"
    # Someone replays the first (used) refresh token: the session ends for everyone holding it.
    replay = refresh(client, first["refresh_token"])
    assert replay.status_code == 401 and replay.json()["code"] == "refresh_reused"
    assert refresh(client, second["refresh_token"]).status_code == 401
    for token in (first["access_token"], second["access_token"]):
        refused = me(client, token)
        assert refused.status_code == 401 and refused.json()["code"] == "session_ended"
    with db.transaction(write=False) as session:
        ended = session.exec(select(AuthSession).where(AuthSession.ended_at.is_not(None))).all()  # type: ignore[union-attr]
        assert [s.ended_reason for s in ended] == ["refresh-token hergebruikt"]
        hashes = session.exec(select(RefreshToken.token_hash)).all()
    assert first["refresh_token"] not in hashes and all(len(h) == 64 for h in hashes)  # only hashes stored


def test_an_unknown_refresh_token_is_refused_in_dutch(client, world):
    response = refresh(client, "pwr_bestaat-niet")
    assert response.status_code == 401 and "log opnieuw in" in response.json()["detail"]


def test_logout_ends_the_session_and_only_that_one(client, world):
    one, other = login(client), login(client)
    assert client.post("/api/v1/auth/logout", headers=bearer(one["access_token"])).status_code == 204
    assert me(client, one["access_token"]).status_code == 401
    assert refresh(client, one["refresh_token"]).status_code == 401
    assert me(client, other["access_token"]).status_code == 200


def test_deactivation_refuses_token_refresh_token_and_closes_the_websocket(client, world):
    person = login(client, "viewer")
    user_id = world.users["viewer"].id
    with client.websocket_connect("/api/v1/live", headers=bearer(person["access_token"])) as ws:
        assert ws.receive_json()["type"] == "hello"
        done = client.post(f"/api/v1/users/{user_id}/deactivate", headers=world.headers("admin"))
        assert done.status_code == 200, done.text
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401
    assert me(client, person["access_token"]).json()["code"] == "session_ended"
    assert me(client, world.tokens["viewer"]).status_code == 401  # the factory's session too
    assert refresh(client, person["refresh_token"]).status_code == 401
    again = client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert again.status_code == 401


def test_a_revoked_key_is_refused_at_once_and_its_websocket_closed(client, world):
    key = world.api_keys["key_b"]
    keys = client.get("/api/v1/api-keys", headers=world.headers("admin")).json()
    key_id = next(k["id"] for k in keys if key.startswith(f"pw_{k['prefix']}."))
    assert client.get("/api/v1/availability", headers={"X-API-Key": key}).status_code == 200  # remembered now
    with client.websocket_connect("/api/v1/live", headers={"X-API-Key": key}) as ws:
        assert ws.receive_json()["type"] == "hello"
        assert client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=world.headers("admin")).status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401
    assert client.get("/api/v1/availability", headers={"X-API-Key": key}).status_code == 401


def test_a_ticket_of_an_ended_session_opens_nothing(client, world):
    person = login(client, "provider_a")
    ticket = client.post("/api/v1/live/ticket", headers=bearer(person["access_token"])).json()["ticket"]
    client.post("/api/v1/auth/logout", headers=bearer(person["access_token"]))
    with pytest.raises(WebSocketDisconnect) as closed:  # noqa: SIM117 - the connect itself fails
        with client.websocket_connect(f"/api/v1/live?ticket={ticket}") as ws:
            ws.receive_json()
    assert closed.value.code == 1008


def test_a_restarted_process_still_refuses_an_ended_session(world, database_url):
    from fastapi.testclient import TestClient

    from backend.main import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(database_url))) as first:
        person = login(first)
        first.post("/api/v1/auth/logout", headers=bearer(person["access_token"]))
    with TestClient(create_app(make_settings(database_url))) as restarted:
        assert me(restarted, person["access_token"]).json()["code"] == "session_ended"


def test_a_token_without_a_session_is_refused(client, world, settings):
    import jwt

    from backend.domain import utcnow

    claims = {"sub": str(world.users["admin"].id), "role": "admin", "exp": utcnow().timestamp() + 600}
    token = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    assert me(client, token).json()["code"] == "token_invalid"
    odd = jwt.encode({**claims, "sub": "abc", "sid": 1}, settings.secret_key, algorithm="HS256")
    assert me(client, odd).json()["code"] == "token_invalid"


def _closed_after(ws, started: float) -> tuple[int, str, float]:  # type: ignore[no-untyped-def]
    """Wait for the server to close ``ws``: its code, reason and the seconds since ``started``."""
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            ws.receive_json()
    return closed.value.code, closed.value.reason, time.monotonic() - started


def test_a_websocket_is_closed_when_its_session_reaches_its_maximum_age(world, database_url):
    from backend.main import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(database_url, session_max_hours=2 / 3600))) as short:
        started = time.monotonic()
        person = login(short)
        with short.websocket_connect("/api/v1/live", headers=bearer(person["access_token"])) as ws:
            assert ws.receive_json()["type"] == "hello"
            code, reason, after = _closed_after(ws, started)
        assert code == 4401 and "verlopen" in reason
        assert 1.5 < after < 2 + WITHIN, after
        assert refresh(short, person["refresh_token"]).status_code == 401


def test_a_websocket_is_closed_at_the_idle_timeout_which_a_refresh_moves_on(world, database_url):
    from backend.main import create_app
    from tests.conftest import make_settings

    idle = 3.0
    with TestClient(create_app(make_settings(database_url, refresh_token_minutes=idle / 60))) as short:
        started = time.monotonic()
        person = login(short)
        ticket = short.post("/api/v1/live/ticket", headers=bearer(person["access_token"])).json()["ticket"]
        with short.websocket_connect(f"/api/v1/live?ticket={ticket}") as ws:
            assert ws.receive_json()["type"] == "hello"
            time.sleep(idle / 2)
            assert refresh(short, person["refresh_token"]).status_code == 200  # active: idle time restarts
            code, reason, after = _closed_after(ws, started)
        assert code == 4401 and "verlopen" in reason
        # Not at the first refresh token's end, but at the second's (1.5 s + 3 s after login).
        assert idle + 0.5 < after < idle * 1.5 + WITHIN, after


def test_a_websocket_of_an_api_key_is_closed_when_the_key_expires(client, world):
    from datetime import timedelta

    from backend.domain import utcnow

    started = time.monotonic()
    expires_at = utcnow() + timedelta(seconds=2)
    created = client.post(
        "/api/v1/api-keys",
        json={"provider": world.provider_a, "name": "kort", "expires_at": expires_at.isoformat()},
        headers=world.headers("admin"),
    )
    assert created.status_code == 201, created.text
    with client.websocket_connect("/api/v1/live", headers={"X-API-Key": created.json()["key"]}) as ws:
        assert ws.receive_json()["type"] == "hello"
        code, reason, after = _closed_after(ws, started)
    assert code == 4401 and reason == "Deze API-sleutel is verlopen."
    assert 1.5 < after < 2 + WITHIN, after
