"""What-if simulation: replay a period of the region's referrals through the matching solver,
as it was and with one change, and compare the figures.

History (read once per run, in one read transaction):

- *groups*: the region's groups active at some time in the period, translated by
  ``backend.matching.adapter`` (the one translation into solver input), and those of its
  neighbouring regions (setting ``neighbours``): a youth goes there only when no group of the
  region has a feasible free place (``solver.replay``'s ``fallback``), into the places that were
  really free there (their own youths are occupants); they bring none of the region's funding;
- *schedule*: each group's places day by day, in stretches of days with the same places and
  *availability funding rate* (day tariff × share, 0 where not funded), cut and priced by the
  post-calculation's own rules (``backend.reports.service.group_segments``): the contracted
  places of the contract version valid that day, the group's capacity on an active day without
  one (unfunded), none before the group starts or after it stops;
- *referrals*: those that came in (``created_at``) in the period, each with its youth profile on
  that day; its *length of stay* is the real one (arrival to discharge of its placement) where
  known, else drawn from the empirical lengths of the stays admitted in the period;
- *occupants*: youths present at the start of the period, and admissions during the period that
  did not come from one of the replayed referrals (direct admissions by a provider, referrals
  from before the period): they take their place on their real day and leave on their real day
  (still in care: to the end of the period) whatever the policy.

A replayed referral still in care keeps a drawn stay at least as long as its stay so far.

Places that change within the period: the replay (``solver.replay``) knows one capacity per
group, so each group gets its most places of the period, and on the days it has fewer a
*missing place* (an ``Occupant`` that is no youth) takes each place it lacks. Occupants are
taken whatever the policy does, even above capacity, as a real reduction works: nobody is sent
away, the group admits nobody until it is below its new number. Missing places never count as
youths: the figures and the funding count the youths' nights only, against the day's places.
A change applies day by day too (``apply_change``): a merged group has the places of both each
day, places added or removed count on the group's active days only.

Availability funding, for what happened and for each replay: per stretch its rate × (places ×
nights − the nights youths spent there), never below zero. A change that only removes places
says in how many repetitions it placed more youths than the baseline (``more_placed_with_change``,
with a note when any): only the order of placing can do that (``solver.replay``).

Each repetition draws the unknown stays and the order of referrals of the same day with its own
seed; baseline and change use the same draws, so their difference is the change's own effect.
Figures: mean over the repetitions and a 95% t-interval. "What happened" is computed from the
real placements for comparison (no interval: it happened once).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from scipy import stats
from sqlmodel import Session, col, or_, select

import solver
from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_region_access
from backend.db import Database
from backend.domain import as_utc, utcnow
from backend.errors import Conflict, NotFound, RuleViolation
from backend.matching import adapter
from backend.notation import number
from backend.occupancy.models import OccupancyStay
from backend.occupancy.service import local_day
from backend.placements.models import Placement
from backend.planning.service import PlannerPeriod, check_past_period
from backend.providers.models import Group
from backend.referrals.models import Referral
from backend.regions.models import Municipality, Region
from backend.reports.service import funding_settings, group_segments
from backend.reports.service import load_history as register_history
from backend.whatif.models import FINISHED, WhatIfRun, WhatIfRunCreate
from solver.geo import great_circle_km
from solver.replay import Arrival, Occupant, ReplayResult, replay, steps_above_need

CONFIDENCE = 0.95
BASE_SEED = 20_260_317
# How often a job writes its progress and looks for a cancel request (seconds).
CHECK_EVERY_S = 0.5
# One run at a time per region: a run takes a core for up to a minute. A run older than this that
# still says queued or running lost its process (a restart) and no longer blocks a new one.
BUSY_MINUTES = 30

# The figures, in the order the screen shows them: (key, Dutch label, unit).
FIGURES: list[tuple[str, str, str]] = [
    ("median_wait_days", "Mediane wachttijd", "dagen"),
    ("p90_wait_days", "Wachttijd van 90% van de jongeren", "dagen"),
    ("placed", "Geplaatste jongeren", "jongeren"),
    ("mean_distance_km", "Gemiddelde afstand tot thuis", "km"),
    ("share_out_of_region", "Aandeel geplaatst buiten de regio", "aandeel"),
    ("share_above_need", "Aandeel zwaarder geplaatst dan nodig", "aandeel"),
    ("mean_steps_above_need", "Gemiddeld aantal treden zwaarder dan nodig", "treden"),
    ("availability_funding", "Beschikbaarheidsvergoeding over de periode", "euro"),
]

NOTES = [
    "De simulatie plaatst eerst in groepen van de regio. Is daar geen passende plek vrij, dan in een groep van "
    "een buurregio (de instelling 'buurregio's'), met de plekken die daar werkelijk vrij waren. Plaatsingen nog "
    "verder weg komen alleen in 'wat er gebeurde' voor.",
    "Jongeren met dezelfde binnenkomstdag worden per herhaling in een andere volgorde behandeld; onbekende "
    "verblijfsduren worden per herhaling opnieuw getrokken uit de afgeronde verblijven van de periode.",
    "Wachttijden van jongeren die aan het eind van de periode nog wachten, tellen mee tot het eind van de periode.",
]


@dataclass(frozen=True)
class Period(PlannerPeriod):
    """The planner's period (days from the night of ``start`` through ``end``), counted in days."""

    def day_of(self, moment: datetime) -> float:
        return (as_utc(moment) - self.begins).total_seconds() / 86400.0  # type: ignore[operator]


