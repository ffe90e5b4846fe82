"""Migrations form one line with one head; a database built at the former domain heads upgrades
to it with its rows; holds.referral_id is a real foreign key."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from backend.crisis.models import Hold
from backend.db import Database
from backend.domain import utcnow
from backend.migrate import alembic_config, upgrade
from backend.providers.models import Group, Location
from backend.referrals.models import Referral
from backend.register.models import ContractTerm
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


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in _reflect(conn).items()
            }
    finally:
        engine.dispose()


def _reflect(conn) -> dict[str, Table]:  # type: ignore[no-untyped-def]
    meta = MetaData()
    meta.reflect(conn)
    return {t.name: t for t in meta.sorted_tables if t.name != "alembic_version"}


def _copy_world_into(old_url: str, tmp_path: Path) -> tuple[dict[str, int], list[int], int]:
    """Rows made with today's models (a world, a referral, three holds) in a scratch database at
    head, copied into a database at the former heads with only the columns its tables have:
    so the test keeps building realistic rows however the models grow."""
    scratch_url = f"sqlite:///{tmp_path / 'scratch.db'}"
    upgrade(scratch_url)
    settings = make_settings(scratch_url)
    db = Database(settings)
    try:
        world = build_world(db, settings)
        with db.transaction() as session:
            referral = _referral(world)
            session.add(referral)
            session.flush()
            referral_id = referral.id
        with db.transaction(write=False) as session:
            source = {t.name: list(session.execute(select(t)).mappings()) for t in SQLModel.metadata.sorted_tables}
    finally:
        db.dispose()
    # A hold on a referral that does not exist, as nothing checked it before.
    hold_rows = [
        _hold(world, id=1, referral_id=referral_id).model_dump(),
        _hold(world, id=2, referral_id=999).model_dump(),
        _hold(world, id=3, crisis_reference="CR-1", referral_id=998).model_dump(),
    ]
    source["holds"] = hold_rows
    engine = create_engine(old_url)
    try:
        with engine.begin() as conn:
            for name, table in _reflect(conn).items():
                rows = source.get(name) or []
                if rows:
                    conn.execute(table.delete())  # rows a migration seeded (the event counter)
                    conn.execute(table.insert(), [{c.name: row[c.name] for c in table.columns} for row in rows])
    finally:
        engine.dispose()
    return {"groups": len(source["groups"])}, [1, 2, 3], referral_id  # type: ignore[return-value]


def test_database_at_former_heads_upgrades_with_its_rows(empty_database: str, tmp_path: Path) -> None:
    for revision in FORMER_HEADS:
        command.upgrade(alembic_config(empty_database), revision)
    made, ids, referral_id = _copy_world_into(empty_database, tmp_path)
    before = _counts(empty_database)
    assert before["holds"] == 3 and before["groups"] == made["groups"] > 0 and before["users"] > 0

    upgrade(empty_database)

    after = _counts(empty_database)
    # Every row is still there; 0006 adds one contract term per group and nothing else (0007
    # drops the list of login failures, whose counts only mattered for minutes).
    before.pop("login_failures")
    assert {name: after[name] for name in before} == before
    assert after["contract_terms"] == before["groups"]
    assert after["tariffs"] == after["post_calculations"] == 0
    settings = make_settings(empty_database)
    db = Database(settings)
    try:
        with db.transaction(write=False) as session:
            rows = [session.get(Hold, hold_id) for hold_id in ids]
            version = session.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert list(version) == [ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()]
            assert [(r.referral_id, r.crisis_reference) for r in rows] == [  # type: ignore[union-attr]
                (referral_id, None),
                (None, "verwijzing-999"),
                (None, "CR-1"),
            ]
            # Codes from the ids; one approved term per group with its current places.
            groups = session.execute(select(Group)).scalars().all()
            for group in groups:
                assert group.code == f"G{group.id}" and group.active_from is None
                terms = session.execute(select(ContractTerm).where(ContractTerm.group_id == group.id)).scalars().all()
                assert [(t.valid_from, t.valid_to, t.contracted_places, t.status) for t in terms] == [
                    (date(2000, 1, 1), None, group.capacity, "approved")
                ]
            assert groups
            locations = session.execute(select(Location)).scalars().all()
            assert locations and all(loc.code == f"L{loc.id}" for loc in locations)
    finally:
        db.dispose()


def test_hold_needs_an_existing_referral(db, world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(_hold(world, referral_id=424242))
        session.flush()


def test_migrations_build_what_the_models_describe(database_url: str) -> None:
    """After ``upgrade`` the schema has every table, column, index and constraint of the models,
    and nothing else (Alembic's comparison, as ``alembic revision --autogenerate`` would)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
