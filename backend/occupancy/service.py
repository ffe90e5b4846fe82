"""Taking in occupancy events and censuses, and the present occupancy of groups.

A batch is applied as a whole: per group, in time order, against the group's stored stays
(the rules are in ``backend/occupancy/settle.py``). Each event is accepted, ignored as a
duplicate (the same provider sent the same event id before) or refused with a Dutch reason;
refusals do not stop the rest. The groups a batch touches are locked (in id order, so two
batches never wait on each other crosswise) before anything is read, so two concurrent batches
cannot both put a youth in the last bed.

The database work does not grow with the number of checks: one look-up of the event ids seen
before, one of the stays that can matter (open, or ended after the earliest moment the batch
touches), one of the events that cancellations name; then multi-row inserts of the events and
the new stays, one executemany for the changed stays, one announcement per group and one audit
row per batch. A year of history for 500 groups loads in a few requests.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ARRAY, Connection, any_, bindparam, delete, func, or_, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.availability import service as places
from backend.domain import as_utc, utcnow
from backend.errors import DomainError, NotFound, RuleViolation
from backend.events.service import append_event, append_events
from backend.occupancy import hooks
from backend.occupancy.models import (
    ADMISSION,
    CANCEL,
    DISCHARGE,
    BatchResult,
    CensusBatchResult,
    CensusIn,
    CensusResult,
    EventResult,
    OccupancyCensus,
    OccupancyEvent,
    OccupancyEventIn,
    OccupancyStay,
    valid_region_code,
)
from backend.occupancy.settle import DUTCH_TIME as DUTCH_TIME  # (reports take it from here)
from backend.occupancy.settle import Item, Settlement, Stay, Target, settle
from backend.providers.models import Group
from backend.regions.models import Region

log = logging.getLogger(__name__)

# Provider clocks drift a little; a moment this far ahead of ours is still "now", not future.
CLOCK_SKEW = timedelta(minutes=5)
OCCUPANCY_CHANGED = "occupancy.changed"
# Values per IN list: well below the parameter limits of SQLite (32,766) and PostgreSQL (65,535).
_CHUNK = 5000
# Groups whose earliest touched moments lie this close together share one look-up of stays.
_STAY_WINDOW = timedelta(days=31)

_EVENTS = OccupancyEvent.__table__  # type: ignore[attr-defined]
_STAYS = OccupancyStay.__table__  # type: ignore[attr-defined]
_END_STAY = (
    update(_STAYS)
    .where(_STAYS.c.id == bindparam("b_id"))
    .values(discharged_at=bindparam("b_at"), discharge_day=bindparam("b_day"), discharge_event=bindparam("b_event"))
)

# Ids for a batch's events in one round trip (one row holding an array).
_NEXT_EVENT_IDS = text(
    "SELECT array_agg(nextval(pg_get_serial_sequence('occupancy_events', 'id'))) FROM generate_series(1, :n)"
)

T = TypeVar("T")


def _may_touch(principal: Principal, group: Group) -> bool:
    """The provider's own groups, in the caller's own region (``ensure_access`` as a test, so a
    batch refuses the one event and goes on with the rest)."""
    return principal.may_see_provider(group.provider_id) and principal.may_see_region(group.region_id)


def local_day(moment: datetime) -> date:
    """The calendar day of a moment in Dutch local time (where the night is slept)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(DUTCH_TIME).date()


def input_moment(moment: datetime) -> datetime:
    """A moment sent without a time zone is Dutch local time (what provider systems record)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=DUTCH_TIME)


def today() -> date:
    return local_day(utcnow())


def _system_principal(source: str) -> Principal:
    return Principal(kind="system", id=0, name=source[:60], role="admin", provider_id=None)


def _chunks(values: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _parts(conn: Connection, values: Sequence[T]) -> Iterator[Sequence[T]]:
    """The values in pieces for ``_one_of``: all at once on PostgreSQL (one array parameter)."""
    return iter([values] if _is_postgresql(conn) and values else _chunks(values))


def _one_of(conn: Connection, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter instead of thousands,
    which the driver would otherwise have to find in a long statement text."""
    if _is_postgresql(conn):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