@dataclass
class Referred:
    """One replayed referral: its profile, its whole day of arrival, its real stay if known."""

    youth: solver.Youth
    day: int
    stay_days: float | None
    # placed and not yet discharged: the stay lasts at least this long (to now)
    min_stay_days: float = 0.0
    # What really happened (for "wat er gebeurde").
    placed_day: float | None = None
    placed_group_id: int | None = None


@dataclass
class Present:
    """A stay outside the replayed referrals: present at the start or admitted directly."""

    group_id: int
    arrives_day: float  # 0 when present at the start
    elapsed_days: float  # at the start of the period (0 for a direct admission)
    leaves_day: float | None  # None: not yet discharged (so there to the end of the period)


@dataclass(frozen=True)
class Stretch:
    """Days ``first`` .. ``last`` (indices into the period, inclusive) with the same places and
    availability funding rate per empty place-night (day tariff × share; 0 where not funded);
    ``active``: within the group's active period (a group with 0 places in its contract is
    active, one that has not started yet is not)."""

    first: int
    last: int
    places: int
    rate: float = 0.0
    active: bool = True


# Group id -> its stretches, in order, together covering every day of the period.
Schedule = dict[int, list[Stretch]]


@dataclass
class History:
    region: Region
    period: Period
    groups: list[solver.Group]
    group_names: dict[int, str]
    in_region: dict[int, bool]  # group id -> its municipality lies in the region
    referrals: list[Referred]
    present: list[Present]
    lengths: list[float]  # completed stays admitted in the period, in days
    schedule: Schedule = field(default_factory=dict)
    # A group's places and rate for the whole period, for a group without a schedule (histories
    # built by hand); after construction ``places`` holds every group's most places of the
    # period, its capacity in the replay.
    places: dict[int, int] = field(default_factory=dict)
    rate: dict[int, float] = field(default_factory=dict)
    skipped: int = 0
    # observed placements in groups outside the replayed set (other regions), for distances
    other_groups: dict[int, solver.Group] = field(default_factory=dict)
    # the neighbouring regions' groups among ``groups``: a youth goes there only when no group of
    # the region has a place for it (``solver.replay``'s fallback)
    fallback: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        last = self.period.days - 1
        for gid, places in self.places.items():
            self.schedule.setdefault(gid, [Stretch(0, last, places, self.rate.get(gid, 0.0))])
        self.places = capacity(self.schedule)

    @property
    def varying_groups(self) -> int:
        """Groups whose places change within the period (started, stopped, a new contract version)."""
        return sum(1 for stretches in self.schedule.values() if len({s.places for s in stretches}) > 1)


@dataclass(frozen=True)
class Change:
    kind: str
    group_id: int | None = None
    other_group_id: int | None = None
    places_delta: int = 0


# -- input --------------------------------------------------------------------------------------


def check_period(start: date, end: date) -> Period:
    check_past_period(start, end, who="de simulatie rekent")
    return Period(start, end)


def check_change(data: WhatIfRunCreate, schedule: Schedule, names: dict[int, str]) -> Change:
    """The change in Dutch terms; every refusal names what is wrong."""
    if data.change == "none":
        if data.policy == data.baseline_policy:
            raise RuleViolation(
                "Kies een wijziging: een groep sluiten, groepen samenvoegen, plaatsen erbij of eraf, of een andere "
                "matchwijze.",
                code="change_missing",
            )
        return Change("none")
    if data.group_id is None:
        raise RuleViolation("Kies de groep waar de wijziging over gaat.", code="group_missing")
    if data.group_id not in schedule:
        raise RuleViolation(
            "Die groep bestaat niet in deze regio of was in de periode niet actief.", code="group_unknown"
        )
    if data.change == "close":
        return Change("close", data.group_id)
    if data.change == "merge":
        if data.other_group_id is None:
            raise RuleViolation("Kies de groep waarmee wordt samengevoegd.", code="group_missing")
        if data.other_group_id not in schedule:
            raise RuleViolation(
                "De groep om mee samen te voegen bestaat niet in deze regio of was in de periode niet actief.",
                code="group_unknown",
            )
        if data.other_group_id == data.group_id:
            raise RuleViolation("Een groep kan niet met zichzelf worden samengevoegd.", code="merge_same_group")
        return Change("merge", data.group_id, data.other_group_id)
    delta = data.places_delta or 0
    if delta == 0:
        raise RuleViolation(
            "Geef aan hoeveel plaatsen erbij komen (positief) of eraf gaan (negatief).", code="delta_missing"
        )
    # Places come off every day the group is active (apply_change), so the fewest of those count.
    having = {s.places for s in schedule[data.group_id] if s.active}
    fewest = min(having, default=0)
    if fewest + delta < 0:
        has = (
            f"heeft {number(fewest)} plaatsen"
            if len(having) <= 1
            else f"heeft op sommige dagen van de periode maar {number(fewest)} plaatsen (de wijziging geldt voor elke "
            "dag dat de groep actief is)"
        )
        raise RuleViolation(
            f"{names[data.group_id]} {has}; er kunnen er niet {number(-delta)} af.",
            code="places_below_zero",
        )
    return Change("places", data.group_id, places_delta=delta)


def _region(session: Session, principal: Principal, region_id: int | None) -> Region:
    rid = region_id if region_id is not None else principal.region_id
    if rid is None:
        raise RuleViolation("Kies de regio.", code="region_required")
    ensure_region_access(principal, rid, what="Regio")
    region = session.get(Region, rid)
    if region is None:
        raise NotFound("Regio niet gevonden.")
    return region


