"""Availability updates per second through HTTP, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_availability.py [--updates 3000] [--concurrency 32]
        [--databases sqlite,postgresql] [--quick]
    .venv/bin/python benchmarks/bench_availability.py --cpu 300   # server CPU ms per PUT

Each configuration gets a fresh database with 150 groups (30 providers, fixed seed), real
``plekwijzer serve`` processes, and the async Python client (``backend.client``) sending
``PUT /api/v1/groups/{id}/availability`` with an Idempotency-Key from ``--concurrency`` tasks at
once. Every PUT writes the group, an event, an audit row and an idempotency record in one
transaction. The load generator runs on the same machine and shares its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from common import (
    SERVER_PIDS,
    bench_database,
    machine_note,
    markdown_table,
    process_cpu_seconds,
    servers,
    summary_ms,
)

from backend.client import AsyncPlekwijzerClient


async def _run(urls: list[str], world, *, updates: int, concurrency: int, seed: int,  # type: ignore[no-untyped-def]
               auth: str) -> tuple[float, list[float], int]:
    rng = random.Random(seed)
    plan = []
    for _ in range(updates):
        group_id = rng.choice(world.group_ids)
        plan.append((group_id, rng.randint(0, world.capacities[group_id])))
    clients = []
    for i in range(concurrency):
        url = urls[i % len(urls)]
        if auth == "api_key":
            # Each provider system reports its own groups with its own key.
            clients.append({pid: AsyncPlekwijzerClient(url, api_key=key, retries=0,
                                                       max_connections=2)
                            for pid, key in world.api_keys.items()})
        else:
            clients.append(AsyncPlekwijzerClient(url, token=world.admin_token, retries=0,
                                                 max_connections=2))
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)

    async def worker(index: int) -> None:
        nonlocal errors
        while True:
            try:
                group_id, free = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            client = clients[index]
            if isinstance(client, dict):
                client = client[world.group_provider[group_id]]
            started = time.perf_counter()
            try:
                await client.set_availability(group_id, free_places=free)
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - started)

    # Warm-up: connections, caches, the first queries.
    warm = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*warm)
    elapsed = time.perf_counter() - started
    for client in clients:
        for c in (client.values() if isinstance(client, dict) else [client]):
            await c.aclose()
    return elapsed, latencies, errors


async def _cpu_per_put(url: str, world, *, puts: int, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Server CPU milliseconds per PUT: sequential PUTs (admin token, Idempotency-Key), CPU
    time of the server process from /proc. Less sensitive to other load than updates/s."""
    rng = random.Random(seed)
    pid = SERVER_PIDS[url]
    async with AsyncPlekwijzerClient(url, token=world.admin_token, retries=0) as client:
        async def some(n: int) -> None:
            for _ in range(n):
                group_id = rng.choice(world.group_ids)
                await client.set_availability(
                    group_id, free_places=rng.randint(0, world.capacities[group_id]))
        await some(30)  # warm-up
        before = process_cpu_seconds(pid)
        await some(puts)
        return (process_cpu_seconds(pid) - before) * 1000 / puts


def cpu_main(databases: list[str], *, puts: int, seed: int) -> None:
    for database in databases:
        with bench_database(database, seed=seed) as world, \
                servers(world.database_url) as urls:
            ms = asyncio.run(_cpu_per_put(urls[0], world, puts=puts, seed=seed))
        print(f"{database}: server CPU {ms:.2f} ms per PUT over {puts} sequential PUTs",
              flush=True)
    print(machine_note())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--quick", action="store_true", help="500 updates per configuration")
    parser.add_argument("--cpu", type=int, default=0, metavar="PUTS",
                        help="only measure server CPU per PUT over this many sequential PUTs")
    args = parser.parse_args()
    if args.cpu:
        cpu_main(args.databases.split(","), puts=args.cpu, seed=args.seed)
        return
    updates = 500 if args.quick else args.updates
    configs = []
    for database in args.databases.split(","):
        if database == "sqlite":
            configs += [("sqlite", 1, 1, "token"), ("sqlite", 1, 1, "api_key")]
        else:
            configs += [("postgresql", 1, 1, "token"), ("postgresql", 1, 2, "token"),
                        ("postgresql", 1, 2, "api_key")]
    rows = []
    for database, processes, workers, auth in configs:
        with bench_database(database, seed=args.seed) as world, \
                servers(world.database_url, processes=processes, workers=workers) as urls:
            # A short warm-up run, not counted.
            asyncio.run(_run(urls, world, updates=min(200, updates), concurrency=args.concurrency,
                             seed=args.seed + 1, auth=auth))
            elapsed, latencies, errors = asyncio.run(
                _run(urls, world, updates=updates, concurrency=args.concurrency, seed=args.seed,
                     auth=auth))
        p50, p99, worst, _mean = summary_ms(latencies)
        rows.append((database, f"{processes}×{workers}", auth, updates, args.concurrency,
                     f"{updates / elapsed:.0f}", p50, p99, worst, errors))
        print(f"{database} {processes}x{workers} {auth}: {updates / elapsed:.0f}/s", flush=True)
    print()
    print(markdown_table(["database", "processes×workers", "auth", "updates", "concurrency",
                          "updates/s", "p50 ms", "p99 ms", "max ms", "errors"], rows))
    print()
    print(machine_note())


if __name__ == "__main__":
    main()