# --- one batch ---------------------------------------------------------------------------------


def _item(index: int, event: OccupancyEventIn, now: datetime) -> Item:
    """The event as the settling sees it; an event that is wrong on its own carries its refusal."""
    aware = input_moment(event.at)
    item = Item(
        index=index,
        event_id=event.event_id,
        kind=event.kind,
        at=aware.astimezone(UTC),
        ref=event.stay_reference,
        origin=event.origin_region_code,
        cancels=event.cancels_event_id,
    )
    if aware > now + CLOCK_SKEW:
        item.error = RuleViolation(
            f"Het tijdstip {aware.astimezone(DUTCH_TIME):%d-%m-%Y %H:%M} ligt in de toekomst; "
            "meld een opname of ontslag pas als het gebeurd is.",
            code="occupancy_future",
        )
    elif event.kind == CANCEL and not event.cancels_event_id:
        item.error = RuleViolation(
            "Een intrekking moet noemen welke gebeurtenis zij intrekt (ingetrokken gebeurtenis).",
            code="occupancy_cancel_missing",
        )
    elif event.kind != CANCEL and not event.stay_reference:
        what = "Een opname" if event.kind == ADMISSION else "Een ontslag"
        item.error = RuleViolation(f"{what} heeft een verblijfsreferentie nodig.", code="occupancy_reference_missing")
    elif event.kind == ADMISSION and not event.origin_region_code:
        item.error = RuleViolation(
            "Een opname heeft de jeugdregio van herkomst nodig (bijvoorbeeld JZ14).", code="occupancy_origin_missing"
        )
    return item


def _seen_before(
    session: Session, groups: dict[int, Group], events: Sequence[OccupancyEventIn]
) -> set[tuple[int, str]]:
    """(provider, event id) pairs of the batch that are stored already."""
    providers = sorted({g.provider_id for g in groups.values()})
    wanted = sorted({e.event_id for e in events})
    seen: set[tuple[int, str]] = set()
    if not providers:
        return seen
    conn = session.connection()
    for part in _parts(conn, wanted):
        seen.update(
            (int(p), str(e))
            for p, e in conn.execute(
                sa_select(_EVENTS.c.provider_id, _EVENTS.c.event_id).where(
                    _EVENTS.c.provider_id.in_(providers), _one_of(conn, _EVENTS.c.event_id, part)
                )
            )
        )
    return seen


def _find_targets(session: Session, groups: dict[int, Group], items: dict[int, list[Item]]) -> None:
    """Attach to each cancellation the stored event it names (when it is of the same group)."""
    cancels = [(gid, item) for gid, group_items in items.items() for item in group_items if item.kind == CANCEL]
    wanted = sorted({item.cancels for _, item in cancels if item.error is None and item.cancels})
    if not wanted:
        return
    providers = sorted({groups[gid].provider_id for gid, _ in cancels})
    conn = session.connection()
    found: dict[tuple[int, str], Any] = {}
    withdrawn: set[tuple[int, str]] = set()
    for part in _parts(conn, wanted):
        for row in conn.execute(
            sa_select(
                _EVENTS.c.id,
                _EVENTS.c.provider_id,
                _EVENTS.c.event_id,
                _EVENTS.c.group_id,
                _EVENTS.c.kind,
                _EVENTS.c.stay_reference,
                _EVENTS.c.at,
            ).where(_EVENTS.c.provider_id.in_(providers), _one_of(conn, _EVENTS.c.event_id, part))
        ):
            found[(row.provider_id, row.event_id)] = row
        withdrawn.update(
            (int(p), str(e))
            for p, e in conn.execute(
                sa_select(_EVENTS.c.provider_id, _EVENTS.c.cancels_event_id).where(
                    _EVENTS.c.kind == CANCEL,
                    _EVENTS.c.provider_id.in_(providers),
                    _one_of(conn, _EVENTS.c.cancels_event_id, part),
                )
            )
        )
    for gid, item in cancels:
        key = (groups[gid].provider_id, item.cancels or "")
        stored = found.get(key)
        if stored is not None and stored.group_id == gid:
            item.target = Target(
                id=stored.id,
                event_id=stored.event_id,
                kind=stored.kind,
                ref=stored.stay_reference,
                at=as_utc(stored.at),  # type: ignore[arg-type]
                cancelled=key in withdrawn,
            )


