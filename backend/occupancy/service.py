"""Taking in occupancy events and censuses, and the present occupancy of groups.

Every event is checked on its own before anything is written for it, so an impossible event
is refused with a reason while the rest of its batch is kept. Groups touched by a batch are
locked (in id order, so two batches never wait on each other crosswise) before any check, so
two concurrent batches cannot both put a youth in the last bed.

Order: within a batch, cancellations are handled first, then admissions and discharges in
time order (a discharge before an admission at the same moment, so a bed freed at 10:00 can
be taken at 10:00). Events of different stays may arrive in any order across batches: each is
placed at its own moment. Events of one stay must arrive in sequence; a discharge that arrives
before its admission is refused ("geen opname bekend") and can be sent again afterwards.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.availability import service as places
from backend.domain import as_utc, utcnow
from backend.errors import Conflict, DomainError, NotFound, RuleViolation
from backend.events.service import append_event
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
from backend.providers.models import Group
from backend.regions.models import Region

log = logging.getLogger(__name__)

DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
# Provider clocks drift a little; a moment this far ahead of ours is still "now", not future.
CLOCK_SKEW = timedelta(minutes=5)
OCCUPANCY_CHANGED = "occupancy.changed"


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


# --- the checks of one event ----------------------------------------------------------------


class _GroupStays:
    """The stays of one group that a batch can touch, held in memory while the batch is checked.

    Loaded once per group and batch: stays still open or ended after the batch's earliest
    moment (they decide whether the group is full) and every stay of the references the batch
    names (they decide whether a youth is present). New stays join the set as they are admitted,
    so later events of the same batch see them without a query per event.
    """

    def __init__(self, session: Session, group_id: int, refs: Iterable[str], from_moment: datetime) -> None:
        self.session = session
        self.group_id = group_id
        self.stays: dict[int, OccupancyStay] = {}
        self.by_ref: dict[str, dict[int, OccupancyStay]] = defaultdict(dict)
        self.loaded_from = from_moment
        self.loaded_refs: set[str] = set()
        self._load(from_moment, set(refs))

    def _load(self, moment: datetime, refs: set[str]) -> None:
        condition = col(OccupancyStay.discharged_at).is_(None) | (col(OccupancyStay.discharged_at) > moment)
        if refs:
            condition = condition | col(OccupancyStay.stay_reference).in_(sorted(refs))
        for stay in self.session.exec(
            select(OccupancyStay).where(OccupancyStay.group_id == self.group_id, condition)
        ).all():
            self.add(stay)  # the identity map hands back the same object per row
        self.loaded_refs |= refs

    def latest(self, stay_reference: str) -> OccupancyStay | None:
        if stay_reference not in self.loaded_refs:
            self._load(self.loaded_from, {stay_reference})
        return max(
            self.by_ref.get(stay_reference, {}).values(),
            key=lambda s: (as_utc(s.admitted_at), s.id or 1 << 62),
            default=None,
        )

    def peak_from(self, moment: datetime, *, exclude: OccupancyStay | None = None) -> int:
        """Most youths present at any moment from ``moment`` on (open stays count forever)."""
        if moment < self.loaded_from:
            self._load(moment, set())
            self.loaded_from = moment
        changes: list[tuple[datetime, int]] = []
        present = 0
        for stay in self.stays.values():
            discharged = as_utc(stay.discharged_at)
            if stay is exclude or (discharged is not None and discharged <= moment):
                continue
            admitted = as_utc(stay.admitted_at)
            assert admitted is not None
            if admitted <= moment:
                present += 1
            else:
                changes.append((admitted, 1))
            if discharged is not None:
                changes.append((discharged, -1))
        peak = present
        # Discharges sort before admissions at the same moment: the freed bed can be taken at once.
        for _at, delta in sorted(changes):
            present += delta
            peak = max(peak, present)
        return peak

    def add(self, stay: OccupancyStay) -> None:
        self.stays[id(stay)] = stay
        self.by_ref[stay.stay_reference][id(stay)] = stay

    def remove(self, stay: OccupancyStay) -> None:
        self.stays.pop(id(stay), None)
        self.by_ref[stay.stay_reference].pop(id(stay), None)


class _Writer:
    """Collects the batch's writes: events go to the session at once, stays wait until the
    events have ids (one flush for the whole batch instead of two per event)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.links: list[tuple[OccupancyStay, str, OccupancyEvent]] = []
        self.new_stays: list[OccupancyStay] = []

    def finish(self) -> None:
        self.session.flush()
        for stay, attribute, event in self.links:
            setattr(stay, attribute, event.id)
        self.session.add_all(self.new_stays)
        self.session.flush()
        self.links.clear()
        self.new_stays.clear()


