"""Settling a batch of occupancy events against one group's stays, in memory (no database).

A batch is applied as a whole, in time order per group, to the group's timeline: the stays
already stored plus what the batch changes. What the order of the events in the request is does
not matter. Three passes, each over the whole batch:

1. **Cancellations** withdraw stored events: a cancelled admission removes its stay (its
   discharge must be cancelled too, earlier or in the same batch), a cancelled discharge
   reopens its stay (only the last stay of a reference, unless the later ones go as well).
2. **Sequence per stay reference**: admissions and discharges of one reference in time order
   (a discharge before an admission at the same moment). A youth is admitted only when not
   present, discharged only when present, never before the admission.
3. **Capacity**: the stays the batch adds (and the reopened parts of stays) are placed on the
   group's timeline in the order of their start; one that would make the group over-full at
   any moment of its stay is refused, together with the discharge that closes it. A complete
   past stay therefore fits whenever the group had room during that stay, whatever happens
   later; a stay still open must fit until now and onwards.

Refusals can knock on: a correction (the events of a stay reference in a batch that cancels
one of its events) lands whole or not at all, and an admission refused for capacity must not
keep a later admission of the same youth out. The passes are repeated with those events
refused until nothing changes (normally once; each repetition refuses at least one more).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from backend.errors import Conflict, DomainError, NotFound, RuleViolation
from backend.occupancy.models import ADMISSION, CANCEL, DISCHARGE

DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
# A bed freed at 10:00 can be taken at 10:00: discharges sort before admissions.
_KIND_RANK = {DISCHARGE: 0, ADMISSION: 1}
# Refusals of the sequence pass: a later event of the youth may have been refused because of
# a stay that the capacity pass refused afterwards.
_SEQUENCE_CODES = frozenset(
    {"occupancy_already_present", "occupancy_out_of_sequence", "occupancy_no_admission", "occupancy_before_admission"}
)


def moment_text(moment: datetime) -> str:
    """A moment as Dutch users read it (local time)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(DUTCH_TIME):%d-%m-%Y %H:%M}"


@dataclass(eq=False)
class Stay:
    """A stored stay (a row of ``occupancy_stays``); moments in UTC."""

    id: int
    ref: str
    origin: str
    admitted: datetime
    discharged: datetime | None
    admission_event: int
    discharge_event: int | None

    @property
    def order(self) -> tuple[datetime, int]:
        return (self.admitted, self.id)


@dataclass(frozen=True)
class Target:
    """A stored event named by a cancellation."""

    id: int
    event_id: str
    kind: str
    ref: str | None
    at: datetime  # UTC
    cancelled: bool  # an earlier batch withdrew it already


@dataclass(eq=False)
class Item:
    """One event of the batch for this group, checked for form already."""

    index: int
    event_id: str
    kind: str
    at: datetime  # UTC
    ref: str | None = None
    origin: str | None = None
    cancels: str | None = None
    target: Target | None = None  # a cancellation's stored event in this group (None: unknown)
    error: DomainError | None = None  # refused before settling (a moment in the future, ...)

    @property
    def unit(self) -> str | None:
        """The stay reference this event belongs to (a cancellation: that of its target)."""
        if self.kind == CANCEL and self.target is not None:
            return self.target.ref
        return self.ref


@dataclass(eq=False)
class NewStay:
    """A stay the batch makes."""

    ref: str
    origin: str
    admitted: datetime
    admission: Item
    discharged: datetime | None = None
    discharge: Item | None = None


@dataclass
class Settlement:
    """What the batch does to the group: refused events with their reason, and the changes."""

    refused: dict[int, DomainError]
    new_stays: list[NewStay] = field(default_factory=list)
    # Stored stays whose end changes: the new end (None: open again) and the discharge that
    # sets it (None when a cancellation reopens the stay).
    ends: dict[Stay, tuple[datetime | None, Item | None]] = field(default_factory=dict)
    removed: list[Stay] = field(default_factory=list)
    # Region of origin of each accepted discharge (the stay's), for the stored event.
    discharge_origin: dict[int, str] = field(default_factory=dict)


