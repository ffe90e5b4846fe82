"""Year-end post-calculation (*nacalculatie*) of availability funding, night by night from the
register's history, and its finalisation (*vaststelling*).

Which groups: every group of the region with at least one approved, availability-funded
contract term that overlaps the period (not today's flag on the group: a group funded last year
and not any more is in last year's report). Crisis foster care (*crisispleegzorg*) is paid P×Q
only and is never availability-funded, whatever a term says (seed 000), so it is not in it.
Providers see only their own groups.

Each night counts with what was valid **that night** (a night counts for the date on which it
starts, Dutch local time, as in ``backend.occupancy.bedays``):

- *counted*: the night lies in the group's active period (``active_from``/``active_to``
  inclusive; an unknown bound is open) **and** an approved contract term covers it. A night
  that is not counted has no places, no tariff and earns nothing (its occupancy is shown as
  ``occupied_bed_days_outside_contract``).
- *places*: the term's ``contracted_places``.
- *day tariff*: the term's own ``day_tariff``; without one, the region's tariff table for the
  group's care form and key: the family home's level, ``""`` for foster care and crisis foster
  care, otherwise the **funded intensity of that night** (the ``intensity_after`` of the latest
  approved re-assessment whose ``valid_from`` - by default the day of the decision - is on or
  before the night; before the first approved one its ``intensity_before``; without any, the
  group's intensity). A key without a row falls back to the care form's ``""`` row; no row at
  all is a tariff of 0, reported as ``tariff_source`` "ontbreekt".
- *availability-funded*: counted, the term says so, and the care form is not crisis foster care.
- *share*: the term's ``availability_share``; without one the region's share for the group, for
  the care form, or the default (0.75), the most specific one winning.

Per group: ``contracted_bed_days`` = Σ places over counted nights; ``available_bed_days`` = Σ
places over availability-funded nights; occupied bed-days (youths from every region count, seed
000) over counted nights, split into own and other regions; ``empty_bed_days`` = Σ max(0,
places − present) over availability-funded nights (an over-full night does not make up for an
empty one); ``availability_funding`` = Σ empty × tariff × share over those nights;
``pxq_amount`` = Σ own-region present × tariff over counted nights; occupancy rate = occupied /
contracted bed-days, flagged below 50%. ``contracted_places``, ``day_tariff`` and
``availability_share`` are those of the **last counted night** of the period (None without one);
``inputs`` lists the periods with the term, share and tariff that applied, so every figure can
be explained.

Nights not admitting (*opnamestop*): every change of a group's places appends an event whose
payload carries the group's public JSON, ``admitting`` included (``availability.changed`` and the
other place events; the table is never pruned). A night counts as *not admitting* when the last
such event on or before that night's date (Dutch local time) says ``admitting: false``. Without
any event on or before the night there is no report of a stop, so the night counts as admitting.
These nights are shown in their own columns (``not_admitting_nights``, their empty bed-days and
the availability funding attached to them) and are paid or not by the region setting
``fund_not_admitting_nights`` (default true: a stop is the provider's right, the places stay
contracted).

A period that has not ended yet is counted up to and including today (nights still to come are
neither available nor empty).

Finalising (*vaststellen*) stores the whole report of an ended period, figures and inputs, with
who and when, in ``post_calculations``; a region administrator does it once per region and
period. The report of a finalised period is the stored one, marked finalised, with what the
register and feed would give now beside it (``changes_since_finalisation``), so that a
correction can be agreed; later changes never alter the stored figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from sqlalchemy import bindparam, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_region_access
from backend.domain import as_utc, utcnow
from backend.errors import Conflict, Forbidden, NotFound, RuleViolation
from backend.events.models import Event
from backend.events.service import append_event
from backend.intensity.models import IntensityReassessment
from backend.occupancy.bedays import NightGrid, night_grid
from backend.occupancy.service import DUTCH_TIME, local_day, today
from backend.providers.models import Group, Provider
from backend.regions.models import Region
from backend.regions.settings import region_settings
from backend.register.models import TERM_APPROVED, ContractTerm, Tariff
from backend.register.service import tariffs_of, terms_of
from backend.register.terms import NEVER_AVAILABILITY_FUNDED, tariff_key, valid_on
from backend.reports.models import FinalisedPostCalculation
from backend.users.models import Role

BELOW_THRESHOLD = 0.5
MAX_PERIOD_DAYS = 3 * 366 + 1
REGION_ROLES = (Role.admin, Role.coordinator, Role.viewer)
FINALISED_EVENT = "post_calculation.finalised"
# Who hears of a finalisation on the live feed (providers read their own report).
FINALISED_AUDIENCE = ["admin", "coordinator", "viewer"]


@dataclass
class Period:
    start: date
    end: date  # inclusive
    counted_through: date  # min(end, today)

    @property
    def days(self) -> int:
        return max(0, (self.counted_through - self.start).days + 1)


def resolve_period(*, year: int | None, start: date | None, end: date | None) -> Period:
    if year is not None:
        if start is not None or end is not None:
            raise RuleViolation("Geef een jaar óf een begin- en einddatum op, niet allebei.", code="period_ambiguous")
        if not 2000 <= year <= 2100:
            raise RuleViolation("Het jaar moet tussen 2000 en 2100 liggen.", code="period_invalid")
        start, end = date(year, 1, 1), date(year, 12, 31)
    if start is None or end is None:
        raise RuleViolation("Geef een jaar (year) of een begin- en einddatum (start, end) op.", code="period_missing")
    if end < start:
        raise RuleViolation("De einddatum ligt vóór de begindatum.", code="period_invalid")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation("Een periode mag hoogstens drie jaar beslaan.", code="period_too_long")
    return Period(start=start, end=end, counted_through=min(end, today()))


# -- the region's contract settings ------------------------------------------------------------


@dataclass(frozen=True)
class FundingSettings:
    availability_share: float
    share_by_care_form: dict[str, float]
    share_by_group: dict[str, float]
    fund_not_admitting_nights: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "availability_share": self.availability_share,
            "availability_share_by_care_form": dict(self.share_by_care_form),
            "availability_share_by_group": dict(self.share_by_group),
            "fund_not_admitting_nights": self.fund_not_admitting_nights,
        }


def funding_settings(region: Region) -> FundingSettings:
    """The region settings the post-calculation uses, read through the one validated reader
    (``backend.regions.settings``): ``availability_share`` (default 0.75),
    ``availability_share_by_care_form``, ``availability_share_by_group`` and
    ``fund_not_admitting_nights`` (default true). Kept as a snapshot so that a finalised report
    stores the values it was computed with."""
    settings = region_settings(region)
    return FundingSettings(
        availability_share=float(settings.availability_share),
        share_by_care_form={str(k): float(v) for k, v in settings.availability_share_by_care_form.items()},
        share_by_group={str(k): float(v) for k, v in settings.availability_share_by_group.items()},
        fund_not_admitting_nights=bool(settings.fund_not_admitting_nights),
    )


def region_share(settings: FundingSettings, group: Group) -> tuple[float, str]:
    """The region's availability share for a group and where it comes from."""
    if str(group.id) in settings.share_by_group:
        return settings.share_by_group[str(group.id)], "regio: groep"
    if group.care_form in settings.share_by_care_form:
        return settings.share_by_care_form[group.care_form], "regio: zorgvorm"
    return settings.availability_share, "regio"


