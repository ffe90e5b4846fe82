"""Availability updates per second through HTTP, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_availability.py [--updates 3000] [--concurrency 32]
        [--databases sqlite,postgresql] [--load-generator client,wrk] [--quick]
    .venv/bin/python benchmarks/bench_availability.py --cpu 300   # server CPU ms per PUT

Each configuration gets a fresh database with 150 groups (30 providers, fixed seed), real
``plekwijzer serve`` processes, and ``PUT /api/v1/groups/{id}/availability`` requests with an
Idempotency-Key. Every PUT writes the group, an event, an audit row and an idempotency record
in one transaction. Two load generators, both on this machine and sharing its two cores:

- ``client``: the async Python client (``backend.client``) from ``--concurrency`` tasks, as a
  provider's system would use it. The client itself costs about a millisecond of CPU per
  request, so on two cores it takes a good part of what it measures.
- ``wrk`` (Debian package ``wrk``, written in C, script ``benchmarks/wrk_put.lua``):
  ``--connections`` keep-alive connections for ``--seconds``. It costs almost no CPU, so its
  figure is what the server side (API processes and database) can take on these cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

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


async def _run(
    urls: list[str],
    world,
    *,
    updates: int,
    concurrency: int,
    seed: int,  # type: ignore[no-untyped-def]
    auth: str,
) -> tuple[float, list[float], int]:
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
            clients.append(
                {
                    pid: AsyncPlekwijzerClient(url, api_key=key, retries=0, max_connections=2)
                    for pid, key in world.api_keys.items()
                }
            )
        else:
            clients.append(AsyncPlekwijzerClient(url, token=world.admin_token, retries=0, max_connections=2))
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
        for c in client.values() if isinstance(client, dict) else [client]:
            await c.aclose()
    return elapsed, latencies, errors


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_put.lua"


def _wrk(
    urls: list[str],
    world,
    *,
    seconds: int,
    connections: int,  # type: ignore[no-untyped-def]
    auth: str,
) -> dict[str, object]:
    """Run wrk against the first URL (several worker processes share its port)."""
    entries = []
    for group_id in world.group_ids:
        if auth == "api_key":
            header = ("X-API-Key", world.api_keys[world.group_provider[group_id]])
        else:
            header = ("Authorization", f"Bearer {world.admin_token}")
        entries.append(f"{group_id}:{world.capacities[group_id]}:{header[0]}:{header[1]}")
    env = {**os.environ, "PLEKWIJZER_WRK_GROUPS": "|".join(entries)}
    command = ["wrk", "--threads", "2", "--connections", str(connections), "--latency", "--script", str(WRK_SCRIPT)]
    # A short warm-up (connections, caches, prepared statements), not counted.
    subprocess.run([*command, "--duration", "3s", urls[0]], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*command, "--duration", f"{seconds}s", urls[0]], env=env, check=True, capture_output=True, text=True
    ).stdout

    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    return {
        "requests": requests,
        "per_second": float(
            re.search(  # type: ignore[union-attr]
                r"Requests/sec:\s+([\d.]+)", out
            ).group(1)
        ),
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0) + (int(timeouts.group(1)) if timeouts else 0),
    }


async def _cpu_per_put(url: str, world, *, puts: int, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Server CPU milliseconds per PUT: sequential PUTs (admin token, Idempotency-Key), CPU
    time of the server process from /proc. Less sensitive to other load than updates/s."""
    rng = random.Random(seed)
    pid = SERVER_PIDS[url]
    async with AsyncPlekwijzerClient(url, token=world.admin_token, retries=0) as client:

        async def some(n: int) -> None:
            for _ in range(n):
                group_id = rng.choice(world.group_ids)
                await client.set_availability(group_id, free_places=rng.randint(0, world.capacities[group_id]))

        await some(30)  # warm-up
        before = process_cpu_seconds(pid)
        await some(puts)
        return (process_cpu_seconds(pid) - before) * 1000 / puts


def cpu_main(databases: list[str], *, puts: int, seed: int) -> None:
    for database in databases:
        with bench_database(database, seed=seed) as world, servers(world.database_url) as urls:
            ms = asyncio.run(_cpu_per_put(urls[0], world, puts=puts, seed=seed))
        print(f"{database}: server CPU {ms:.2f} ms per PUT over {puts} sequential PUTs", flush=True)
    print(machine_note())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000, help="PUTs per client run")
    parser.add_argument("--concurrency", type=int, default=32, help="client tasks at once")
    parser.add_argument("--seconds", type=int, default=20, help="length of a wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--load-generator", default="client,wrk", help="client, wrk or both (comma-separated)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--quick", action="store_true", help="500 updates per client run, 5 s per wrk run")
    parser.add_argument(
        "--cpu",
        type=int,
        default=0,
        metavar="PUTS",
        help="only measure server CPU per PUT over this many sequential PUTs",
    )
    args = parser.parse_args()
    if args.cpu:
        cpu_main(args.databases.split(","), puts=args.cpu, seed=args.seed)
        return
    updates = 500 if args.quick else args.updates
    seconds = 5 if args.quick else args.seconds
    generators = args.load_generator.split(",")
    if "wrk" in generators and shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    configs = []
    for database in args.databases.split(","):
        if database == "sqlite":
            layouts = [(1, "token"), (1, "api_key")]
        else:
            layouts = [(1, "token"), (2, "token"), (2, "api_key")]
        configs += [(database, workers, auth, generator) for generator in generators for workers, auth in layouts]
    rows = []
    for database, workers, auth, generator in configs:
        with bench_database(database, seed=args.seed) as world, servers(world.database_url, workers=workers) as urls:
            if generator == "wrk":
                result = _wrk(urls, world, seconds=seconds, connections=args.connections, auth=auth)
                row = (
                    database,
                    f"1×{workers}",
                    auth,
                    f"wrk, {args.connections} connections",
                    result["requests"],
                    f"{result['per_second']:.0f}",
                    result["p50"],
                    result["p99"],
                    result["errors"],
                )
            else:
                # A short warm-up run, not counted.
                asyncio.run(
                    _run(
                        urls,
                        world,
                        updates=min(200, updates),
                        concurrency=args.concurrency,
                        seed=args.seed + 1,
                        auth=auth,
                    )
                )
                elapsed, latencies, errors = asyncio.run(
                    _run(urls, world, updates=updates, concurrency=args.concurrency, seed=args.seed, auth=auth)
                )
                p50, p99, _worst, _mean = summary_ms(latencies)
                row = (
                    database,
                    f"1×{workers}",
                    auth,
                    f"Python client, {args.concurrency} tasks",
                    updates,
                    f"{updates / elapsed:.0f}",
                    p50,
                    p99,
                    errors,
                )
        rows.append(row)
        print(f"{database} 1x{workers} {auth} {generator}: {row[5]}/s", flush=True)
    print()
    print(
        markdown_table(
            [
                "database",
                "processes×workers",
                "auth",
                "load generator",
                "updates",
                "updates/s",
                "p50 ms",
                "p99 ms",
                "errors",
            ],
            rows,
        )
    )
    print()
    print(machine_note())


if __name__ == "__main__":
    main()