# -- history ------------------------------------------------------------------------------------


def region_groups(
    session: Session, region: Region, period: Period, *, region_ids: list[int] | None = None
) -> list[Group]:
    """The groups of the region (or of ``region_ids``) active at some time in the period."""
    query = (
        select(Group)
        .where(
            col(Group.region_id).in_(region_ids if region_ids is not None else [region.id]),
            or_(col(Group.active_to).is_(None), col(Group.active_to) >= period.start),
            or_(col(Group.active_from).is_(None), col(Group.active_from) <= period.end),
        )
        .order_by(col(Group.id))
    )
    return list(session.exec(query).all())


def neighbour_groups(session: Session, region: Region, period: Period) -> list[Group]:
    """The groups of the region's neighbouring regions (its setting ``neighbours``), where a youth
    goes when the own region has no place for it."""
    codes = list((region.settings or {}).get("neighbours") or [])
    if not codes:
        return []
    ids = [int(rid) for rid in session.exec(select(Region.id).where(col(Region.code).in_(codes))).all() if rid]
    return region_groups(session, region, period, region_ids=ids) if ids else []


def group_schedule(session: Session, region: Region, groups: list[Group], period: Period) -> Schedule:
    """Each group's places and funding rate day by day (the post-calculation's segments): the
    contract version's places on a day it is valid, the group's capacity (unfunded) on an active
    day without one, no places outside the group's active period."""
    history = register_history(session=session, groups=groups, region=region, start=period.start, until=period.end)
    settings = funding_settings(region)
    schedule: Schedule = {}
    for group in groups:
        assert group.id is not None
        stretches: list[Stretch] = []
        for segment in group_segments(group, history, settings, start=period.start, days=period.days):
            day = period.start + timedelta(days=segment.first)
            active = (group.active_from is None or group.active_from <= day) and (
                group.active_to is None or day <= group.active_to
            )
            if segment.counted:
                places, rate = segment.places, segment.tariff * segment.share if segment.funded else 0.0
            else:
                places, rate = (group.capacity if active else 0), 0.0
            stretches.append(Stretch(segment.first, segment.last, places, rate, active))
        schedule[group.id] = _joined(stretches)
    return schedule


def _joined(stretches: list[Stretch]) -> list[Stretch]:
    """Neighbouring stretches with the same places, rate and activity as one."""
    out: list[Stretch] = []
    for s in stretches:
        if out and replace(out[-1], first=s.first, last=s.last) == s and out[-1].last + 1 == s.first:
            out[-1] = replace(s, first=out[-1].first)
        else:
            out.append(s)
    return out


def capacity(schedule: Schedule) -> dict[int, int]:
    """Each group's capacity in the replay: its most places on any day."""
    return {gid: max((s.places for s in stretches), default=0) for gid, stretches in schedule.items()}


def missing_places(schedule: Schedule, cap: dict[int, int]) -> list[Occupant]:
    """One occupant (no youth) per place a group lacks below its capacity, for each run of days
    it lacks it: arriving on the run's first day, leaving at the start of the day after it."""
    out: list[Occupant] = []
    for gid, stretches in schedule.items():
        for k in range(1, cap.get(gid, 0) + 1):
            run: int | None = None  # first day of the current run lacking a k-th place
            for s in stretches:
                lacking = cap[gid] - s.places >= k
                if lacking and run is None:
                    run = s.first
                elif not lacking and run is not None:
                    out.append(Occupant(gid, leaves_day=float(s.first), arrives_day=float(run)))
                    run = None
            if run is not None:
                out.append(Occupant(gid, leaves_day=float(stretches[-1].last + 1), arrives_day=float(run)))
    return out