# -- who asks for which region -----------------------------------------------------------------


def resolve_region(*, session: Session, principal: Principal, region_code: str | None) -> Region:
    if principal.role not in (*REGION_ROLES, "provider"):
        raise Forbidden("U heeft geen rechten voor deze rapportage.", code="role_forbidden")
    if region_code is None:
        if principal.role == "provider" and principal.provider_id is not None:
            provider = session.get(Provider, principal.provider_id)
            region = session.get(Region, provider.region_id) if provider else None
        elif principal.region_id is not None:
            region = session.get(Region, principal.region_id)
        else:
            raise RuleViolation("Geef de regio op, bijvoorbeeld region=JZ14.", code="region_missing")
    else:
        region = session.exec(select(Region).where(Region.code == region_code.strip().upper())).first()
    if region is None:
        raise NotFound("Regio niet gevonden.")
    ensure_region_access(principal, region.id, what="Regio")
    return region


def report_groups(*, session: Session, principal: Principal, region: Region, period: Period) -> list[Group]:
    """The region's groups with an approved, availability-funded term overlapping the period."""
    # Two plain queries rather than EXISTS: with a semi-join the planner, misled by stale
    # statistics of a fresh table, looped over every term per group.
    funded = session.exec(
        select(ContractTerm.group_id)
        .where(
            ContractTerm.region_id == region.id,
            ContractTerm.status == TERM_APPROVED,
            col(ContractTerm.availability_funded).is_(True),
            ContractTerm.valid_from <= period.end,
            or_(col(ContractTerm.valid_to).is_(None), col(ContractTerm.valid_to) >= period.start),
        )
        .distinct()
    ).all()
    if not funded:
        return []
    query = select(Group).where(
        Group.region_id == region.id,
        col(Group.id).in_(sorted(set(funded))),
        col(Group.care_form).not_in(sorted(NEVER_AVAILABILITY_FUNDED)),
    )
    if principal.role == "provider":
        query = query.where(Group.provider_id == principal.provider_id)
    return list(session.exec(query.order_by(col(Group.provider_id), col(Group.id))).all())


def _money(value: float) -> float:
    return round(float(value) + 0.0, 2)


# -- the register's history, night by night ----------------------------------------------------


