"""The owner of a group's places: the only module that writes ``free_places``,
``held_places``, ``admitting``, the reason, ``reported_at`` and ``version`` (a test enforces it).

Every operation is one guarded ``UPDATE ... RETURNING`` on the group row, one event and one
audit row in the caller's transaction, and returns a ``PlaceChange``:

- ``report``: a provider's report of free places (with idempotent retries);
- ``claim``: hold one place that is free net of holds (a crisis hold, a proposal);
- ``release``: give a held place back;
- ``occupy``: a held place becomes an occupied one (free and held both go down);
- ``vacate``: an occupied place is free again (a placement ended);
- ``change_group``: any other change of the group row (roster, intensity), which still moves
  its version and reaches the live feed;
- ``follow_feed``, ``set_places_from_feed``, ``refresh_feed_groups``: a group whose provider
  chose so has its free places derived from the occupancy feed.

Free places that follow the feed (``places_from_feed``): free_places = max(held_places,
capacity - feed_present). Held places (crisis holds, open proposals, expected arrivals) stay
inside free_places as everywhere (the CHECK ``held_places <= free_places``), so open places are
capacity - present - held, never below zero; when the feed leaves fewer places free than are
held, the group is over-booked: free equals held, open is 0, and the screens warn. Every
operation below keeps that rule on the same row in the same statement: a release or an
occupied hold derives again, a capacity change derives again, the feed derives again after
every batch. A manual report on such a group may change admitting, its reason, the waiting list
and the expected date, but not the free places (``check_report``).

A claim is one conditional UPDATE (``held_places < free_places AND admitting``), so a batch run,
a single proposal and two crisis workers racing for the last bed never together hold more than
is free; the CHECK ``held_places <= free_places`` is the last line of defence.

On PostgreSQL a report is one statement (``_REPORT_PG``): lock, rules, update, counter, event,
audit row, idempotency answer and ``pg_notify``. Run on an autocommit session
(``Database.transaction(single_statement=True)``) it costs one round trip. The rules it checks
in its WHERE clause are ``check_report``'s: when it changes nothing, the row it read goes
through ``check_report`` for the same Dutch message.
"""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import ColumnElement, bindparam, case, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_access
from backend.availability.models import AvailabilityUpdate
from backend.db import Database
from backend.domain import utcnow
from backend.errors import Forbidden, NotFound, PreconditionFailed, RuleViolation
from backend.events.models import StoredEvent
from backend.events.service import NOTIFY_CHANNEL, append_event, deliver_after_commit
from backend.idempotency import Answer, check_key, claim_key, fingerprint, record_answer, replay
from backend.occupancy.models import OccupancyStay
from backend.providers.models import Group, group_public_json, group_public_sql, is_stale, json_datetime
from backend.regions.settings import region_stale_hours
from backend.users.models import Role

AVAILABILITY_CHANGED = "availability.changed"
AUDIT_ACTION = "availability.update"
AUDIT_PURPOSE = Purpose.availability_report
# The columns this module owns (tests/backend/availability/test_place_owner.py reads this).
PLACE_COLUMNS = (
    "free_places",
    "held_places",
    "admitting",
    "not_admitting_reason",
    "expected_free_date",
    "waiting_list",
    "reported_at",
    "reported_by",
    "version",
    "places_from_feed",
    "feed_present",
)
FEED_ACTION = "availability.feed"
FEED_MODE_ACTION = "availability.places_from_feed"


@dataclass(frozen=True)
class Notice:
    """What the caller says about a change: the event that announces it and the audit row
    that records it (``seq`` is added to the audit detail)."""

    event_type: str
    actor: Principal
    action: str
    object_type: str
    object_id: int | str
    purpose: Purpose
    detail: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # more of the event's payload
    # The youth records the audit row is about besides its object (a hold's referral).
    youth: tuple[str, ...] = ()
    # The region of the audit row's object when it is not the group's: a crisis hold belongs
    # to the holding team's region, also when the place is in another region.
    region_id: int | None = None


@dataclass(frozen=True)
class PlaceChange:
    group: dict[str, Any]  # GroupPublic in JSON form, as the live feed carries it
    seq: int
    version: int
    replayed: bool = False  # an earlier answer to the same Idempotency-Key


