"""Reporting availability: the new state, an event and an audit row in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from backend.audit import service as audit
from backend.auth import Principal, ensure_provider_access
from backend.availability.models import AvailabilityUpdate
from backend.domain import as_utc, utcnow
from backend.errors import NotFound, PreconditionFailed, RuleViolation
from backend.events.models import Event
from backend.events.service import (
    NOTIFY_CHANNEL,
    append_event,
    append_event_core,
    deliver_after_commit,
)
from backend.providers.models import Group, GroupPublic
from backend.providers.service import to_public

AVAILABILITY_CHANGED = "availability.changed"


def group_state(group: Group, *, stale_after_hours: float) -> dict[str, object]:
    """The group as it travels on the live feed."""
    return to_public(group, stale_after_hours=stale_after_hours).model_dump(mode="json")


def publish_group_change(*, session: Session, group: Group, event_type: str, actor: str | None,
                         stale_after_hours: float, extra: dict[str, object] | None = None) -> int:
    """Append the group's new state to the event table (and so to the live feed)."""
    payload: dict[str, object] = {"group": group_state(group, stale_after_hours=stale_after_hours)}
    payload.update(extra or {})
    event = append_event(session=session, type=event_type, payload=payload, group_id=group.id,
                         provider_id=group.provider_id, region_id=group.region_id, actor=actor)
    return event.seq


def report_availability(
    *,
    session: Session,
    principal: Principal,
    group_id: int,
    report: AvailabilityUpdate,
    expected_version: int | None,
    stale_after_hours: float,
) -> tuple[dict[str, object], int]:
    """Store a report; returns the group as the API shows it (``GroupPublic`` in JSON form)
    and the event's sequence number.

    This is the busiest write of the service, so it uses plain SQL statements on the session's
    connection instead of the ORM unit of work: lock and read the few columns the checks need,
    one ``UPDATE ... RETURNING`` for the new state, the counter, the event and the audit row.
    The JSON for the response, the event and the audit row is built once from the returned row.
    It commits or rolls back with the request's transaction like every other write.
    """
    conn = session.connection()
    # The row lock makes concurrent reports for one group queue up, so none is lost and each
    # gets the next version. (On SQLite the transaction began with BEGIN IMMEDIATE: writers
    # queue on the database lock instead.)
    current = conn.execute(_LOCK_GROUP, {"id": group_id}).one_or_none()
    if current is None:
        raise NotFound("Groep niet gevonden.")
    ensure_provider_access(principal, current.provider_id)
    if expected_version is not None and expected_version != current.version:
        raise PreconditionFailed(
            f"De gegevens van deze groep zijn intussen gewijzigd (nu versie {current.version}, "
            f"u had versie {expected_version}). Laad de groep opnieuw en probeer het nog eens.",
            extra={"current_version": current.version},
        )
    held = current.held_places
    if report.free_places > current.capacity:
        raise RuleViolation(
            f"Vrije plaatsen ({report.free_places}) kan niet meer zijn dan de capaciteit van "
            f"de groep ({current.capacity}).",
            code="free_places_above_capacity",
        )
    if report.free_places < held:
        raise RuleViolation(
            f"Er {'is' if held == 1 else 'zijn'} {held} "
            f"{'plaats' if held == 1 else 'plaatsen'} vastgehouden voor een crisisplaatsing "
            f"of plaatsingsvoorstel; meld minstens {held} vrij, of wijs de claim eerst af.",
            code="free_places_below_held",
        )
    reason = None if report.admitting else report.reason
    reported_at = utcnow()
    row = conn.execute(_UPDATE_GROUP, {  # b_: SQLAlchemy reserves the column names
        "b_id": group_id, "b_free_places": report.free_places, "b_admitting": report.admitting,
        "b_not_admitting_reason": reason, "b_expected_free_date": report.expected_free_date,
        "b_waiting_list": report.waiting_list, "b_reported_at": reported_at,
        "b_reported_by": principal.label,
    }).one()
    # The time written, not the one read back: SQLite returns it without a time zone.
    public = group_public_json(row._mapping, reported_at=reported_at,
                               stale_after_hours=stale_after_hours)
    before = {"free_places": current.free_places, "admitting": current.admitting,
              "reason": current.not_admitting_reason, "version": current.version}
    after = {"free_places": row.free_places, "admitting": row.admitting,
             "reason": row.not_admitting_reason, "version": row.version}
    if conn.dialect.name == "postgresql":
        seq = _event_and_audit_pg(session, principal=principal, group_id=group_id, row=row,
                                  public=public, before=before, after=after)
    else:
        seq = append_event_core(session=session, type=AVAILABILITY_CHANGED,
                                payload={"group": public}, group_id=group_id,
                                provider_id=row.provider_id, region_id=row.region_id,
                                actor=principal.label).seq
        audit.record(
            session=session, actor=principal, action=AUDIT_ACTION, object_type="group",
            object_id=group_id, purpose=AUDIT_PURPOSE,
            detail={"before": before, "after": after, "seq": seq})
    return public, seq


AUDIT_ACTION = "availability.update"
AUDIT_PURPOSE = "beschikbaarheid gemeld"