def _check_moment(moment: datetime, now: datetime) -> datetime:
    aware = input_moment(moment)
    if aware > now + CLOCK_SKEW:
        raise RuleViolation(
            f"Het tijdstip {aware.astimezone(DUTCH_TIME):%d-%m-%Y %H:%M} ligt in de toekomst; "
            "meld een opname of ontslag pas als het gebeurd is.",
            code="occupancy_future",
        )
    return aware.astimezone(UTC)


def _new_event(
    *,
    group: Group,
    event_id: str,
    kind: str,
    at: datetime,
    origin: str | None,
    stay_reference: str | None,
    cancels: str | None,
    source: str,
    actor: str,
    now: datetime,
) -> OccupancyEvent:
    return OccupancyEvent(
        event_id=event_id,
        provider_id=group.provider_id,
        group_id=group.id,  # type: ignore[arg-type]
        kind=kind,
        at=at,
        day=local_day(at),
        origin_region_code=origin,
        stay_reference=stay_reference,
        cancels_event_id=cancels,
        source=source,
        received_at=now,
        received_by=actor[:120],
    )


def _local(moment: datetime | None) -> str:
    return f"{as_utc(moment).astimezone(DUTCH_TIME):%d-%m-%Y %H:%M}"  # type: ignore[union-attr]


def _admit(
    writer: _Writer,
    state: _GroupStays,
    group: Group,
    *,
    event_id: str,
    at: datetime,
    origin: str | None,
    stay_reference: str | None,
    source: str,
    actor: str,
    now: datetime,
) -> OccupancyEvent:
    if not stay_reference:
        raise RuleViolation("Een opname heeft een verblijfsreferentie nodig.", code="occupancy_reference_missing")
    if not origin:
        raise RuleViolation(
            "Een opname heeft de jeugdregio van herkomst nodig (bijvoorbeeld JZ14).", code="occupancy_origin_missing"
        )
    latest = state.latest(stay_reference)
    if latest is not None and latest.discharged_at is None:
        raise Conflict(
            f"Verblijf '{stay_reference}' is al opgenomen in deze groep sinds {_local(latest.admitted_at)}; "
            "meld eerst het ontslag.",
            code="occupancy_already_present",
        )
    if latest is not None and as_utc(latest.discharged_at) > at:  # type: ignore[operator]
        raise RuleViolation(
            f"Deze opname ligt vóór het laatste ontslag van verblijf '{stay_reference}'; "
            "trek dat ontslag eerst in als het niet klopt.",
            code="occupancy_out_of_sequence",
        )
    peak = state.peak_from(at)
    if peak >= group.capacity:
        raise Conflict(
            f"De groep heeft {group.capacity} plaatsen en zou met deze opname op {_local(at)} of later "
            f"{peak + 1} jeugdigen hebben; meld eerst het ontslag van wie vertrokken is.",
            code="occupancy_over_capacity",
        )
    event = _new_event(
        group=group,
        event_id=event_id,
        kind=ADMISSION,
        at=at,
        origin=origin,
        stay_reference=stay_reference,
        cancels=None,
        source=source,
        actor=actor,
        now=now,
    )
    writer.session.add(event)
    # admission_event is left out on purpose: the event's id exists only after the flush, and
    # writer.links fills it in then (the column is NOT NULL, so the model cannot make it optional).
    stay = OccupancyStay(
        group_id=group.id,  # type: ignore[arg-type, call-arg]
        stay_reference=stay_reference,
        origin_region_code=origin,
        admitted_at=at,
        admit_day=event.day,
    )
    state.add(stay)
    writer.new_stays.append(stay)
    writer.links.append((stay, "admission_event", event))
    return event