def read_history(session: Session, region: Region, period: Period) -> History:
    rows = region_groups(session, region, period)
    schedule = group_schedule(session, region, rows, period)
    # The neighbours' groups with their own places day by day and no funding of this region's.
    neighbours = neighbour_groups(session, region, period)
    for gid, stretches in group_schedule(session, region, neighbours, period).items():
        schedule[gid] = [replace(stretch, rate=0.0) for stretch in stretches]
    municipalities = set(session.exec(select(Municipality.id).where(Municipality.region_id == region.id)).all())
    groups = [adapter.solver_group(g) for g in rows + neighbours]
    group_ids = [g.id for g in groups]
    own_ids = {int(g.id or 0) for g in rows}
    referrals: list[Referred] = []
    skipped = 0
    query = (
        select(Referral)
        .where(
            Referral.region_id == region.id,
            col(Referral.created_at) >= period.begins,
            col(Referral.created_at) < period.ends,
        )
        .order_by(col(Referral.created_at), col(Referral.id))
    )
    by_referral: dict[int, Referred] = {}
    for ref in session.exec(query).all():
        created = as_utc(ref.created_at)
        assert created is not None and ref.id is not None
        try:
            youth = adapter.youth_from_referral(ref, today=local_day(created), now=created)
        except RuleViolation:
            skipped += 1
            continue
        item = Referred(youth=youth, day=max(0, math.floor(period.day_of(created))), stay_days=None)
        referrals.append(item)
        by_referral[ref.id] = item
    other_groups: dict[int, solver.Group] = {}
    if by_referral:
        placements = session.exec(
            select(Placement)
            .where(col(Placement.referral_id).in_(list(by_referral)), col(Placement.arrived_at).is_not(None))
            .order_by(col(Placement.arrived_at), col(Placement.id))
        ).all()
        for p in placements:
            item = by_referral[p.referral_id]
            if item.placed_group_id is not None:
                continue  # a transfer: the first arrival is the placement
            arrived = as_utc(p.arrived_at)
            assert arrived is not None
            item.placed_group_id = p.group_id
            item.placed_day = period.day_of(arrived)
            if p.discharged_at is not None:
                left = as_utc(p.discharged_at)
                assert left is not None
                item.stay_days = max(1 / 24, (left - arrived).total_seconds() / 86400.0)
            else:
                item.min_stay_days = max(0.0, (utcnow() - arrived).total_seconds() / 86400.0)
        missing = {i.placed_group_id for i in referrals if i.placed_group_id is not None} - set(group_ids)
        for g in session.exec(select(Group).where(col(Group.id).in_(sorted(missing)))).all() if missing else []:
            other_groups[g.id] = adapter.solver_group(g)  # type: ignore[index]
    in_region = {int(g.id or 0): g.municipality_id in municipalities for g in rows}
    in_region.update({int(g.id or 0): False for g in neighbours})
    for gid in other_groups:
        in_region[gid] = False
    known = {rid for rid, item in by_referral.items() if item.stay_days is not None}
    present, lengths = _stays(session, group_ids, period, set(by_referral), known, own_ids)
    # the replayed referrals' completed placements count once, also when their occupancy stay
    # is in another region's group
    lengths += [
        i.stay_days for i in referrals if i.stay_days is not None and i.placed_day is not None and i.placed_day >= 0
    ]
    return History(
        region=region,
        period=period,
        groups=groups,
        group_names={int(g.id or 0): g.name for g in rows + neighbours},
        fallback=frozenset(int(g.id or 0) for g in neighbours),
        schedule=schedule,
        in_region=in_region,
        referrals=referrals,
        present=present,
        lengths=lengths,
        skipped=skipped,
        other_groups=other_groups,
    )


def _stays(
    session: Session, group_ids: list[int], period: Period, replayed: set[int], known: set[int], own: set[int]
) -> tuple[list[Present], list[float]]:
    """Stays in the groups overlapping the period: those not replayed as referrals become
    occupants; the completed stays admitted in the period in the region's ``own`` groups give
    the length-of-stay distribution."""
    if not group_ids:
        return [], []
    s = OccupancyStay.__table__.c  # type: ignore[attr-defined]
    rows = session.connection().execute(
        select(s.group_id, s.admitted_at, s.discharged_at, s.referral_id)
        .where(
            s.group_id.in_(group_ids),
            s.admitted_at < period.ends,
            or_(s.discharged_at.is_(None), s.discharged_at > period.begins),
        )
        .order_by(s.admitted_at, s.id)
    )
    present: list[Present] = []
    lengths: list[float] = []
    for group_id, admitted, discharged, referral_id in rows:
        start = period.day_of(admitted)
        end = period.day_of(discharged) if discharged is not None else None
        if start >= 0 and end is not None and referral_id not in known and group_id in own:
            lengths.append(max(1 / 24, end - start))
        if referral_id is not None and referral_id in replayed:
            continue
        present.append(
            Present(
                group_id=int(group_id),
                arrives_day=max(0.0, start),
                elapsed_days=max(0.0, -start),
                leaves_day=end,
            )
        )
    return present, lengths


# -- one repetition -----------------------------------------------------------------------------


@dataclass
class Draws:
    arrivals: list[Arrival]
    occupants: list[Occupant]


def draw(history: History, rng: np.random.Generator) -> Draws:
    """Stays and tie order of one repetition."""
    horizon = float(history.period.days)
    lengths = np.array(history.lengths, dtype=np.float64)

    def a_stay() -> float:
        # Without any completed stay the length is unknown: longer than the period.
        return float(rng.choice(lengths)) if len(lengths) else 2 * horizon

    keys = rng.random(len(history.referrals))
    order = sorted(range(len(history.referrals)), key=lambda i: (history.referrals[i].day, keys[i]))
    arrivals = []
    for i in order:
        item = history.referrals[i]
        if item.stay_days is not None:
            stay = item.stay_days
        else:
            # still in care: a stay at least as long as it has lasted so far
            longer = lengths[lengths >= item.min_stay_days] if len(lengths) else lengths
            stay = float(rng.choice(longer)) if len(longer) else max(item.min_stay_days, a_stay())
        arrivals.append(Arrival(youth=item.youth, day=float(item.day), stay_days=stay))
    occupants = []
    for p in history.present:
        # the real stay: not yet discharged means present to the end of the period
        leaves = p.leaves_day if p.leaves_day is not None else 2 * horizon
        occupants.append(Occupant(group_id=p.group_id, arrives_day=p.arrives_day, leaves_day=max(leaves, 1 / 24)))
    return Draws(arrivals, occupants)


