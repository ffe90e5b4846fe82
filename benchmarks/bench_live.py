"""Live feed delay: from the start of a PUT until each subscribed websocket client has the
change, with 1 and with 200 clients (p50, p99), on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_live.py [--updates 200] [--rate 20] [--clients 1,200]
        [--databases sqlite,postgresql] [--quick]

Each configuration gets a fresh seeded database and real ``plekwijzer serve`` processes. The
clients connect with the ``websockets`` package (admin token, no filters, so every client
receives every change); the PUTs go through the async Python client at a fixed rate, one at a
time. On PostgreSQL a second row puts the websockets on one API process and the PUTs on another
(delivery through LISTEN/NOTIFY). Clients and writer share one event loop in this process, so
the figures include the time this process needs to read 200 messages per change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections import defaultdict

from common import bench_database, machine_note, markdown_table, servers, summary_ms
from websockets.asyncio.client import connect

from backend.client import AsyncPlekwijzerClient


async def _measure(
    feed_url: str,
    write_url: str,
    world,
    *,
    clients: int,
    updates: int,  # type: ignore[no-untyped-def]
    rate: float,
    seed: int,
) -> tuple[list[float], int]:
    received: dict[int, list[float]] = defaultdict(list)
    ready = 0
    ws_url = feed_url.replace("http://", "ws://", 1) + "/api/v1/live"
    ws_headers = {"Authorization": f"Bearer {world.admin_token}"}

    async def listener(stop: asyncio.Event) -> None:
        nonlocal ready
        async with connect(ws_url, additional_headers=ws_headers, max_queue=None) as ws:
            json.loads(await ws.recv())  # hello
            ready += 1
            while not stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.perf_counter()
                received[json.loads(text)["seq"]].append(now)

    stop = asyncio.Event()
    tasks = []
    for i in range(clients):
        tasks.append(asyncio.create_task(listener(stop)))
        if i % 20 == 19:
            await asyncio.sleep(0.05)  # do not open 200 connections in one burst
    deadline = time.monotonic() + 60
    while ready < clients and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert ready == clients, f"only {ready} of {clients} clients connected"

    rng = random.Random(seed)
    sent: dict[int, float] = {}
    async with AsyncPlekwijzerClient(write_url, token=world.admin_token) as writer:
        interval = 1.0 / rate
        next_at = time.perf_counter()
        for _ in range(updates):
            group_id = rng.choice(world.group_ids)
            started = time.perf_counter()
            response = await writer._send(  # the seq of the change is in a response header
                "PUT",
                f"/api/v1/groups/{group_id}/availability",
                json={"free_places": rng.randint(0, world.capacities[group_id])},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            response.raise_for_status()
            sent[int(response.headers["X-Event-Seq"])] = started
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    # Let the last messages arrive.
    last = max(sent)
    deadline = time.monotonic() + 10
    while len(received.get(last, [])) < clients and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays = [t - sent[seq] for seq, times in received.items() if seq in sent for t in times]
    missing = updates * clients - len(delays)
    return delays, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="PUTs per second")
    parser.add_argument("--clients", default="1,200")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--quick", action="store_true", help="50 updates per configuration")
    args = parser.parse_args()
    updates = 50 if args.quick else args.updates
    client_counts = [int(c) for c in args.clients.split(",")]
    rows = []
    for database in args.databases.split(","):
        layouts = [("same process", 1)] + ([("ws and PUT on two processes", 2)] if database == "postgresql" else [])
        for layout, processes in layouts:
            with (
                bench_database(database, seed=args.seed) as world,
                servers(world.database_url, processes=processes) as urls,
            ):
                for clients in client_counts:
                    delays, missing = asyncio.run(
                        _measure(
                            urls[0], urls[-1], world, clients=clients, updates=updates, rate=args.rate, seed=args.seed
                        )
                    )
                    p50, p99, worst, _mean = summary_ms(delays)
                    rows.append(
                        (database, layout, clients, updates, f"{args.rate:g}/s", len(delays), missing, p50, p99, worst)
                    )
                    print(f"{database} {layout} {clients} clients: p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
    print()
    print(
        markdown_table(
            ["database", "layout", "clients", "PUTs", "rate", "deliveries", "missing", "p50 ms", "p99 ms", "max ms"],
            rows,
        )
    )
    print()
    print(machine_note())


if __name__ == "__main__":
    main()
