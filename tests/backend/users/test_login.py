"""Logging in: a token that works, a Dutch refusal, and brute-force protection."""

from __future__ import annotations


def test_login_returns_token_that_works(client, world):
    response = client.post("/api/v1/auth/token", data={"username": "coordinator", "password": "geheim-wachtwoord"})
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "coordinator"


def test_wrong_password_is_401_in_dutch(client, world):
    response = client.post("/api/v1/auth/token", data={"username": "coordinator", "password": "fout"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Onjuiste gebruikersnaam of wachtwoord."


def test_brute_force_gets_429_with_retry_after(client, world):
    for _ in range(5):
        assert client.post("/api/v1/auth/token", data={"username": "viewer", "password": "fout"}).status_code == 401
    locked = client.post("/api/v1/auth/token", data={"username": "viewer", "password": "geheim-wachtwoord"})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