def apply_change(change: Change, schedule: Schedule, occupants: list[Occupant]) -> tuple[Schedule, list[Occupant]]:
    """The schedule and the occupants with the change.

    - close: no places any day; those present stay until they leave, nobody is admitted directly.
    - merge ``x`` into ``y``: ``y`` has the places of both, day by day, and ``x``'s occupants;
      its funding rate is ``y``'s where ``y`` has places, ``x``'s where only ``x`` has (before
      ``y`` starts, say).
    - places ± delta: on every day the group is active, and only then: a group that starts (or
      stops) within the period gets no places before it starts (or after it stops), as the
      change is to a group's contract, and no contract runs outside the group's active period
      (a day in it with 0 places, a contract version of none, does get them).
      ``check_change`` keeps every such day at zero places or more.
    """
    out = dict(schedule)
    occ = list(occupants)
    if change.kind == "close":
        assert change.group_id is not None
        stretches = schedule[change.group_id]
        out[change.group_id] = [Stretch(stretches[0].first, stretches[-1].last, 0, active=False)]
        # A closed group admits nobody directly either (those already there stay until they leave).
        occ = [o for o in occ if not (o.group_id == change.group_id and o.arrives_day > 0)]
    elif change.kind == "merge":
        assert change.group_id is not None and change.other_group_id is not None
        x, y = change.group_id, change.other_group_id
        cuts = sorted({s.first for s in schedule[x] + schedule[y]} | {schedule[y][-1].last + 1})
        merged = []
        for first, after in pairwise(cuts):
            sx, sy = _on(schedule[x], first), _on(schedule[y], first)
            rate = sy.rate if sy.places > 0 else sx.rate
            merged.append(Stretch(first, after - 1, sx.places + sy.places, rate, sx.active or sy.active))
        out[y] = _joined(merged)
        out[x] = [Stretch(cuts[0], cuts[-1] - 1, 0, active=False)]
        occ = [Occupant(y, o.leaves_day, o.arrives_day) if o.group_id == x else o for o in occ]
    elif change.kind == "places":
        assert change.group_id is not None
        out[change.group_id] = [
            replace(s, places=max(0, s.places + change.places_delta)) if s.active else s
            for s in schedule[change.group_id]
        ]
    return out, occ


def _on(stretches: list[Stretch], day: int) -> Stretch:
    return next(s for s in stretches if s.first <= day <= s.last)


def funding(schedule: Schedule, stays: Iterable[tuple[int, float, float]], horizon: float) -> float:
    """Availability funding over the period: per stretch of a group, its rate × its empty
    place-nights (places × nights less the nights the youths in ``stays`` — group, from, to —
    spent there; never below zero, when the group had more youths than places)."""
    spans: dict[int, list[tuple[float, float]]] = {}
    for gid, begin, end in stays:
        spans.setdefault(gid, []).append((max(0.0, begin), min(end, horizon)))
    total = 0.0
    for gid, stretches in schedule.items():
        for s in stretches:
            if s.rate == 0 or s.places == 0:
                continue
            lo, hi = float(s.first), min(float(s.last + 1), horizon)
            taken = sum(max(0.0, min(end, hi) - max(begin, lo)) for begin, end in spans.get(gid, ()))
            total += s.rate * max(0.0, s.places * (hi - lo) - taken)
    return total


def figures(
    history: History,
    res: ReplayResult,
    arrivals: Sequence[Arrival],
    occupants: Sequence[Occupant],
    schedule: Schedule,
) -> dict[str, float | None]:
    """The figures of one replay; ``occupants`` are youths (present at the start, admitted
    directly), never the missing places."""
    horizon = float(history.period.days)
    placed = [o for o in res.outcomes if o.group_id is not None]
    stay = {a.youth.id: a.stay_days for a in arrivals}
    stays: list[tuple[int, float, float]] = []
    for o in placed:
        assert o.group_id is not None and o.placed_day is not None
        stays.append((o.group_id, o.placed_day, o.placed_day + stay[o.youth_id]))
    stays += [(o.group_id, o.arrives_day, o.leaves_day) for o in occupants]
    out_of_region = [not history.in_region.get(o.group_id, False) for o in placed if o.group_id is not None]
    return {
        "median_wait_days": res.median_wait_days,
        "p90_wait_days": res.p90_wait_days,
        "placed": float(res.placed),
        "mean_distance_km": res.mean_distance_km,
        "share_out_of_region": sum(out_of_region) / len(out_of_region) if out_of_region else None,
        "share_above_need": res.share_above_need,
        "mean_steps_above_need": res.mean_steps_above_need,
        "availability_funding": funding(schedule, stays, horizon),
    }


def observed(history: History) -> dict[str, float | None]:
    """What happened: the real placements of the period's referrals (arrival in care), waits
    censored at the end of the period, and the real empty place-nights of the groups."""
    horizon = float(history.period.days)
    by_id = {g.id: g for g in history.groups} | history.other_groups
    waits: list[float] = []
    km: list[float] = []
    steps: list[int] = []
    outside: list[bool] = []
    placed = 0
    for item in history.referrals:
        if item.placed_day is not None and item.placed_day < horizon and item.placed_group_id in by_id:
            group = by_id[item.placed_group_id]
            placed += 1
            waits.append(max(0.0, item.placed_day - item.day))
            km.append(great_circle_km(item.youth.lat, item.youth.lon, group.lat, group.lon))
            steps.append(steps_above_need(item.youth, group))
            outside.append(not history.in_region.get(group.id, False))
        else:
            waits.append(horizon - item.day)
    # the real stays, the replayed referrals' included: every stay of the period is in ``present``
    # or is a referral's placement
    stays = [
        (p.group_id, p.arrives_day, p.leaves_day if p.leaves_day is not None else horizon) for p in history.present
    ]
    for item in history.referrals:
        if item.placed_day is not None and item.placed_group_id is not None and item.placed_day < horizon:
            end = item.placed_day + item.stay_days if item.stay_days is not None else horizon
            stays.append((item.placed_group_id, item.placed_day, end))
    money = funding(history.schedule, stays, horizon)
    q = np.quantile(waits, [0.5, 0.9]).tolist() if waits else [None, None]
    return {
        "median_wait_days": q[0],
        "p90_wait_days": q[1],
        "placed": float(placed),
        "mean_distance_km": sum(km) / len(km) if km else None,
        "share_out_of_region": sum(outside) / len(outside) if outside else None,
        "share_above_need": sum(1 for s in steps if s > 0) / len(steps) if steps else None,
        "mean_steps_above_need": sum(steps) / len(steps) if steps else None,
        "availability_funding": money,
    }