def open_places(
    group: Group,
    *,
    free_places: int,
    admitting: bool = True,
    reason: str | None = None,
    reported_at: datetime | None = None,
    reported: bool = True,
) -> None:
    """The places of a group that is being created (not yet stored: no event, no audit).
    ``reported=False``: a group from the register that its provider has not reported on yet."""
    group.free_places = free_places
    group.admitting = admitting
    group.not_admitting_reason = None if admitting else (reason or "Onbekend")
    group.reported_at = (reported_at or utcnow()) if reported else None


# --- the write every operation shares --------------------------------------------------------

_GROUPS = Group.__table__  # type: ignore[attr-defined]
_c = _GROUPS.c


def _guarded_update(*guard: ColumnElement[bool], **values: Any) -> Any:
    """An UPDATE of one group (``:group_id``) where ``guard`` holds, version + 1, returning
    the whole row; built once per operation (``b_``: SQLAlchemy reserves the column names)."""
    return (
        update(_GROUPS)
        .where(_c.id == bindparam("b_group_id"), *guard)
        .values(**values, version=_c.version + 1)
        .returning(*_GROUPS.c)
    )


def _apply(
    session: Session,
    statement: Any,
    params: dict[str, Any],
    notice: Notice,
    stale_after_hours: float,
    *,
    just_reported: bool = False,
) -> PlaceChange | None:
    """Run an operation's guarded UPDATE, then write its event and audit row. None when the
    guard refused the change: nothing is written.

    ``stale_after_hours`` is the service-wide value; the group's region may set its own. A
    report has just been made, so it is fresh whatever the region allows (every limit is above
    zero), and the busiest path skips reading the region's settings."""
    row = session.connection().execute(statement, params).one_or_none()
    if row is None:
        return None
    if not just_reported:
        stale_after_hours = region_stale_hours(session, row.region_id, stale_after_hours)
    return _announce(session, row._mapping, notice, stale_after_hours=stale_after_hours)


def _announce(session: Session, row: Any, notice: Notice, *, stale_after_hours: float) -> PlaceChange:
    public = group_public_json(row, stale_after_hours=stale_after_hours)
    seq = append_event(
        session=session,
        type=notice.event_type,
        payload={"group": public, **notice.extra},
        group_id=row["id"],
        provider_id=row["provider_id"],
        region_id=row["region_id"],
        actor=notice.actor.label,
    ).seq
    audit.record(
        session=session,
        actor=notice.actor,
        action=notice.action,
        object_type=notice.object_type,
        object_id=notice.object_id,
        purpose=notice.purpose,
        detail={**notice.detail, "seq": seq},
        youth=notice.youth,
        region_id=notice.region_id if notice.region_id is not None else row["region_id"],
    )
    # An ORM copy of the group in this session must not show the old places.
    if session.identity_map:  # (empty on the busiest path, the report)
        cached = session.identity_map.get(session.identity_key(Group, row["id"]))
        if cached is not None:
            session.expire(cached)
    return PlaceChange(group=public, seq=seq, version=row["version"])


# --- claims by crisis holds and proposals ----------------------------------------------------


def _derived(held: Any, present: Any, *, capacity: Any = None) -> Any:
    """Free places of a group that follows the feed: what the feed leaves free (capacity minus
    youths present), but never fewer than the places held (the CHECK), so never below zero."""
    room = (_c.capacity if capacity is None else capacity) - present
    return case((room > held, room), else_=held)


# A claim needs no rule of its own for a feed group: it holds one of the free places, which
# stay as the feed leaves them. A release or an occupied hold derives the free places again
# (an over-booked group's free places come down with its holds).
_CLAIM = _guarded_update(_c.admitting.is_(True), _c.held_places < _c.free_places, held_places=_c.held_places + 1)
_RELEASE = _guarded_update(
    _c.held_places > 0,
    held_places=_c.held_places - 1,
    free_places=case((_c.places_from_feed, _derived(_c.held_places - 1, _c.feed_present)), else_=_c.free_places),
)
# A feed group's free places are derived again here; the arriving youth counts once the feed
# records the admission (the placement's next step, or the provider's own system), which
# derives them once more, so the order of the two does not matter.
_OCCUPY = _guarded_update(
    _c.held_places > 0,
    _c.free_places > 0,
    held_places=_c.held_places - 1,
    free_places=case((_c.places_from_feed, _derived(_c.held_places - 1, _c.feed_present)), else_=_c.free_places - 1),
)


