"""Region administrator: finalise (vaststellen) last year's post-calculation after a
confirmation, then see what changed in the register since ("Na vaststelling gewijzigd"), on a
desktop and on a phone."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect
from sqlmodel import select

from backend.db import Database
from backend.domain import utcnow
from backend.occupancy.service import today
from backend.providers.models import Group
from backend.register.models import ContractTerm
from backend.register.service import insert_version


def _a_funded_group(demo_server) -> int:  # type: ignore[no-untyped-def]
    """One of the demo's availability-funded groups (the demo's register runs since 2023)."""
    db = Database(demo_server.settings)
    try:
        with db.transaction(write=False) as session:
            term = session.exec(
                select(ContractTerm).where(ContractTerm.availability_funded == True)  # noqa: E712
            ).first()
            assert term is not None
            return term.group_id
    finally:
        db.dispose()


def _more_places_from_july(demo_server, group_id: int, last_year: int) -> None:  # type: ignore[no-untyped-def]
    db = Database(demo_server.settings)
    try:
        with db.transaction() as session:
            group = session.get(Group, group_id)
            insert_version(
                session,
                ContractTerm(
                    region_id=group.region_id,
                    group_id=group_id,
                    valid_from=date(last_year, 7, 1),
                    contracted_places=group.capacity + 2,
                    day_tariff=group.day_tariff,
                    availability_funded=True,
                    created_at=utcnow(),
                    created_by="browsertest",
                ),
            )
    finally:
        db.dispose()


def test_admin_finalises_last_year_and_sees_later_changes(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    last_year = today().year - 1
    group_id = _a_funded_group(demo_server)
    admin = people("admin")
    page = admin.page
    page.goto(demo_server.app_url("rapportages"))
    page.get_by_label("Jaar").select_option(str(last_year))
    expect(page.locator("#rapport-status")).to_contain_text("nog niet vastgesteld")
    expect(page.locator("#rapport-tabel thead")).to_contain_text("Opnamestop")

    page.get_by_role("button", name="Vaststellen").click()
    question = page.get_by_role("group", name=re.compile("vaststellen\\?"))
    expect(question).to_contain_text("veranderen daarna niet meer")
    page.get_by_role("button", name="Annuleren").click()
    expect(question).to_have_count(0)
    page.get_by_role("button", name="Vaststellen").click()
    page.get_by_role("button", name="Ja, vaststellen").click()
    expect(page.locator("#rapport-status .notice")).to_contain_text(re.compile(r"Vastgesteld op .+ door admin"))
    expect(page.get_by_role("button", name="Vaststellen")).to_have_count(0)
    expect(page.locator("#na-vaststelling")).to_be_hidden()

    _more_places_from_july(demo_server, group_id, last_year)
    page.reload()
    page.get_by_label("Jaar").select_option(str(last_year))
    changes = page.locator("#na-vaststelling")
    expect(changes.get_by_role("heading", name="Na vaststelling gewijzigd")).to_be_visible()
    expect(changes.locator("tbody tr")).to_have_count(1)
    expect(changes).to_contain_text("Beschikbaarheidsvergoeding")
    admin.shot("nacalculatie-vastgesteld", "desktop")

    phone = people("admin", phone=True, already_logged_in=True)
    phone.page.goto(demo_server.app_url("rapportages"))
    phone.page.get_by_label("Jaar").select_option(str(last_year))
    expect(phone.page.locator("#na-vaststelling h2")).to_be_visible()
    expect(phone.page.locator("#rapport-status .notice")).to_contain_text("Vastgesteld op")
    phone.shot("nacalculatie-vastgesteld", "phone")
