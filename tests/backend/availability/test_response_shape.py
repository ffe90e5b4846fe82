"""The PUT's JSON is built straight from the database row (no pydantic round trip); it must stay
exactly what ``to_public(group).model_dump(mode="json")`` gives: same keys in the same order,
same values and types. The event payload and the audit row carry the same picture."""

from __future__ import annotations

from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.events.models import Event
from backend.providers.models import Group
from backend.providers.service import to_public


def _pydantic_json(db, group_id, settings):
    with db.transaction(write=False) as session:
        group = session.get(Group, group_id)
        return to_public(session, group, stale_after_hours=settings.stale_after_hours).model_dump(mode="json")


def test_put_response_json_is_the_pydantic_json(client, world, db, settings):
    group_id = world.groups_a[0]
    bodies = [
        {"free_places": 3, "waiting_list": 4},
        {"free_places": 1, "admitting": False, "reason": "  personeelstekort ", "expected_free_date": "2027-02-01"},
        {"free_places": 0},
    ]
    for index, body in enumerate(bodies):
        response = client.put(
            f"/api/v1/groups/{group_id}/availability",
            json=body,
            headers={**world.headers("provider_a"), "Idempotency-Key": f"shape-{index}"},
        )
        assert response.status_code == 200, response.text
        got = response.json()
        expected = _pydantic_json(db, group_id, settings)
        assert list(got) == list(expected)
        assert got == expected
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
        assert response.headers["ETag"] == f'"{got["version"]}"'

        # A retry replays the very same JSON.
        replay = client.put(
            f"/api/v1/groups/{group_id}/availability",
            json=body,
            headers={**world.headers("provider_a"), "Idempotency-Key": f"shape-{index}"},
        )
        assert replay.json() == got and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.headers["X-Event-Seq"] == response.headers["X-Event-Seq"]

        with db.transaction(write=False) as session:
            seq = int(response.headers["X-Event-Seq"])
            event = session.exec(select(Event).where(Event.seq == seq)).one()
            audit = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert event.payload == {"group": got}
        assert (event.type, event.group_id, event.provider_id) == ("availability.changed", group_id, got["provider_id"])
        assert event.region_id == got["region_id"] and event.actor.startswith("user:")
        assert audit.detail["seq"] == seq
        assert list(audit.detail) == ["before", "after", "seq"]
        assert audit.detail["after"] == {
            "free_places": got["free_places"],
            "admitting": got["admitting"],
            "reason": got["reason"],
            "version": got["version"],
        }
        assert audit.detail["before"]["version"] == got["version"] - 1
        assert (audit.object_type, audit.object_id, audit.purpose, audit.actor_role) == (
            "group",
            str(group_id),
            "beschikbaarheid gemeld",
            "provider",
        )
        if index == 1:
            assert got["reason"] == "personeelstekort" and got["admitting"] is False
            assert got["expected_free_date"] == "2027-02-01"


# psycopg keeps the parsed form of a statement only up to this many bytes. The figure is not part
# of psycopg's public API (it lives in a private module), so it is written here, as checked
# against psycopg 3.3.
MAX_CACHED_STATEMENT_LENGTH = 4096


def test_the_postgresql_statement_stays_within_psycopgs_parse_cache():
    """psycopg keeps the parsed form of statements up to a size limit; above it the busiest
    write would be parsed again on every request. A field added to GroupPublic grows it."""
    from sqlalchemy.dialects import postgresql

    from backend.availability.service import _REPORT_PG

    sent = str(_REPORT_PG.compile(dialect=postgresql.psycopg.dialect()))
    assert len(sent.encode()) <= MAX_CACHED_STATEMENT_LENGTH