def claim(*, session: Session, group_id: int, notice: Notice, stale_after_hours: float) -> PlaceChange | None:
    """Hold one place if one is free net of holds and the group admits; None when it was just
    taken (or the group stopped admitting)."""
    return _apply(session, _CLAIM, {"b_group_id": group_id}, notice, stale_after_hours)


def release(*, session: Session, group_id: int, notice: Notice, stale_after_hours: float) -> PlaceChange | None:
    """Give a held place back; None when the group holds none (cannot happen while every
    claim goes through ``claim``)."""
    return _apply(session, _RELEASE, {"b_group_id": group_id}, notice, stale_after_hours)


def occupy(*, session: Session, group_id: int, notice: Notice, stale_after_hours: float) -> PlaceChange | None:
    """The held place becomes occupied: one place fewer free and one fewer held, atomically."""
    return _apply(session, _OCCUPY, {"b_group_id": group_id}, notice, stale_after_hours)


# A feed group took its free places from the discharge itself (``follow_feed``): nothing to do.
_VACATE = _guarded_update(~_c.places_from_feed, _c.free_places < _c.capacity, free_places=_c.free_places + 1)


def vacate(*, session: Session, group_id: int, notice: Notice, stale_after_hours: float) -> PlaceChange | None:
    """A youth placed through plekwijzer left (discharge, transfer): the place ``occupy`` took
    is free again. None when the group already reports all its places free (the provider
    reported the departure itself, or its places follow the feed): nothing is written then."""
    return _apply(session, _VACATE, {"b_group_id": group_id}, notice, stale_after_hours)


def unreported_places() -> dict[str, Any]:
    """The place columns of a group created in bulk from the register: nothing reported yet
    (the screens show it as stale until its provider reports)."""
    return {
        "free_places": 0,
        "held_places": 0,
        "admitting": True,
        "not_admitting_reason": None,
        "expected_free_date": None,
        "waiting_list": None,
        "reported_at": None,
        "reported_by": None,
        "version": 1,
        "places_from_feed": False,
        "feed_present": 0,
    }


def seed(
    *,
    session: Session,
    group_id: int,
    free_places: int,
    admitting: bool,
    reason: str | None,
    reported_at: datetime,
    notice: Notice,
    stale_after_hours: float,
) -> PlaceChange:
    """Places as a provider reported them at ``reported_at``, in the past: how the demo gives
    the groups it imported a history of reports (some fresh, some stale)."""
    statement = _guarded_update(
        free_places=free_places,
        admitting=admitting,
        not_admitting_reason=None if admitting else (reason or "Onbekend"),
        reported_at=reported_at,
    )
    change = _apply(session, statement, {"b_group_id": group_id}, notice, stale_after_hours)
    if change is None:
        raise NotFound("Groep niet gevonden.")
    return change


def change_group(
    *, session: Session, group_id: int, values: dict[str, Any], notice: Notice, stale_after_hours: float
) -> PlaceChange:
    """Any other change of the group row: its version moves and the live feed shows it."""
    if set(values) & set(PLACE_COLUMNS):
        raise ValueError("places change through report, claim, release or occupy")
    places: dict[str, Any] = {}
    if "capacity" in values:
        # Contracted places are part of the rule: a feed group's free places follow at once
        # (SET reads the row as it was, so the new capacity is passed in).
        places["free_places"] = case(
            (_c.places_from_feed, _derived(_c.held_places, _c.feed_present, capacity=values["capacity"])),
            else_=_c.free_places,
        )
    change = _apply(session, _guarded_update(**values, **places), {"b_group_id": group_id}, notice, stale_after_hours)
    if change is None:
        raise NotFound("Groep niet gevonden.")
    return change


# --- places that follow the occupancy feed ----------------------------------------------------

FEED_NAME = "bezettingsfeed"

# After a feed batch: the youths present now, the free places derived from them, and the group
# is fresh (the feed is a report). Only groups that follow the feed match the guard.
_FOLLOW = _guarded_update(
    _c.places_from_feed.is_(True),
    feed_present=bindparam("b_present"),
    free_places=_derived(_c.held_places, bindparam("b_present")),
    reported_at=bindparam("b_now"),
    reported_by=bindparam("b_by"),
)
# The periodic repair: the same rule, but nothing was reported (the group keeps its age).
_REDERIVE = _guarded_update(
    _c.places_from_feed.is_(True),
    feed_present=bindparam("b_present"),
    free_places=_derived(_c.held_places, bindparam("b_present")),
)


