"""Browser tests: real Chromium (Debian's package) driven by Playwright against a real server
with the Twente demo data on SQLite.

One server and one browser serve the whole browser suite (session scope), so the suite stays
fast; each test opens its own browser contexts (separate logins, like separate people).
Screenshots of every main screen are written to docs/screenshots/<screen>-<desktop|phone>.png.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="/usr/bin/chromium ontbreekt (Debian-pakket chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(skip)


@dataclass
class DemoServer:
    url: str
    passwords: dict[str, str]
    database_url: str
    settings: object

    def app_url(self, route: str = "") -> str:
        return f"{self.url}/app/#/{route}"


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    from backend.db import Database
    from backend.demo import load_demo
    from backend.migrate import upgrade
    from tests.conftest import make_settings
    from tests.servers import running_server

    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'demo.db'}"
    upgrade(url)
    # As scripts/demo.sh: the demo server logs in with passwords only (the second factor is
    # tested by test_mfa_enrolment.py, against a server of its own with it turned on).
    settings = make_settings(url, mfa_roles="")
    db = Database(settings)
    users_file = folder / "users.txt"
    with db.transaction() as session:
        load_demo(session=session, users_file=users_file)
    # As scripts/demo.sh: the postcode centroids, from which the map draws the municipalities.
    postcodes = ROOT.parent / "shared" / "data" / "4pp.csv"
    if postcodes.exists():
        from backend.regions.service import import_postcodes

        with db.transaction() as session:
            import_postcodes(session=session, path=postcodes)
    db.dispose()
    passwords = {}
    for line in users_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        username, _role, password, _provider = line.split("\t")
        passwords[username] = password
    with running_server(settings) as base_url:
        yield DemoServer(url=base_url, passwords=passwords, database_url=url, settings=settings)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


class Person:
    """One person in their own browser context (own session storage, own websocket)."""

    def __init__(self, browser, server: DemoServer, username: str, *, phone: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.server = server
        self.username = username
        self.context = browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            locale="nl-NL",
            timezone_id="Europe/Amsterdam",
            accept_downloads=True,
            device_scale_factor=1,
            is_mobile=phone,
            has_touch=phone,
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def login(self) -> Person:
        page = self.page
        page.goto(self.server.url + "/")
        page.get_by_label("Gebruikersnaam").fill(self.username)
        page.get_by_label("Wachtwoord").fill(self.server.passwords[self.username])
        page.get_by_role("button", name="Inloggen").click()
        page.locator("#live-status[data-state='live']").wait_for(timeout=10_000)
        return self

    def shot(self, screen: str, kind: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{screen}-{kind}.png"
        if kind == "phone":
            # Every screen must fit a phone: no sideways scrolling of the page itself. (Waited
            # for: right after a change of the viewport, a loaded machine may not have laid the
            # page out again yet.)
            limit = PHONE["width"] + 2
            for _ in range(50):  # (not wait_for_function: the app's CSP forbids evaluating strings)
                if self.page.evaluate("document.documentElement.scrollWidth") <= limit:
                    break
                self.page.wait_for_timeout(100)
            width = self.page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"] + 2, f"{screen} is {width}px breed op een telefoon"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        assert not self.errors, f"JavaScript-fouten in de pagina: {self.errors}"
        self.context.close()


_sessions: dict[str, dict[str, object]] = {}


def _session_for(server: DemoServer, username: str) -> dict[str, object]:
    """A logged-in session as the web app keeps it, from one API login per user per run."""
    if username not in _sessions:
        import httpx

        response = httpx.post(
            f"{server.url}/api/v1/auth/token", data={"username": username, "password": server.passwords[username]}
        )
        response.raise_for_status()
        body = response.json()
        _sessions[username] = {
            "token": body["access_token"],
            "role": body["role"],
            "providerId": body["provider_id"],
            "username": username,
        }
    return _sessions[username]


@pytest.fixture
def people(browser, demo_server: DemoServer) -> Iterator[object]:  # type: ignore[no-untyped-def]
    opened: list[Person] = []

    def open_person(
        username: str, *, phone: bool = False, login: bool = True, already_logged_in: bool = False
    ) -> Person:
        """``already_logged_in``: a second screen of someone who logged in before (their
        session is put in place, as after a login in that tab), to keep the suite fast."""
        person = Person(browser, demo_server, username, phone=phone)
        opened.append(person)
        if already_logged_in:
            import json

            state = json.dumps(_session_for(demo_server, username))
            person.context.add_init_script(f"window.sessionStorage.setItem('plekwijzer.sessie', {json.dumps(state)});")
            person.page.goto(demo_server.url + "/app/")
            person.page.locator("#live-status[data-state='live']").wait_for(timeout=10_000)
            return person
        return person.login() if login else person

    yield open_person
    for person in opened:
        person.close()
