"""The service other domains call when a crisis hold is confirmed or a proposal accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from backend.errors import Conflict, RuleViolation
from backend.events.models import Event
from backend.occupancy.models import OccupancyEvent, OccupancyStay
from backend.occupancy.service import present_counts, record_admission, record_discharge


def test_record_admission_and_discharge_form_a_stay_and_only_flush(db, world):
    group_id = world.groups_b[1]  # crisis group, 4 places
    at = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
    with db.transaction() as session:
        event = record_admission(
            session=session,
            group_id=group_id,
            at=at,
            origin_region_code="JZ13",
            stay_reference="hold-17",
            source="crisis",
        )
        assert event.id is not None and event.kind == "admission"
        session.rollback()  # the caller's transaction decides: nothing is committed by us
    with db.transaction(write=False) as session:
        assert session.exec(select(OccupancyEvent)).all() == []

    with db.transaction() as session:
        first = record_admission(
            session=session,
            group_id=group_id,
            at=at,
            origin_region_code="JZ13",
            stay_reference="hold-17",
            source="crisis",
        )
        again = record_admission(
            session=session,
            group_id=group_id,
            at=at,
            origin_region_code="JZ13",
            stay_reference="hold-17",
            source="crisis",
        )
        assert again.id == first.id  # a retried confirmation records the admission once
        assert present_counts(session=session, group_ids=[group_id]) == {group_id: 1}
        record_discharge(
            session=session, group_id=group_id, at=at + timedelta(days=3), stay_reference="hold-17", source="crisis"
        )
    with db.transaction(write=False) as session:
        stay = session.exec(select(OccupancyStay)).one()
        assert str(stay.admit_day) == "2025-03-01" and str(stay.discharge_day) == "2025-03-04"
        assert stay.origin_region_code == "JZ13"
        types = [e.type for e in session.exec(select(Event)).all()]
        assert types.count("occupancy.changed") == 2
        assert present_counts(session=session, group_ids=[group_id]) == {}


def test_record_admission_refuses_before_writing(db, world):
    group_id = world.groups_b[1]
    at = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
    with db.transaction() as session:
        record_admission(
            session=session, group_id=group_id, at=at, origin_region_code="JZ14", stay_reference="s1", source="matching"
        )
        with pytest.raises(Conflict, match="al opgenomen"):
            record_admission(
                session=session,
                group_id=group_id,
                at=at + timedelta(hours=1),
                origin_region_code="JZ14",
                stay_reference="s1",
                source="matching",
            )
        with pytest.raises(RuleViolation, match="toekomst"):
            record_admission(
                session=session,
                group_id=group_id,
                at=datetime.now(UTC) + timedelta(days=1),
                origin_region_code="JZ14",
                stay_reference="s2",
                source="matching",
            )
        with pytest.raises(RuleViolation, match="zonder opname"):
            record_discharge(session=session, group_id=group_id, at=at, stay_reference="nobody", source="matching")
        assert len(session.exec(select(OccupancyEvent)).all()) == 1
