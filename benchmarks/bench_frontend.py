"""Web app figures in real Chromium against a real server with the Twente demo data (SQLite):

- how long the main screens take to show their data after login (median of N loads);
- live latency: from a provider's availability PUT to the coordinator's screen showing it
  (DOM changed, measured in the page), over N changes.

Run: .venv/bin/python benchmarks/bench_frontend.py [--changes 30] [--loads 5]
Prints a markdown table. Fixed demo seed (2025); needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from backend.db import Database
    from backend.demo import load_demo
    from backend.migrate import upgrade
    from tests.conftest import make_settings
    from tests.servers import running_server

    folder = Path(tempfile.mkdtemp(prefix="bench-frontend-"))
    url = f"sqlite:///{folder / 'demo.db'}"
    upgrade(url)
    settings = make_settings(url)
    db = Database(settings)
    with db.transaction() as session:
        load_demo(session=session, seed=2025, users_file=folder / "users.txt")
    db.dispose()
    passwords = {
        line.split("\t")[0]: line.split("\t")[2]
        for line in (folder / "users.txt").read_text().splitlines()
        if not line.startswith("#")
    }

    rows: list[tuple[str, str]] = []
    with running_server(settings) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)

        def login(username: str):  # type: ignore[no-untyped-def]
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            page = context.new_page()
            page.goto(base + "/")
            page.fill("#gebruikersnaam", username)
            page.fill("#wachtwoord", passwords[username])
            page.click("button[type=submit]")
            page.wait_for_selector("#live-status[data-state='live']")
            return context, page

        for username, route, ready in [
            ("coordinator", "regio", "#groepen-tabel tbody tr"),
            ("aanbieder1", "aanbieder", ".group-card"),
            ("viewer", "rapportages", "#rapport-tabel tbody tr"),
        ]:
            context, page = login(username)
            times = []
            for _ in range(args.loads):
                start = time.perf_counter()
                page.goto(f"{base}/app/#/{route}")
                page.reload()
                page.wait_for_selector(ready)
                times.append((time.perf_counter() - start) * 1000)
            rows.append(
                (
                    f"screen `{route}` shows its data (reload, median of {args.loads})",
                    f"{statistics.median(times):.0f} ms",
                )
            )
            context.close()

        context, page = login("coordinator")
        page.wait_for_selector("#groepen-tabel tbody tr")
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "aanbieder1", "password": passwords["aanbieder1"]}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        group = next(g for g in httpx.get(f"{base}/api/v1/groups", headers=headers).json() if g["capacity"] >= 2)
        latencies = []
        for index in range(args.changes):
            free = index % 2  # 0, 1, 0, 1, ...: every PUT changes the figure
            current = httpx.get(f"{base}/api/v1/groups/{group['id']}", headers=headers).json()
            if current["free_places"] == free:
                free = 1 - free
            page.evaluate(
                """([id, expected]) => { window.__seen = null; const cell = () =>
                document.querySelector(`#groepen-tabel tr[data-group-id='${id}'] .free-places`);
                const check = () => { const c = cell(); if (c && c.textContent.startsWith(String(expected))) {
                  window.__seen = Date.now(); return true; } return false; };
                const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
                observer.observe(document.querySelector('#groepen-tabel'),
                  {subtree: true, childList: true, characterData: true}); }""",
                [group["id"], free],
            )
            sent = time.time() * 1000
            response = httpx.put(
                f"{base}/api/v1/groups/{group['id']}/availability",
                headers=headers,
                json={"free_places": free, "admitting": True},
            )
            response.raise_for_status()
            page.wait_for_function("window.__seen !== null", timeout=5000)
            latencies.append(page.evaluate("window.__seen") - sent)
        latencies.sort()
        rows.append(
            (
                f"live: provider PUT → coordinator's screen updated (median of {args.changes})",
                f"{statistics.median(latencies):.0f} ms",
            )
        )
        rows.append(("live: same, 95th percentile", f"{latencies[int(0.95 * (len(latencies) - 1))]:.0f} ms"))
        rows.append(("live: same, worst", f"{latencies[-1]:.0f} ms"))
        context.close()
        browser.close()

    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