def _discharge(
    writer: _Writer,
    state: _GroupStays,
    group: Group,
    *,
    event_id: str,
    at: datetime,
    stay_reference: str | None,
    source: str,
    actor: str,
    now: datetime,
) -> OccupancyEvent:
    if not stay_reference:
        raise RuleViolation("Een ontslag heeft een verblijfsreferentie nodig.", code="occupancy_reference_missing")
    latest = state.latest(stay_reference)
    if latest is None or latest.discharged_at is not None:
        raise RuleViolation(
            f"Ontslag zonder opname: verblijf '{stay_reference}' is niet opgenomen in deze "
            "groep. Stuur eerst de opname.",
            code="occupancy_no_admission",
        )
    if as_utc(latest.admitted_at) > at:  # type: ignore[operator]
        raise RuleViolation(
            f"Het ontslag ligt vóór de opname van verblijf '{stay_reference}'.", code="occupancy_before_admission"
        )
    event = _new_event(
        group=group,
        event_id=event_id,
        kind=DISCHARGE,
        at=at,
        origin=latest.origin_region_code,
        stay_reference=stay_reference,
        cancels=None,
        source=source,
        actor=actor,
        now=now,
    )
    writer.session.add(event)
    latest.discharged_at = at
    latest.discharge_day = event.day
    writer.links.append((latest, "discharge_event", event))
    return event


def _cancel(
    writer: _Writer,
    state: _GroupStays,
    group: Group,
    *,
    event_id: str,
    at: datetime,
    cancels: str | None,
    source: str,
    actor: str,
    now: datetime,
) -> OccupancyEvent:
    """Withdraw an earlier event of the same provider: the last step of a stay only, so that a
    stay is never left half-undone. (Cancellations are handled before the rest of a batch, so
    they name events of earlier batches.)"""
    session = writer.session
    if not cancels:
        raise RuleViolation(
            "Een intrekking moet noemen welke gebeurtenis zij intrekt (cancels_event_id).",
            code="occupancy_cancel_missing",
        )
    target = session.exec(
        select(OccupancyEvent).where(
            OccupancyEvent.provider_id == group.provider_id, OccupancyEvent.event_id == cancels
        )
    ).first()
    if target is None or target.group_id != group.id:
        raise NotFound(f"Gebeurtenis '{cancels}' is niet gevonden bij deze groep.", code="occupancy_cancel_unknown")
    if target.kind == CANCEL:
        raise RuleViolation(
            "Een intrekking kan zelf niet worden ingetrokken; stuur de gebeurtenis opnieuw met een nieuw id.",
            code="occupancy_cancel_cancel",
        )
    already = session.exec(
        select(OccupancyEvent.id).where(
            OccupancyEvent.provider_id == group.provider_id,
            OccupancyEvent.kind == CANCEL,
            OccupancyEvent.cancels_event_id == cancels,
        )
    ).first()
    if already is not None:
        raise Conflict(f"Gebeurtenis '{cancels}' is al ingetrokken.", code="occupancy_already_cancelled")
    if target.kind == ADMISSION:
        stay = session.exec(select(OccupancyStay).where(OccupancyStay.admission_event == target.id)).one()
        if stay.discharged_at is not None:
            raise RuleViolation(
                "Dit verblijf heeft al een ontslag; trek eerst het ontslag in en dan de opname.",
                code="occupancy_cancel_order",
            )
    else:
        stay = session.exec(select(OccupancyStay).where(OccupancyStay.discharge_event == target.id)).one()
        latest = state.latest(stay.stay_reference)
        if latest is not None and latest is not stay:
            raise RuleViolation(
                "Na dit ontslag is hetzelfde verblijf opnieuw opgenomen; trek eerst die opname in.",
                code="occupancy_cancel_order",
            )
        if state.peak_from(as_utc(stay.discharged_at), exclude=stay) >= group.capacity:  # type: ignore[arg-type]
            raise Conflict(
                "Zonder dit ontslag zou de groep meer jeugdigen hebben dan plaatsen.", code="occupancy_over_capacity"
            )
    event = _new_event(
        group=group,
        event_id=event_id,
        kind=CANCEL,
        at=at,
        origin=None,
        stay_reference=target.stay_reference,
        cancels=cancels,
        source=source,
        actor=actor,
        now=now,
    )
    session.add(event)
    if target.kind == ADMISSION:
        state.remove(stay)
        session.delete(stay)
    else:
        stay.discharged_at = None
        stay.discharge_day = None
        stay.discharge_event = None
        state.add(stay)
    return event