@dataclass
class History:
    """Everything dated that prices a night, read in one query per table."""

    terms: dict[int, list[ContractTerm]]
    tariffs: dict[tuple[str, str], list[Tariff]]  # (care form, key) -> rows
    reassessments: dict[int, list[tuple[date, IntensityReassessment]]]  # approved, by effective date
    admitting: dict[int, list[tuple[date, bool]]]  # changes of ``admitting``, in order


def load_history(*, session: Session, groups: list[Group], region: Region, start: date, until: date) -> History:
    ids = [g.id for g in groups if g.id is not None]
    tariffs: dict[tuple[str, str], list[Tariff]] = {}
    for row in tariffs_of(session, region.id) if region.id is not None else []:
        tariffs.setdefault((row.care_form, row.intensity), []).append(row)
    reassessments: dict[int, list[tuple[date, IntensityReassessment]]] = {gid: [] for gid in ids}
    if ids:
        approved = session.exec(
            select(IntensityReassessment).where(
                col(IntensityReassessment.group_id).in_(ids), IntensityReassessment.status == "approved"
            )
        ).all()
        for item in approved:
            decided = as_utc(item.decided_at or item.created_at)
            assert decided is not None
            effective = item.valid_from or local_day(decided)
            reassessments[item.group_id].append((effective, item))
        for items in reassessments.values():
            items.sort(key=lambda pair: (pair[0], as_utc(pair[1].decided_at or pair[1].created_at), pair[1].id or 0))
    return History(
        terms=terms_of(session, ids),
        tariffs=tariffs,
        reassessments=reassessments,
        admitting=admitting_changes(session=session, group_ids=ids, start=start, until=until),
    )