# On PostgreSQL every statement is a round trip, and each costs this process CPU time (send,
# wait, read). The counter increment, the event, the audit row and the wake-up of the other
# API processes are therefore one statement: data-modifying WITH clauses all run, in one
# snapshot, inside the request's transaction. The audit row's "seq" is filled in from the
# counter by json_build_object (a json value keeps its key order: before, after, seq).
# SQLite has no data-modifying WITH; there the same rows come from separate statements, which
# cost little in-process.
_EVENT_AND_AUDIT_PG = text(f"""
WITH c AS (
    UPDATE event_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq
), e AS (
    INSERT INTO events (seq, type, at, region_id, provider_id, group_id, actor, payload)
    SELECT last_seq, :type, :at, :region_id, :provider_id, :group_id, :actor,
           CAST(:payload AS json)
    FROM c RETURNING seq
), a AS (
    INSERT INTO audit_log (at, actor, actor_role, action, object_type, object_id, purpose,
                           detail)
    SELECT :at, :actor, :actor_role, :action, 'group', :object_id, :purpose,
           json_build_object('before', CAST(:before AS json), 'after', CAST(:after AS json),
                             'seq', seq)
    FROM e
)
SELECT seq, pg_notify('{NOTIFY_CHANNEL}', seq::text) FROM e
""")


def _event_and_audit_pg(session: Session, *, principal: Principal, group_id: int, row: Any,
                        public: dict[str, object], before: dict[str, object],
                        after: dict[str, object]) -> int:
    if session.in_nested_transaction():  # see append_event_core: live delivery after commit
        raise RuntimeError("availability reports cannot be stored inside a savepoint")
    at = utcnow()
    payload = {"group": public}
    seq = int(session.connection().execute(_EVENT_AND_AUDIT_PG, {
        "type": AVAILABILITY_CHANGED, "at": at, "region_id": row.region_id,
        "provider_id": row.provider_id, "group_id": group_id, "actor": principal.label,
        "payload": json.dumps(payload), "actor_role": principal.role, "action": AUDIT_ACTION,
        "object_id": str(group_id), "purpose": AUDIT_PURPOSE, "before": json.dumps(before),
        "after": json.dumps(after),
    }).scalar_one())
    event = Event(seq=seq, type=AVAILABILITY_CHANGED, at=at, region_id=row.region_id,
                  provider_id=row.provider_id, group_id=group_id, actor=principal.label,
                  payload=payload)
    make_transient_to_detached(event)  # a stored row, for the live hub (see events/service)
    deliver_after_commit(session, event)
    return seq


_GROUPS = Group.__table__  # type: ignore[attr-defined]
_c = _GROUPS.c

# Only what the checks and the audit row's "before" need.
_LOCK_GROUP = (
    select(_c.provider_id, _c.version, _c.capacity, _c.held_places, _c.free_places,
           _c.admitting, _c.not_admitting_reason)
    .where(_c.id == bindparam("id"))
    .with_for_update()
)

# Every column GroupPublic shows comes back from the UPDATE itself (no second read).
_UPDATE_GROUP = (
    update(_GROUPS)
    .where(_c.id == bindparam("b_id"))
    .values(free_places=bindparam("b_free_places"), admitting=bindparam("b_admitting"),
            not_admitting_reason=bindparam("b_not_admitting_reason"),
            expected_free_date=bindparam("b_expected_free_date"),
            waiting_list=bindparam("b_waiting_list"), reported_at=bindparam("b_reported_at"),
            reported_by=bindparam("b_reported_by"), version=_c.version + 1)
    .returning(*[c for c in _GROUPS.c if c.name != "reported_by"])
)

_FLOAT_FIELDS = ("weekly_roster_hours", "occupancy_norm", "day_tariff", "lat", "lon")


def group_public_json(row: Mapping[str, Any], *, reported_at: datetime | None,
                      stale_after_hours: float) -> dict[str, object]:
    """``to_public(group).model_dump(mode="json")`` built straight from a groups row, without
    two pydantic round trips (tests/backend/availability pin that both give the same JSON).
    Keys come in GroupPublic's order, values in the JSON form pydantic gives them."""
    free, held = row["free_places"], row["held_places"]
    data: dict[str, object] = {}
    for name in _PUBLIC_FIELDS:
        if name == "reason":
            data[name] = row["not_admitting_reason"]
        elif name == "net_free_places":
            data[name] = max(0, free - held)
        elif name == "stale":
            data[name] = reported_at is None or (
                utcnow() - reported_at > timedelta(hours=stale_after_hours))
        elif name == "reported_at":
            data[name] = None if reported_at is None else _json_datetime(reported_at)
        elif name == "expected_free_date":
            value = row[name]
            data[name] = None if value is None else value.isoformat()
        elif name in ("provider_name", "municipality_name"):
            data[name] = None
        elif name in _FLOAT_FIELDS:
            data[name] = float(row[name])
        elif name == "expertise":
            data[name] = list(row[name])
        else:
            data[name] = row[name]
    return data


_PUBLIC_FIELDS = tuple(GroupPublic.model_fields)


def _json_datetime(moment: datetime) -> str:
    # pydantic writes UTC as "Z"; everything stored is UTC (SQLite gives it back naive).
    moment = as_utc(moment)  # type: ignore[assignment]
    if moment.utcoffset() == timedelta(0):
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return moment.isoformat()
