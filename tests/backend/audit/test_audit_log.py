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
            actor=Principal(
                kind="user", id=99, name="-1+2", role="coordinator", provider_id=None, region_id=world.region_id
            ),
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


def _region_b(db, settings):  # type: ignore[no-untyped-def]
    """Region B with its own administrator, and a service-wide administrator (no region)."""
    with db.transaction() as session:
        region_b = Region(code="JZ99", name="Regio B", settings={})
        session.add(region_b)
        session.flush()
        _admin_b, token_b = add_user(session, settings, "admin_b", "admin", None, region_b.id)
        _national, token_n = add_user(session, settings, "landelijk", "admin", None, None)
    return region_b.id, {"Authorization": f"Bearer {token_b}"}, {"Authorization": f"Bearer {token_n}"}


def test_rows_carry_the_region_they_concern(client, world, db, settings):
    """The acting person's region; a provider's region for a provider's person or system;
    the object's region for a service-wide administrator; none for what concerns no region."""
    _region_b_id, _admin_b, national = _region_b(db, settings)
    referral = create_referral(client, world)
    before = last_id(db)
    client.get(f"/api/v1/referrals/{referral['id']}", headers=world.headers("coordinator"))
    assert client.get("/api/v1/proposals", headers=world.headers("provider_a")).status_code == 200
    group = world.groups_a[0]
    answer = client.put(f"/api/v1/groups/{group}/availability", json={"free_places": 1}, headers=world.headers("key_a"))
    assert answer.status_code == 200, answer.text
    client.get(f"/api/v1/referrals/{referral['id']}", headers=national)
    client.get("/api/v1/audit", headers=national)
    rows = [(r.actor.split(":")[-1], r.action, r.region_id) for r in rows_after(db, before)]
    a = world.region_id
    key_name = rows[2][0]
    assert rows == [
        ("coordinator", "referral.read", a),
        ("provider_a", "proposal.list", a),  # the provider's region, looked up in the INSERT
        (key_name, "availability.update", a),  # the group's region, on the one-statement path too
        ("landelijk", "referral.read", a),  # a service-wide administrator: the referral's region
        ("landelijk", "audit.read", None),  # reading the whole log concerns no one region
    ], rows


def test_a_region_administrator_reads_and_exports_only_its_regions_rows(client, world, db, settings):
    region_b, admin_b, national = _region_b(db, settings)
    with db.transaction() as session:
        for name, region in (("in_a", world.region_id), ("in_b", region_b), ("nowhere", None)):
            audit.record(
                session=session,
                actor=Principal(kind="system", id=0, name=name, role="system", provider_id=None),
                action="referral.read",
                object_type="referral",
                object_id=name,
                purpose=Purpose.referral_review,
                region_id=region,
            )

    def objects(headers):  # type: ignore[no-untyped-def]
        rows = client.get("/api/v1/audit", params={"action": "referral.read"}, headers=headers).json()
        return {r["object_id"] for r in rows}, {r["region_id"] for r in rows}

    assert objects(world.headers("admin")) == ({"in_a"}, {world.region_id})
    assert objects(admin_b) == ({"in_b"}, {region_b})
    assert objects(national)[0] == {"in_a", "in_b", "nowhere"}
    # The export too, with the region's code in its own column.
    for headers, code in ((world.headers("admin"), "JZ14"), (admin_b, "JZ99")):
        response = client.get("/api/v1/audit/export.csv", headers=headers)
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
        region = lines[0].index("Regio")
        assert lines[1:] and {line[region] for line in lines[1:]} == {code}
        assert "in_b" not in response.text if code == "JZ14" else "in_a" not in response.text
        sheet = load_workbook(io.BytesIO(client.get("/api/v1/audit/export.xlsx", headers=headers).content)).active
        assert {row[region] for row in sheet.iter_rows(min_row=2, values_only=True)} == {code}
    # Region B's administrator's own reading of the log is in region B's log, not in A's.
    reads = client.get("/api/v1/audit", params={"action": "audit.read"}, headers=world.headers("admin")).json()
    assert all(r["actor"].endswith(":admin") for r in reads)
    reads_b = client.get("/api/v1/audit", params={"action": "audit.read"}, headers=admin_b).json()
    assert reads_b and all(r["actor"].endswith(":admin_b") for r in reads_b)
