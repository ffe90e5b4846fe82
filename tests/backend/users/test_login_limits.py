"""Login limits that hold: under 100 concurrent wrong passwords (real server process, on
SQLite and PostgreSQL), against a rotating X-Forwarded-For from an untrusted client, and with
a trusted proxy, whose forwarded addresses are the clients (so one guesser behind it does not
lock the real person out)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from starlette.testclient import TestClient

from backend.main import create_app
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import PASSWORD
from tests.servers import running_server, server_process


def test_100_concurrent_wrong_passwords_get_at_most_the_configured_401s(database_url, world):
    """Every request from one client (127.0.0.1, not a trusted proxy) with its own
    X-Forwarded-For: the limit of that account from that client holds all the same."""
    limit = 5

    async def guess_all(base_url: str) -> Counter[int]:
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=100)) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/api/v1/auth/token",
                        data={"username": "viewer", "password": f"geraden-wachtwoord-{i}"},
                        headers={"X-Forwarded-For": f"198.51.100.{i}"},
                    )
                    for i in range(100)
                )
            )
        return Counter(r.status_code for r in responses)

    with server_process(
        database_url, secret_key=TEST_SECRET, extra_env={"PLEKWIJZER_LOGIN_MAX_FAILURES": str(limit)}
    ) as base_url:
        statuses = asyncio.run(guess_all(base_url))
        after = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= statuses[401] <= limit, statuses
    assert statuses[401] + statuses[429] == 100
    # Locked even with the right password: the guesser must not learn it was right.
    assert after.status_code == 429


def test_rotating_forwarded_for_from_an_untrusted_client_does_not_reset_the_limit(client, world):
    for i in range(5):
        response = client.post(
            "/api/v1/auth/token",
            data={"username": "viewer", "password": "fout"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert response.status_code == 401
    for i in range(5, 10):
        response = client.post(
            "/api/v1/auth/token",
            data={"username": "viewer", "password": PASSWORD},
            headers={"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"203.0.113.{i}"},
        )
        assert response.status_code == 429, response.text


def test_forwarded_addresses_of_a_trusted_proxy_are_the_clients(database_url, world):
    settings = make_settings(database_url, trusted_proxies="127.0.0.1, 10.0.0.0/8")

    def attempt(base_url: str, forwarded: str, password: str) -> int:
        response = httpx.post(
            f"{base_url}/api/v1/auth/token",
            data={"username": "viewer", "password": password},
            headers={"X-Forwarded-For": forwarded},
        )
        return response.status_code

    with running_server(settings) as base_url:
        # A guesser behind the proxy locks out only itself ...
        assert [attempt(base_url, "203.0.113.7", "fout") for _ in range(5)] == [401] * 5
        assert attempt(base_url, "203.0.113.7", PASSWORD) == 429
        # ... also when it writes an address of its own in front (the proxy appends the real one;
        # a second proxy in the trusted network is looked through) ...
        assert attempt(base_url, "192.0.2.1, 203.0.113.7", PASSWORD) == 429
        assert attempt(base_url, "203.0.113.7, 10.1.2.3", PASSWORD) == 429
        # ... and the real person, elsewhere, still logs in.
        assert attempt(base_url, "203.0.113.8", PASSWORD) == 200


def test_an_account_guessed_from_many_addresses_is_slowed_not_locked(database_url, world):
    settings = make_settings(
        database_url, trusted_proxies="127.0.0.1", login_account_max_failures=3, login_account_slow_seconds=10
    )
    with running_server(settings) as base_url:
        for i in range(3):
            response = httpx.post(
                f"{base_url}/api/v1/auth/token",
                data={"username": "viewer", "password": "fout"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            )
            assert response.status_code == 401
        slowed = httpx.post(
            f"{base_url}/api/v1/auth/token",
            data={"username": "viewer", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.200"},
        )
    # Waiting seconds, not the lock-out window (60 s in the tests): the account stays usable.
    assert slowed.status_code == 429
    assert 0 < int(slowed.headers["Retry-After"]) <= 10


def test_a_client_trying_many_accounts_is_locked(database_url, world):
    settings = make_settings(database_url, login_client_max_failures=4)
    with TestClient(create_app(settings)) as client:
        codes = [
            client.post("/api/v1/auth/token", data={"username": f"naam-{i}", "password": "fout"}).status_code
            for i in range(4)
        ]
        locked = client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert codes == [401] * 4
    assert locked.status_code == 429
