"""Migrations form one line with one head; a database built at the former domain heads upgrades
to it with its rows; holds.referral_id is a real foreign key."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from backend.crisis.models import Hold
from backend.db import Database
from backend.domain import utcnow
from backend.migrate import alembic_config, upgrade
from backend.referrals.models import Referral
from tests.conftest import BACKENDS, _pg_admin_url, make_settings
from tests.factories import build_world

FORMER_HEADS = ("0002_matching", "0003_crisis", "0004_occupancy")


def test_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"plekwijzer_migrations_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _hold(world, **fields) -> Hold:  # type: ignore[no-untyped-def]
    now = utcnow()
    return Hold(
        group_id=world.groups_a[0],
        provider_id=world.provider_a,
        region_id=world.region_id,
        minutes=60,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        created_by="test",
        **fields,
    )


def _referral(world) -> Referral:  # type: ignore[no-untyped-def]
    now = utcnow()
    return Referral(
        region_id=world.region_id,
        reference="TW-1",
        birth_year=now.year - 12,
        birth_month=1,
        gender="m",
        home_lat=52.2,
        home_lon=6.9,
        origin_region_code="JZ14",
        care_forms=["woongroep"],
        required_intensity="C",
        risk_profile="A",
        needs=[],
        urgency=3,
        secure_authorisation=False,
        together="group",
        excluded_provider_ids=[],
        excluded_group_ids=[],
        waiting_since=now,
        status="waiting",
        created_at=now,
        updated_at=now,
    )


def _counts(db: Database) -> dict[str, int]:
    with db.transaction(write=False) as session:
        return {
            t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


def test_database_at_former_heads_upgrades_with_its_rows(empty_database: str) -> None:
    for revision in FORMER_HEADS:
        command.upgrade(alembic_config(empty_database), revision)
    settings = make_settings(empty_database)
    db = Database(settings)
    try:
        world = build_world(db, settings)
        with db.transaction() as session:
            referral = _referral(world)
            session.add(referral)
            session.flush()
            # A hold on a referral that does not exist, as nothing checked it before.
            holds = [
                _hold(world, referral_id=referral.id),
                _hold(world, referral_id=999),
                _hold(world, crisis_reference="CR-1", referral_id=998),
            ]
            session.add_all(holds)
            session.flush()
            ids = [hold.id for hold in holds]
        before = _counts(db)
        assert before["holds"] == 3 and before["groups"] > 0 and before["users"] > 0

        upgrade(empty_database)

        assert _counts(db) == before
        with db.transaction(write=False) as session:
            rows = [session.get(Hold, hold_id) for hold_id in ids]
            version = session.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert list(version) == ["0005_one_head"]
        assert [(r.referral_id, r.crisis_reference) for r in rows] == [  # type: ignore[union-attr]
            (referral.id, None),
            (None, "verwijzing-999"),
            (None, "CR-1"),
        ]
    finally:
        db.dispose()


def test_hold_needs_an_existing_referral(db, world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(_hold(world, referral_id=424242))
        session.flush()