def _find_duplicate(session: Session, provider_id: int, event_id: str) -> OccupancyEvent | None:
    return session.exec(
        select(OccupancyEvent).where(OccupancyEvent.provider_id == provider_id, OccupancyEvent.event_id == event_id)
    ).first()


def _apply(
    writer: _Writer, state: _GroupStays, group: Group, item: OccupancyEventIn, *, source: str, actor: str, now: datetime
) -> OccupancyEvent:
    at = _check_moment(item.at, now)
    if item.kind == ADMISSION:
        return _admit(
            writer,
            state,
            group,
            event_id=item.event_id,
            at=at,
            origin=item.origin_region_code,
            stay_reference=item.stay_reference,
            source=source,
            actor=actor,
            now=now,
        )
    if item.kind == DISCHARGE:
        return _discharge(
            writer,
            state,
            group,
            event_id=item.event_id,
            at=at,
            stay_reference=item.stay_reference,
            source=source,
            actor=actor,
            now=now,
        )
    return _cancel(
        writer,
        state,
        group,
        event_id=item.event_id,
        at=at,
        cancels=item.cancels_event_id,
        source=source,
        actor=actor,
        now=now,
    )


def _states(session: Session, groups: dict[int, Group], events: Sequence[OccupancyEventIn]) -> dict[int, _GroupStays]:
    refs: dict[int, set[str]] = defaultdict(set)
    earliest: dict[int, datetime] = {}
    for item in events:
        if item.group_id not in groups:
            continue
        if item.stay_reference:
            refs[item.group_id].add(item.stay_reference)
        at = input_moment(item.at)
        earliest[item.group_id] = min(at, earliest.get(item.group_id, at))
    return {gid: _GroupStays(session, gid, refs[gid], earliest[gid]) for gid in earliest}


def _lock_groups(session: Session, group_ids: Iterable[int]) -> dict[int, Group]:
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    rows = session.exec(select(Group).where(col(Group.id).in_(ids)).order_by(col(Group.id)).with_for_update()).all()
    return {g.id: g for g in rows}  # type: ignore[misc]


def _processing_order(items: Sequence[OccupancyEventIn]) -> list[int]:
    rank = {CANCEL: 0, DISCHARGE: 1, ADMISSION: 2}

    def key(index: int) -> tuple[int, datetime, int, int]:
        item = items[index]
        at = input_moment(item.at)
        return (0 if item.kind == CANCEL else 1, at, rank[item.kind], index)

    return sorted(range(len(items)), key=key)


