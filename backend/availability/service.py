"""Reporting availability: the new state, an event and an audit row in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import psycopg
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, RowMapping, bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from backend.audit import service as audit
from backend.auth import Principal, ensure_provider_access
from backend.availability.models import AvailabilityUpdate
from backend.domain import as_utc, utcnow
from backend.errors import NotFound, PreconditionFailed, RuleViolation
from backend.events.models import StoredEvent
from backend.events.service import (
    NOTIFY_CHANNEL,
    append_event,
    append_event_core,
    deliver_committed,
)
from backend.idempotency import check_key, fingerprint, replay, replay_stored
from backend.providers.models import Group, GroupPublic
from backend.providers.service import to_public
from backend.users.models import Role

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


def check_report(*, principal: Principal, report: AvailabilityUpdate,
                 expected_version: int | None, provider_id: int, version: int, capacity: int,
                 held_places: int) -> None:
    """The rules a report must pass against the group as it is now (locked); each failure
    raises with a message for the planner. Both storage paths below use these."""
    ensure_provider_access(principal, provider_id)
    if expected_version is not None and expected_version != version:
        raise PreconditionFailed(
            f"De gegevens van deze groep zijn intussen gewijzigd (nu versie {version}, "
            f"u had versie {expected_version}). Laad de groep opnieuw en probeer het nog eens.",
            extra={"current_version": version},
        )
    held = held_places
    if report.free_places > capacity:
        raise RuleViolation(
            f"Vrije plaatsen ({report.free_places}) kan niet meer zijn dan de capaciteit van "
            f"de groep ({capacity}).",
            code="free_places_above_capacity",
        )
    if report.free_places < held:
        raise RuleViolation(
            f"Er {'is' if held == 1 else 'zijn'} {held} "
            f"{'plaats' if held == 1 else 'plaatsen'} vastgehouden voor een crisisplaatsing "
            f"of plaatsingsvoorstel; meld minstens {held} vrij, of wijs de claim eerst af.",
            code="free_places_below_held",
        )


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
    and the event's sequence number. The embedded (SQLite) path; PostgreSQL uses
    ``report_availability_pg``, which does the same in one statement.

    This is the busiest write of the service, so it uses plain SQL statements on the session's
    connection instead of the ORM unit of work: lock and read the few columns the checks need,
    one ``UPDATE ... RETURNING`` for the new state, the counter, the event and the audit row.
    The JSON for the response, the event and the audit row is built once from the returned row.
    It commits or rolls back with the request's transaction like every other write.
    """
    conn = session.connection()
    # The transaction began with BEGIN IMMEDIATE (and row locks on other databases): reports
    # queue up, so none is lost and each gets the next version.
    current = conn.execute(_LOCK_GROUP, {"id": group_id}).one_or_none()
    if current is None:
        raise NotFound("Groep niet gevonden.")
    check_report(principal=principal, report=report, expected_version=expected_version,
                 provider_id=current.provider_id, version=current.version,
                 capacity=current.capacity, held_places=current.held_places)
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