def interval(values: Sequence[float | None], *, upper: float | None = None) -> dict[str, float | None]:
    """Mean and 95% t-interval over the repetitions (None where a figure had no value). Every
    figure is 0 or more (a share at most ``upper``): the interval is cut there, so that a wait
    near zero never shows a negative bound."""
    data = [v for v in values if v is not None]
    if not data:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(np.mean(data))
    if len(data) < 2:
        return {"mean": mean, "low": None, "high": None, "n": len(data)}
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(data) - 1) * np.std(data, ddof=1) / math.sqrt(len(data)))
    high = mean + half if upper is None else min(upper, mean + half)
    return {"mean": mean, "low": max(0.0, mean - half), "high": high, "n": len(data)}


class Cancelled(Exception):
    pass


def simulate(
    history: History,
    change: Change,
    *,
    policy: str,
    baseline_policy: str,
    repetitions: int,
    batch_every_days: float = 7.0,
    time_limit_s: float = 2.0,
    weights: solver.Weights | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """The figures of ``repetitions`` replays of the baseline and the change (raises
    ``Cancelled`` when ``should_stop`` says so).

    ``more_placed_with_change``: for a change that only removes places (a closure, places off,
    the same policy on both sides), the repetitions in which the change placed more youths than
    the baseline, which only the order of placing can do (``solver.replay``); None otherwise."""
    horizon = float(history.period.days)
    per_side: dict[str, list[dict[str, float | None]]] = {"baseline": [], "change": []}
    steps = 2 * repetitions
    done = 0
    for r in range(repetitions):
        draws = draw(history, np.random.default_rng(BASE_SEED + r))
        schedule_change, occ_change = apply_change(change, history.schedule, draws.occupants)
        for side, pol, schedule, occ in (
            ("baseline", baseline_policy, history.schedule, draws.occupants),
            ("change", policy, schedule_change, occ_change),
        ):
            cap = capacity(schedule)
            base = done

            def told(share: float, base: int = base) -> None:
                if progress is not None:
                    progress((base + share) / steps)

            res = replay(
                history.groups,
                cap,
                draws.arrivals,
                horizon_days=horizon,
                policy=pol,  # type: ignore[arg-type]
                batch_every_days=batch_every_days,
                occupants=[*occ, *missing_places(schedule, cap)],
                weights=weights,
                time_limit_s=time_limit_s,
                should_stop=should_stop,
                progress=told,
                fallback=history.fallback,
            )
            if res.cancelled:
                raise Cancelled
            per_side[side].append(figures(history, res, draws.arrivals, occ, schedule))
            done += 1
    seen = observed(history)
    removes = change.kind == "close" or (change.kind == "places" and change.places_delta < 0)
    more: list[float] | None = None
    if removes and policy == baseline_policy:
        more = [
            float(c["placed"] or 0) - float(b["placed"] or 0)
            for b, c in zip(per_side["baseline"], per_side["change"], strict=True)
            if float(c["placed"] or 0) > float(b["placed"] or 0)
        ]
    return {
        "repetitions": repetitions,
        "confidence": CONFIDENCE,
        "days": history.period.days,
        "referrals": len(history.referrals),
        "skipped_referrals": history.skipped,
        "groups": len(history.groups) - len(history.fallback),
        "neighbour_groups": len(history.fallback),
        "present_at_start": sum(1 for p in history.present if p.arrives_day <= 0),
        "direct_admissions": sum(1 for p in history.present if p.arrives_day > 0),
        "completed_stays": len(history.lengths),
        "figures": [
            {
                "key": key,
                "label": label,
                "unit": unit,
                "observed": seen[key],
                "baseline": interval(
                    [rep[key] for rep in per_side["baseline"]], upper=1.0 if unit == "aandeel" else None
                ),
                "change": interval([rep[key] for rep in per_side["change"]], upper=1.0 if unit == "aandeel" else None),
            }
            for key, label, unit in FIGURES
        ],
        "more_placed_with_change": len(more) if more is not None else None,
        "notes": list(NOTES) + _notes(history, change) + _ordering_note(more, repetitions),
    }


def _ordering_note(more: list[float] | None, repetitions: int) -> list[str]:
    """Said out loud, so that nobody reads a closure as a gain in places."""
    if not more:
        return []
    most = max(more)
    extra = "één jongere meer" if most == 1 else f"tot {number(most)} jongeren meer"
    return [
        f"In {number(len(more))} van de {number(repetitions)} herhalingen plaatste de simulatie met deze wijziging "
        f"{extra} dan zonder. Dat komt door de volgorde van plaatsen zonder vooruit te kijken (wie later geplaatst "
        "wordt, vertrekt ook later), niet doordat de wijziging plaatsen oplevert."
    ]


def _notes(history: History, change: Change) -> list[str]:
    notes = []
    if not history.fallback:
        notes.append(
            "Er zijn geen buurregio's met groepen ingesteld: de simulatie plaatst alleen in groepen van de regio."
        )
    if not history.lengths:
        notes.append(
            "Geen afgeronde verblijven in de periode: onbekende verblijfsduren zijn langer dan de periode genomen."
        )
    if history.skipped:
        notes.append(f"{number(history.skipped)} verwijzingen konden niet worden meegenomen (onvolledig profiel).")
    if history.varying_groups:
        notes.append(
            f"{number(history.varying_groups)} groepen hadden niet de hele periode evenveel plaatsen (ze begonnen of "
            "stopten binnen de periode, of kregen een nieuwe contractversie); de simulatie volgt hun plaatsen dag voor "
            "dag. Gaan er plaatsen af, dan blijft wie er is; de groep neemt pas weer iemand op als er plek is."
        )
    if (
        change.kind == "places"
        and change.group_id is not None
        and not all(s.active for s in history.schedule[change.group_id])
    ):
        notes.append(
            f"De plaatsen {'erbij' if change.places_delta > 0 else 'eraf'} gelden op de dagen dat "
            f"{history.group_names.get(change.group_id, 'de groep')} actief was, niet vóór de start of na het "
            "einde van de groep."
        )
    if not history.referrals:
        notes.append("In deze periode kwamen geen verwijzingen binnen: er valt weinig te vergelijken.")
    return notes


# -- the job ------------------------------------------------------------------------------------


def change_text(change: Change, names: dict[int, str], policy: str, baseline_policy: str) -> str:
    policies = {"fcfs": "wie het eerst komt, het eerst maalt", "batch": "wekelijkse batchmatching"}
    if change.kind == "close":
        text = f"{names[change.group_id or 0]} gesloten"
    elif change.kind == "merge":
        text = f"{names[change.group_id or 0]} samengevoegd met {names[change.other_group_id or 0]}"
    elif change.kind == "places":
        delta = change.places_delta
        noun = "plaats" if abs(delta) == 1 else "plaatsen"
        text = f"{names[change.group_id or 0]}: {number(abs(delta))} {noun} {'erbij' if delta > 0 else 'eraf'}"
    else:
        text = "geen wijziging in plaatsen"
    if policy != baseline_policy:
        text += f"; matchen: {policies[policy]} in plaats van {policies[baseline_policy]}"
    return text


def start_run(*, db: Database, principal: Principal, data: WhatIfRunCreate) -> int:
    """Check the request, record the run as queued (committed, so the screen can poll it) with an
    audit row, and return its id. Nothing is stored when the request is refused."""
    period = check_period(data.start, data.end)
    with db.transaction() as session:
        region = _region(session, principal, data.region_id)
        rows = region_groups(session, region, period)
        schedule = group_schedule(session, region, rows, period)
        names = {int(g.id or 0): g.name for g in rows}
        change = check_change(data, schedule, names)
        busy = session.exec(
            select(WhatIfRun.id).where(
                WhatIfRun.region_id == region.id,
                col(WhatIfRun.status).in_(["queued", "running"]),
                col(WhatIfRun.created_at) >= utcnow() - timedelta(minutes=BUSY_MINUTES),
            )
        ).first()
        if busy is not None:
            raise Conflict(
                "Er loopt al een simulatie voor deze regio. Wacht tot die klaar is of stop hem, en start dan opnieuw.",
                code="whatif_busy",
            )
        run = WhatIfRun(
            region_id=region.id,  # type: ignore[arg-type]
            status="queued",
            params={
                **data.model_dump(mode="json"),
                "region_id": region.id,
                "description": change_text(change, names, data.policy, data.baseline_policy),
            },
            created_by=principal.label,
            created_at=utcnow(),
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        # The run reads the period's referrals in aggregate only: one audit row for the run.
        audit.record(
            session=session,
            actor=principal,
            action="whatif.run",
            object_type="whatif_run",
            object_id=run.id,
            purpose=Purpose.whatif_simulation,
            detail={"start": data.start.isoformat(), "end": data.end.isoformat(), "change": run.params["description"]},
            region_id=region.id,
        )
        return run.id


def launch(db: Database, run_id: int) -> threading.Thread:
    """Run the job in a daemon thread (each update its own transaction)."""
    thread = threading.Thread(target=execute_run, args=(db, run_id), name=f"whatif-{run_id}", daemon=True)
    thread.start()
    return thread


def execute_run(db: Database, run_id: int) -> None:
    try:
        with db.transaction() as session:
            run = session.get(WhatIfRun, run_id)
            assert run is not None
            if run.cancel_requested or run.status != "queued":
                return
            run.status = "running"
            run.started_at = utcnow()
            session.add(run)
            params = dict(run.params)
        data = WhatIfRunCreate.model_validate({k: v for k, v in params.items() if k != "description"})
        period = Period(data.start, data.end)
        with db.transaction(write=False) as session:
            region = session.get(Region, params["region_id"])
            assert region is not None
            history = read_history(session, region, period)
            weights = adapter.region_weights(region)
            limit = adapter.region_time_limit(region)
        own = {gid: stretches for gid, stretches in history.schedule.items() if gid not in history.fallback}
        change = check_change(data, own, history.group_names)
        watch = _Watch(db, run_id)
        result = simulate(
            history,
            change,
            policy=data.policy,
            baseline_policy=data.baseline_policy,
            repetitions=data.repetitions,
            batch_every_days=float(data.batch_every_days),
            time_limit_s=min(limit, 2.0),
            weights=weights,
            should_stop=watch.should_stop,
            progress=watch.progress,
        )
    except Cancelled:
        _finish(db, run_id, "cancelled")
        return
    except Exception as exc:  # the job records why it failed; nobody else would hear of it
        _finish(db, run_id, "failed", error=getattr(exc, "message", None) or "Onverwachte fout in de simulatie.")
        return
    _finish(db, run_id, "done", result=_jsonable(result))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finish(db: Database, run_id: int, status: str, *, error: str | None = None, result: Any = None) -> None:
    with db.transaction() as session:
        run = session.get(WhatIfRun, run_id, with_for_update=True)
        assert run is not None
        run.status = status
        run.finished_at = utcnow()
        run.error = error[:500] if error else None
        if status == "done":
            run.progress = 1.0
            run.result = result
        session.add(run)


class _Watch:
    """Progress writes and cancel checks, at most every ``CHECK_EVERY_S`` (each its own transaction)."""

    def __init__(self, db: Database, run_id: int) -> None:
        self.db = db
        self.run_id = run_id
        self.checked = 0.0
        self.written = 0.0
        self.stop = False

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self.stop and now - self.checked >= CHECK_EVERY_S:
            self.checked = now
            with self.db.transaction(write=False) as session:
                run = session.get(WhatIfRun, self.run_id)
                self.stop = run is None or run.cancel_requested
        return self.stop

    def progress(self, share: float) -> None:
        now = time.monotonic()
        if now - self.written < CHECK_EVERY_S:
            return
        self.written = now
        with self.db.transaction() as session:
            run = session.get(WhatIfRun, self.run_id)
            if run is not None and run.status == "running":
                run.progress = round(min(0.999, max(run.progress, share)), 4)
                session.add(run)


def load_run(*, session: Session, principal: Principal, run_id: int, for_update: bool = False) -> WhatIfRun:
    run = session.get(WhatIfRun, run_id, with_for_update=for_update)
    if run is None:
        raise NotFound("Simulatie niet gevonden.")
    ensure_region_access(principal, run.region_id, what="Simulatie")
    return run


def cancel(*, session: Session, principal: Principal, run_id: int) -> WhatIfRun:
    """Ask the job to stop (it looks between days and batches); a queued run stops at once."""
    run = load_run(session=session, principal=principal, run_id=run_id, for_update=True)
    if run.status in FINISHED:
        return run
    run.cancel_requested = True
    if run.status == "queued":
        run.status = "cancelled"
        run.finished_at = utcnow()
    session.add(run)
    session.flush()
    return run


STATUS_LABELS = {
    "queued": "In de wachtrij",
    "running": "Bezig",
    "done": "Klaar",
    "failed": "Mislukt",
    "cancelled": "Gestopt",
}


def run_public(run: WhatIfRun) -> dict[str, Any]:
    status, error = run.status, run.error
    created = as_utc(run.created_at)
    if status in ("queued", "running") and created is not None and utcnow() - created > timedelta(minutes=BUSY_MINUTES):
        # its process ended (a restart) before it did: say so rather than "running" for ever
        status, error = "failed", "De simulatie is afgebroken doordat de server opnieuw startte; start hem opnieuw."
    return {
        "id": run.id,
        "region_id": run.region_id,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "progress": run.progress,
        "cancel_requested": run.cancel_requested,
        "params": run.params,
        "result": run.result or None,
        "error": error,
        "created_at": as_utc(run.created_at),
        "started_at": as_utc(run.started_at),
        "finished_at": as_utc(run.finished_at),
    }


def list_runs(
    *, session: Session, principal: Principal, region_id: int | None, limit: int, before_id: int | None = None
) -> list[dict[str, Any]]:
    """The region's runs, newest first: the caller's own region, or for a caller bound to no
    region (a service-wide administrator) ``region_id`` or every region."""
    if region_id is not None:
        ensure_region_access(principal, region_id, what="Regio")
        if session.get(Region, region_id) is None:
            raise NotFound("Regio niet gevonden.")
    rid = region_id if region_id is not None else principal.region_scope
    query = select(WhatIfRun).order_by(col(WhatIfRun.id).desc()).limit(limit)
    if rid is not None:
        query = query.where(WhatIfRun.region_id == rid)
    if before_id is not None:
        query = query.where(col(WhatIfRun.id) < before_id)
    return [run_summary(run) for run in session.exec(query).all()]


def run_summary(run: WhatIfRun) -> dict[str, Any]:
    """A run in a list: what was asked, by whom, its status and, when done, the placed youths and
    the median wait without and with the change (means over the repetitions); no youth data."""
    public = run_public(run)
    params = run.params or {}
    headline = None
    result = run.result or {}
    if public["status"] == "done" and result.get("figures"):
        by_key = {f["key"]: f for f in result["figures"]}
        headline = {
            f"{key}_{side}": (by_key.get(key) or {}).get(side, {}).get("mean")
            for key in ("placed", "median_wait_days")
            for side in ("baseline", "change")
        }
    return {
        "id": run.id,
        "region_id": run.region_id,
        "status": public["status"],
        "status_label": public["status_label"],
        "description": params.get("description"),
        "start": params.get("start"),
        "end": params.get("end"),
        "created_by": run.created_by,
        "created_at": public["created_at"],
        "finished_at": public["finished_at"],
        "headline": headline,
    }