def ingest_events(
    *, session: Session, principal: Principal, events: Sequence[OccupancyEventIn], source: str = "api"
) -> BatchResult:
    """Take in a batch: accepted, duplicate or refused per event, with a Dutch reason."""
    now = utcnow()
    groups = _lock_groups(session, (e.group_id for e in events))
    # One query for the whole batch instead of one per event: which ids were seen before.
    seen: set[tuple[int, str]] = set()
    wanted = sorted({e.event_id for e in events})
    for start in range(0, len(wanted), 500):
        seen.update(
            (int(p), str(e))
            for p, e in session.exec(
                select(OccupancyEvent.provider_id, OccupancyEvent.event_id).where(
                    col(OccupancyEvent.event_id).in_(wanted[start : start + 500])
                )
            ).all()
        )
    # Duplicates need no stays loaded: they are answered from ``seen`` alone.
    fresh = [e for e in events if e.group_id in groups and (groups[e.group_id].provider_id, e.event_id) not in seen]
    states = _states(session, groups, fresh)
    writer = _Writer(session)
    results: dict[int, EventResult] = {}
    touched: dict[int, int] = defaultdict(int)
    accepted_ids: list[str] = []
    accepted_stays: list[str] = []
    for index in _processing_order(events):
        item = events[index]
        group = groups.get(item.group_id)
        if group is None or not _may_touch(principal, group):
            results[index] = EventResult(
                index=index,
                event_id=item.event_id,
                status="refused",
                http_status=404,
                code="not_found",
                reason="Groep niet gevonden.",
            )
            continue
        if (group.provider_id, item.event_id) in seen:
            results[index] = EventResult(index=index, event_id=item.event_id, status="duplicate")
            continue
        try:
            state = states[group.id]  # type: ignore[index]
            _apply(writer, state, group, item, source=source, actor=principal.label, now=now)
        except DomainError as error:
            results[index] = EventResult(
                index=index,
                event_id=item.event_id,
                status="refused",
                http_status=error.status_code,
                code=error.code,
                reason=error.message,
            )
            continue
        seen.add((group.provider_id, item.event_id))
        results[index] = EventResult(index=index, event_id=item.event_id, status="accepted")
        touched[group.id] += 1  # type: ignore[index]
        accepted_ids.append(item.event_id)
        if item.stay_reference:
            accepted_stays.append(item.stay_reference)
    writer.finish()
    _announce(session, [groups[g] for g in sorted(touched)], actor=principal.label)
    ordered = [results[i] for i in range(len(events))]
    counts = {s: sum(1 for r in ordered if r.status == s) for s in ("accepted", "duplicate", "refused")}
    audit.record(
        session=session,
        actor=principal,
        action="occupancy.events.ingest",
        object_type="occupancy_batch",
        object_id=",".join(str(g) for g in sorted(touched))[:60] or "-",
        purpose=Purpose.occupancy_feed,
        detail={**counts, "accepted_event_ids": accepted_ids[:500]},
        youth=[f"stay:{s}" for s in dict.fromkeys(accepted_stays)][:500],
    )
    return BatchResult(
        accepted=counts["accepted"], duplicates=counts["duplicate"], refused=counts["refused"], results=ordered
    )


def _announce(session: Session, groups: Sequence[Group], *, actor: str) -> None:
    if not groups:
        return
    present = present_counts(session=session, group_ids=[g.id for g in groups])  # type: ignore[misc]
    for group in groups:
        append_event(
            session=session,
            type=OCCUPANCY_CHANGED,
            group_id=group.id,
            provider_id=group.provider_id,
            region_id=group.region_id,
            actor=actor,
            payload={"group_id": group.id, "capacity": group.capacity, "present": present.get(group.id, 0)},  # type: ignore[arg-type]
        )
    # Groups whose free places follow the feed take them from it, in this transaction.
    places.follow_feed(session=session, present={g.id: present.get(g.id, 0) for g in groups}, actor=actor)  # type: ignore[arg-type, misc]


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
    writer = _Writer(session)
    event = _apply(
        writer, _states(session, groups, [item])[group_id], group, item, source=source, actor=actor.label, now=now
    )
    writer.finish()
    _announce(session, [group], actor=actor.label)
    audit.record(
        session=session,
        actor=actor,
        action=f"occupancy.{kind}",
        object_type="occupancy_stay",
        object_id=stay_reference,
        purpose=Purpose.occupancy_placement,
        detail={"group_id": group_id, "event_id": event_id, "source": source},
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


def list_events(*, session: Session, group_id: int, limit: int = 500) -> list[OccupancyEvent]:
    return list(
        session.exec(
            select(OccupancyEvent)
            .where(OccupancyEvent.group_id == group_id)
            .order_by(col(OccupancyEvent.at), col(OccupancyEvent.id))
            .limit(limit)
        ).all()
    )