def report_availability_pg(
    *,
    conn: Connection,
    principal: Principal,
    group_id: int,
    report: AvailabilityUpdate,
    expected_version: int | None,
    stale_after_hours: float,
    idempotency_key: str | None,
    path: str,
) -> JSONResponse:
    """``report_availability`` and its idempotency on PostgreSQL, as one statement on an
    autocommit connection: the statement is its own transaction, so a report costs one round
    trip instead of eight (begin, claim, lock, update, event, answer, commit). Every round
    trip costs this process CPU time, and this is the write that providers' systems send most.

    The checks are in the statement's WHERE clause; when it changes nothing, the row it read
    tells which rule failed and ``check_report`` raises with the same message as elsewhere.
    The idempotency record is written with the answer at the end of the statement; a
    concurrent request with the same key waits on its unique index, fails, and (everything it
    did undone) replays the answer of the one that committed first.
    """
    body_hash = None
    if idempotency_key is not None:
        check_key(idempotency_key)
        body_hash = fingerprint("PUT", path, report.model_dump(mode="json"))
    reported_at = utcnow()
    params = {
        "key": idempotency_key, "actor": principal.label, "group_id": group_id,
        "own_provider_id": principal.provider_id if principal.role == Role.provider else None,
        "expected_version": expected_version, "free_places": report.free_places,
        "admitting": report.admitting, "reason": None if report.admitting else report.reason,
        "expected_free_date": report.expected_free_date, "waiting_list": report.waiting_list,
        "reported_at": reported_at, "reported_at_json": _json_datetime(reported_at),
        "stale": utcnow() - reported_at > timedelta(hours=stale_after_hours),
        "type": AVAILABILITY_CHANGED,
        "at": reported_at, "actor_role": principal.role, "action": AUDIT_ACTION,
        "purpose": AUDIT_PURPOSE, "path": path, "body_hash": body_hash,
    }
    try:
        row = conn.execute(_REPORT_PG, params).one()
    except IntegrityError as exc:
        if not isinstance(exc.orig, psycopg.errors.UniqueViolation) or idempotency_key is None:
            raise
        return replay_stored(conn, owner=principal.label, key=idempotency_key,
                             body_hash=body_hash or "")
    if row.dup_body_hash is not None:
        return replay(row.dup_body_hash, row.dup_status_code, row.dup_response,
                      row.dup_headers, body_hash or "")
    if row.seq is None:
        if row.old_provider_id is None:
            raise NotFound("Groep niet gevonden.")
        check_report(principal=principal, report=report, expected_version=expected_version,
                     provider_id=row.old_provider_id, version=row.old_version,
                     capacity=row.old_capacity, held_places=row.old_held_places)
        raise RuntimeError("availability report refused by the database for no known rule")
    public = json.loads(row.body)
    event = StoredEvent(seq=row.seq, type=AVAILABILITY_CHANGED, at=reported_at,
                        region_id=public["region_id"], provider_id=public["provider_id"],
                        group_id=group_id, actor=principal.label, payload={"group": public})
    deliver_committed(event)  # autocommit: stored and visible to everyone already
    # Written out again (compact, as a replay of it will be), not PostgreSQL's spaced text.
    return JSONResponse(public, headers={"ETag": f'"{row.version}"', "X-Event-Seq": str(row.seq)})


def _public_json_sql(row: str) -> str:
    """GroupPublic's JSON (its keys in order) from a groups row called ``row``: the same
    mapping as ``group_public_json`` below (tests pin that both give the same JSON)."""
    columns = []
    for name in _PUBLIC_FIELDS:
        if name == "reason":
            expr = f"{row}.not_admitting_reason AS reason"
        elif name == "net_free_places":
            expr = f"GREATEST(0,{row}.free_places-{row}.held_places) AS net_free_places"
        elif name == "stale":
            expr = "CAST(:stale AS boolean) AS stale"
        elif name == "reported_at":
            expr = "CAST(:reported_at_json AS text) AS reported_at"
        elif name in ("provider_name", "municipality_name"):
            expr = f"CAST(NULL AS text) AS {name}"
        elif name in _FLOAT_FIELDS:
            # PostgreSQL writes a whole float8 as "220", Python as "220.0": keep the type.
            expr = f"regexp_replace({row}.{name}::text,'^(-?[0-9]+)$','\\1.0')::json AS {name}"
        else:
            expr = f"{row}.{name}"
        columns.append(expr)
    return f"(SELECT row_to_json(p) FROM (SELECT {','.join(columns)}) AS p)"


_PUBLIC_FIELDS = tuple(GroupPublic.model_fields)
_FLOAT_FIELDS = ("weekly_roster_hours", "occupancy_norm", "day_tariff", "lat", "lon")

