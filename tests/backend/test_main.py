"""The app as ``create_app`` assembles it: the request-size limit in front of every route."""

from __future__ import annotations


def test_oversized_body_is_413(client, world):
    response = client.put(
        f"/api/v1/groups/{world.groups_a[0]}/availability",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={**world.headers("provider_a"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
