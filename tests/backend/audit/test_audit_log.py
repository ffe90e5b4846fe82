"""The audit log: who, when, what, which youth record and why; refused attempts; reading the
log is logged; the privacy officer's export."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlmodel import col, select

from backend.audit import service as audit
from backend.audit.models import AuditEntry
from backend.audit.purposes import LABELS, Purpose
from backend.auth import Principal
from backend.regions.models import Region
from tests.factories import add_user, create_referral


def rows_after(db, last: int) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        return list(session.exec(select(AuditEntry).where(col(AuditEntry.id) > last).order_by(col(AuditEntry.id))))


def last_id(db) -> int:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        entry = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
        return entry.id if entry else 0


def test_a_read_of_youth_data_is_in_the_log_for_the_administrator_only(client, world):
    referral = create_referral(client, world)
    client.get(f"/api/v1/referrals/{referral['id']}", headers=world.headers("coordinator"))
    rows = client.get(
        "/api/v1/audit", params={"object_type": "referral", "object_id": referral["id"]}, headers=world.headers("admin")
    ).json()
    reads = [r for r in rows if r["action"] == "referral.read"]
    assert reads and reads[0]["actor"].endswith(":coordinator")
    assert reads[0]["purpose"] == "referral_review" and reads[0]["purpose_label"] == "Verwijzing inzien"
    assert reads[0]["youth_records"] == [f"referral:{referral['id']}"]
    for who in ("coordinator", "crisis", "viewer", "provider_a", "key_a"):
        assert client.get("/api/v1/audit", headers=world.headers(who)).status_code == 403


def test_every_access_to_one_youth_record_is_listed_lists_included(client, world, db):
    referral = create_referral(client, world)
    other = create_referral(client, world, reference="TW-0002")
    coordinator = world.headers("coordinator")
    client.get(f"/api/v1/referrals/{referral['id']}", headers=coordinator)
    client.get(f"/api/v1/referrals/{referral['id']}?purpose=matching_options", headers=coordinator)
    client.get("/api/v1/referrals", headers=coordinator)  # the waiting list shows both
    client.get(f"/api/v1/referrals/{other['id']}", headers=coordinator)
    rows = client.get(
        "/api/v1/audit", params={"youth_record": f"referral:{referral['id']}"}, headers=world.headers("admin")
    ).json()
    actions = sorted(r["action"] for r in rows)
    assert actions == ["referral.create", "referral.list", "referral.read", "referral.read"], actions
    assert {r["purpose"] for r in rows} == {
        "referral_intake",
        "waiting_list_review",
        "referral_review",
        "matching_options",
    }
    # A purpose outside the fixed list is refused, in Dutch.
    bad = client.get(f"/api/v1/referrals/{referral['id']}?purpose=zomaar", headers=coordinator)
    assert bad.status_code == 422 and "doel" in bad.json()["detail"]


def test_reading_the_log_is_logged(client, world, db):
    before = last_id(db)
    response = client.get("/api/v1/audit", params={"actor": "coordinator"}, headers=world.headers("admin"))
    assert response.status_code == 200
    [read] = [r for r in rows_after(db, before) if r.action == "audit.read"]
    assert read.actor.endswith(":admin") and read.purpose == Purpose.audit_review
    assert read.detail["filters"] == {"actor": "coordinator"}


def test_a_refused_look_at_another_regions_referral_is_logged(client, world, db, settings):
    referral = create_referral(client, world)
    with db.transaction() as session:
        region_b = Region(code="JZ99", name="Regio B", settings={})
        session.add(region_b)
        session.flush()
        user, token = add_user(session, settings, "coordinator_b", "coordinator", None, region_b.id)
    before = last_id(db)
    response = client.get(f"/api/v1/referrals/{referral['id']}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    [refusal] = rows_after(db, before)
    assert refusal.action == "access.refused" and refusal.actor == f"user:{user.id}:coordinator_b"
    assert refusal.youth_records == f",referral:{referral['id']},"
    assert refusal.purpose == Purpose.access_refused
    assert refusal.detail["status"] == 404
    assert refusal.detail["route"] == "/api/v1/referrals/{referral_id}"

    # No login at all, and a role that may not: logged as well; a refused non-youth route is not.
    before = last_id(db)
    assert client.get(f"/api/v1/referrals/{referral['id']}").status_code == 401
    assert client.get("/api/v1/referrals", headers=world.headers("viewer")).status_code == 403
    assert client.get("/api/v1/audit", headers=world.headers("viewer")).status_code == 403
    refusals = rows_after(db, before)
    assert [(r.actor_role, r.detail["status"]) for r in refusals] == [("anonymous", 401), ("viewer", 403)]


def test_the_export_neutralises_formulas_and_is_logged(client, world, db):
    formula = '=HYPERLINK("http://x.nl","klik")'
    with db.transaction() as session:
        audit.record(
            session=session,
            actor=Principal(kind="user", id=99, name="-1+2", role="coordinator", provider_id=None),
            action="referral.read",
            object_type="referral",
            object_id=formula,
            purpose=Purpose.referral_review,
        )
    admin = world.headers("admin")
    response = client.get("/api/v1/audit/export.csv", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    row = next(r for r in lines[1:] if "HYPERLINK" in r[6])
    assert row[6] == "'" + formula  # inert: plain text
    assert row[2] == "user:99:-1+2" and row[9] == LABELS[Purpose.referral_review]
    response = client.get("/api/v1/audit/export.xlsx", headers=admin)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [c for r in sheet.iter_rows(min_row=2) for c in r]
    object_cell = next(c for c in cells if isinstance(c.value, str) and c.value.endswith('"klik")'))
    assert object_cell.value == "'" + formula and object_cell.data_type == "s"
    assert not any(c.data_type == "f" for c in cells)
    exports = [r for r in rows_after(db, 0) if r.action == "audit.export"]
    assert len(exports) == 2 and all(r.purpose == Purpose.audit_export for r in exports)
    assert client.get("/api/v1/audit/export.csv", headers=world.headers("coordinator")).status_code == 403