# Each WITH clause depends on the one before, so nothing is written unless every step went
# through: "dup" finds an answered retry (then nothing else runs), "old" locks the group (FOR
# UPDATE gives the latest committed row), "upd" writes only when the rules hold, and the
# counter, event, audit row and idempotency answer follow from "upd". pg_notify wakes the other
# API processes at commit. Data-modifying WITH clauses share one snapshot; under READ COMMITTED
# the UPDATE re-reads the row "old" locked, so "before" and "after" are consecutive versions.
_REPORT_PG = text(" ".join(f"""
WITH dup AS (
    SELECT body_hash, status_code, response, headers FROM idempotency_records
    WHERE CAST(:key AS text) IS NOT NULL AND principal = :actor AND key = :key
), old AS (
    SELECT id, provider_id, version, capacity, held_places, free_places, admitting,
           not_admitting_reason
    FROM groups WHERE id = :group_id AND NOT EXISTS (SELECT 1 FROM dup)
    FOR UPDATE
), upd AS (
    UPDATE groups AS g
    SET free_places = :free_places, admitting = :admitting, not_admitting_reason = :reason,
        expected_free_date = :expected_free_date, waiting_list = :waiting_list,
        reported_at = :reported_at, reported_by = :actor, version = g.version + 1
    FROM old
    WHERE g.id = old.id
      AND (CAST(:own_provider_id AS integer) IS NULL OR old.provider_id = :own_provider_id)
      AND (CAST(:expected_version AS integer) IS NULL OR old.version = :expected_version)
      AND :free_places <= old.capacity AND :free_places >= old.held_places
    RETURNING g.*
), c AS (
    UPDATE event_counter SET last_seq = last_seq + 1
    WHERE id = 1 AND EXISTS (SELECT 1 FROM upd) RETURNING last_seq AS seq
), pub AS (
    SELECT c.seq, upd.id, upd.version, upd.provider_id, upd.region_id, upd.free_places,
           upd.admitting, upd.not_admitting_reason, {_public_json_sql("upd")} AS body
    FROM upd, c
), e AS (
    INSERT INTO events (seq, type, at, region_id, provider_id, group_id, actor, payload)
    SELECT seq, :type, :at, region_id, provider_id, id, :actor, json_build_object('group', body)
    FROM pub
), a AS (
    INSERT INTO audit_log (at, actor, actor_role, action, object_type, object_id, purpose,
                           detail)
    SELECT :at, :actor, :actor_role, :action, 'group', CAST(pub.id AS text), :purpose,
           json_build_object(
               'before', json_build_object('free_places', old.free_places,
                                           'admitting', old.admitting,
                                           'reason', old.not_admitting_reason,
                                           'version', old.version),
               'after', json_build_object('free_places', pub.free_places,
                                          'admitting', pub.admitting,
                                          'reason', pub.not_admitting_reason,
                                          'version', pub.version),
               'seq', pub.seq)
    FROM pub, old
), i AS (
    INSERT INTO idempotency_records (principal, key, method, path, body_hash, status_code,
                                     response, headers, created_at)
    SELECT :actor, :key, 'PUT', :path, :body_hash, 200, json_build_object('body', body),
           json_build_object('ETag', '"' || version || '"', 'X-Event-Seq', seq::text), :at
    FROM pub WHERE CAST(:key AS text) IS NOT NULL
)
SELECT dup.body_hash AS dup_body_hash, dup.status_code AS dup_status_code,
       dup.response AS dup_response, dup.headers AS dup_headers,
       old.provider_id AS old_provider_id, old.version AS old_version,
       old.capacity AS old_capacity, old.held_places AS old_held_places,
       pub.seq, pub.version, CAST(pub.body AS text) AS body,
       CASE WHEN pub.seq IS NOT NULL THEN pg_notify('{NOTIFY_CHANNEL}', pub.seq::text) END
FROM (SELECT 1) AS one
LEFT JOIN dup ON true LEFT JOIN old ON true LEFT JOIN pub ON true
""".split()))  # one line: psycopg caches the parsing of statements up to 4 kB


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

def group_public_json(row: Mapping[str, Any] | RowMapping, *, reported_at: datetime | None,
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


def _json_datetime(moment: datetime) -> str:
    # pydantic writes UTC as "Z"; everything stored is UTC (SQLite gives it back naive).
    moment = as_utc(moment)  # type: ignore[assignment]
    if moment.utcoffset() == timedelta(0):
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return moment.isoformat()