def _load_stays(session: Session, items: dict[int, list[Item]]) -> dict[int, list[Stay]]:
    """Per group, every stay that is open or ended at or after the earliest moment the batch
    touches there: they decide whether the group is full and whether a youth is present (a
    youth's older stays ended before any of its events in the batch, so they decide nothing)."""
    earliest: dict[int, datetime] = {}
    for gid, group_items in items.items():
        moments = [i.at for i in group_items] + [i.target.at for i in group_items if i.target is not None]
        earliest[gid] = min(moments)
    # Groups with nearby earliest moments share a query (a time-ordered history touches all
    # groups from about the same moment); a late correction in one group gets its own.
    buckets: list[tuple[datetime, list[int]]] = []
    for gid in sorted(earliest, key=lambda g: earliest[g]):
        if buckets and earliest[gid] - buckets[-1][0] <= _STAY_WINDOW:
            buckets[-1][1].append(gid)
        else:
            buckets.append((earliest[gid], [gid]))
    conn = session.connection()
    stays: dict[int, list[Stay]] = defaultdict(list)
    c = _STAYS.c
    for start, gids in buckets:
        for part in _parts(conn, gids):
            for row in conn.execute(
                sa_select(
                    c.id,
                    c.group_id,
                    c.stay_reference,
                    c.origin_region_code,
                    c.admitted_at,
                    c.discharged_at,
                    c.admission_event,
                    c.discharge_event,
                ).where(_one_of(conn, c.group_id, part), or_(c.discharged_at.is_(None), c.discharged_at >= start))
            ):
                stays[row.group_id].append(
                    Stay(
                        id=row.id,
                        ref=row.stay_reference,
                        origin=row.origin_region_code,
                        admitted=as_utc(row.admitted_at),  # type: ignore[arg-type]
                        discharged=as_utc(row.discharged_at),
                        admission_event=row.admission_event,
                        discharge_event=row.discharge_event,
                    )
                )
    return stays


@dataclass
class _Taken:
    """What a batch did: a result per event, the refusals, and the ids of the stored events."""

    results: list[EventResult]
    errors: dict[int, DomainError] = field(default_factory=dict)
    stored: dict[int, int] = field(default_factory=dict)  # index in the batch -> occupancy_events.id
    touched: list[Group] = field(default_factory=list)
    accepted_refs: list[str] = field(default_factory=list)


def _result(index: int, event_id: str, status: str, line: int | None, error: DomainError | None = None) -> EventResult:
    # model_construct: these are our own values, and a batch may hold 50,000 of them.
    return EventResult.model_construct(
        index=index,
        event_id=event_id,
        status=status,
        http_status=error.status_code if error else 200,
        code=error.code if error else None,
        reason=error.message if error else None,
        line=line,
    )


