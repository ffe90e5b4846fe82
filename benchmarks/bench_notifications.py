"""Notifications: from the event to a delivered webhook (p50/p99), and notifications dispatched
per minute, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_notifications.py [--database sqlite|postgresql|both]
        [--events 200] [--bulk 5000] [--write]

A fresh, migrated database per backend (``benchmarks/common.py``) with one provider's webhook
endpoint pointing at a real HTTP receiver in this process (it answers 204 and records when each
``webhook-id`` arrived). The API runs as ``plekwijzer serve`` with its periodic tasks on, so its
own dispatcher delivers, as in production.

- Latency: ``--events`` times, one after another, the provider's "test" button
  (``POST /webhooks/{id}/test``): the route writes the outbox row in its transaction, the server's
  dispatcher (woken by the commit) signs and posts it. Measured from just before the request to
  the receiver's arrival.
- Throughput: ``--bulk`` outbox rows committed at once; the time until the receiver has every
  key, delivered by the API process alone, and on PostgreSQL also with one
  ``plekwijzer notify-worker`` beside it (SKIP LOCKED shares the rows).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.providers.models import Provider  # noqa: E402
from benchmarks.common import SECRET, bench_database, machine_note, markdown_table, server, summary_ms  # noqa: E402
from tests.backend.notifications.receivers import add_endpoint, outbox_rows, webhook_receiver  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS_notifications.md"


def arrivals(receiver) -> dict[str, float]:  # type: ignore[no-untyped-def]
    with receiver.lock:
        return {r.headers["webhook-id"]: r.at for r in receiver.requests}


def wait_until(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def run(kind: str, events: int, bulk: int) -> dict[str, object]:
    with bench_database(kind, providers=3, groups_per_provider=2) as world, webhook_receiver() as receiver:
        settings = Settings(environment="test", database_url=world.database_url, secret_key=SECRET)
        db = Database(settings)
        with db.transaction() as session:
            provider_id = session.exec(select(Provider.id)).first()
            endpoint_id = add_endpoint(session, settings, provider_id, receiver.url).id
        env = {"PLEKWIJZER_RUN_PERIODIC_TASKS": "true"}
        result: dict[str, object] = {"database": kind}
        with server(world.database_url, extra_env=env) as base:
            headers = {"Authorization": f"Bearer {world.admin_token}"}
            latencies = []
            with httpx.Client(base_url=base, headers=headers) as client:
                for _ in range(events):
                    before = time.time()
                    answer = client.post(f"/api/v1/webhooks/{endpoint_id}/test")
                    answer.raise_for_status()
                    key = answer.json()["key"]
                    if not wait_until(lambda key=key: key in arrivals(receiver), 10):
                        raise SystemExit(f"{kind}: {key} not delivered within 10 s")
                    latencies.append(arrivals(receiver)[key] - before)
            result["latency"] = summary_ms(latencies)
            result["api_only"] = throughput(db, receiver, endpoint_id, provider_id, bulk, "api")
            if kind == "postgresql":
                worker = subprocess.Popen(
                    [sys.executable, "-m", "backend.cli", "notify-worker", "--poll-seconds", "0.2"],
                    cwd=ROOT,
                    env={
                        **os.environ,
                        "PLEKWIJZER_DATABASE_URL": world.database_url,
                        "PLEKWIJZER_SECRET_KEY": SECRET,
                        "PLEKWIJZER_ENVIRONMENT": "test",
                    },
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    time.sleep(8)  # its start (imports) is not part of the measure
                    result["with_worker"] = throughput(db, receiver, endpoint_id, provider_id, bulk, "worker")
                finally:
                    worker.terminate()
                    worker.wait(timeout=15)
        db.dispose()
        return result


def throughput(db, receiver, endpoint_id: int, provider_id: int, bulk: int, tag: str) -> float:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        session.add_all(outbox_rows(endpoint_id, provider_id, bulk, prefix=f"bulk-{tag}"))
    start = time.time()
    prefix = f"bulk-{tag}:"
    if not wait_until(lambda: sum(1 for k in arrivals(receiver) if k.startswith(prefix)) >= bulk, 600):
        raise SystemExit(f"{tag}: not all {bulk} delivered within 10 minutes")
    last = max(t for k, t in arrivals(receiver).items() if k.startswith(prefix))
    return bulk / (last - start) * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--bulk", type=int, default=5000)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rows = []
    for kind in kinds:
        r = run(kind, args.events, args.bulk)
        p50, p99, worst, _mean = r["latency"]  # type: ignore[misc]
        rows.append(
            [
                kind,
                p50,
                p99,
                worst,
                f"{r['api_only']:,.0f}",
                f"{r['with_worker']:,.0f}" if "with_worker" in r else "–",
            ]
        )
        print(kind, r, flush=True)
    table = markdown_table(
        ["database", "event→webhook p50 ms", "p99 ms", "max ms", "per minute, API process", "+1 notify-worker"], rows
    )
    print(table)
    print(machine_note())
    if args.write:
        RESULTS.write_text(
            "# Notifications benchmark\n\n"
            f"`.venv/bin/python benchmarks/bench_notifications.py --events {args.events} --bulk {args.bulk} --write`"
            f" ({time.strftime('%Y-%m-%d')})\n\n"
            f"{table}\n\n{machine_note()}\n\n"
            "Latency: the provider's test button (`POST /webhooks/{id}/test`) to the receiver's arrival, one at a "
            "time; the row is written in the route's transaction and the API process's dispatcher, woken by that "
            "commit, signs and posts it. Throughput: outbox rows committed at once by another process, until the "
            "receiver has every key (the API process's dispatcher looks every 0.25 s for rows written elsewhere; "
            "8 webhooks at a time per process). The receiver is a Python `ThreadingHTTPServer` in the benchmark "
            "process on the same 2 cores, and bounds the throughput measured here.\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