def _feed_principal(actor: str | None = None) -> Principal:
    # The batch's sender is in the name, so the event and the audit row say whose feed it was.
    name = f"{FEED_NAME} ({actor})" if actor else FEED_NAME
    return Principal(kind="system", id=0, name=name[:120], role="system", provider_id=None)


def present_now(session: Session, group_ids: list[int]) -> dict[int, int]:
    """Youths present now according to the feed (open stays), per group (0 when none)."""
    counts = dict.fromkeys(group_ids, 0)
    if group_ids:
        stays = OccupancyStay.__table__  # type: ignore[attr-defined]
        for group_id, count in session.connection().execute(
            select(stays.c.group_id, func.count())
            .where(stays.c.group_id.in_(group_ids), stays.c.discharged_at.is_(None))
            .group_by(stays.c.group_id)
        ):
            counts[int(group_id)] = int(count)
    return counts


def follow_feed(*, session: Session, present: dict[int, int], actor: str) -> list[PlaceChange]:
    """After a feed batch (called once per batch with every group it touched and the youths
    present in each now): the groups that follow the feed take their free places from it in the
    batch's transaction, each announced as a report is (``availability.changed``) and audited.
    Groups reported by hand are left as they are."""
    ids = sorted(present)
    if not ids:
        return []
    following = (
        session.connection()
        .execute(select(_c.id).where(_c.id.in_(ids), _c.places_from_feed.is_(True)).order_by(_c.id))
        .all()
    )
    principal = _feed_principal(actor)
    now = utcnow()
    changes = []
    for (group_id,) in following:
        change = _apply(
            session,
            _FOLLOW,
            {"b_group_id": group_id, "b_present": present[group_id], "b_now": now, "b_by": principal.label[:120]},
            Notice(
                AVAILABILITY_CHANGED,
                principal,
                FEED_ACTION,
                "group",
                group_id,
                Purpose.occupancy_feed,
                detail={"feed_present": present[group_id]},
                extra={"source": "feed"},
            ),
            1.0,  # just reported: fresh under any region's limit
            just_reported=True,
        )
        if change is not None:
            changes.append(change)
    return changes


def set_places_from_feed(
    *, session: Session, principal: Principal, group_id: int, follow: bool, stale_after_hours: float
) -> PlaceChange:
    """The provider (its own groups) or the region's administrator chooses whether the group's
    free places follow the occupancy feed. Switched on, they are derived at once from the
    youths present now; switched off, they stay as they are until the provider reports."""
    current = session.connection().execute(_LOCK_GROUP, {"id": group_id}).one_or_none()
    if current is None:
        raise NotFound("Groep niet gevonden.")
    ensure_access(principal, provider_id=current.provider_id, region_id=current.region_id)
    if principal.role not in (Role.provider, Role.admin):
        raise Forbidden(
            "Alleen de aanbieder of de beheerder van de regio kiest of een groep de bezettingsfeed volgt.",
            code="role_forbidden",
        )
    before = {"places_from_feed": current.places_from_feed, "free_places": current.free_places}
    if follow:
        present = present_now(session, [group_id])[group_id]
        statement = _guarded_update(
            places_from_feed=True,
            feed_present=present,
            free_places=_derived(_c.held_places, present),
            reported_at=utcnow(),
            reported_by=principal.label[:120],
        )
        just_reported = True
    else:
        statement = _guarded_update(places_from_feed=False)
        just_reported = False
    change = _apply(
        session,
        statement,
        {"b_group_id": group_id},
        Notice(
            AVAILABILITY_CHANGED,
            principal,
            FEED_MODE_ACTION,
            "group",
            group_id,
            AUDIT_PURPOSE,
            detail={"before": before},
        ),
        stale_after_hours,
        just_reported=just_reported,
    )
    assert change is not None  # locked above
    return change


