"""Load test: a realistic mix against real API processes on a fresh PostgreSQL database.

    .venv/bin/python benchmarks/load.py --duration 120 --processes 2 --clients 200

What runs at once, spread round-robin over the API processes:
- provider systems (API keys) reading a group (ETag) and reporting its availability with If-Match;
- coordinators ranking the options of waiting referrals and reading the availability picture;
- crisis workers searching crisis places and holding one (released again, or now and then
  confirmed, after which the provider reports the bed free again);
- ``--clients`` websocket clients listening to the live feed.

Measured: requests per second per operation, p50 and p99 latency, errors (5xx, transport errors
and unexpected 4xx; expected business answers such as 409 "place just taken" or 412 "version
changed" are counted apart), live-feed delay (event time to arrival at a websocket client) and
memory of each API process. Fixed seeds: the same mix every run. Prints a markdown table and,
with ``--write``, writes it to ``benchmarks/RESULTS_load.md``. ``--json`` gives machine output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_setup import api_processes, fill, fresh_database, memory_mb
from websockets.asyncio.client import connect

EXPECTED = {409, 412}  # place just taken / version changed underneath: normal under contention


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    expected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    feed_delays: list[float] = field(default_factory=list)
    feed_messages: int = 0
    ws_connected: int = 0
    ws_failures: int = 0

    def record(
        self,
        op: str,
        started: float,
        response: httpx.Response | None,
        exc: Exception | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> None:
        elapsed = time.perf_counter() - started
        if response is not None and response.status_code in ok:
            self.latencies[op].append(elapsed)
        elif response is not None and response.status_code in EXPECTED:
            self.latencies[op].append(elapsed)
            self.expected[op] += 1
        else:
            self.errors[op] += 1
            if len(self.error_samples) < 10:
                detail = f"{response.status_code} {response.text[:160]}" if response is not None else repr(exc)
                self.error_samples.append(f"{op}: {detail}")


async def call(
    stats: Stats, op: str, client: httpx.AsyncClient, method: str, url: str, ok: tuple[int, ...] = (200, 201), **kwargs
) -> httpx.Response | None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        stats.record(op, started, None, exc)
        return None
    stats.record(op, started, response, ok=ok)
    return response


async def provider_worker(stats, base, key, group_ids, rng, stop):  # type: ignore[no-untyped-def]
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while not stop.is_set():
            group_id = rng.choice(group_ids)
            got = await call(stats, "GET /groups/{id}", client, "GET", f"/api/v1/groups/{group_id}")
            if got is not None and got.status_code == 200:
                group = got.json()
                free = rng.randint(group["held_places"], group["capacity"])
                body = {"free_places": free, "admitting": True}
                await call(
                    stats,
                    "PUT /groups/{id}/availability",
                    client,
                    "PUT",
                    f"/api/v1/groups/{group_id}/availability",
                    json=body,
                    headers={"If-Match": got.headers["ETag"]},
                )
            await asyncio.sleep(rng.uniform(0.5, 1.5))


async def coordinator_worker(stats, base, token, referral_ids, rng, stop):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while not stop.is_set():
            if referral_ids and rng.random() < 0.7:
                referral_id = rng.choice(referral_ids)
                await call(
                    stats,
                    "GET /referrals/{id}/options (ranking)",
                    client,
                    "GET",
                    f"/api/v1/referrals/{referral_id}/options",
                )
            else:
                await call(stats, "GET /availability", client, "GET", "/api/v1/availability")
            await asyncio.sleep(rng.uniform(0.5, 1.5))


async def crisis_worker(stats, base, token, rng, stop, counter):  # type: ignore[no-untyped-def]
    from backend.demo import TWENTE_MUNICIPALITIES

    # Positions (municipality centres): the postcode table is optional and not loaded here.
    positions = [(lat, lon) for _name, _code, lat, lon, _pc in TWENTE_MUNICIPALITIES]
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while not stop.is_set():
            found = await call(
                stats,
                "POST /crisis/search",
                client,
                "POST",
                "/api/v1/crisis/search",
                json={"age": rng.randint(8, 17), "lat": (pos := rng.choice(positions))[0], "lon": pos[1]},
            )
            results = found.json()["results"] if found is not None and found.status_code == 200 else []
            if results and rng.random() < 0.5:
                target = results[0]["group_id"]
                counter[0] += 1
                held = await call(
                    stats,
                    "POST /holds",
                    client,
                    "POST",
                    "/api/v1/holds",
                    json={"group_id": target, "crisis_reference": f"LOAD-{counter[0]}", "age": 14},
                )
                if held is not None and held.status_code == 201:
                    hold_id = held.json()["id"]
                    await asyncio.sleep(rng.uniform(0.2, 1.0))
                    if rng.random() < 0.2:
                        await call(
                            stats, "POST /holds/{id}/confirm", client, "POST", f"/api/v1/holds/{hold_id}/confirm"
                        )
                    else:
                        await call(stats, "DELETE /holds/{id}", client, "DELETE", f"/api/v1/holds/{hold_id}")
            await asyncio.sleep(rng.uniform(1.0, 3.0))


async def listener(stats, base, token, stop):  # type: ignore[no-untyped-def]
    url = base.replace("http://", "ws://") + "/api/v1/live"
    while not stop.is_set():
        try:
            async with connect(
                url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30, max_queue=None
            ) as ws:
                stats.ws_connected += 1
                # A plain receive loop (no wait_for per message: that costs a task each, and at
                # thousands of messages a second the driver would measure its own overhead);
                # the task is cancelled at the end of the run.
                async for text in ws:
                    arrived = time.time()
                    message = json.loads(text)
                    if "at" in message and message.get("type") not in ("hello", "snapshot"):
                        sent = datetime.fromisoformat(message["at"]).timestamp()
                        stats.feed_delays.append(max(0.0, arrived - sent))
                        stats.feed_messages += 1
                return
        except Exception:
            stats.ws_failures += 1
            await asyncio.sleep(0.5)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict:  # type: ignore[type-arg]
    rng = random.Random(args.seed)
    with fresh_database(args.pg, keep=args.keep) as database_url:
        print(f"database {database_url.rsplit('/', 1)[-1]}: migrating and loading the demo ...", file=sys.stderr)
        world = fill(database_url, seed=args.seed)
        with api_processes(database_url, args.processes) as servers:
            bases = [s.base_url for s in servers]
            tokens = {}
            for username in ("coordinator", "crisis", "crisis2", "viewer", "admin"):
                response = httpx.post(
                    f"{bases[0]}/api/v1/auth/token",
                    timeout=30,
                    data={"username": username, "password": world.passwords[username]},
                )
                response.raise_for_status()
                tokens[username] = response.json()["access_token"]
            referrals = httpx.get(
                f"{bases[0]}/api/v1/referrals?status=waiting",
                timeout=30,
                headers={"Authorization": f"Bearer {tokens['coordinator']}"},
            )
            referral_ids = [r["id"] for r in referrals.json()] if referrals.status_code == 200 else []

            stats = Stats()
            stop = asyncio.Event()
            tasks = []
            listeners = ["viewer", "coordinator", "crisis", "admin"]
            for n in range(args.clients):
                tasks.append(
                    asyncio.create_task(
                        listener(stats, bases[n % len(bases)], tokens[listeners[n % len(listeners)]], stop)
                    )
                )
            providers = sorted(world.groups_by_provider)
            for n in range(args.providers):
                provider_id = providers[n % len(providers)]
                tasks.append(
                    asyncio.create_task(
                        provider_worker(
                            stats,
                            bases[n % len(bases)],
                            world.provider_keys[provider_id],
                            world.groups_by_provider[provider_id],
                            random.Random(rng.random()),
                            stop,
                        )
                    )
                )
            for n in range(args.coordinators):
                tasks.append(
                    asyncio.create_task(
                        coordinator_worker(
                            stats,
                            bases[n % len(bases)],
                            tokens["coordinator"],
                            referral_ids,
                            random.Random(rng.random()),
                            stop,
                        )
                    )
                )
            counter = [0]
            for n in range(args.crisis):
                tasks.append(
                    asyncio.create_task(
                        crisis_worker(
                            stats,
                            bases[n % len(bases)],
                            tokens["crisis" if n % 2 else "crisis2"],
                            random.Random(rng.random()),
                            stop,
                            counter,
                        )
                    )
                )
            started = time.monotonic()
            peak: dict[int, float] = {}
            while time.monotonic() - started < args.duration:
                await asyncio.sleep(1.0)
                for server in servers:
                    rss, _ = memory_mb(server.process.pid)
                    peak[server.process.pid] = max(peak.get(server.process.pid, 0.0), rss)
            elapsed = time.monotonic() - started
            memory = [(s.base_url, *memory_mb(s.process.pid)) for s in servers]
            stop.set()
            for task in tasks[: args.clients]:
                task.cancel()  # the listeners
            await asyncio.gather(*tasks, return_exceptions=True)

    ops = sorted(set(stats.latencies) | set(stats.errors))
    rows = []
    for op in ops:
        values = stats.latencies.get(op, [])
        rows.append(
            {
                "operation": op,
                "requests": len(values) + stats.errors.get(op, 0),
                "rps": (len(values) + stats.errors.get(op, 0)) / elapsed,
                "p50_ms": percentile(values, 0.5) * 1000,
                "p99_ms": percentile(values, 0.99) * 1000,
                "expected_4xx": stats.expected.get(op, 0),
                "errors": stats.errors.get(op, 0),
            }
        )
    return {
        "duration_s": round(elapsed, 1),
        "processes": args.processes,
        "clients": args.clients,
        "providers": args.providers,
        "coordinators": args.coordinators,
        "crisis": args.crisis,
        "rows": rows,
        "total_errors": sum(stats.errors.values()),
        "error_samples": stats.error_samples,
        "feed": {
            "messages": stats.feed_messages,
            "ws_connected": stats.ws_connected,
            "ws_failures": stats.ws_failures,
            "p50_ms": percentile(stats.feed_delays, 0.5) * 1000,
            "p99_ms": percentile(stats.feed_delays, 0.99) * 1000,
            "max_ms": (max(stats.feed_delays) * 1000) if stats.feed_delays else float("nan"),
        },
        "memory": [
            {"process": base, "rss_mb": rss, "peak_mb": peak.get(pid, hwm), "hwm_mb": hwm}
            for (base, rss, hwm), pid in zip(memory, [s.process.pid for s in servers], strict=True)
        ],
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }


def markdown(result: dict, command: str) -> str:  # type: ignore[type-arg]
    lines = [
        f"Command: `{command}`",
        "",
        f"{result['duration_s']} s, {result['processes']} API processes, {result['clients']} websocket "
        f"clients, {result['providers']} provider systems, {result['coordinators']} coordinators, "
        f"{result['crisis']} crisis workers; {result['cpus']} CPUs, load average at the end "
        f"{', '.join(f'{x:.1f}' for x in result['load_average'])}.",
        "",
        "| operation | requests | req/s | p50 ms | p99 ms | 409/412 (expected) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['operation']} | {row['requests']} | {row['rps']:.1f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['expected_4xx']} | {row['errors']} |"
        )
    total = sum(r["requests"] for r in result["rows"])
    lines.append(f"| **all** | {total} | {total / result['duration_s']:.1f} | | | | {result['total_errors']} |")
    feed = result["feed"]
    lines += [
        "",
        "| live feed | value |",
        "|---|---:|",
        f"| websocket clients connected | {feed['ws_connected']} |",
        f"| connection failures | {feed['ws_failures']} |",
        f"| messages received (all clients) | {feed['messages']} |",
        f"| delay p50 (event time → client) | {feed['p50_ms']:.1f} ms |",
        f"| delay p99 | {feed['p99_ms']:.1f} ms |",
        f"| delay max | {feed['max_ms']:.1f} ms |",
        "",
        "| API process | RSS at end MB | peak RSS MB |",
        "|---|---:|---:|",
    ]
    for n, mem in enumerate(result["memory"], start=1):
        lines.append(f"| {n} ({mem['process']}) | {mem['rss_mb']:.0f} | {mem['hwm_mb']:.0f} |")
    if result["error_samples"]:
        lines += ["", "Error samples:", *[f"- `{s}`" for s in result["error_samples"]]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--clients", type=int, default=200, help="websocket clients")
    parser.add_argument("--providers", type=int, default=30, help="provider systems reporting")
    parser.add_argument("--coordinators", type=int, default=4)
    parser.add_argument("--crisis", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--pg",
        default=os.environ.get("PLEKWIJZER_LOAD_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL server to create the throw-away database on",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS_load.md")
    parser.add_argument("--json", help="also write the result as JSON to this file")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    command = "python benchmarks/load.py " + " ".join(sys.argv[1:])
    table = markdown(result, command)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    if args.write:
        out = Path(__file__).resolve().parent / "RESULTS_load.md"
        out.write_text("# Load test results\n\n" + table)
    return 0 if result["total_errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
