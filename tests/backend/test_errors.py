"""Error answers: a malformed request body is explained in Dutch."""

from __future__ import annotations


def test_malformed_json_is_422_in_dutch(client, world):
    response = client.put(
        f"/api/v1/groups/{world.groups_a[0]}/availability",
        content=b"{free_places: ",
        headers={**world.headers("provider_a"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "geen geldige JSON" in response.json()["detail"]
