"""Closed months are kept (backend/indicators/monthly.py), and a later change behind one of them,
by any writer (the feed's correction, a proposal's outcome, a new proposal or placement for a
youth who waited back then, an edited referral), shows at once: after the corrections the
figures equal those computed from scratch, for the whole region and filtered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, func, select

from backend.indicators.models import IndicatorMonth
from backend.indicators.monthly import forget
from backend.indicators.service import keep_closed_months
from backend.matching.models import Proposal, Referral
from backend.placements.models import Placement
from tests.backend.indicators.test_indicators import build_history, get
from tests.backend.reports.helpers import admit, at, discharge, send

SECTIONS = ("waiting", "proposals", "placements", "scaling", "occupancy")


def figures(client: Any, world: Any, **params: Any) -> dict[str, Any]:
    body = get(client, world, **params)
    body.pop("generated_at")
    return body


def kept(db: Any) -> int:
    with db.transaction(write=False) as session:
        return int(session.exec(select(func.count()).select_from(IndicatorMonth)).one())


def test_kept_months_follow_later_corrections(client, world, db):
    history, _b = build_history(db, world, client)
    a0, a1 = world.groups_a
    b1 = world.groups_b[1]
    first = figures(client, world)
    woongroep = figures(client, world, care_form="woongroep")
    # March and April are closed: five sections' rows of both months were kept, and read back
    # they give the same figures.
    assert kept(db) == 2 * 5
    assert figures(client, world) == first

    # Months later, corrections by several writers.
    now = datetime.now(UTC)
    # The feed: the youth who left the crisis group on 6 March left on the 4th (two nights fewer).
    correction = [
        {"event_id": "c-d1", "kind": "cancel", "group_id": b1, "at": at("2025-03-06"), "cancels_event_id": "d1"},
        discharge("d1b", b1, "2025-03-04", "own"),
    ]
    assert send(client, world, correction)["accepted"] == 2
    with db.transaction() as session:
        # A decline of March is put right as an acceptance.
        declined = session.exec(
            select(Proposal).where(Proposal.referral_id == history.ids["H-2"], Proposal.group_id == a1)
        ).one()
        declined.status, declined.decline_reason = "accepted", None
        session.add(declined)
        # H-4, waiting since 4 March, gets its first proposal now.
        session.add(
            Proposal(
                referral_id=history.ids["H-4"],
                group_id=a0,
                provider_id=world.provider_a,
                region_id=world.region_id,
                status="open",
                created_at=now,
                created_by="test",
                expires_at=now,
                components={},
            )
        )
        # H-2, home since 25 April, is placed again now (a move from a family home to treatment).
        session.add(
            Placement(
                referral_id=history.ids["H-2"],
                group_id=a1,
                provider_id=world.provider_a,
                region_id=world.region_id,
                status="arrived",
                expected_arrival=now.date(),
                stay_reference="st-again",
                arrived_at=now,
                created_at=now,
                created_by="test",
                updated_at=now,
            )
        )
        # H-1's distance limit is widened: its March placement is no longer too far.
        referral = session.get(Referral, history.ids["H-1"])
        referral.max_distance_km = 50.0
        session.add(referral)

    # The kept rows of the months touched are gone at once (a corrected youth's numbers too).
    assert kept(db) < 2 * 5
    after = figures(client, world)
    after_woongroep = figures(client, world, care_form="woongroep")
    changed = [name for name in SECTIONS if after[name] != first[name]]
    assert changed == list(SECTIONS)
    assert after_woongroep != woongroep

    with db.transaction() as session:
        forget(session)
    assert kept(db) == 0
    assert after == figures(client, world)
    assert after_woongroep == figures(client, world, care_form="woongroep")


def test_the_current_month_is_never_kept(client, world, db):
    today = datetime.now(UTC).date()
    figures(client, world, start=today.replace(day=1).isoformat(), end=today.isoformat())
    with db.transaction(write=False) as session:
        months = session.exec(select(IndicatorMonth.month).where(col(IndicatorMonth.region_id) == world.region_id))
        assert list(months) == []


def test_the_periodic_round_keeps_the_closed_months_before_anyone_asks(client, world, db):
    build_history(db, world, client)
    with db.transaction() as session:
        forget(session)
    # A minute after the start (and every hour) the service reads the last 36 closed months of
    # every region: the history's March and April are among them, each of the five sections.
    assert keep_closed_months(db) >= 1
    with db.transaction(write=False) as session:
        rows = session.exec(
            select(IndicatorMonth.section, IndicatorMonth.month).where(col(IndicatorMonth.region_id) == world.region_id)
        ).all()
    assert {("waiting", "2025-03"), ("occupancy", "2025-04")} <= set(rows)
    assert len({section for section, _m in rows}) == 5
    before = kept(db)
    # The first dashboard reads them and adds nothing for those months; its figures are those
    # computed from the database.
    warm = figures(client, world)
    assert kept(db) == before
    with db.transaction() as session:
        forget(session)
    assert warm == figures(client, world)


def test_a_batch_of_past_stays_drops_the_kept_months_it_reaches(client, world, db):
    # The feed's bulk insert of past stays (COPY on PostgreSQL, executemany on SQLite) goes
    # through the triggers too: the months it reaches are read again.
    build_history(db, world, client)
    first = figures(client, world)
    assert kept(db) == 2 * 5
    a0 = world.groups_a[0]
    batch = [admit("late-1", a0, "2025-03-10", "late-1"), discharge("late-2", a0, "2025-03-20", "late-1")]
    batch += [admit(f"late-a{k}", a0, "2025-04-02", f"late-a{k}") for k in range(3)]
    send(client, world, batch, who="key_a")
    with db.transaction(write=False) as session:
        months = set(
            session.exec(
                select(IndicatorMonth.month).where(
                    col(IndicatorMonth.region_id) == world.region_id, IndicatorMonth.section == "occupancy"
                )
            )
        )
    assert months == set()  # March and April's occupancy, both reached by the batch
    after = figures(client, world)
    assert after["occupancy"] != first["occupancy"]
    with db.transaction() as session:
        forget(session)
    assert after == figures(client, world)