def settle(capacity: int, items: list[Item], stays: list[Stay]) -> Settlement:
    """The outcome of the group's part of a batch. ``stays``: every stored stay of the group
    that is open or ended at or after the earliest moment the batch touches, and the stays of
    the events it cancels."""
    forced = {item.index: item.error for item in items if item.error is not None}
    while True:
        attempt = _Attempt(capacity, items, stays, forced)
        more = attempt.knock_on()
        if not more:
            return attempt.settlement
        forced.update(more)


class _Attempt:
    """One pass of the three steps with some events refused beforehand."""

    def __init__(self, capacity: int, items: list[Item], stays: list[Stay], forced: dict[int, DomainError]) -> None:
        self.capacity = capacity
        self.items = items
        self.forced = set(forced)
        self.refused: dict[int, DomainError] = dict(forced)
        self.capacity_refused: set[int] = set()
        self.by_ref: dict[str, list[Stay]] = defaultdict(list)
        for stay in stays:
            self.by_ref[stay.ref].append(stay)
        self.end: dict[Stay, datetime | None] = {stay: stay.discharged for stay in stays}
        self.ended_by: dict[Stay, Item] = {}
        self.removed: dict[Stay, Item] = {}
        self.reopened: dict[Stay, tuple[datetime, Item]] = {}
        self.new_stays: list[NewStay] = []
        self.discharge_origin: dict[int, str] = {}
        live = [item for item in items if item.index not in self.refused]
        self._cancellations(stays, [i for i in live if i.kind == CANCEL])
        self._sequences([i for i in live if i.kind != CANCEL])
        self._capacity(stays)
        self.settlement = Settlement(
            refused=self.refused,
            new_stays=[s for s in self.new_stays if s.admission.index not in self.refused],
            ends={
                stay: (self.end[stay], self.ended_by.get(stay))
                for stay in stays
                if stay not in self.removed and (stay in self.ended_by or stay in self.reopened)
            },
            removed=list(self.removed),
            discharge_origin={i: o for i, o in self.discharge_origin.items() if i not in self.refused},
        )

    # -- 1. cancellations ------------------------------------------------------------------

    def _cancellations(self, stays: list[Stay], cancels: list[Item]) -> None:
        by_admission = {stay.admission_event: stay for stay in stays}
        by_discharge = {stay.discharge_event: stay for stay in stays if stay.discharge_event is not None}
        named: dict[str, str] = {}  # event id withdrawn -> the cancellation that withdraws it
        for item in cancels:
            target = item.target
            try:
                if target is None:
                    raise NotFound(
                        f"Gebeurtenis '{item.cancels}' is niet gevonden bij deze groep.",
                        code="occupancy_cancel_unknown",
                    )
                if target.kind == CANCEL:
                    raise RuleViolation(
                        "Een intrekking kan zelf niet worden ingetrokken; stuur de gebeurtenis opnieuw "
                        "met een nieuw id.",
                        code="occupancy_cancel_cancel",
                    )
                if target.cancelled:
                    raise Conflict(
                        f"Gebeurtenis '{target.event_id}' is al ingetrokken.", code="occupancy_already_cancelled"
                    )
                if target.event_id in named:
                    raise RuleViolation(
                        f"Gebeurtenis '{target.event_id}' wordt in deze batch al ingetrokken door "
                        f"'{named[target.event_id]}'.",
                        code="occupancy_cancel_repeated",
                    )
                stay = (by_admission if target.kind == ADMISSION else by_discharge).get(target.id)
                if stay is None:
                    raise NotFound(
                        f"Bij gebeurtenis '{target.event_id}' is geen verblijf gevonden.",
                        code="occupancy_cancel_unknown",
                    )
            except DomainError as error:
                self.refused[item.index] = error
                continue
            named[target.event_id] = item.event_id
            if target.kind == ADMISSION:
                self.removed[stay] = item
            else:
                self.reopened[stay] = (stay.discharged, item)  # type: ignore[assignment]
        for stay, item in list(self.removed.items()):
            if stay.discharge_event is not None and stay not in self.reopened:
                del self.removed[stay]
                self.refused[item.index] = RuleViolation(
                    f"Verblijf '{stay.ref}' heeft al een ontslag; trek eerst (of in dezelfde batch) het ontslag "
                    "in en dan de opname.",
                    code="occupancy_cancel_order",
                )
        for stay, (_old_end, item) in list(self.reopened.items()):
            if stay in self.removed:
                continue  # the whole stay goes
            later = [s for s in self.by_ref[stay.ref] if s not in self.removed and s.order > stay.order]
            if later:
                del self.reopened[stay]
                self.refused[item.index] = RuleViolation(
                    f"Na dit ontslag is verblijf '{stay.ref}' opnieuw opgenomen; trek eerst die opname in.",
                    code="occupancy_cancel_order",
                )
                continue
            self.end[stay] = None

    # -- 2. the sequence of each stay reference -----------------------------------------------

    def _sequences(self, events: list[Item]) -> None:
        by_ref: dict[str, list[Item]] = defaultdict(list)
        for item in events:
            by_ref[item.ref].append(item)  # type: ignore[index]
        for ref, ref_items in by_ref.items():
            ref_items.sort(key=lambda i: (i.at, _KIND_RANK[i.kind], i.index))
            base = [s for s in self.by_ref.get(ref, ()) if s not in self.removed]
            latest: Stay | NewStay | None = max(base, key=lambda s: s.order) if base else None
            for item in ref_items:
                try:
                    if item.kind == ADMISSION:
                        latest = self._admit(item, latest)
                    else:
                        self._discharge(item, latest)
                except DomainError as error:
                    self.refused[item.index] = error

    def _current_end(self, stay: Stay | NewStay) -> datetime | None:
        return stay.discharged if isinstance(stay, NewStay) else self.end[stay]

    def _admit(self, item: Item, latest: Stay | NewStay | None) -> NewStay:
        if latest is not None:
            end = self._current_end(latest)
            if end is None:
                raise Conflict(
                    f"Verblijf '{item.ref}' is al opgenomen in deze groep sinds {moment_text(latest.admitted)}; "
                    "meld eerst het ontslag.",
                    code="occupancy_already_present",
                )
            if end > item.at:
                raise RuleViolation(
                    f"Deze opname ligt vóór het laatste ontslag van verblijf '{item.ref}' ({moment_text(end)}); "
                    "trek dat ontslag eerst in als het niet klopt.",
                    code="occupancy_out_of_sequence",
                )
        stay = NewStay(ref=item.ref, origin=item.origin, admitted=item.at, admission=item)  # type: ignore[arg-type]
        self.new_stays.append(stay)
        return stay

    def _discharge(self, item: Item, latest: Stay | NewStay | None) -> None:
        if latest is None or self._current_end(latest) is not None:
            raise RuleViolation(
                f"Ontslag zonder opname: verblijf '{item.ref}' is niet opgenomen in deze groep. Stuur eerst de opname.",
                code="occupancy_no_admission",
            )
        if latest.admitted > item.at:
            raise RuleViolation(
                f"Het ontslag ligt vóór de opname van verblijf '{item.ref}' ({moment_text(latest.admitted)}).",
                code="occupancy_before_admission",
            )
        if isinstance(latest, NewStay):
            latest.discharged, latest.discharge = item.at, item
        else:
            self.end[latest] = item.at
            self.ended_by[latest] = item
        self.discharge_origin[item.index] = latest.origin

    # -- 3. capacity ------------------------------------------------------------------------

    def _capacity(self, stays: list[Stay]) -> None:
        fixed: list[tuple[datetime, datetime | None]] = []
        # (start, end, first event, the events that stand or fall with it, the reopened stay)
        candidates: list[tuple[datetime, datetime | None, Item, list[Item], Stay | None]] = []
        for stay in stays:
            if stay in self.removed:
                continue
            end = self.end[stay]
            if stay in self.reopened:
                old_end = self.reopened[stay][0]
                if end is not None and end <= old_end:
                    fixed.append((stay.admitted, end))  # corrected to an earlier discharge
                    continue
                fixed.append((stay.admitted, old_end))
                cancel = self.reopened[stay][1]
                closing = self.ended_by.get(stay)
                candidates.append((old_end, end, cancel, [cancel] + ([closing] if closing else []), stay))
            else:
                fixed.append((stay.admitted, end))
        for new in self.new_stays:
            if new.admission.index in self.refused:
                continue
            events = [new.admission] + ([new.discharge] if new.discharge else [])
            candidates.append((new.admitted, new.discharged, new.admission, events, None))
        if not candidates:
            return
        bounds = [*fixed, *((c[0], c[1]) for c in candidates)]
        points: list[datetime] = sorted({moment for bound in bounds for moment in bound if moment is not None})
        position = {moment: i for i, moment in enumerate(points)}
        diff = np.zeros(len(points) + 1, dtype=np.int64)
        for start, end in fixed:
            diff[position[start]] += 1
            diff[position[end] if end is not None else len(points)] -= 1
        present = np.cumsum(diff[:-1])
        candidates.sort(key=lambda c: (c[0], c[2].index))
        for start, end, first, events, reopened in candidates:
            i = position[start]
            j = position[end] if end is not None else len(points)
            if j <= i:
                continue  # no time in the group: nothing to check
            span = present[i:j]
            peak_at = int(span.argmax())
            if int(span[peak_at]) + 1 <= self.capacity:
                span += 1
                continue
            self._refuse_for_capacity(first, events, points[i + peak_at], int(span[peak_at]) + 1)
            if reopened is not None:  # the stay keeps its discharge
                self.end[reopened] = self.reopened.pop(reopened)[0]
                self.ended_by.pop(reopened, None)

    def _refuse_for_capacity(self, first: Item, events: list[Item], moment: datetime, count: int) -> None:
        if first.kind == ADMISSION:
            self.refused[first.index] = Conflict(
                f"De groep heeft {self.capacity} plaatsen en zou met deze opname op {moment_text(moment)} "
                f"{count} jeugdigen hebben; meld eerst het ontslag van wie vertrokken is.",
                code="occupancy_over_capacity",
            )
            follow = f"Dit ontslag hoort bij opname '{first.event_id}'"
        else:
            self.refused[first.index] = Conflict(
                f"Zonder dit ontslag zou de groep op {moment_text(moment)} {count} jeugdigen hebben; "
                f"zij heeft {self.capacity} plaatsen.",
                code="occupancy_over_capacity",
            )
            follow = f"Dit ontslag hoort bij intrekking '{first.event_id}'"
        follow += ", die is geweigerd omdat de groep dan te vol zou zijn."
        self.capacity_refused.add(first.index)
        for item in events[1:]:
            self.refused[item.index] = RuleViolation(follow, code="occupancy_admission_refused")
            self.capacity_refused.add(item.index)

    # -- knock-on refusals ---------------------------------------------------------------------

    def knock_on(self) -> dict[int, DomainError]:
        """Events to refuse beforehand in another pass (empty: this pass stands)."""
        more: dict[int, DomainError] = {}
        corrected = {item.unit for item in self.items if item.kind == CANCEL and item.unit}
        units: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            unit = item.unit
            if unit is not None and unit in corrected:
                units[unit].append(item)
        for ref, members in units.items():
            bad = [m for m in members if m.index in self.refused]
            if not bad or len(bad) == len(members):
                continue
            first = min(bad, key=lambda m: m.index)
            reason = self.refused[first.index].message
            # The refused ones keep their reason in the next pass, whatever it would find then.
            more.update({m.index: self.refused[m.index] for m in bad})
            for member in members:
                if member.index not in self.refused:
                    more[member.index] = RuleViolation(
                        f"De correctie van verblijf '{ref}' gaat in zijn geheel niet door: gebeurtenis "
                        f"'{first.event_id}' is geweigerd ({reason})",
                        code="occupancy_correction_refused",
                    )
        # An admission refused for capacity must not keep a later event of the same youth out.
        # (Only the admission is refused beforehand: its discharge may close a later stay.)
        by_ref: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            if item.kind != CANCEL and item.index in self.refused:
                by_ref[item.ref].append(item)  # type: ignore[index]
        for ref_items in by_ref.values():
            full = [i for i in ref_items if i.index in self.capacity_refused and i.kind == ADMISSION]
            if not full:
                continue
            first_full = min(i.at for i in full)
            if any(self.refused[i.index].code in _SEQUENCE_CODES and i.at >= first_full for i in ref_items):
                more.update({i.index: self.refused[i.index] for i in full})
        return {i: e for i, e in more.items() if i not in self.forced}
