"""Logging in: a token that works, a Dutch refusal, brute-force protection, and password
hashing that cannot take the processor from the other requests."""

from __future__ import annotations

from starlette.testclient import TestClient

from backend.auth import hash_slots
from backend.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, login


def test_login_returns_token_that_works(client, world):
    # A role without a second factor gets its session from the password alone.
    response = client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "viewer"
    # A coordinator needs the second step (tests/backend/users/test_mfa.py); with it, the same.
    session = login(client, "coordinator", totp_secret=world.totp_secrets["coordinator"])
    assert session.status_code == 200, session.text
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {session.json()['access_token']}"})
    assert me.json()["role"] == "coordinator"


def test_wrong_password_is_401_in_dutch(client, world):
    response = client.post("/api/v1/auth/token", data={"username": "coordinator", "password": "fout"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Onjuiste gebruikersnaam of wachtwoord."


def test_brute_force_gets_429_with_retry_after(client, world):
    for _ in range(5):
        assert client.post("/api/v1/auth/token", data={"username": "viewer", "password": "fout"}).status_code == 401
    locked = client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert "Te veel mislukte inlogpogingen" in locked.json()["detail"]


def test_a_correct_password_clears_the_failures_of_that_client(client, world):
    for _ in range(4):
        assert client.post("/api/v1/auth/token", data={"username": "viewer", "password": "fout"}).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD}).status_code == 200
    for _ in range(5):
        assert client.post("/api/v1/auth/token", data={"username": "viewer", "password": "fout"}).status_code == 401


def test_hashing_turns_full_is_503_with_retry_after_and_counts_no_failure(database_url, world):
    # One argon2 at a time and nobody waiting: while the test holds that turn, a login is
    # refused at once instead of queueing behind it.
    settings = make_settings(database_url, password_hash_concurrency=1, password_hash_queue=0)
    with TestClient(create_app(settings)) as client:
        for _ in range(6):
            with hash_slots.turn():
                busy = client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["Retry-After"]) > 0
            assert "te druk" in busy.json()["detail"]
        # Six refusals, more than the five failures allowed, and still no lock-out: a busy
        # server is not a guess.
        assert client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD}).status_code == 200