def _take_in(
    session: Session,
    principal: Principal,
    events: Sequence[OccupancyEventIn],
    *,
    source: str,
    now: datetime,
    groups: dict[int, Group] | None = None,
    lines: Sequence[int] | None = None,
) -> _Taken:
    if groups is None:
        groups = _lock_groups(session, (e.group_id for e in events))
    seen = _seen_before(session, groups, events)
    status: dict[int, str] = {}
    errors: dict[int, DomainError] = {}
    items: dict[int, list[Item]] = defaultdict(list)
    first: dict[tuple[int, str], int] = {}
    repeats: list[tuple[int, int]] = []
    allowed = {gid for gid, group in groups.items() if _may_touch(principal, group)}
    for index, event in enumerate(events):
        group = groups.get(event.group_id)
        if group is None or event.group_id not in allowed:
            errors[index] = NotFound("Groep niet gevonden.")
            continue
        key = (group.provider_id, event.event_id)
        if key in seen:
            status[index] = "duplicate"
        elif key in first:
            repeats.append((index, first[key]))
        else:
            first[key] = index
            items[group.id].append(_item(index, event, now))  # type: ignore[index]
    _find_targets(session, groups, items)
    stays = _load_stays(session, items)
    settled = {gid: settle(groups[gid].capacity, group_items, stays.get(gid, [])) for gid, group_items in items.items()}
    for settlement in settled.values():
        errors.update(settlement.refused)
    accepted = sorted(
        (item for group_items in items.values() for item in group_items if item.index not in errors),
        key=lambda i: i.index,
    )
    for item in accepted:
        status[item.index] = "accepted"
    for index, earlier in repeats:
        if status.get(earlier) == "accepted":
            status[index] = "duplicate"
        else:
            errors[index] = RuleViolation(
                f"Gebeurtenis '{events[index].event_id}' staat al eerder in deze batch (nummer {earlier + 1}) "
                "en is daar geweigerd.",
                code="occupancy_repeated_in_batch",
            )
    stored = _write(session, groups, items, settled, accepted, source=source, actor=principal.label, now=now)
    touched = sorted({events[item.index].group_id for item in accepted})
    results = [
        _result(
            index,
            event.event_id,
            "refused" if index in errors else status[index],
            lines[index] if lines is not None else None,
            errors.get(index),
        )
        for index, event in enumerate(events)
    ]
    return _Taken(
        results=results,
        errors=errors,
        stored=stored,
        touched=[groups[g] for g in touched],
        accepted_refs=[item.ref or (item.target.ref if item.target else None) or "" for item in accepted],
    )


def _write(
    session: Session,
    groups: dict[int, Group],
    items: dict[int, list[Item]],
    settled: dict[int, Settlement],
    accepted: list[Item],
    *,
    source: str,
    actor: str,
    now: datetime,
) -> dict[int, int]:
    """Store the accepted events and the stays they make or change; the events' ids by index."""
    if not accepted:
        return {}
    group_of = {item.index: gid for gid, group_items in items.items() for item in group_items}
    origin_of: dict[int, str] = {}
    for settlement in settled.values():
        origin_of.update(settlement.discharge_origin)
    rows = []
    for item in accepted:
        group = groups[group_of[item.index]]
        if item.kind == ADMISSION:
            origin, ref = item.origin, item.ref
        elif item.kind == DISCHARGE:
            origin, ref = origin_of[item.index], item.ref
        else:
            origin, ref = None, item.target.ref if item.target else item.ref
        rows.append(
            {
                "event_id": item.event_id,
                "provider_id": group.provider_id,
                "group_id": group.id,
                "kind": item.kind,
                "at": item.at,
                "day": local_day(item.at),
                "origin_region_code": origin,
                "stay_reference": ref,
                "cancels_event_id": item.cancels if item.kind == CANCEL else None,
                "source": source,
                "received_at": now,
                "received_by": actor[:120],
            }
        )
    conn = session.connection()
    stored = _insert_events(conn, rows, [item.index for item in accepted])
    new_stays: list[dict[str, Any]] = []
    ends: list[dict[str, Any]] = []
    removed: list[int] = []
    for gid, settlement in settled.items():
        for new in settlement.new_stays:
            closing = new.discharge if new.discharge is not None and new.discharge.index in stored else None
            new_stays.append(
                {
                    "group_id": gid,
                    "stay_reference": new.ref,
                    "origin_region_code": new.origin,
                    "admitted_at": new.admitted,
                    "admit_day": local_day(new.admitted),
                    "discharged_at": closing.at if closing else None,
                    "discharge_day": local_day(closing.at) if closing else None,
                    "admission_event": stored[new.admission.index],
                    "discharge_event": stored[closing.index] if closing else None,
                }
            )
        for stay, (end, by) in settlement.ends.items():
            ends.append(
                {
                    "b_id": stay.id,
                    "b_at": end,
                    "b_day": local_day(end) if end else None,
                    "b_event": stored[by.index] if by is not None else None,
                }
            )
        removed.extend(stay.id for stay in settlement.removed)
    if new_stays:
        _insert_many(conn, _STAYS, new_stays)
    if ends:
        conn.execute(_END_STAY, ends)
    for part in _parts(conn, removed):
        conn.execute(delete(_STAYS).where(_one_of(conn, _STAYS.c.id, part)))
    _forget_stale(session, {e["b_id"] for e in ends}, set(removed))
    return stored


