"""A coordinator, created by the fixture, logs in for the first time on a server that asks
the coordinator role for a second factor: sets up TOTP from the page (the key shown beside
the QR code, the code computed with pyotp as an authenticator app would), sees the recovery
codes once, and later logs in with password and code."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest

from tests.browser.conftest import DemoServer, Person

USERNAME = "coordinator-mfa"
PASSWORD = "Wilgen-langs-de-Regge-2031"


@pytest.fixture(scope="module")
def mfa_server(demo_server: DemoServer) -> Iterator[DemoServer]:
    """A second server on the demo database, with the production default of MFA roles, and a
    coordinator of the demo region who has no second factor yet."""
    from sqlmodel import select

    from backend.db import Database
    from backend.regions.models import Region
    from backend.users.service import create_user
    from tests.conftest import make_settings
    from tests.servers import running_server

    settings = make_settings(demo_server.database_url)
    assert "coordinator" in settings.mfa_role_set
    db = Database(settings)
    try:
        with db.transaction() as session:
            region = session.exec(select(Region).where(Region.code == "JZ14")).one()
            create_user(session=session, username=USERNAME, password=PASSWORD, role="coordinator", region_id=region.id)
    finally:
        db.dispose()
    with running_server(settings) as base_url:
        yield DemoServer(
            url=base_url, passwords={USERNAME: PASSWORD}, database_url=demo_server.database_url, settings=settings
        )


def _password_step(person: Person) -> None:
    page = person.page
    page.goto(person.server.url + "/")
    page.get_by_label("Gebruikersnaam").fill(USERNAME)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()


def test_coordinator_enrols_totp_and_logs_in_with_it(browser, mfa_server: DemoServer) -> None:
    # On a phone first: the set-up screen fits 390 px (then left without finishing it).
    phone = Person(browser, mfa_server, USERNAME, phone=True)
    try:
        _password_step(phone)
        phone.page.get_by_role("heading", name="Tweestapsverificatie instellen").wait_for()
        phone.shot("tweestapsverificatie-instellen", "phone")
    finally:
        phone.close()

    person = Person(browser, mfa_server, USERNAME)
    try:
        page = person.page
        _password_step(person)
        page.get_by_role("heading", name="Tweestapsverificatie instellen").wait_for()
        assert page.get_by_role("img", name="QR-code om plekwijzer aan uw authenticator-app toe te voegen").is_visible()
        # No session before the second step.
        assert page.evaluate("sessionStorage.getItem('plekwijzer.sessie')") is None
        person.shot("tweestapsverificatie-instellen", "desktop")
        secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)

        code = page.get_by_label("Code uit uw authenticator-app")
        code.fill("000000" if totp.now() != "000000" else "111111")
        page.get_by_role("button", name="Activeren").click()
        page.get_by_text("De code klopt niet").wait_for()

        code.fill(totp.now())
        page.get_by_role("button", name="Activeren").click()
        page.get_by_role("heading", name="Tweestapsverificatie staat aan").wait_for()
        assert page.locator("#herstelcodes li").count() == 10
        person.shot("tweestapsverificatie-herstelcodes", "desktop")
        page.get_by_role("button", name="Ik heb de codes bewaard, verder").click()
        page.locator("#live-status[data-state='live']").wait_for(timeout=10_000)

        # Log out and in again: now the code step, without the set-up. The code just used is
        # not accepted twice, so the app's next code is entered (as after 30 seconds).
        page.get_by_role("button", name="Uitloggen").click()
        _password_step(person)
        page.get_by_role("heading", name="Tweestapsverificatie", exact=True).wait_for()
        assert page.locator("#mfa-secret").count() == 0
        person.shot("tweestapsverificatie", "desktop")
        page.get_by_label("Code uit uw authenticator-app").fill(totp.at(time.time() + 30))
        page.get_by_role("button", name="Bevestigen").click()
        page.locator("#live-status[data-state='live']").wait_for(timeout=10_000)
        assert USERNAME in page.locator("#who").inner_text()
    finally:
        person.close()