def admitting_changes(
    *, session: Session, group_ids: list[int], start: date, until: date
) -> dict[int, list[tuple[date, bool]]]:
    """Per group, the days (Dutch local time) on which its ``admitting`` changed, from the group
    JSON every place event carries, for nights ``start`` .. ``until``: the state the last event
    before ``start`` left (one row per group: the history before the period is only scanned,
    its payloads are not read), then the events of the period whose ``admitting`` differs from
    the event before (a window function in the database), so a year of reports comes back as a
    few rows."""
    out: dict[int, list[tuple[date, bool]]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return out
    flag = _admitting_flag_sql(session.get_bind().dialect.name)
    id_list = ",".join(str(int(g)) for g in sorted(set(group_ids)))
    moment = Event.__table__.c.at.type  # type: ignore[attr-defined]
    bounds = {"start": _night_begins(start), "after": _night_begins(until + timedelta(days=1))}
    before = text(
        f"SELECT e.group_id, e.at, {flag} FROM events AS e JOIN ("
        f" SELECT group_id, MAX(seq) AS seq FROM events WHERE group_id IN ({id_list}) AND at < :start"
        " GROUP BY group_id) AS last ON e.seq = last.seq"
    ).bindparams(bindparam("start", type_=moment))
    # MATERIALIZED: the flag is taken from each payload while scanning, so the sort for the
    # window carries four small columns instead of every payload (PostgreSQL would otherwise
    # sort the payloads and read them after the sort).
    during = text(
        f"WITH e AS MATERIALIZED (SELECT group_id, seq, at, {flag} AS flag FROM events"
        f" WHERE group_id IN ({id_list}) AND at >= :start AND at < :after)"
        " SELECT group_id, at, flag FROM ("
        " SELECT group_id, seq, at, flag, LAG(flag) OVER (PARTITION BY group_id ORDER BY seq) AS previous_flag"
        " FROM e WHERE flag IS NOT NULL"
        ") AS t WHERE previous_flag IS NULL OR previous_flag <> flag ORDER BY group_id, seq"
    ).bindparams(bindparam("start", type_=moment), bindparam("after", type_=moment))
    rows = list(session.execute(before, {"start": bounds["start"]}).all())
    rows += session.execute(during, bounds).all()
    for group_id, at, flag_value in rows:
        if flag_value is None:
            continue
        when = datetime.fromisoformat(at) if isinstance(at, str) else at
        out[int(group_id)].append((local_day(as_utc(when)), bool(int(flag_value))))  # type: ignore[arg-type]
    return out


def _night_begins(day: date) -> datetime:
    """The moment (UTC) at which ``day`` begins in the Netherlands."""
    return datetime(day.year, day.month, day.day, tzinfo=DUTCH_TIME).astimezone(UTC)


def _admitting_flag_sql(dialect: str) -> str:
    """``admitting`` of the group JSON in an event's payload as 1/0 (NULL without one)."""
    if dialect == "postgresql":
        return "CASE json_extract_path_text(payload, 'group', 'admitting') WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
    return "json_extract(payload, '$.group.admitting')"


@dataclass
class Segment:
    """Nights ``first`` .. ``last`` (indices into the period, inclusive) with the same inputs."""

    first: int
    last: int
    inputs: dict[str, Any]
    places: int = 0
    tariff: float = 0.0
    share: float = 0.0
    counted: bool = False
    funded: bool = False


@dataclass
class Nights:
    """Per-night inputs of the report's groups: arrays of shape (groups, days)."""

    places: np.ndarray
    tariff: np.ndarray
    share: np.ndarray
    counted: np.ndarray
    funded: np.ndarray
    not_admitting: np.ndarray
    segments: list[list[Segment]] = field(default_factory=list)


def _index(day: date | None, start: date, days: int, *, after: bool = False) -> int | None:
    if day is None:
        return None
    index = (day - start).days + (1 if after else 0)
    return min(max(index, 0), days)


def funded_intensity(group: Group, approved: list[tuple[date, IntensityReassessment]], day: date) -> str:
    current: str | None = None
    for effective, item in approved:
        if effective <= day:
            current = item.intensity_after
        else:
            break
    if current is not None:
        return current
    return approved[0][1].intensity_before if approved else group.intensity


def _tariff_row(history: History, care_form: str, key: str, day: date) -> Tariff | None:
    row = valid_on(history.tariffs.get((care_form, key), ()), day)
    if row is None and key != "":
        row = valid_on(history.tariffs.get((care_form, ""), ()), day)
    return row


def group_segments(
    group: Group, history: History, settings: FundingSettings, *, start: date, days: int
) -> list[Segment]:
    """The period cut where any input changes (a term, a tariff row, a re-assessment, the
    active period); within a piece every night has the same places, tariff and share."""
    assert group.id is not None
    terms = history.terms.get(group.id, [])
    approved = history.reassessments.get(group.id, [])
    cuts = {0, days}
    dated: list[tuple[date, date | None]] = [(t.valid_from, t.valid_to) for t in terms]
    for (care_form, _key), rows in history.tariffs.items():
        if care_form == group.care_form:
            dated.extend((r.valid_from, r.valid_to) for r in rows)
    dated.extend((effective, None) for effective, _ in approved)
    dated.append((group.active_from or start, group.active_to))
    for first, last in dated:
        cuts.add(_index(first, start, days) or 0)
        end = _index(last, start, days, after=True)
        if end is not None:
            cuts.add(end)
    ordered = sorted(cuts)
    segments: list[Segment] = []
    for a, b in pairwise(ordered):
        if a >= b:
            continue
        segment = _price(group, terms, approved, history, settings, start + timedelta(days=a))
        segment.first, segment.last = a, b - 1
        if segments and segments[-1].inputs == segment.inputs and segments[-1].last == a - 1:
            segments[-1].last = b - 1
        else:
            segments.append(segment)
    for segment in segments:
        segment.inputs = {
            "from": (start + timedelta(days=segment.first)).isoformat(),
            "to": (start + timedelta(days=segment.last)).isoformat(),
            "nights": segment.last - segment.first + 1,
            **segment.inputs,
        }
    return segments


def _price(
    group: Group,
    terms: list[ContractTerm],
    approved: list[tuple[date, IntensityReassessment]],
    history: History,
    settings: FundingSettings,
    day: date,
) -> Segment:
    """The inputs of one night (and so of its whole segment)."""
    active = (group.active_from is None or group.active_from <= day) and (
        group.active_to is None or day <= group.active_to
    )
    term = valid_on(terms, day)
    if not active:
        return Segment(0, 0, {"counted": False, "reason": "buiten de actieve periode van de groep"})
    if term is None:
        return Segment(0, 0, {"counted": False, "reason": "geen goedgekeurde contractversie"})
    intensity = funded_intensity(group, approved, day)
    key = tariff_key(group.care_form, intensity=intensity, level=group.level)
    tariff_id: int | None = None
    if term.day_tariff is not None:
        tariff, source = float(term.day_tariff), "contract"
    else:
        row = _tariff_row(history, group.care_form, key, day)
        tariff_id = row.id if row is not None else None
        tariff, source = (float(row.day_tariff), "tarieftabel") if row is not None else (0.0, "ontbreekt")
    funded = bool(term.availability_funded) and group.care_form not in NEVER_AVAILABILITY_FUNDED
    if term.availability_share is not None:
        share, share_source = float(term.availability_share), "contract"
    else:
        share, share_source = region_share(settings, group)
    inputs = {
        "counted": True,
        "term_id": term.id,
        "term_valid_from": term.valid_from.isoformat(),
        "term_valid_to": term.valid_to.isoformat() if term.valid_to else None,
        "contracted_places": int(term.contracted_places),
        "availability_funded": funded,
        "availability_share": share if funded else None,
        "share_source": share_source if funded else None,
        "day_tariff": tariff,
        "tariff_source": source,
        "tariff_id": tariff_id,
        "tariff_key": key if term.day_tariff is None else None,
        "intensity": intensity,
    }
    return Segment(0, 0, inputs, int(term.contracted_places), tariff, share if funded else 0.0, True, funded)


def night_inputs(groups: list[Group], history: History, settings: FundingSettings, *, start: date, days: int) -> Nights:
    shape = (len(groups), days)
    nights = Nights(
        places=np.zeros(shape, dtype=np.int64),
        tariff=np.zeros(shape, dtype=np.float64),
        share=np.zeros(shape, dtype=np.float64),
        counted=np.zeros(shape, dtype=bool),
        funded=np.zeros(shape, dtype=bool),
        not_admitting=np.zeros(shape, dtype=bool),
    )
    for i, group in enumerate(groups):
        segments = group_segments(group, history, settings, start=start, days=days)
        nights.segments.append(segments)
        for s in segments:
            part = slice(s.first, s.last + 1)
            nights.places[i, part] = s.places
            nights.tariff[i, part] = s.tariff
            nights.share[i, part] = s.share
            nights.counted[i, part] = s.counted
            nights.funded[i, part] = s.funded
        for day, admitting in history.admitting.get(group.id or 0, []):  # in order: the last one wins
            index = _index(day, start, days)
            assert index is not None
            nights.not_admitting[i, index:] = not admitting
    return nights


def _runs(mask: np.ndarray, start: date) -> list[dict[str, Any]]:
    """Consecutive true nights as periods."""
    if not mask.any():
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [
        {
            "from": (start + timedelta(days=int(a))).isoformat(),
            "to": (start + timedelta(days=int(b) - 1)).isoformat(),
            "nights": int(b - a),
        }
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


# -- the report ----------------------------------------------------------------------------------


def post_calculation(
    *,
    session: Session,
    principal: Principal,
    region_code: str | None,
    year: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The report of a period: the stored one when the period is finalised (with what would
    differ now), else computed from the register and the feed."""
    region = resolve_region(session=session, principal=principal, region_code=region_code)
    period = resolve_period(year=year, start=start, end=end)
    live = compute_report(session=session, principal=principal, region=region, period=period)
    stored = finalised_of(session=session, region=region, period=period)
    if stored is None:
        return {**live, "finalised": None, "changes_since_finalisation": None}
    return finalised_view(stored, principal=principal, live=live)


def providers_of(session: Session, groups: list[Group]) -> dict[int | None, Provider]:
    """The providers of these groups, by id (one query)."""
    if not groups:
        return {}
    query = select(Provider).where(col(Provider.id).in_({g.provider_id for g in groups}))
    return {p.id: p for p in session.exec(query).all()}


def compute_report(*, session: Session, principal: Principal, region: Region, period: Period) -> dict[str, Any]:
    settings = funding_settings(region)
    groups = report_groups(session=session, principal=principal, region=region, period=period)
    providers = providers_of(session, groups)
    grid = night_grid(
        session=session,
        group_ids=[g.id for g in groups],  # type: ignore[misc]
        own_codes={g.id: region.code for g in groups},  # type: ignore[misc]
        start=period.start,
        end=period.counted_through,
    )
    history = load_history(
        session=session, groups=groups, region=region, start=period.start, until=period.counted_through
    )
    nights = night_inputs(groups, history, settings, start=period.start, days=period.days)
    rows = compute_rows(groups=groups, grid=grid, nights=nights, period=period, settings=settings, providers=providers)
    return {
        "region": region.code,
        "region_name": region.name,
        "period_start": period.start,
        "period_end": period.end,
        "counted_through": period.counted_through,
        "days": period.days,
        "fund_not_admitting_nights": settings.fund_not_admitting_nights,
        "settings": settings.as_json(),
        "groups": rows,
        "providers": totals_by_provider(rows),
        "total": totals(rows),
    }


def _last(mask: np.ndarray) -> np.ndarray:
    """Index of the last true night per row (-1 for none)."""
    if mask.shape[1] == 0:
        return np.full(mask.shape[0], -1, dtype=np.int64)
    last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
    return np.where(mask.any(axis=1), last, -1)


def compute_rows(
    *,
    groups: list[Group],
    grid: NightGrid,
    nights: Nights,
    period: Period,
    settings: FundingSettings,
    providers: dict[int | None, Provider],
) -> list[dict[str, Any]]:
    if not groups:
        return []
    order = [grid.row(g.id) for g in groups]  # type: ignore[arg-type]
    present = grid.total[order].astype(np.int64)
    own = grid.own[order].astype(np.int64)
    counted, funded = nights.counted, nights.funded
    not_admitting = nights.not_admitting & counted
    occupied = np.where(counted, present, 0)
    occupied_own = np.where(counted, own, 0)
    outside = np.where(counted, 0, present).sum(axis=1)
    empty = np.where(funded, np.maximum(nights.places - present, 0), 0)
    night_funding = empty * nights.tariff * nights.share
    paid = funded if settings.fund_not_admitting_nights else funded & ~not_admitting
    figures = {
        "counted_nights": counted.sum(axis=1),
        "funded_nights": funded.sum(axis=1),
        "contracted_bed_days": nights.places.sum(axis=1),
        "available_bed_days": np.where(funded, nights.places, 0).sum(axis=1),
        "occupied": occupied.sum(axis=1),
        "occupied_own": occupied_own.sum(axis=1),
        "empty": empty.sum(axis=1),
        "funding": np.where(paid, night_funding, 0.0).sum(axis=1),
        "pxq": (occupied_own * nights.tariff).sum(axis=1),
        "na_nights": not_admitting.sum(axis=1),
        "na_empty": np.where(not_admitting, empty, 0).sum(axis=1),
        "na_funding": np.where(not_admitting, night_funding, 0.0).sum(axis=1),
    }
    last_counted, last_funded = _last(counted), _last(funded)
    index = np.arange(len(groups))
    lc_safe, lf_safe = np.maximum(last_counted, 0), np.maximum(last_funded, 0)
    figures["outside"] = outside
    figures["last_places"] = np.where(last_counted >= 0, nights.places[index, lc_safe], 0)
    # Plain Python numbers, converted once (not one numpy scalar per cell).
    f: dict[str, list[Any]] = {key: values.tolist() for key, values in figures.items()}
    last_tariff = nights.tariff[index, lc_safe].tolist()
    last_share = nights.share[index, lf_safe].tolist()
    lcs, lfs = last_counted.tolist(), last_funded.tolist()
    paid_flag = settings.fund_not_admitting_nights
    rows: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        contracted = f["contracted_bed_days"][i]
        occupied_i = f["occupied"][i]
        rate = occupied_i / contracted if contracted else 0.0
        provider = providers.get(group.provider_id)
        rows.append(
            {
                "group_id": group.id,
                "group_name": group.name,
                "provider_id": group.provider_id,
                "provider_name": provider.name if provider else None,
                "care_form": group.care_form,
                "is_crisis": group.is_crisis,
                "contracted_places": f["last_places"][i],
                "days": period.days,
                "counted_nights": f["counted_nights"][i],
                "funded_nights": f["funded_nights"][i],
                "contracted_bed_days": contracted,
                "available_bed_days": f["available_bed_days"][i],
                "occupied_bed_days": occupied_i,
                "occupied_bed_days_own_region": f["occupied_own"][i],
                "occupied_bed_days_other_regions": occupied_i - f["occupied_own"][i],
                "occupied_bed_days_outside_contract": f["outside"][i],
                "empty_bed_days": f["empty"][i],
                "occupancy_rate": round(rate, 4),
                "day_tariff": _money(last_tariff[i]) if lcs[i] >= 0 else None,
                "availability_share": last_share[i] if lfs[i] >= 0 else None,
                "not_admitting_nights": f["na_nights"][i],
                "not_admitting_empty_bed_days": f["na_empty"][i],
                "not_admitting_funding": _money(f["na_funding"][i]),
                "not_admitting_paid": paid_flag,
                "availability_funding": _money(f["funding"][i]),
                "pxq_amount": _money(f["pxq"][i]),
                "below_50": bool(contracted > 0 and rate < BELOW_THRESHOLD),
                "inputs": [s.inputs for s in nights.segments[i]],
                "not_admitting_periods": _runs(not_admitting[i], period.start) if f["na_nights"][i] else [],
            }
        )
    return rows


_SUMMED = (
    "contracted_places",
    "contracted_bed_days",
    "available_bed_days",
    "occupied_bed_days",
    "occupied_bed_days_own_region",
    "occupied_bed_days_other_regions",
    "occupied_bed_days_outside_contract",
    "empty_bed_days",
    "not_admitting_nights",
    "not_admitting_empty_bed_days",
    "not_admitting_funding",
    "availability_funding",
    "pxq_amount",
)
_MONEY = ("availability_funding", "pxq_amount", "not_admitting_funding")


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(_SUMMED, 0)
    for row in rows:
        for key in _SUMMED:
            out[key] = out[key] + (row.get(key) or 0)
    for key in _MONEY:
        out[key] = _money(out[key])
    contracted = int(out["contracted_bed_days"])
    out["occupancy_rate"] = round(int(out["occupied_bed_days"]) / contracted, 4) if contracted else 0.0
    out["groups"] = len(rows)
    out["groups_below_50"] = sum(1 for r in rows if r["below_50"])
    return out


def totals_by_provider(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(int(row["provider_id"]), []).append(row)
    return [
        {"provider_id": pid, "provider_name": items[0]["provider_name"], **totals(items)}
        for pid, items in sorted(grouped.items())
    ]


# -- finalising ------------------------------------------------------------------------------------


def finalised_of(*, session: Session, region: Region, period: Period) -> FinalisedPostCalculation | None:
    return session.exec(
        select(FinalisedPostCalculation).where(
            FinalisedPostCalculation.region_id == region.id,
            FinalisedPostCalculation.period_start == period.start,
            FinalisedPostCalculation.period_end == period.end,
        )
    ).first()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _who(label: str) -> str:
    """The name in a principal's label (``user:3:admin`` -> ``admin``)."""
    return label.split(":", 2)[-1]


def _marker(stored: FinalisedPostCalculation) -> dict[str, Any]:
    return {
        "id": stored.id,
        "finalised_at": as_utc(stored.finalised_at),
        "finalised_by": stored.finalised_by,
        "finalised_by_name": _who(stored.finalised_by),
    }


def _period_text(period: Period) -> str:
    return f"{period.start:%d-%m-%Y} t/m {period.end:%d-%m-%Y}"


def finalise(
    *,
    session: Session,
    principal: Principal,
    region_code: str | None,
    year: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """Store the report of an ended period as finalised: once per region and period, by an
    administrator of that region (or one bound to no region). Audited, with an event."""
    if principal.role != Role.admin:
        raise Forbidden("Alleen een beheerder van de regio stelt de nacalculatie vast.", code="role_forbidden")
    code = region_code.strip().upper() if region_code else None
    if code is None:
        if principal.region_id is None:
            raise RuleViolation("Geef de regio op, bijvoorbeeld JZ14.", code="region_missing")
        region = session.get(Region, principal.region_id)
    else:
        region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or (principal.region_id is not None and principal.region_id != region.id):
        raise NotFound("Regio niet gevonden.")
    period = resolve_period(year=year, start=start, end=end)
    if period.end >= today():
        raise RuleViolation(
            f"De periode {_period_text(period)} is nog niet voorbij; vaststellen kan pas na {period.end:%d-%m-%Y}.",
            code="period_not_ended",
        )
    existing = finalised_of(session=session, region=region, period=period)
    if existing is not None:
        raise _already(region, period, existing)
    report = _jsonable(compute_report(session=session, principal=principal, region=region, period=period))
    stored = FinalisedPostCalculation(
        region_id=region.id,  # type: ignore[arg-type]
        period_start=period.start,
        period_end=period.end,
        finalised_at=utcnow(),
        finalised_by=principal.label,
        result=report,
    )
    try:
        with session.begin_nested():
            session.add(stored)
            session.flush()
    except IntegrityError:
        # Someone else finalised the same period a moment ago.
        existing = finalised_of(session=session, region=region, period=period)
        raise _already(region, period, existing) from None
    summary = {
        "region": region.code,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "availability_funding": report["total"]["availability_funding"],
        "pxq_amount": report["total"]["pxq_amount"],
        "groups": report["total"]["groups"],
    }
    audit.record(
        session=session,
        actor=principal,
        action="post_calculation.finalise",
        object_type="post_calculation",
        object_id=stored.id or 0,
        purpose=Purpose.post_calculation,
        detail=summary,
        region_id=region.id,
    )
    append_event(
        session=session,
        type=FINALISED_EVENT,
        region_id=region.id,
        actor=principal.label,
        payload={
            "audience": FINALISED_AUDIENCE,
            "post_calculation_id": stored.id,
            "region": region.code,
            "period_start": summary["period_start"],
            "period_end": summary["period_end"],
        },
    )
    return finalised_view(stored, principal=principal, live=None)


def _already(region: Region, period: Period, existing: FinalisedPostCalculation | None) -> Conflict:
    when = ""
    if existing is not None:
        moment = as_utc(existing.finalised_at)
        when = f" op {local_day(moment):%d-%m-%Y} door {_who(existing.finalised_by)}" if moment else ""
    return Conflict(
        f"De nacalculatie van {region.code} over {_period_text(period)} is al vastgesteld{when}. Een "
        "vastgestelde nacalculatie verandert niet meer; spreek een correctie af met de aanbieder.",
        code="post_calculation_finalised",
    )


# -- what differs now ----------------------------------------------------------------------------

COMPARED = (
    "contracted_places",
    "counted_nights",
    "funded_nights",
    "contracted_bed_days",
    "available_bed_days",
    "occupied_bed_days",
    "occupied_bed_days_own_region",
    "occupied_bed_days_other_regions",
    "occupied_bed_days_outside_contract",
    "empty_bed_days",
    "occupancy_rate",
    "day_tariff",
    "availability_share",
    "not_admitting_nights",
    "not_admitting_empty_bed_days",
    "not_admitting_funding",
    "availability_funding",
    "pxq_amount",
    "below_50",
    "inputs",
    "not_admitting_periods",
)
TOTAL_COMPARED = (*_SUMMED, "occupancy_rate", "groups", "groups_below_50")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _change(old: Any, new: Any) -> dict[str, Any]:
    """Old and new value; for numbers also new − old (a group that is new or gone counts 0)."""
    change: dict[str, Any] = {"old": old, "new": new}
    if (_number(old) or old is None) and (_number(new) or new is None) and (old, new) != (None, None):
        difference = (new or 0) - (old or 0)
        change["difference"] = _money(difference) if isinstance(difference, float) else difference
    return change


def differences(stored: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """Per group the fields that differ now (old → new), groups that appeared or dropped out,
    and the difference of the totals."""
    old_rows = {r["group_id"]: r for r in stored["groups"]}
    new_rows = {r["group_id"]: r for r in _jsonable(live["groups"])}
    groups: list[dict[str, Any]] = []
    for group_id in sorted(set(old_rows) | set(new_rows)):
        old, new = old_rows.get(group_id), new_rows.get(group_id)
        base = old or new
        assert base is not None
        if old is None or new is None:
            status = "nieuw" if old is None else "vervallen"
            fields = {
                key: _change((old or {}).get(key), (new or {}).get(key))
                for key in COMPARED
                if key not in ("inputs", "not_admitting_periods")
            }
        else:
            status = "gewijzigd"
            fields = {key: _change(old.get(key), new.get(key)) for key in COMPARED if old.get(key) != new.get(key)}
            if not fields:
                continue
        groups.append(
            {
                "group_id": group_id,
                "group_name": base["group_name"],
                "provider_id": base["provider_id"],
                "provider_name": base["provider_name"],
                "status": status,
                "fields": fields,
            }
        )
    live_total = _jsonable(live["total"])
    total = {
        key: _change(stored["total"].get(key), live_total.get(key))
        for key in TOTAL_COMPARED
        if stored["total"].get(key) != live_total.get(key)
    }
    return {"changed": bool(groups or total), "computed_at": utcnow(), "groups": groups, "total": total}


def finalised_view(
    stored: FinalisedPostCalculation, *, principal: Principal, live: dict[str, Any] | None
) -> dict[str, Any]:
    """The stored report as the caller may see it (a provider: its own groups, totals from the
    stored rows), marked finalised, with the differences from ``live`` (computed for the same
    caller) when given."""
    result: dict[str, Any] = dict(stored.result)
    rows = list(result["groups"])
    if principal.role == "provider":
        rows = [r for r in rows if r["provider_id"] == principal.provider_id]
    view = {
        **result,
        "period_start": date.fromisoformat(result["period_start"]),
        "period_end": date.fromisoformat(result["period_end"]),
        "counted_through": date.fromisoformat(result["counted_through"]),
        "groups": rows,
        "providers": totals_by_provider(rows),
        "total": totals(rows),
        "finalised": _marker(stored),
    }
    if live is None:
        view["changes_since_finalisation"] = {"changed": False, "computed_at": utcnow(), "groups": [], "total": {}}
        return view
    changes = differences(view, live)
    view["changes_since_finalisation"] = changes
    by_group = {c["group_id"]: c for c in changes["groups"]}
    view["groups"] = [_with_difference(r, by_group.get(r["group_id"])) for r in rows]
    return view


def _with_difference(row: dict[str, Any], change: dict[str, Any] | None) -> dict[str, Any]:
    fields = change["fields"] if change else {}
    return {
        **row,
        "changed_since_finalisation": change is not None,
        "availability_funding_difference": fields.get("availability_funding", {}).get("difference", 0.0),
        "pxq_amount_difference": fields.get("pxq_amount", {}).get("difference", 0.0),
    }


def group_series(
    *, session: Session, principal: Principal, group_id: int, year: int | None, start: date | None, end: date | None
) -> tuple[Group, Period, NightGrid, str, np.ndarray]:
    """Nights of one group over a period (for the chart): present per night, and the contracted
    places of each night (0 on a night that does not count)."""
    group = session.get(Group, group_id)
    if group is None or not principal.may_see_provider(group.provider_id):
        raise NotFound("Groep niet gevonden.")
    if principal.role not in (*REGION_ROLES, "provider"):
        raise Forbidden("U heeft geen rechten voor deze rapportage.", code="role_forbidden")
    region = session.get(Region, group.region_id)
    ensure_region_access(principal, group.region_id, what="Groep")
    code = region.code if region else ""
    period = resolve_period(year=year, start=start, end=end)
    grid = night_grid(
        session=session,
        group_ids=[group_id],
        own_codes={group_id: code},
        start=period.start,
        end=period.counted_through,
    )
    places = np.zeros(period.days, dtype=np.int64)
    if region is not None:
        history = load_history(
            session=session, groups=[group], region=region, start=period.start, until=period.counted_through
        )
        places = night_inputs([group], history, funding_settings(region), start=period.start, days=period.days).places[
            0
        ]
    return group, period, grid, code, places