def _insert_events(conn: Connection, rows: list[dict[str, Any]], indexes: list[int]) -> dict[int, int]:
    """Insert the events with ids chosen here (the stays need them); their ids by index."""
    if _is_postgresql(conn):
        # Drawn from the sequence in one round trip, so concurrent batches never meet.
        ids = sorted(conn.execute(_NEXT_EVENT_IDS, {"n": len(rows)}).scalar_one())
    else:
        # SQLite: this transaction holds the one write lock (BEGIN IMMEDIATE), so the next ids
        # are free; they are the ones SQLite itself would give.
        first = int(conn.execute(sa_select(func.coalesce(func.max(_EVENTS.c.id), 0))).scalar_one()) + 1
        ids = list(range(first, first + len(rows)))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    _insert_many(conn, _EVENTS, rows)
    return dict(zip(indexes, ids, strict=True))


def _insert_many(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the transaction of ``conn``:
    COPY on PostgreSQL, one executemany on SQLite. Both skip the per-row work of a compiled
    multi-row INSERT, which dominated batches of thousands of events."""
    columns = list(rows[0])
    if _is_postgresql(conn):
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with conn.connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    # The column types' own conversions (SQLite keeps moments as text in SQLAlchemy's format).
    convert = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]
    pairs = list(zip(columns, convert, strict=True))
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [tuple(row[c] if f is None else f(row[c]) for c, f in pairs) for row in rows],
    )


def _forget_stale(session: Session, changed: set[int], removed: set[int]) -> None:
    """Stays the caller's session holds as objects were written past the ORM: reload them."""
    if not changed and not removed:
        return
    for obj in list(session.identity_map.values()):
        if isinstance(obj, OccupancyStay):
            if obj.id in removed:
                session.expunge(obj)
            elif obj.id in changed:
                session.expire(obj)


def _lock_groups(session: Session, group_ids: Iterable[int]) -> dict[int, Group]:
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    rows = session.exec(select(Group).where(col(Group.id).in_(ids)).order_by(col(Group.id)).with_for_update()).all()
    return {g.id: g for g in rows}  # type: ignore[misc]


_KIND_ORDER = {CANCEL: 0, DISCHARGE: 1, ADMISSION: 2}


def _time_order(item: OccupancyEventIn, index: int) -> tuple[datetime, int, int]:
    # At one moment a discharge comes before an admission: the freed bed can be taken at once.
    return (input_moment(item.at), _KIND_ORDER[item.kind], index)


def ingest_events(
    *,
    session: Session,
    principal: Principal,
    events: Sequence[OccupancyEventIn],
    source: str = "api",
    lines: Sequence[int] | None = None,
) -> BatchResult:
    """Take in a batch as a whole: accepted, duplicate or refused per event, with a Dutch reason.
    ``lines``: the line of each event in the request (NDJSON), echoed in its result."""
    taken = _take_in(session, principal, events, source=source, now=utcnow(), lines=lines)
    # Placements follow the provider's own admissions and discharges (backend/occupancy/hooks.py),
    # in time order so that a stay's admission comes before its discharge.
    accepted = [r.index for r in taken.results if r.status == "accepted"]
    accepted.sort(key=lambda i: _time_order(events[i], i))
    hooks.after_batch(session=session, principal=principal, events=[events[i] for i in accepted])
    _announce(session, taken.touched, actor=principal.label)
    counts = {"accepted": 0, "duplicate": 0, "refused": 0}
    for result in taken.results:
        counts[result.status] += 1
    audit.record(
        session=session,
        actor=principal,
        action="occupancy.events.ingest",
        object_type="occupancy_batch",
        object_id=",".join(str(g.id) for g in taken.touched)[:60] or "-",
        purpose=Purpose.occupancy_feed,
        detail={**counts, "accepted_event_ids": [r.event_id for r in taken.results if r.status == "accepted"][:500]},
        youth=[f"stay:{s}" for s in dict.fromkeys(r for r in taken.accepted_refs if r)][:500],
        # The touched groups' region (one provider's groups: one region); else the caller's.
        region_id=min((g.region_id for g in taken.touched), default=None),
    )
    return BatchResult.model_construct(
        accepted=counts["accepted"], duplicates=counts["duplicate"], refused=counts["refused"], results=taken.results
    )


def _announce(session: Session, groups: Sequence[Group], *, actor: str) -> None:
    """One ``occupancy.changed`` per group a batch changed (one statement for all of them)."""
    if not groups:
        return
    present = present_counts(session=session, group_ids=[g.id for g in groups])  # type: ignore[misc]
    append_events(
        session,
        [
            {
                "type": OCCUPANCY_CHANGED,
                "group_id": group.id,
                "provider_id": group.provider_id,
                "region_id": group.region_id,
                "payload": {"group_id": group.id, "capacity": group.capacity, "present": present.get(group.id, 0)},  # type: ignore[arg-type]
            }
            for group in groups
        ],
        actor=actor,
    )

    # Groups whose free places follow the feed take them from it, in this transaction.
    places.follow_feed(session=session, present={g.id: present.get(g.id, 0) for g in groups}, actor=actor)  # type: ignore[arg-type, misc]


def _find_duplicate(session: Session, provider_id: int, event_id: str) -> OccupancyEvent | None:
    return session.exec(
        select(OccupancyEvent).where(OccupancyEvent.provider_id == provider_id, OccupancyEvent.event_id == event_id)
    ).first()


def _record_one(
    *,
    session: Session,
    kind: str,
    group_id: int,
    at: datetime,
    origin_region_code: str | None,
    stay_reference: str,
    source: str,
    event_id: str | None,
) -> OccupancyEvent:
    now = utcnow()
    groups = _lock_groups(session, [group_id])
    group = groups.get(group_id)
    if group is None:
        raise NotFound("Groep niet gevonden.")
    if event_id is None:
        # Deterministic, so that a retried confirmation records the admission once.
        digest = hashlib.sha256(f"{stay_reference}|{as_utc(at).isoformat()}".encode()).hexdigest()[:24]  # type: ignore[union-attr]
        event_id = f"{source[:40]}:{kind}:{digest}"
    existing = _find_duplicate(session, group.provider_id, event_id)
    if existing is not None:
        return existing
    origin = valid_region_code(origin_region_code) if origin_region_code else None
    item = OccupancyEventIn(
        event_id=event_id,
        kind=kind,  # type: ignore[arg-type]
        group_id=group_id,
        at=at,
        origin_region_code=origin,
        stay_reference=stay_reference,
    )
    actor = _system_principal(source)
    taken = _take_in(session, actor, [item], source=source, now=now, groups=groups)
    if 0 in taken.errors:
        raise taken.errors[0]
    event = session.get(OccupancyEvent, taken.stored[0])
    assert event is not None
    _announce(session, [group], actor=actor.label)
    audit.record(
        session=session,
        actor=actor,
        action=f"occupancy.{kind}",
        object_type="occupancy_stay",
        object_id=stay_reference,
        purpose=Purpose.occupancy_placement,
        detail={"group_id": group_id, "event_id": event_id, "source": source},
        region_id=group.region_id,
    )
    return event


def record_admission(
    *,
    session: Session,
    group_id: int,
    at: datetime,
    origin_region_code: str,
    stay_reference: str,
    source: str,
    event_id: str | None = None,
) -> OccupancyEvent:
    """Record that a youth arrived in a group (a confirmed crisis hold, an accepted proposal).

    Only flushes: the caller's transaction commits. Idempotent: the same source, stay and moment
    (or the same ``event_id``) gives back the event recorded the first time. Raises
    ``RuleViolation``/``Conflict`` (youth already present, group full according to the feed,
    moment in the future) before writing anything, so a caller may catch it and go on.
    """
    return _record_one(
        session=session,
        kind=ADMISSION,
        group_id=group_id,
        at=at,
        origin_region_code=origin_region_code,
        stay_reference=stay_reference,
        source=source,
        event_id=event_id,
    )


def admit_placement(
    *, session: Session, group_id: int, at: datetime, origin_region_code: str, stay_reference: str, source: str
) -> bool:
    """The admission for a placement (an accepted proposal, a confirmed crisis hold), in a
    savepoint: when the feed refuses it (e.g. it already counts the group full) the placement
    stands, the discrepancy is logged for reconciliation, and the answer says so."""
    try:
        with session.begin_nested():
            record_admission(
                session=session,
                group_id=group_id,
                at=at,
                origin_region_code=origin_region_code,
                stay_reference=stay_reference,
                source=source,
            )
    except DomainError as exc:
        log.warning("admission %s in group %s not recorded: %s", stay_reference, group_id, exc.message)
        return False
    return True


def record_discharge(
    *,
    session: Session,
    group_id: int,
    at: datetime,
    stay_reference: str,
    source: str,
    origin_region_code: str | None = None,
    event_id: str | None = None,
) -> OccupancyEvent:
    """Record that a youth left a group; same rules as ``record_admission``."""
    return _record_one(
        session=session,
        kind=DISCHARGE,
        group_id=group_id,
        at=at,
        origin_region_code=origin_region_code,
        stay_reference=stay_reference,
        source=source,
        event_id=event_id,
    )


# --- census ----------------------------------------------------------------------------------


def ingest_census(*, session: Session, principal: Principal, counts: Sequence[CensusIn]) -> CensusBatchResult:
    """Daily head counts for providers without an event feed. A later count for the same group
    and date is a correction: it is stored beside the first and wins."""
    now = utcnow()
    groups = _lock_groups(session, (c.group_id for c in counts))
    results: list[CensusResult] = []
    touched: set[int] = set()
    current = local_day(now)
    for index, item in enumerate(counts):
        group = groups.get(item.group_id)

        def refuse(status: int, code: str, reason: str, item: CensusIn = item, index: int = index) -> None:
            results.append(
                CensusResult(
                    index=index,
                    group_id=item.group_id,
                    date=item.date,
                    status="refused",
                    http_status=status,
                    code=code,
                    reason=reason,
                )
            )

        if group is None or not _may_touch(principal, group):
            refuse(404, "not_found", "Groep niet gevonden.")
            continue
        if item.date > current:
            refuse(422, "occupancy_future", f"De datum {item.date:%d-%m-%Y} ligt in de toekomst.")
            continue
        if item.present > group.capacity:
            refuse(
                422,
                "occupancy_over_capacity",
                f"{item.present} aanwezig is meer dan de {group.capacity} plaatsen van de groep.",
            )
            continue
        if sum(item.by_region.values()) > item.present:
            refuse(
                422, "census_regions_exceed", "De aantallen per jeugdregio zijn samen meer dan het aantal aanwezigen."
            )
            continue
        session.add(
            OccupancyCensus(
                group_id=group.id,  # type: ignore[arg-type]
                day=item.date,
                present=item.present,
                by_region=item.by_region,
                received_at=now,
                received_by=principal.label,
            )
        )
        touched.add(group.id)  # type: ignore[arg-type]
        results.append(CensusResult(index=index, group_id=item.group_id, date=item.date, status="accepted"))
    session.flush()
    for group_id in sorted(touched):
        group = groups[group_id]
        append_event(
            session=session,
            type="occupancy.census",
            group_id=group.id,
            provider_id=group.provider_id,
            region_id=group.region_id,
            actor=principal.label,
            payload={"group_id": group.id},
        )
    accepted = sum(1 for r in results if r.status == "accepted")
    return CensusBatchResult(accepted=accepted, refused=len(results) - accepted, results=results)


# --- reading ---------------------------------------------------------------------------------


def present_counts(*, session: Session, group_ids: Sequence[int]) -> dict[int, int]:
    """Youths present now according to the event feed (open stays)."""
    if not group_ids:
        return {}
    rows = session.exec(
        select(OccupancyStay.group_id, func.count())
        .where(col(OccupancyStay.group_id).in_(list(group_ids)), col(OccupancyStay.discharged_at).is_(None))
        .group_by(col(OccupancyStay.group_id))
    ).all()
    return {int(g): int(n) for g, n in rows}


def current_occupancy(*, session: Session, groups: Sequence[Group]) -> dict[int, dict[str, object]]:
    """Per group: present now and by region, from the feed when it has stays, else from the
    newest census (the count of the latest date)."""
    ids = [g.id for g in groups]
    by_region: dict[int, dict[str, int]] = defaultdict(dict)
    with_stays: set[int] = set()
    if ids:
        for group_id, code, count in session.exec(
            select(OccupancyStay.group_id, OccupancyStay.origin_region_code, func.count())
            .where(col(OccupancyStay.group_id).in_(ids), col(OccupancyStay.discharged_at).is_(None))
            .group_by(col(OccupancyStay.group_id), col(OccupancyStay.origin_region_code))
        ).all():
            by_region[group_id][code] = int(count)
        with_stays = set(
            session.exec(select(OccupancyStay.group_id).where(col(OccupancyStay.group_id).in_(ids)).distinct()).all()
        )
    result: dict[int, dict[str, object]] = {}
    for group in groups:
        gid: int = group.id  # type: ignore[assignment]
        if gid in with_stays:
            regions = by_region.get(gid, {})
            result[gid] = {
                "present": sum(regions.values()),
                "present_by_region": regions,
                "source": "events",
                "census_date": None,
            }
            continue
        census = session.exec(
            select(OccupancyCensus)
            .where(OccupancyCensus.group_id == gid)
            .order_by(col(OccupancyCensus.day).desc(), col(OccupancyCensus.id).desc())
        ).first()
        if census is None:
            result[gid] = {"present": 0, "present_by_region": {}, "source": "none", "census_date": None}
        else:
            result[gid] = {
                "present": census.present,
                "present_by_region": census_regions(census, group_region_code(session, group)),
                "source": "census",
                "census_date": census.day,
            }
    return result


def group_region_code(session: Session, group: Group) -> str:
    region = session.get(Region, group.region_id)
    return region.code if region else ""


def census_regions(census: OccupancyCensus, own_code: str) -> dict[str, int]:
    regions = dict(census.by_region or {})
    rest = census.present - sum(regions.values())
    if rest > 0:
        regions[own_code] = regions.get(own_code, 0) + rest
    return regions
