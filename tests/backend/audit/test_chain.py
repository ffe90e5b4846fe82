"""The hash chain: sealing, ``plekwijzer audit verify``, the PostgreSQL triggers and retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from backend.audit import chain
from backend.audit.models import AuditEntry, AuditSeal
from backend.audit.purposes import Purpose
from backend.cli import main
from backend.config import get_settings
from backend.domain import utcnow

_LOG = AuditEntry.__table__  # type: ignore[attr-defined]
_SEALS = AuditSeal.__table__  # type: ignore[attr-defined]


def write_rows(db, count: int, *, days_ago: float = 0, first: int = 1, region_id: int | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    """``count`` audit rows about referrals, written ``days_ago``; returns their ids."""
    at = utcnow() - timedelta(days=days_ago)
    with db.transaction() as session:
        rows = session.connection().execute(
            _LOG.insert().returning(_LOG.c.id),
            [
                {
                    "at": at,
                    "actor": "user:1:tester",
                    "actor_role": "admin",
                    "action": "referral.read",
                    "object_type": "referral",
                    "object_id": str(first + n),
                    "purpose": Purpose.referral_review.value,
                    "youth_records": f",referral:{first + n},",
                    "detail": {"n": n, "share": 0.25, "text": "één"},
                    "region_id": region_id,
                }
                for n in range(count)
            ],
        )
        return sorted(r.id for r in rows)


def tamper(db, sql: str, **params: object) -> None:  # type: ignore[no-untyped-def]
    """A change behind the application's back. On PostgreSQL the tests run as a superuser, who
    can switch ordinary triggers off for one transaction: the chain must notice all the same."""
    with db.transaction() as session:
        if not db.is_sqlite:
            session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(text(sql), params)


def test_sealed_rows_verify_and_a_changed_or_removed_row_is_named(db):
    ids = write_rows(db, 6)
    assert chain.seal(db) == 6
    result = chain.verify(db, retention_days=0)
    assert result.ok and result.checked == 6 and result.unsealed == 0, result.text()

    tamper(db, "UPDATE audit_log SET actor = 'user:2:someone-else' WHERE id = :id", id=ids[2])
    result = chain.verify(db, retention_days=0)
    assert not result.ok and (result.kind, result.problem_id) == ("changed", ids[2]), result.text()
    assert f"regel {ids[2]}" in result.text()

    tamper(db, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
    result = chain.verify(db, retention_days=0)
    assert (result.kind, result.problem_id) == ("removed", ids[1]), result.text()


def test_the_region_is_sealed_and_rows_from_before_it_keep_their_hash(db):
    """A row's region is part of its hash (moving a row to another region would hide it from
    that region's administrator); a row without one hashes as it did before the column
    existed, so the chain of an upgraded database still verifies."""
    ids = write_rows(db, 2) + write_rows(db, 1, first=3, region_id=7)
    with db.transaction(write=False) as session:
        old, new = (session.execute(select(_LOG).where(_LOG.c.id == i)).one() for i in (ids[0], ids[2]))
    assert '"één"}]' in chain.canonical(old) and chain.canonical(new).endswith(",7]")
    chain.seal(db)
    assert chain.verify(db, retention_days=0).ok
    tamper(db, "UPDATE audit_log SET region_id = 8 WHERE id = :id", id=ids[2])
    result = chain.verify(db, retention_days=0)
    assert (result.kind, result.problem_id) == ("changed", ids[2]), result.text()
    tamper(db, "UPDATE audit_log SET region_id = 7 WHERE id = :id", id=ids[2])
    # A region given afterwards to a row sealed without one is a change as well.
    tamper(db, "UPDATE audit_log SET region_id = 7 WHERE id = :id", id=ids[0])
    result = chain.verify(db, retention_days=0)
    assert (result.kind, result.problem_id) == ("changed", ids[0]), result.text()


def test_a_changed_detail_is_found_too(db):
    ids = write_rows(db, 3)
    chain.seal(db)
    detail = '{"n": 1, "share": 0.5, "text": "één"}'
    tamper(db, "UPDATE audit_log SET detail = :d WHERE id = :id", d=detail, id=ids[1])
    result = chain.verify(db, retention_days=0)
    assert (result.kind, result.problem_id) == ("changed", ids[1]), result.text()


def test_a_row_slipped_in_below_the_seals_is_found(db):
    ids = write_rows(db, 5)
    with db.transaction(write=False) as session:
        kept = dict(session.connection().execute(select(_LOG).where(_LOG.c.id == ids[2])).one()._mapping)
    tamper(db, "DELETE FROM audit_log WHERE id = :id", id=ids[2])
    assert chain.seal(db) == 4
    assert chain.verify(db, retention_days=0).ok
    with db.transaction() as session:  # an INSERT is allowed; the chain catches it
        session.connection().execute(_LOG.insert(), [kept])
    result = chain.verify(db, retention_days=0)
    assert (result.kind, result.problem_id) == ("inserted", ids[2]), result.text()


def test_recent_rows_not_sealed_yet_are_counted(db):
    write_rows(db, 3)
    chain.seal(db)
    write_rows(db, 2, first=10)
    result = chain.verify(db, retention_days=0)
    assert result.ok and (result.checked, result.unsealed) == (3, 2)
    assert "2 recente regels nog niet verzegeld" in result.text()
    assert chain.seal(db) == 2 and chain.verify(db, retention_days=0).unsealed == 0


def test_retention_removes_only_sealed_rows_older_than_the_setting(db):
    old = write_rows(db, 3, days_ago=800)
    recent = write_rows(db, 2, days_ago=400, first=10)
    chain.seal(db)
    late_old = write_rows(db, 1, days_ago=900, first=20)  # old, but not sealed yet: stays
    assert chain.retain(db, retention_days=730) == 3
    with db.transaction(write=False) as session:
        left = sorted(session.connection().execute(select(_LOG.c.id)).scalars())
        seals = session.connection().execute(select(_SEALS.c.audit_id)).scalars().all()
    assert left == recent + late_old and len(seals) == 5  # seals stay: they hold only hashes
    assert not set(old) & set(left)
    result = chain.verify(db, retention_days=730)
    assert result.ok and (result.checked, result.retained, result.unsealed) == (2, 3, 1), result.text()
    chain.seal(db)
    assert chain.verify(db, retention_days=730).ok
    # Without the retention period the removed rows count as removed.
    assert chain.verify(db, retention_days=0).kind == "removed"


def test_retention_is_at_least_a_year(db):
    with pytest.raises(ValueError):
        chain.retain(db, retention_days=30)
    assert chain.retain(db, retention_days=0) == 0


def test_the_command_reports_ok_or_the_changed_row(db, database_url, monkeypatch, capsys):
    monkeypatch.setenv("PLEKWIJZER_DATABASE_URL", database_url)
    monkeypatch.setenv("PLEKWIJZER_ENVIRONMENT", "test")
    monkeypatch.setenv("PLEKWIJZER_SECRET_KEY", "audit-test-secret-that-is-long-enough-000")
    get_settings.cache_clear()
    try:
        ids = write_rows(db, 4)
        assert main(["audit", "seal"]) == 0
        assert main(["audit", "verify"]) == 0
        assert "in orde" in capsys.readouterr().out
        tamper(db, "UPDATE audit_log SET purpose = 'referral_update' WHERE id = :id", id=ids[3])
        assert main(["audit", "verify"]) == 1
        out = capsys.readouterr().out
        assert f"regel {ids[3]}" in out and "gewijzigd" in out
        tamper(db, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
        assert main(["audit", "verify"]) == 1
        out = capsys.readouterr().out
        assert f"regel {ids[1]} is verwijderd" in out
    finally:
        get_settings.cache_clear()


@pytest.fixture
def postgresql_only(backend_name):  # type: ignore[no-untyped-def]
    if backend_name != "postgresql":
        pytest.skip("the append-only triggers exist on PostgreSQL only")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET actor = 'x' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "TRUNCATE audit_log CASCADE",
        "UPDATE audit_seals SET hash = 'x' WHERE audit_id = :id",
        "DELETE FROM audit_seals WHERE audit_id = :id",
    ],
)
def test_postgresql_refuses_changing_the_log_or_its_seals(db, postgresql_only, sql):
    ids = write_rows(db, 2, days_ago=1000)
    chain.seal(db)
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
        session.execute(text(sql), {"id": ids[0]})
    assert chain.verify(db, retention_days=0).ok


def test_postgresql_lets_the_retention_flag_remove_only_old_sealed_rows(db, postgresql_only):
    old = write_rows(db, 1, days_ago=1000)
    young = write_rows(db, 1, days_ago=10, first=5)
    chain.seal(db)
    unsealed_old = write_rows(db, 1, days_ago=1000, first=9)
    for row_id, days in ((young[0], "730"), (unsealed_old[0], "730"), (old[0], "30")):
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
            session.execute(text("SELECT set_config('plekwijzer.audit_retention_days', :d, true)"), {"d": days})
            session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": row_id})
    with db.transaction() as session:
        session.execute(text("SELECT set_config('plekwijzer.audit_retention_days', '730', true)"))
        assert session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": old[0]}).rowcount == 1


def test_a_row_that_commits_late_with_a_lower_id_is_not_passed_over(db, postgresql_only):
    """Ids are handed out at insert, but rows commit in any order: the sealer must not seal a
    higher id while a lower one is still in an open transaction (it would then look inserted
    out of place). It waits for transactions open when it read the sequence, or tries later."""
    with db.engine.connect() as slow:
        slow.execute(
            _LOG.insert(),
            {
                "at": utcnow(),
                "actor": "user:1:slow",
                "actor_role": "admin",
                "action": "referral.read",
                "object_type": "referral",
                "object_id": "1",
                "purpose": Purpose.referral_review.value,
                "detail": {},
            },
        )  # not committed yet
        [fast] = write_rows(db, 1, first=2)
        assert chain.seal(db, wait_seconds=0.2) == 0  # the open transaction may still commit a lower id
        slow.commit()
    assert chain.seal(db) == 2
    result = chain.verify(db, retention_days=0)
    assert result.ok and result.checked == 2 and result.last_id == fast, result.text()


def test_the_command_exports_a_youth_records_log_and_logs_the_export(db, database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PLEKWIJZER_DATABASE_URL", database_url)
    monkeypatch.setenv("PLEKWIJZER_ENVIRONMENT", "test")
    monkeypatch.setenv("PLEKWIJZER_SECRET_KEY", "audit-test-secret-that-is-long-enough-000")
    get_settings.cache_clear()
    try:
        write_rows(db, 3)
        target = tmp_path / "dossier.xlsx"
        assert main(["audit", "export", str(target), "--youth-record", "referral:2"]) == 0
        assert "1 auditregels geschreven" in capsys.readouterr().out
        sheet = load_workbook(target).active
        assert [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["2"]
        with db.transaction(write=False) as session:
            [logged] = session.connection().execute(select(_LOG).where(_LOG.c.action == "audit.export")).all()
        assert logged.actor.startswith("cli:0:") and logged.detail["filters"] == {"youth_record": "referral:2"}
        assert main(["audit", "export", str(tmp_path / "dossier.txt")]) == 2
    finally:
        get_settings.cache_clear()


def test_two_sealers_at_once_seal_every_row_once(db, settings):
    """Every API process runs the sealing job; two at the same moment seal each row once (on
    PostgreSQL an advisory lock lets one through, on SQLite the write lock)."""
    from concurrent.futures import ThreadPoolExecutor

    from backend.db import Database

    write_rows(db, 120)
    others = [Database(settings), Database(settings)]
    try:
        with ThreadPoolExecutor(2) as pool:
            sealed = list(pool.map(chain.seal, others))
        sealed.append(chain.seal(db))  # whatever one of them left (it may have found the lock taken)
    finally:
        for other in others:
            other.dispose()
    assert sum(sealed) == 120
    result = chain.verify(db, retention_days=0)
    assert result.ok and result.checked == 120 and result.unsealed == 0, result.text()