def refresh_feed_groups(db: Database) -> int:
    """Periodic (and after the demo): every group that follows the feed is derived again from
    the stays, so a change the batches did not announce (a stay loaded in bulk, a repair in the
    database) and the turn of the day reach the free places. Returns how many groups moved."""
    with db.transaction(write=False) as session:
        rows = (
            session.connection()
            .execute(
                select(_c.id, _c.capacity, _c.held_places, _c.free_places, _c.feed_present).where(
                    _c.places_from_feed.is_(True)
                )
            )
            .all()
        )
        present = present_now(session, [r.id for r in rows])
    behind = [
        r.id
        for r in rows
        if r.feed_present != present[r.id] or r.free_places != max(r.held_places, r.capacity - present[r.id])
    ]
    principal = _feed_principal()
    for group_id in behind:
        with db.transaction() as session:
            # Counted again under the lock: a batch may have come in since the read above.
            session.connection().execute(_LOCK_GROUP, {"id": group_id})
            now_present = present_now(session, [group_id])[group_id]
            _apply(
                session,
                _REDERIVE,
                {"b_group_id": group_id, "b_present": now_present},
                Notice(
                    AVAILABILITY_CHANGED,
                    principal,
                    FEED_ACTION,
                    "group",
                    group_id,
                    Purpose.occupancy_feed,
                    detail={"feed_present": now_present, "repair": True},
                    extra={"source": "feed"},
                ),
                db.settings.stale_after_hours,
            )
    return len(behind)


# --- reports -----------------------------------------------------------------------------------


def check_report(
    *,
    principal: Principal,
    report: AvailabilityUpdate,
    expected_version: int | None,
    provider_id: int,
    region_id: int | None,
    version: int,
    capacity: int,
    held_places: int,
    free_places: int = 0,
    places_from_feed: bool = False,
) -> None:
    """The rules a report must pass against the group as it is now (locked); each failure
    raises with a message for the planner."""
    ensure_access(principal, provider_id=provider_id, region_id=region_id)
    if expected_version is not None and expected_version != version:
        raise PreconditionFailed(
            f"De gegevens van deze groep zijn intussen gewijzigd (nu versie {version}, "
            f"u had versie {expected_version}). Laad de groep opnieuw en probeer het nog eens.",
            extra={"current_version": version},
        )
    if places_from_feed and report.free_places != free_places:
        # The feed decides the free places; admitting, its reason, the waiting list and the
        # expected date stay the provider's to report (with the free places as they are).
        raise RuleViolation(
            f"De vrije plaatsen van deze groep volgen de bezettingsfeed (nu {free_places} vrij: de "
            "gecontracteerde plaatsen min de aanwezige jeugdigen). U kunt hier melden of de groep "
            "plaatst, niet het aantal vrije plaatsen; zet 'Automatisch uit de bezettingsfeed' "
            "uit om zelf vrije plaatsen te melden.",
            code="free_places_from_feed",
            extra={"free_places": free_places},
        )
    if report.free_places > capacity:
        raise RuleViolation(
            f"Vrije plaatsen ({report.free_places}) kan niet meer zijn dan de capaciteit van de groep ({capacity}).",
            code="free_places_above_capacity",
        )
    held = held_places
    if report.free_places < held:
        raise RuleViolation(
            f"Er {'is' if held == 1 else 'zijn'} {held} "
            f"{'plaats' if held == 1 else 'plaatsen'} vastgehouden voor een crisisplaatsing "
            f"of plaatsingsvoorstel; meld minstens {held} vrij, of wijs de claim eerst af.",
            code="free_places_below_held",
        )


