"""The audit log: a read of youth data leaves a row with who, what and why; only an
administrator reads the log."""

from __future__ import annotations

from tests.factories import create_referral


def test_a_read_of_youth_data_is_in_the_log_for_the_administrator_only(client, world):
    referral = create_referral(client, world)
    client.get(f"/api/v1/referrals/{referral['id']}", headers=world.headers("coordinator"))
    rows = client.get(
        "/api/v1/audit", params={"object_type": "referral", "object_id": referral["id"]}, headers=world.headers("admin")
    ).json()
    reads = [r for r in rows if r["action"] == "referral.read"]
    assert reads and reads[0]["actor"].endswith(":coordinator") and reads[0]["purpose"]
    for who in ("coordinator", "crisis", "viewer", "provider_a", "key_a"):
        assert client.get("/api/v1/audit", headers=world.headers(who)).status_code == 403
