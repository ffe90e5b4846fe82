"""Ending a person's sessions or revoking a key reaches every API process within a second, and
no token or key is ever written to a log line: two real ``plekwijzer serve`` processes on one
database (SQLite file or PostgreSQL), their output (uvicorn's access log included) captured."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD
from tests.servers import server_process

WITHIN = 1.0


def ws_url(base_url: str, query: str = "") -> str:
    return base_url.replace("http://", "ws://", 1) + "/api/v1/live" + (f"?{query}" if query else "")


async def closed_code(ws) -> int | None:  # type: ignore[no-untyped-def]
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=5)
    except ConnectionClosed:
        return ws.close_code  # type: ignore[no-any-return]


async def refused_after(check, start: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds from ``start`` until ``check()`` answers 401 (gives up after 5 s)."""
    while time.monotonic() - start < 5:
        if (await check()).status_code == 401:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    return float("inf")


def test_ending_a_person_or_a_key_reaches_every_process_within_a_second_and_nothing_secret_is_logged(
    database_url, world, tmp_path: Path
):
    log = tmp_path / "servers.log"
    key = world.api_keys["key_b"]
    secrets: list[str] = [key, world.api_keys["key_a"], *world.tokens.values()]

    async def scenario(a: str, b: str) -> dict[str, object]:
        found: dict[str, object] = {}
        async with httpx.AsyncClient(base_url=a) as on_a, httpx.AsyncClient(base_url=b) as on_b:
            login = await on_a.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
            person = login.json()
            renewed = (await on_b.post("/api/v1/auth/refresh", json={"refresh_token": person["refresh_token"]})).json()
            secrets.extend([person["access_token"], person["refresh_token"], renewed["access_token"]])
            secrets.append(renewed["refresh_token"])
            bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
            # A ticket from process A opens the websocket on process B (the ticket is in the database).
            ticket = (await on_a.post("/api/v1/live/ticket", headers=bearer)).json()["ticket"]
            created = await on_a.post(
                "/api/v1/api-keys",
                json={"name": "logtest", "provider": world.provider_b},
                headers=world.headers("admin"),
            )
            secrets.append(created.json()["key"])
            keys = (await on_a.get("/api/v1/api-keys", headers=world.headers("admin"))).json()
            key_id = next(k["id"] for k in keys if key.startswith(f"pw_{k['prefix']}."))
            reset = await on_a.post(
                f"/api/v1/users/{world.users['crisis'].id}/password-reset", headers=world.headers("admin")
            )
            secrets.append(reset.json()["code"])
            async with (
                connect(ws_url(b, f"ticket={ticket}")) as person_ws,
                connect(ws_url(b), additional_headers={"X-API-Key": key}) as key_ws,
            ):
                assert (await person_ws.recv()) and (await key_ws.recv())  # hello on both
                # B has checked (and remembered) both credentials.
                assert (await on_b.get("/api/v1/auth/me", headers=bearer)).status_code == 200
                assert (await on_b.get("/api/v1/availability", headers={"X-API-Key": key})).status_code == 200

                done = await on_a.post(
                    f"/api/v1/users/{world.users['viewer'].id}/deactivate", headers=world.headers("admin")
                )
                assert done.status_code == 200, done.text
                start = time.monotonic()
                found["token_refused"], (found["person_ws"], found["person_ws_after"]) = await asyncio.gather(
                    refused_after(lambda: on_b.get("/api/v1/auth/me", headers=bearer), start),
                    _timed(closed_code(person_ws), start),
                )
                found["refresh"] = (
                    await on_b.post("/api/v1/auth/refresh", json={"refresh_token": renewed["refresh_token"]})
                ).status_code

                done = await on_a.post(f"/api/v1/api-keys/{key_id}/revoke", headers=world.headers("admin"))
                assert done.status_code == 200, done.text
                start = time.monotonic()
                found["key_refused"], (found["key_ws"], found["key_ws_after"]) = await asyncio.gather(
                    refused_after(lambda: on_b.get("/api/v1/availability", headers={"X-API-Key": key}), start),
                    _timed(closed_code(key_ws), start),
                )
        return found

    with (
        server_process(database_url, secret_key=TEST_SECRET, log_file=log) as a,
        server_process(database_url, secret_key=TEST_SECRET, log_file=log) as b,
    ):
        found = asyncio.run(scenario(a, b))

    assert found["token_refused"] < WITHIN, found
    assert found["person_ws"] == 4401 and found["person_ws_after"] < WITHIN, found
    assert found["refresh"] == 401
    assert found["key_refused"] < WITHIN, found
    assert found["key_ws"] == 4401 and found["key_ws_after"] < WITHIN, found

    text = log.read_text(encoding="utf-8", errors="replace")
    # The access log was captured (so the check below can fail) ...
    assert "POST /api/v1/auth/token" in text and "/api/v1/live?ticket=" in text
    # ... and holds no token, refresh token, key or reset code.
    leaked = [s[:12] for s in secrets if s and s in text]
    assert leaked == [], leaked


async def _timed(awaitable, start: float) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    result = await awaitable
    return result, time.monotonic() - start
