"""The live feed against real servers with a real websocket client (the ``websockets`` package):
delivery through uvicorn, and on PostgreSQL across two API processes (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import TEST_SECRET
from tests.servers import running_server, server_process


def ws_url(base_url: str, query: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/api/v1/live?" + query


async def next_change(ws, timeout: float = 10.0) -> dict:  # type: ignore[no-untyped-def]
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] not in ("hello", "snapshot"):
            return message


def test_real_server_delivers_change_to_websocket_client(settings, world):
    group_id = world.groups_a[0]

    async def scenario(base_url: str) -> tuple[dict, int]:
        async with connect(ws_url(base_url, ""), additional_headers=world.headers("coordinator")) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello"
            async with httpx.AsyncClient(base_url=base_url) as http:
                response = await http.put(
                    f"/api/v1/groups/{group_id}/availability", json={"free_places": 6}, headers=world.headers("key_a")
                )
            assert response.status_code == 200, response.text
            return await next_change(ws), int(response.headers["X-Event-Seq"])

    with running_server(settings) as base_url:
        message, seq = asyncio.run(scenario(base_url))
    assert message["seq"] == seq
    assert message["type"] == "availability.changed"
    assert message["group"]["id"] == group_id and message["group"]["free_places"] == 6


@pytest.mark.postgres_only
def test_change_through_one_process_reaches_client_of_another_and_replays_there(backend_name, database_url, world):
    if backend_name != "postgresql":
        pytest.skip("several API processes share one database only on PostgreSQL")
    a0, a1 = world.groups_a

    async def scenario(feed_url: str, write_url: str) -> tuple[list[dict], list[int]]:
        messages: list[dict] = []
        seqs: list[int] = []
        async with connect(ws_url(feed_url, ""), additional_headers=world.headers("key_a")) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            async with httpx.AsyncClient(base_url=write_url) as http:
                for group_id, free in [(a0, 3), (a1, 0), (a0, 2)]:
                    response = await http.put(
                        f"/api/v1/groups/{group_id}/availability",
                        json={"free_places": free},
                        headers=world.headers("provider_a"),
                    )
                    assert response.status_code == 200, response.text
                    seqs.append(int(response.headers["X-Event-Seq"]))
                    messages.append(await next_change(ws))
        return messages, seqs

    async def reconnect(feed_url: str, write_url: str, since: int) -> tuple[list[dict], dict]:
        # Changes made while the client is away, then a reconnect to the other process.
        async with httpx.AsyncClient(base_url=feed_url) as http:
            for free in (0, 2, 1):
                response = await http.put(
                    f"/api/v1/groups/{a1}/availability", json={"free_places": free}, headers=world.headers("key_a")
                )
                assert response.status_code == 200, response.text
        async with connect(ws_url(write_url, f"since={since}"), additional_headers=world.headers("crisis")) as ws:
            replay = [json.loads(await ws.recv()) for _ in range(3)]
            hello = json.loads(await ws.recv())
        return replay, hello

    with (
        server_process(database_url, secret_key=TEST_SECRET) as feed,
        server_process(database_url, secret_key=TEST_SECRET) as writer,
    ):
        messages, seqs = asyncio.run(scenario(feed, writer))
        replay, hello = asyncio.run(reconnect(feed, writer, seqs[-1]))
    assert [m["seq"] for m in messages] == seqs == [1, 2, 3]
    assert [(m["group_id"], m["group"]["free_places"]) for m in messages] == [(a0, 3), (a1, 0), (a0, 2)]
    assert [m["seq"] for m in replay] == [4, 5, 6]
    assert [m["group"]["free_places"] for m in replay] == [0, 2, 1]
    assert hello == {"type": "hello", "seq": 6, "replayed": 3}