def report(
    *,
    session: Session,
    principal: Principal,
    group_id: int,
    report: AvailabilityUpdate,
    expected_version: int | None,
    stale_after_hours: float,
    idempotency_key: str | None = None,
    path: str = "",
) -> PlaceChange:
    """Store a provider's report. With an ``idempotency_key`` a retry gets the first answer
    (``replayed``), and the same key with another body is refused."""
    body_hash = None
    if idempotency_key is not None:
        check_key(idempotency_key)
        body_hash = fingerprint("PUT", path, report.model_dump(mode="json"))
    if session.get_bind().dialect.name == "postgresql":
        return _report_pg(
            session=session,
            principal=principal,
            group_id=group_id,
            report=report,
            expected_version=expected_version,
            stale_after_hours=stale_after_hours,
            key=idempotency_key,
            body_hash=body_hash,
            path=path,
        )
    conn = session.connection()
    claimed = None
    if idempotency_key is not None:
        assert body_hash is not None
        claimed = claim_key(
            conn, owner=principal.label, key=idempotency_key, method="PUT", path=path, body_hash=body_hash
        )
        if isinstance(claimed, Answer):
            return _replayed(claimed)
    # The transaction began with BEGIN IMMEDIATE: reports queue up, so none is lost and each
    # gets the next version.
    current = conn.execute(_LOCK_GROUP, {"id": group_id}).one_or_none()
    if current is None:
        raise NotFound("Groep niet gevonden.")
    check_report(
        principal=principal,
        report=report,
        expected_version=expected_version,
        provider_id=current.provider_id,
        region_id=current.region_id,
        version=current.version,
        capacity=current.capacity,
        held_places=current.held_places,
        free_places=current.free_places,
        places_from_feed=current.places_from_feed,
    )
    before = {
        "free_places": current.free_places,
        "admitting": current.admitting,
        "reason": current.not_admitting_reason,
        "version": current.version,
    }
    after = {
        "free_places": report.free_places,
        "admitting": report.admitting,
        "reason": None if report.admitting else report.reason,
        "version": current.version + 1,
    }
    change = _apply(
        session,
        _REPORT,
        {
            "b_group_id": group_id,
            "b_free_places": report.free_places,
            "b_admitting": report.admitting,
            "b_reason": after["reason"],
            "b_expected_free_date": report.expected_free_date,
            "b_waiting_list": report.waiting_list,
            "b_reported_at": utcnow(),
            "b_reported_by": principal.label,
        },
        Notice(
            AVAILABILITY_CHANGED,
            principal,
            AUDIT_ACTION,
            "group",
            group_id,
            AUDIT_PURPOSE,
            detail={"before": before, "after": after},
        ),
        stale_after_hours,
        just_reported=True,
    )
    assert change is not None  # locked and checked above
    if isinstance(claimed, int):
        record_answer(conn, claim_id=claimed, status=200, body=change.group, headers=_headers(change))
    return change


def _headers(change: PlaceChange) -> dict[str, str]:
    return {"ETag": f'"{change.version}"', "X-Event-Seq": str(change.seq)}


def _replayed(answer: Answer) -> PlaceChange:
    return PlaceChange(
        group=answer.body,
        seq=int(answer.headers["X-Event-Seq"]),
        version=int(answer.headers["ETag"].strip('"')),
        replayed=True,
    )


def _report_pg(
    *,
    session: Session,
    principal: Principal,
    group_id: int,
    report: AvailabilityUpdate,
    expected_version: int | None,
    stale_after_hours: float,
    key: str | None,
    body_hash: str | None,
    path: str,
) -> PlaceChange:
    reported_at = utcnow()
    params = {
        "key": key,
        "actor": principal.label,
        "group_id": group_id,
        "own_provider_id": principal.provider_id if principal.role == Role.provider else None,
        "own_region_id": principal.region_scope,
        "expected_version": expected_version,
        "free_places": report.free_places,
        "admitting": report.admitting,
        "reason": None if report.admitting else report.reason,
        "expected_free_date": report.expected_free_date,
        "waiting_list": report.waiting_list,
        "reported_at": reported_at,
        "reported_at_json": json_datetime(reported_at),
        "stale": is_stale(reported_at, stale_after_hours=stale_after_hours),
        "type": AVAILABILITY_CHANGED,
        "at": reported_at,
        "actor_role": principal.role,
        "action": AUDIT_ACTION,
        "purpose": AUDIT_PURPOSE.value,
        "path": path,
        "body_hash": body_hash,
    }
    conn = session.connection()
    try:
        # On an autocommit session a failed statement leaves nothing to undo; in a transaction
        # the savepoint keeps the transaction usable for the replay.
        with nullcontext() if _autocommit(conn) else conn.begin_nested():
            row = conn.execute(_REPORT_PG, params).one()
    except IntegrityError as exc:
        if not isinstance(exc.orig, psycopg.errors.UniqueViolation) or key is None:
            raise
        # A concurrent request with the same key committed first: answer as it did.
        return _replayed(replay(conn, owner=principal.label, key=key, body_hash=body_hash or ""))
    if row.dup_body_hash is not None:
        return _replayed(
            Answer.check(row.dup_body_hash, row.dup_status_code, row.dup_response, row.dup_headers, body_hash or "")
        )
    if row.seq is None:
        if row.old_provider_id is None:
            raise NotFound("Groep niet gevonden.")
        check_report(
            principal=principal,
            report=report,
            expected_version=expected_version,
            provider_id=row.old_provider_id,
            # "old" found the group only in the caller's own region (or any, for a caller bound
            # to none): its region is the caller's scope.
            region_id=principal.region_scope,
            version=row.old_version,
            capacity=row.old_capacity,
            held_places=row.old_held_places,
            free_places=row.old_free_places,
            places_from_feed=row.old_from_feed,
        )
        raise RuntimeError("availability report refused by the database for no known rule")
    public = json.loads(row.body)
    deliver_after_commit(
        session,
        StoredEvent(
            seq=row.seq,
            type=AVAILABILITY_CHANGED,
            at=reported_at,
            region_id=public["region_id"],
            provider_id=public["provider_id"],
            group_id=group_id,
            actor=principal.label,
            payload={"group": public},
        ),
    )
    return PlaceChange(group=public, seq=row.seq, version=row.version)


