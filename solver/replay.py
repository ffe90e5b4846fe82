"""Day-by-day replay of referrals through a placement policy (what-if simulation).

Groups have a fixed number of places (``capacity``); a placed youth occupies one place for its
``stay_days``; youths present at the start (``Occupant``) hold a place until ``leaves_day``.
Only the places matter here: ``Group.free_places`` is ignored, and the hard rules are those of
``solver.rank`` / ``solver.assign`` with the replay's own count of free places.

Policies
--------
``fcfs``: each referral, in arrival order, takes the best feasible free place at once (the
order of ``solver.rank``: score, then distance, then group id).  A referral without one waits;
when places free up the waiting referrals are retried first come, first served.

``batch``: every ``batch_every_days`` (day 0, b, 2b, ... before the horizon) all waiting
referrals are assigned together by ``solver.assign`` with ``waiting_days`` set to their wait so
far, so that longer waits weigh in the priority as they do in a real batch run.

Event order within one day: places that free up first, then new referrals, then (batch) the
batch run.  Referrals on the same day keep the order of ``arrivals``: a caller that wants
random tie order shuffles them.  Referrals on or after ``horizon_days`` are outside the period
and left out of the outcomes.  The replay has no randomness of its own: the same input gives the
same outcome (a batch run that hits ``time_limit_s`` may differ, as any timed search).
Sibling sets are respected by the batch solver; first come, first served places each youth on
its own.  A replay stopped by ``should_stop`` (checked before every day with events and every
batch) returns the referrals that came in so far, unplaced waits censored at the day reached.

Closing a group never places more youths when no placed youth leaves within the period (each
referral's options only shrink).  With discharges inside the period a day-by-day policy can: it
lets a youth who could go to several groups take the one place a later specialist needs, and a
closure that changes who goes where can free that place in time
(``test_first_come_first_served_can_place_one_more_youth_when_a_group_closes`` in
tests/solver/test_replay.py, three youths and three groups).  On the generator of that file, 36 of
12,000 first come, first served closures placed one youth more.  The hindsight optimum
(``solver.hindsight``) never gains from a closure; the what-if simulation says so in its notes
when a repetition shows the effect.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from solver.assign import assign
from solver.geo import great_circle_km
from solver.rank import prepare_groups, rank
from solver.schema import INTENSITY_INDEX, Group, Instance, Weights, Youth
from solver.vocabulary import OWN_NORM_CARE_FORMS

Policy = Literal["fcfs", "batch"]
POLICIES: tuple[Policy, ...] = ("fcfs", "batch")


@dataclass(frozen=True, slots=True)
class Arrival:
    """A referral coming in on ``day`` (from the start of the period) that, once placed,
    occupies its place for ``stay_days``."""

    youth: Youth
    day: float
    stay_days: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.day) and self.day >= 0):
            raise ValueError("arrival day must be a finite number >= 0")
        if not (math.isfinite(self.stay_days) and self.stay_days > 0):
            raise ValueError("stay_days must be a finite number > 0")


@dataclass(frozen=True, slots=True)
class Occupant:
    """A youth in ``group_id`` from ``arrives_day`` (0: already there at the start) to
    ``leaves_day``, placed outside the replayed referrals (present at the start, or admitted by
    the provider directly): the place is taken whatever the policy does, even above capacity."""

    group_id: int
    leaves_day: float
    arrives_day: float = 0.0

    def __post_init__(self) -> None:
        if math.isnan(self.leaves_day) or not (math.isfinite(self.arrives_day) and self.arrives_day >= 0):
            raise ValueError("leaves_day must be a number and arrives_day a finite number >= 0")


@dataclass(frozen=True, slots=True)
class Outcome:
    youth_id: int
    group_id: int | None
    arrival_day: float
    placed_day: float | None
    wait_days: float
    distance_km: float | None
    intensity_steps_above_need: int | None


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Quantile with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    data = sorted(values)
    pos = q * (len(data) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    policy: str
    outcomes: tuple[Outcome, ...]
    cancelled: bool

    @property
    def placed(self) -> int:
        return sum(1 for o in self.outcomes if o.group_id is not None)

    @property
    def unplaced(self) -> int:
        return len(self.outcomes) - self.placed

    @property
    def median_wait_days(self) -> float | None:
        """Median wait over all referrals; an unplaced referral counts with its censored wait
        (to the horizon), so that a policy that leaves youths waiting does not look faster."""
        return _quantile([o.wait_days for o in self.outcomes], 0.5)

    @property
    def p90_wait_days(self) -> float | None:
        return _quantile([o.wait_days for o in self.outcomes], 0.9)

    @property
    def mean_distance_km(self) -> float | None:
        km = [o.distance_km for o in self.outcomes if o.distance_km is not None]
        return sum(km) / len(km) if km else None

    @property
    def share_above_need(self) -> float | None:
        """Share of the placed youths whose group is more intensive than they need."""
        steps = [o.intensity_steps_above_need for o in self.outcomes if o.intensity_steps_above_need is not None]
        return sum(1 for s in steps if s > 0) / len(steps) if steps else None

    @property
    def mean_steps_above_need(self) -> float | None:
        steps = [o.intensity_steps_above_need for o in self.outcomes if o.intensity_steps_above_need is not None]
        return sum(steps) / len(steps) if steps else None


def steps_above_need(youth: Youth, group: Group) -> int:
    """Intensity steps (A–S) of the group above the youth's need; 0 for care forms outside the
    A–S model, where the letter says nothing about the care given."""
    if group.care_form in OWN_NORM_CARE_FORMS:
        return 0
    return max(0, INTENSITY_INDEX[group.intensity] - INTENSITY_INDEX[youth.required_intensity])


_DEPART, _OCCUPY, _ARRIVE = 0, 1, 2


def replay(
    groups: Sequence[Group],
    capacity: Mapping[int, int],
    arrivals: Sequence[Arrival],
    *,
    horizon_days: float,
    policy: Policy,
    batch_every_days: float = 7.0,
    occupants: Sequence[Occupant] = (),
    weights: Weights | None = None,
    time_limit_s: float = 2.0,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[float], None] | None = None,
    fallback: frozenset[int] = frozenset(),
) -> ReplayResult:
    """Replay ``arrivals`` over ``horizon_days`` under ``policy`` (module docstring).

    ``fallback``: ids of groups (of other regions) that a referral goes to only when no other
    group has a feasible free place for it: first come, first served tries them after all the
    others; a batch run assigns the youths it could not place in the other groups to them in a
    second run."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}")
    if not (math.isfinite(horizon_days) and horizon_days > 0):
        raise ValueError("horizon_days must be a finite number > 0")
    if not (math.isfinite(batch_every_days) and batch_every_days > 0):
        raise ValueError("batch_every_days must be a finite number > 0")
    if any(c < 0 for c in capacity.values()):
        raise ValueError("capacity must be >= 0")
    w = weights if weights is not None else Weights()
    by_id = {g.id: g for g in groups}
    if len(by_id) != len(groups):
        raise ValueError("duplicate group id")
    inside = [a for a in arrivals if a.day < horizon_days]
    if len({a.youth.id for a in inside}) != len(inside):
        raise ValueError("duplicate youth id among the arrivals")

    cap = {gid: int(capacity.get(gid, 0)) for gid in by_id}
    occupied = dict.fromkeys(by_id, 0)
    # events: (day, kind, sequence, payload); on one day departures, then direct admissions,
    # then referrals
    events: list[tuple[float, int, int, int]] = []
    seq = 0
    for occ in occupants:
        if occ.group_id not in by_id or occ.leaves_day <= occ.arrives_day or occ.arrives_day >= horizon_days:
            continue
        if occ.arrives_day <= 0:
            occupied[occ.group_id] += 1
        else:
            events.append((occ.arrives_day, _OCCUPY, seq, occ.group_id))
            seq += 1
        events.append((occ.leaves_day, _DEPART, seq, occ.group_id))
        seq += 1
    order = sorted(range(len(inside)), key=lambda i: inside[i].day)  # stable: ties keep input order
    for i in order:
        events.append((inside[i].day, _ARRIVE, seq, i))
        seq += 1
    heapq.heapify(events)

    def free(gid: int) -> int:
        return cap[gid] - occupied[gid]

    placed_at: dict[int, tuple[int, float]] = {}  # arrival index -> (group id, day)
    waiting: list[int] = []  # arrival indices in arrival order

    def place(i: int, gid: int, day: float) -> None:
        occupied[gid] += 1
        placed_at[i] = (gid, day)
        nonlocal seq
        heapq.heappush(events, (day + inside[i].stay_days, _DEPART, seq, gid))
        seq += 1

    # FCFS: each referral's feasible groups in rank order, computed once with every group open
    # (free places are the only thing that changes during the replay).
    preference: dict[int, list[int]] = {}
    feasible: dict[int, frozenset[int]] = {}
    if policy == "fcfs" and inside:
        table = prepare_groups([replace(g, free_places=1) for g in groups])
        for i in order:
            ranking = rank(inside[i].youth, table, w, limit=len(groups))
            ranked = [o.group_id for o in ranking.options]
            # the own groups in rank order, then the fallback groups in rank order
            preference[i] = [g for g in ranked if g not in fallback] + [g for g in ranked if g in fallback]
            feasible[i] = frozenset(preference[i])

    def best_free(i: int) -> int | None:
        for gid in preference[i]:
            if free(gid) > 0:
                return gid
        return None

    def retry(freed: set[int], day: float) -> None:
        """Offer freed places to the waiting referrals, longest-waiting first.  Only a youth for
        whom a freed group is feasible can gain: every waiting youth had no free feasible place
        before (it was checked on arrival and at every earlier freeing)."""
        nonlocal waiting
        still: list[int] = []
        for i in waiting:
            gid = best_free(i) if feasible[i] & freed else None
            if gid is None:
                still.append(i)
            else:
                place(i, gid, day)
        waiting = still

    def run_batch(day: float) -> None:
        run_batch_on(day, [gid for gid in by_id if gid not in fallback])
        if fallback:
            run_batch_on(day, [gid for gid in by_id if gid in fallback])

    def run_batch_on(day: float, group_ids: list[int]) -> None:
        nonlocal waiting
        open_groups = [replace(by_id[gid], free_places=free(gid)) for gid in group_ids if free(gid) > 0]
        if not waiting or not open_groups:
            return
        youths = tuple(replace(inside[i].youth, waiting_days=day - inside[i].day) for i in waiting)
        result = assign(Instance(groups=tuple(open_groups), youths=youths, weights=w), time_limit_s=time_limit_s)
        chosen = result.group_of()
        still: list[int] = []
        for i in waiting:
            gid = chosen.get(inside[i].youth.id)
            if gid is None:
                still.append(i)
            else:
                place(i, gid, day)
        waiting = still

    batch_days: list[float] = []
    if policy == "batch":
        k = 0
        while k * batch_every_days < horizon_days:
            batch_days.append(k * batch_every_days)
            k += 1

    cancelled = False
    reached = 0.0
    last_reported = -1.0
    next_batch = 0
    while True:
        next_event = events[0][0] if events else math.inf
        next_batch_day = batch_days[next_batch] if next_batch < len(batch_days) else math.inf
        day = min(next_event, next_batch_day)
        if day >= horizon_days:
            break
        if should_stop is not None and should_stop():
            cancelled = True
            break
        reached = day
        if next_batch_day < next_event:
            # the events of this day (departures, referrals) were handled before its batch
            run_batch(day)
            next_batch += 1
        else:
            freed: set[int] = set()
            while events and events[0][0] == day:
                _day, kind, _seq, payload = heapq.heappop(events)
                if kind == _DEPART:
                    occupied[payload] -= 1
                    freed.add(payload)
                    continue
                if kind == _OCCUPY:
                    occupied[payload] += 1
                    continue
                if policy == "fcfs":
                    if freed:
                        # today's freed places go first to those already waiting
                        retry(freed, day)
                        freed = set()
                    gid = best_free(payload)
                    if gid is None:
                        waiting.append(payload)
                    else:
                        place(payload, gid, day)
                else:
                    waiting.append(payload)
            if freed and policy == "fcfs":
                retry(freed, day)
        if progress is not None and day / horizon_days - last_reported >= 0.01:
            last_reported = day / horizon_days
            progress(last_reported)

    end_day = reached if cancelled else horizon_days
    in_queue = set(waiting)
    outcomes = []
    for i in order:
        arrival = inside[i]
        youth = arrival.youth
        if i in placed_at:
            gid, day = placed_at[i]
            group = by_id[gid]
            outcomes.append(
                Outcome(
                    youth_id=youth.id,
                    group_id=gid,
                    arrival_day=arrival.day,
                    placed_day=day,
                    wait_days=day - arrival.day,
                    distance_km=great_circle_km(youth.lat, youth.lon, group.lat, group.lon),
                    intensity_steps_above_need=steps_above_need(youth, group),
                )
            )
        elif i in in_queue:
            outcomes.append(
                Outcome(
                    youth_id=youth.id,
                    group_id=None,
                    arrival_day=arrival.day,
                    placed_day=None,
                    wait_days=end_day - arrival.day,
                    distance_km=None,
                    intensity_steps_above_need=None,
                )
            )
    if progress is not None and not cancelled:
        progress(1.0)
    return ReplayResult(policy=policy, outcomes=tuple(outcomes), cancelled=cancelled)