def _compact(sql: str) -> str:
    """One line without the spaces around commas, brackets and "=" (none of the statement's
    string literals holds one): psycopg caches the parsing of statements up to 4 kB only."""
    return re.sub(r" ?([,()=]) ?", r"\1", " ".join(sql.split()))


def _autocommit(conn: Any) -> bool:
    return bool(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")


# Each WITH clause depends on the one before, so nothing is written unless every step went
# through: "dup" finds an answered retry (then nothing else runs), "old" locks the group (FOR
# UPDATE gives the latest committed row), "upd" writes only when check_report's rules hold, and
# the counter, event, audit row and idempotency answer follow from "upd". pg_notify wakes the
# other API processes at commit. Data-modifying WITH clauses share one snapshot; under READ
# COMMITTED the UPDATE re-reads the row "old" locked, so "before" and "after" are consecutive.
_REPORT_PG = text(
    _compact(
        f"""
WITH dup AS (
    SELECT body_hash, status_code, response, headers FROM idempotency_records
    WHERE CAST(:key AS text) IS NOT NULL AND principal = :actor AND key = :key
), old AS (
    SELECT id, provider_id, version, capacity, held_places, free_places, admitting,
           not_admitting_reason, places_from_feed
    FROM groups WHERE id = :group_id AND NOT EXISTS (SELECT 1 FROM dup)
      AND region_id = COALESCE(CAST(:own_region_id AS integer), region_id)
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
      AND (:free_places = old.free_places OR NOT old.places_from_feed)
    RETURNING g.*
), c AS (
    UPDATE event_counter SET last_seq = last_seq + 1
    WHERE id = 1 AND EXISTS (SELECT 1 FROM upd) RETURNING last_seq AS seq
), pub AS (
    SELECT c.seq, upd.id, upd.version, upd.provider_id, upd.region_id, upd.free_places,
           upd.admitting, upd.not_admitting_reason, {group_public_sql("upd")} AS body
    FROM upd, c
), e AS (
    INSERT INTO events (seq, type, at, region_id, provider_id, group_id, actor, payload)
    SELECT seq, :type, :at, region_id, provider_id, id, :actor, json_build_object('group', body)
    FROM pub
), a AS (
    INSERT INTO audit_log (at, actor, actor_role, action, object_type, object_id, purpose,
                           region_id, detail)
    SELECT :at, :actor, :actor_role, :action, 'group', CAST(pub.id AS text), :purpose,
           pub.region_id,
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
       old.free_places AS old_free_places, old.places_from_feed AS old_from_feed,
       pub.seq, pub.version, CAST(pub.body AS text) AS body,
       CASE WHEN pub.seq IS NOT NULL THEN pg_notify('{NOTIFY_CHANNEL}', pub.seq::text) END
FROM (SELECT 1) AS one
LEFT JOIN dup ON true LEFT JOIN old ON true LEFT JOIN pub ON true
"""
    )
)  # one line: psycopg caches the parsing of statements up to 4 kB (a test pins it)

_REPORT = _guarded_update(
    **{
        name: bindparam(f"b_{column}")
        for name, column in (
            ("free_places", "free_places"),
            ("admitting", "admitting"),
            ("not_admitting_reason", "reason"),
            ("expected_free_date", "expected_free_date"),
            ("waiting_list", "waiting_list"),
            ("reported_at", "reported_at"),
            ("reported_by", "reported_by"),
        )
    }
)

# Only what the checks and the audit row's "before" need.
_LOCK_GROUP = (
    select(
        _c.provider_id,
        _c.region_id,
        _c.version,
        _c.capacity,
        _c.held_places,
        _c.free_places,
        _c.admitting,
        _c.not_admitting_reason,
        _c.places_from_feed,
    )
    .where(_c.id == bindparam("id"))
    .with_for_update()
)
