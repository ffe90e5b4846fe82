"""Steering indicators (*stuurinformatie*) of a region, per month and over any period.

Every figure is read with a few set-based SQL statements (the same text on SQLite and
PostgreSQL, apart from the small dialect helpers below) that return plain numbers; counting per
month and the Kaplan–Meier curves are done on those arrays with numpy. The rows of closed months
are kept (``monthly.py``: the region's rows, unfiltered, per section and month, valid while no
row behind the month has changed), so three years read a few stored arrays and only the current
month from the tables; filters are applied to the rows with the groups' attributes as they are
now, as the SQL joins did. Months are calendar
months in Dutch local time; the period is ``start`` .. ``end`` inclusive (default: the last
twelve months up to today), at most three years.

What counts where (the filters: care form, intensity, municipality, provider):

- **Waiting times**: the referrals whose wait began (``waiting_since``) in the period, followed
  until now. *To a proposal*: the first proposal sent after the wait began (or the arrival, for a
  youth placed without one); *to a placement*: the first arrival. A youth still waiting is
  censored now, a withdrawn referral at its withdrawal (its last change): both count as "waited
  at least this long" (Kaplan–Meier, ``survival.py``). Filters: the youth's first-choice care
  form, the intensity it needs, its home municipality. Not per provider (the wait is the
  region's, before any provider is involved): with a provider filter, and for providers, this
  section is left out.
- **Proposals** sent in the period and how each ended (open, accepted, declined with the
  reason, expired, withdrawn), per provider and group. Filters: the group's.
- **Placements**: arrivals in the period (not transfers between groups): out of the region (the
  group lies in another region than the youth's referral) and beyond the youth's maximum
  distance (home to group as the crow flies, where the referral sets one).
- **Scaling up and down**: arrivals placed at a group whose stay intensity is heavier or lighter
  than the youth needs (care forms with their own standard, foster care and family homes, are
  outside the A–S scale and not counted); placements ended in the period by destination, and
  moves to another care form (the youth's next placement), up or down by the groups'
  stay intensity (family-like care counts as the step below residential care).
- **Occupancy** of every group of the region (not only the availability-funded ones), from the
  occupancy feed's stays (and censuses), night by night as in the post-calculation: bed-days
  occupied over today's places times the nights the group was active.
- **Crisis**: holds made by the region's crisis team in the period, how they ended, minutes from
  hold to confirmation, and the share of confirmations in the own region. Searches are not
  counted: the crisis search stores nothing (no youth data is kept for a search).
- **Data freshness**: per provider, the age of the newest and of the oldest availability report
  of its groups now, and how many groups are older than the region's staleness limit.

Who sees what: a coordinator, viewer (contract manager) or region administrator sees the own
region (a national administrator any region it names); a provider sees only its own groups'
figures in its own region (proposals, placements, occupancy, holds and freshness of its
groups), never the region's waiting times. Other regions, providers and municipalities answer
404, as if they did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlmodel import Session, col, select

from backend.auth import Principal, ensure_region_access
from backend.db import Database
from backend.domain import CARE_FORMS, INTENSITY_LETTERS, utcnow
from backend.errors import Forbidden, NotFound, RuleViolation
from backend.indicators.models import Filters
from backend.indicators.monthly import Months, MonthStore, Rows, local_midnight
from backend.indicators.survival import Survival, kaplan_meier
from backend.occupancy.bedays import fetch_table, night_grid
from backend.occupancy.service import today
from backend.placements.models import DESTINATIONS
from backend.providers.models import Group, Provider
from backend.regions.models import Municipality, Region
from backend.regions.settings import region_settings, region_stale_hours
from backend.reports.service import MAX_PERIOD_DAYS
from backend.users.models import Role
from solver.vocabulary import OWN_NORM_CARE_FORMS

READER_ROLES = (Role.admin, Role.coordinator, Role.viewer, Role.provider)
PROPOSAL_OUTCOMES = ("open", "accepted", "declined", "expired", "withdrawn")
HOLD_OUTCOMES = ("active", "confirmed", "released", "expired", "rejected")
DAY = 86400.0
EARTH_KM = 6371.0
CARE_FORM_CODES = list(CARE_FORMS)
LETTERS = list(INTENSITY_LETTERS)


def _concat(parts: list[Rows], skip: tuple[str, ...] = ()) -> Rows:
    """The parts of a section's rows as one set of columns (the order of rows plays no part in
    any figure: counts, medians and the Kaplan–Meier estimate do not depend on it)."""
    keys = [key for key in parts[0] if key not in skip] if parts else []
    return {key: np.concatenate([part[key] for part in parts]) for key in keys}


@dataclass
class GroupTable:
    """Every group's attributes as they are now (all regions: a proposal or a youth's next
    placement may name another region's group), looked up by id for a section's rows."""

    ids: np.ndarray
    region: np.ndarray
    care_form: np.ndarray
    intensity: np.ndarray
    municipality: np.ndarray
    provider: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    letter: np.ndarray
    own_norm: np.ndarray

    def __init__(self, session: Session) -> None:
        rows = session.execute(
            text(
                "SELECT id, region_id, care_form, intensity, municipality_id, provider_id, lat, lon "
                "FROM groups ORDER BY id"
            )
        ).all()
        columns = list(zip(*rows, strict=True)) if rows else [()] * 8
        self.ids = np.array(columns[0], dtype=np.int64)
        self.region = np.array(columns[1], dtype=np.int64)
        self.care_form = np.array(columns[2], dtype=object)
        self.intensity = np.array(columns[3], dtype=object)
        self.municipality = np.array([np.nan if m is None else m for m in columns[4]], dtype=np.float64)
        self.provider = np.array(columns[5], dtype=np.int64)
        self.lat = np.array([np.nan if v is None else v for v in columns[6]], dtype=np.float64)
        self.lon = np.array([np.nan if v is None else v for v in columns[7]], dtype=np.float64)
        # As the SQL did: position of the letter in A..S (strpos/instr), 0 for none.
        self.letter = np.array(
            [0 if v is None else INTENSITY_LETTERS.find(v) + 1 for v in columns[3]], dtype=np.float64
        )
        self.own_norm = np.array([form in OWN_NORM_CARE_FORMS for form in columns[2]], dtype=bool)

    def at(self, group_ids: np.ndarray) -> np.ndarray:
        """Index of each group id in the table (a section's rows always name an existing group)."""
        return np.searchsorted(self.ids, group_ids.astype(np.int64))

    def matches(self, group_ids: np.ndarray, filters: Filters) -> np.ndarray:
        """Which rows' groups pass the filters (the group's care form, intensity, municipality,
        provider, as ``_group_filter`` did in SQL)."""
        keep = np.ones(group_ids.shape, dtype=bool)
        if not group_ids.size:
            return keep
        at = self.at(group_ids)
        if filters.care_form is not None:
            keep &= self.care_form[at] == filters.care_form
        if filters.intensity is not None:
            keep &= self.intensity[at] == filters.intensity
        if filters.municipality_id is not None:
            keep &= self.municipality[at] == filters.municipality_id
        if filters.provider_id is not None:
            keep &= self.provider[at] == filters.provider_id
        return keep

    def form_of(self, group_id: int) -> tuple[str, str | None]:
        i = int(np.searchsorted(self.ids, group_id))
        return str(self.care_form[i]), self.intensity[i]


def resolve_months(*, start: date | None, end: date | None) -> Months:
    now = today()
    if end is None:
        end = now
    if start is None:
        first = date(end.year, end.month, 1)
        start = date(first.year - (1 if first.month < 12 else 0), first.month % 12 + 1, 1)
    if end < start:
        raise RuleViolation("De einddatum ligt vóór de begindatum.", code="period_invalid")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation("Een periode mag hoogstens drie jaar beslaan.", code="period_too_long")
    labels, firsts = [], []
    cursor = date(start.year, start.month, 1)
    while cursor <= end:
        labels.append(f"{cursor.year:04d}-{cursor.month:02d}")
        firsts.append(max(cursor, start))
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    bounds = [local_midnight(day).timestamp() for day in firsts] + [local_midnight(end + timedelta(days=1)).timestamp()]
    return Months(start, end, labels, np.array(bounds, dtype=np.float64), firsts)


# -- who asks for what -------------------------------------------------------------------------


def resolve_scope(
    *, session: Session, principal: Principal, region_code: str | None, filters: Filters
) -> tuple[Region, Filters]:
    """The region asked for and the filters, checked against the caller: 403 for a role without
    indicators, 404 for a region, provider or municipality outside the caller's scope."""
    if principal.role not in READER_ROLES:
        raise Forbidden("U heeft geen rechten voor de stuurinformatie.", code="role_forbidden")
    if filters.care_form is not None and filters.care_form not in CARE_FORMS:
        raise RuleViolation(f"Onbekende zorgvorm: {filters.care_form}.", code="care_form_unknown")
    if filters.intensity is not None and filters.intensity not in INTENSITY_LETTERS:
        raise RuleViolation("De intensiteit moet een letter van A tot en met S zijn.", code="intensity_unknown")
    code = region_code.strip().upper() if region_code else None
    if principal.role == Role.provider:
        own = session.get(Provider, principal.provider_id) if principal.provider_id is not None else None
        if own is None:
            raise Forbidden("U heeft geen rechten voor de stuurinformatie.", code="role_forbidden")
        if filters.provider_id is not None and filters.provider_id != own.id:
            raise NotFound("Aanbieder niet gevonden.")
        region = session.get(Region, own.region_id)
        if region is None or (code is not None and region.code != code):
            raise NotFound("Regio niet gevonden.")
        return region, replace(filters, provider_id=own.id)
    if code is not None:
        found = session.exec(select(Region).where(Region.code == code)).first()
    elif principal.region_id is not None:
        found = session.get(Region, principal.region_id)
    else:
        raise RuleViolation("Geef de regio op, bijvoorbeeld region=JZ14.", code="region_missing")
    if found is None:
        raise NotFound("Regio niet gevonden.")
    ensure_region_access(principal, found.id, what="Regio")
    if filters.provider_id is not None:
        provider = session.get(Provider, filters.provider_id)
        if provider is None or provider.region_id != found.id:
            raise NotFound("Aanbieder niet gevonden.")
    if filters.municipality_id is not None:
        municipality = session.get(Municipality, filters.municipality_id)
        if municipality is None or municipality.region_id != found.id:
            raise NotFound("Gemeente niet gevonden.")
    return found, filters


# -- dialect helpers ---------------------------------------------------------------------------


class _Sql:
    """The few spots where SQLite and PostgreSQL spell things differently."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def epoch(self, column: str) -> str:
        """Seconds since 1970 (UTC) of a stored moment (stored as UTC on SQLite)."""
        if self.postgres:
            return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"
        return f"((julianday({column}) - 2440587.5) * 86400.0)"

    def letter(self, column: str) -> str:
        """Position of an intensity letter in A..S (1-based, 0 for none)."""
        function = "strpos" if self.postgres else "instr"
        return f"COALESCE({function}('{INTENSITY_LETTERS}', {column}), 0)"

    def first_of(self, column: str) -> str:
        """The first element of a JSON list of text."""
        return f"({column} ->> 0)" if self.postgres else f"json_extract({column}, '$[0]')"

    def moment(self, value: datetime) -> Any:
        # SQLite keeps moments as UTC text in SQLAlchemy's format; compare like with like.
        if self.postgres:
            return value
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def numbers(self, sql: str, params: dict[str, Any], columns: int) -> np.ndarray:
        """Rows of numbers as one float array (NULL becomes NaN), from the driver's cursor."""
        return fetch_table(self.session, sql, params, columns=columns, dtype=np.float64)


def _group_filter(filters: Filters, alias: str = "g") -> str:
    parts = []
    if filters.care_form is not None:
        parts.append(f"{alias}.care_form = :care_form")
    if filters.intensity is not None:
        parts.append(f"{alias}.intensity = :intensity")
    if filters.municipality_id is not None:
        parts.append(f"{alias}.municipality_id = :municipality")
    if filters.provider_id is not None:
        parts.append(f"{alias}.provider_id = :provider")
    return "".join(f" AND {part}" for part in parts)


def _params(filters: Filters, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(extra)
    if filters.care_form is not None:
        values["care_form"] = filters.care_form
    if filters.intensity is not None:
        values["intensity"] = filters.intensity
    if filters.municipality_id is not None:
        values["municipality"] = filters.municipality_id
    if filters.provider_id is not None:
        values["provider"] = filters.provider_id
    return values


def _days(value: float | None) -> float | None:
    return None if value is None else round(value / DAY, 1)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# -- waiting times -----------------------------------------------------------------------------


def _survival_summary(curve: Survival) -> dict[str, Any]:
    return {
        "referrals": curve.subjects,
        "ended": curve.events,
        "censored": curve.censored,
        "median_days": _days(curve.percentile(0.5)),
        "p90_days": _days(curve.percentile(0.9)),
        "longest_followed_days": _days(curve.longest) if curve.events else None,
    }


def _curve_points(curve: Survival) -> list[list[float]]:
    """The curve as (days, share still waiting) steps, thinned to at most 60 points."""
    if not curve.times.size:
        return []
    pick = np.unique(np.linspace(0, curve.times.size - 1, min(60, curve.times.size)).astype(int))
    return [[round(float(curve.times[i]) / DAY, 2), round(float(curve.survival[i]), 4)] for i in pick]


def _waiting_rows(session: Session, region: Region, since: datetime, until: datetime) -> Rows:
    """The region's referrals whose wait began in [since, until), with what the filters need."""
    sql = _Sql(session)
    params: dict[str, Any] = {"region": region.id, "since": sql.moment(since), "until": sql.moment(until)}
    table = sql.numbers(
        f"SELECT {sql.epoch('r.waiting_since')}, "
        f"CASE WHEN r.status = 'withdrawn' THEN {sql.epoch('r.updated_at')} END, "
        f"(SELECT {sql.epoch('MIN(p.created_at)')} FROM proposals p "
        " WHERE p.referral_id = r.id AND p.created_at >= r.waiting_since), "
        f"(SELECT {sql.epoch('MIN(pl.arrived_at)')} FROM placements pl "
        " WHERE pl.referral_id = r.id AND pl.arrived_at >= r.waiting_since), "
        f"{_case(sql.first_of('r.care_forms'), CARE_FORM_CODES, 'form', params)}, "
        f"{_case('r.required_intensity', LETTERS, 'letter', params)}, r.home_municipality_id "
        "FROM referrals r WHERE r.region_id = :region AND r.waiting_since >= :since AND r.waiting_since < :until",
        params,
        columns=7,
    )
    return dict(
        zip(("began", "withdrawn", "proposed", "arrived", "form", "letter", "municipality"), table.T, strict=True)
    )


def waiting_times(
    *, session: Session, region: Region, filters: Filters, months: Months, now: datetime, store: MonthStore
) -> dict[str, Any]:
    rows = _concat(store.rows("waiting", lambda a, b: _waiting_rows(session, region, a, b), "began"))
    keep = np.ones(rows["began"].shape, dtype=bool)
    if filters.care_form is not None:
        keep &= rows["form"] == CARE_FORM_CODES.index(filters.care_form)
    if filters.intensity is not None:
        keep &= rows["letter"] == LETTERS.index(filters.intensity)
    if filters.municipality_id is not None:
        keep &= rows["municipality"] == filters.municipality_id
    began, withdrawn, proposed, arrived = (rows[k][keep] for k in ("began", "withdrawn", "proposed", "arrived"))
    # Followed until now, or until the withdrawal; a moment after that is not known yet.
    stop = np.where(np.isnan(withdrawn), now.timestamp(), withdrawn)
    proposed = np.fmin(proposed, arrived)  # placed without a proposal: the wait ended too
    month = months.index(began)
    result: dict[str, Any] = {}
    for key, ended_at in (("to_proposal", proposed), ("to_placement", arrived)):
        observed = ~np.isnan(ended_at) & (ended_at <= stop)
        durations = np.maximum(0.0, np.where(observed, ended_at, stop) - began)
        whole = kaplan_meier(durations, observed)
        per_month = []
        for i, label in enumerate(months.labels):
            mask = month == i
            per_month.append({"month": label, **_survival_summary(kaplan_meier(durations[mask], observed[mask]))})
        result[key] = {**_survival_summary(whole), "curve": _curve_points(whole), "by_month": per_month}
    result["still_waiting"] = int(np.sum(np.isnan(arrived) & np.isnan(withdrawn)))
    return result


# -- proposals ---------------------------------------------------------------------------------


def _case(column: str, values: list[str] | tuple[str, ...], prefix: str, params: dict[str, Any]) -> str:
    """``column`` as the index of its value in ``values`` (-2 for another value, -1 for NULL)."""
    whens = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        whens.append(f"WHEN {column} = :{prefix}{i} THEN {i}")
    return f"CASE WHEN {column} IS NULL THEN -1 {' '.join(whens)} ELSE -2 END"


def _proposal_rows(session: Session, region: Region, since: datetime, until: datetime) -> Rows:
    """The region's proposals sent in [since, until); the decline reason as its place in
    ``reasons`` (the codes met), so that kept rows follow a region's later list of reasons."""
    sql = _Sql(session)
    params: dict[str, Any] = {"region": region.id, "since": sql.moment(since), "until": sql.moment(until)}
    where = "WHERE p.region_id = :region AND p.created_at >= :since AND p.created_at < :until"
    codes = sorted(
        code
        for (code,) in session.execute(
            text(f"SELECT DISTINCT p.decline_reason FROM proposals p {where} AND p.decline_reason IS NOT NULL"), params
        ).all()
    )
    table = sql.numbers(
        f"SELECT p.group_id, p.provider_id, {sql.epoch('p.created_at')}, "
        f"{_case('p.status', PROPOSAL_OUTCOMES, 'status', params)}, "
        f"{_case('p.decline_reason', codes, 'reason', params)} FROM proposals p {where}",
        params,
        columns=5,
    )
    rows = dict(zip(("group", "provider", "created", "status", "reason"), table.T, strict=True))
    rows["reasons"] = np.array(codes, dtype=str)
    return rows


def proposals(
    *,
    session: Session,
    region: Region,
    filters: Filters,
    months: Months,
    names: Names,
    store: MonthStore,
    groups: GroupTable,
) -> dict[str, Any]:
    labels = region_settings(region).decline_labels()
    reasons = list(labels)
    parts = store.rows("proposals", lambda a, b: _proposal_rows(session, region, a, b), "created", ("reasons",))
    for part in parts:  # each part's reason codes as the index in today's list (-2: not in it)
        known = [reasons.index(c) if c in reasons else -2 for c in part["reasons"].tolist()]
        lookup = np.array([*known, -2, -1], dtype=np.int64)  # -2 (another code) and -1 (none) stay
        part["reason"] = lookup[part["reason"].astype(np.int64)]
    rows = _concat(parts, skip=("reasons",))
    keep = groups.matches(rows["group"], filters)
    group_ids, provider_ids = rows["group"][keep].astype(np.int64), rows["provider"][keep].astype(np.int64)
    created, status, reason = rows["created"][keep], rows["status"][keep].astype(np.int64), rows["reason"][keep]
    declined = status == PROPOSAL_OUTCOMES.index("declined")
    # Reason column per row: its index, or one past the list for a declined row without a known one.
    reason_column = np.where(reason >= 0, reason, len(reasons))
    codes = [*reasons, "onbekend"]

    def tally(keys: np.ndarray, size: int) -> list[dict[str, Any]]:
        """Outcome and decline-reason counts per key (0 .. size-1), each in one bincount."""
        outcomes = np.bincount(
            keys * len(PROPOSAL_OUTCOMES) + np.clip(status, 0, None), minlength=size * len(PROPOSAL_OUTCOMES)
        )
        known = status >= 0
        outcomes -= np.bincount(keys[~known] * len(PROPOSAL_OUTCOMES), minlength=size * len(PROPOSAL_OUTCOMES))
        outcomes = outcomes.reshape(size, len(PROPOSAL_OUTCOMES))
        per_reason = np.bincount(
            keys[declined] * len(codes) + reason_column[declined], minlength=size * len(codes)
        ).reshape(size, len(codes))
        sent = np.bincount(keys, minlength=size)
        rows = []
        for k in range(size):
            row: dict[str, Any] = {"sent": int(sent[k])}
            row.update({outcome: int(outcomes[k, i]) for i, outcome in enumerate(PROPOSAL_OUTCOMES)})
            row["declined_by_reason"] = {code: int(n) for code, n in zip(codes, per_reason[k], strict=True) if n}
            row["acceptance_rate"] = _share(row["accepted"], row["sent"] - row["open"])
            rows.append(row)
        return rows

    group_list, group_keys = np.unique(group_ids, return_inverse=True)
    provider_of = dict(zip(group_ids.tolist(), provider_ids.tolist(), strict=True))
    by_group = [
        {
            "group_id": int(g),
            "group_name": names.group(int(g)),
            "provider_id": provider_of[int(g)],
            "provider_name": names.provider(provider_of[int(g)]),
            **row,
        }
        for g, row in zip(group_list, tally(group_keys.reshape(-1), len(group_list)), strict=True)
    ]
    by_group.sort(key=lambda r: (r["provider_name"], r["group_name"]))
    provider_list, provider_keys = np.unique(provider_ids, return_inverse=True)
    by_provider = [
        {"provider_id": int(p), "provider_name": names.provider(int(p)), **row}
        for p, row in zip(provider_list, tally(provider_keys.reshape(-1), len(provider_list)), strict=True)
    ]
    by_provider.sort(key=lambda r: r["provider_name"])
    month = months.index(created)
    inside = month >= 0
    by_month = [
        {"month": label, **{k: row[k] for k in ("sent", *PROPOSAL_OUTCOMES)}}
        for label, row in zip(months.labels, _masked_tally(tally, month, inside, len(months.labels)), strict=True)
    ]
    total = tally(np.zeros(group_ids.shape, dtype=np.int64), 1)[0]
    reason_rows = [
        {"reason": code, "label": labels.get(code, "Onbekende reden"), "declined": n}
        for code, n in sorted(total["declined_by_reason"].items(), key=lambda item: (-item[1], item[0]))
    ]
    return {
        "total": total,
        "declined_by_reason": reason_rows,
        "by_provider": by_provider,
        "by_group": by_group,
        "by_month": by_month,
    }


def _masked_tally(tally: Any, keys: np.ndarray, inside: np.ndarray, size: int) -> list[dict[str, Any]]:
    """Rows outside every month (cannot happen for a period's own rows) go to an extra key."""
    return list(tally(np.where(inside, keys, size), size + 1)[:size])


# -- placements and scaling --------------------------------------------------------------------


def _distance_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance (haversine), as the matching solver measures home to group."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: np.ndarray = 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result


def _placement_rows(session: Session, region: Region, since: datetime, until: datetime) -> Rows:
    """The region's arrivals in [since, until) (not transfers), with the referral's side."""
    sql = _Sql(session)
    params: dict[str, Any] = {"region": region.id, "since": sql.moment(since), "until": sql.moment(until)}
    table = sql.numbers(
        f"SELECT {sql.epoch('pl.arrived_at')}, pl.group_id, r.home_lat, r.home_lon, r.max_distance_km, "
        f"{sql.letter('r.required_intensity')} "
        "FROM placements pl JOIN referrals r ON r.id = pl.referral_id "
        "WHERE pl.region_id = :region AND pl.transferred_from IS NULL "
        "AND pl.arrived_at >= :since AND pl.arrived_at < :until",
        params,
        columns=6,
    )
    return dict(zip(("arrived", "group", "home_lat", "home_lon", "limit", "needed"), table.T, strict=True))


def placements(
    *, session: Session, region: Region, filters: Filters, months: Months, store: MonthStore, groups: GroupTable
) -> dict[str, Any]:
    rows = _concat(store.rows("placements", lambda a, b: _placement_rows(session, region, a, b), "arrived"))
    keep = groups.matches(rows["group"], filters)
    rows = {key: values[keep] for key, values in rows.items()}
    at = groups.at(rows["group"])
    arrived, outside = rows["arrived"], groups.region[at] != region.id
    distance = _distance_km(rows["home_lat"], rows["home_lon"], groups.lat[at], groups.lon[at])
    limit = rows["limit"]
    has_limit = ~np.isnan(limit)
    beyond = has_limit & (distance > np.where(has_limit, limit, np.inf) + 1e-9)
    needed, given, outside_scale = rows["needed"], groups.letter[at], groups.own_norm[at]
    on_scale = ~outside_scale & (needed > 0) & (given > 0)
    heavier, lighter = on_scale & (given > needed), on_scale & (given < needed)
    by_month = [
        {
            "month": label,
            "placements": n,
            "out_of_region": out,
            "beyond_max_distance": far,
            "heavier_than_needed": up,
            "lighter_than_needed": down,
        }
        for label, n, out, far, up, down in zip(
            months.labels,
            months.count(arrived),
            months.count(arrived, outside),
            months.count(arrived, beyond),
            months.count(arrived, heavier),
            months.count(arrived, lighter),
            strict=True,
        )
    ]
    total = int(arrived.size)
    placed = {
        "total": {
            "placements": total,
            "out_of_region": int(outside.sum()),
            "out_of_region_share": _share(int(outside.sum()), total),
            "with_max_distance": int(has_limit.sum()),
            "beyond_max_distance": int(beyond.sum()),
            "beyond_max_distance_share": _share(int(beyond.sum()), int(has_limit.sum())),
            "median_distance_km": round(float(np.median(distance)), 1) if total else None,
        },
        "by_month": [
            {k: row[k] for k in row if k in ("month", "placements", "out_of_region", "beyond_max_distance")}
            for row in by_month
        ],
    }
    scaling = {
        "total": {
            "placements": total,
            "heavier_than_needed": int(heavier.sum()),
            "lighter_than_needed": int(lighter.sum()),
            "as_needed": int(np.sum(on_scale & (given == needed))),
            "outside_intensity_scale": int(np.sum(~on_scale)),
            "mean_letters_above_need": round(float(np.mean(np.maximum(0, given - needed)[on_scale])), 2)
            if on_scale.any()
            else None,
        },
        "by_month": [
            {k: row[k] for k in ("month", "placements", "heavier_than_needed", "lighter_than_needed")}
            for row in by_month
        ],
        **_discharges(session=session, region=region, filters=filters, store=store, groups=groups),
    }
    return {"placements": placed, "scaling": scaling}


def _weight(care_form: str, letter: str | None) -> int:
    """How heavy a group's care is, for telling a step up from a step down: the stay intensity
    (A = 1 .. S = 19); family-like care outside the A–S scale (foster care, family homes) is
    the step below residential care (0)."""
    if care_form in OWN_NORM_CARE_FORMS or not letter or letter not in INTENSITY_LETTERS:
        return 0
    return INTENSITY_LETTERS.index(letter) + 1


def _direction(before: str, before_level: str | None, after: str, after_level: str | None) -> str:
    old, new = _weight(before, before_level), _weight(after, after_level)
    return "op" if new > old else "af" if new < old else "gelijk"


def _discharge_rows(session: Session, region: Region, since: datetime, until: datetime) -> Rows:
    """The region's placements ended in [since, until): group, destination and the group of the
    youth's next placement (in plekwijzer: a transfer or a new referral's placement)."""
    sql = _Sql(session)
    params: dict[str, Any] = {"region": region.id, "since": sql.moment(since), "until": sql.moment(until)}
    table = sql.numbers(
        f"SELECT {sql.epoch('pl.discharged_at')}, pl.group_id, nx.group_id, "
        f"{_case('pl.destination', list(DESTINATIONS), 'destination', params)} FROM placements pl "
        "LEFT JOIN placements nx ON nx.id = (SELECT MIN(p3.id) FROM placements p3 "
        "  WHERE p3.referral_id = pl.referral_id AND p3.id > pl.id AND p3.arrived_at IS NOT NULL) "
        "WHERE pl.region_id = :region AND pl.status = 'discharged' "
        "AND pl.discharged_at >= :since AND pl.discharged_at < :until",
        params,
        columns=4,
    )
    return dict(zip(("discharged", "group", "next", "destination"), table.T, strict=True))


def _discharges(
    *, session: Session, region: Region, filters: Filters, store: MonthStore, groups: GroupTable
) -> dict[str, Any]:
    """Placements ended in the period: by destination, and moves to another care form (the
    youth's next placement in plekwijzer, a transfer or a new referral's placement)."""
    rows = _concat(store.rows("discharges", lambda a, b: _discharge_rows(session, region, a, b), "discharged"))
    keep = groups.matches(rows["group"], filters)
    triples = np.stack(
        [rows["destination"][keep], rows["group"][keep], np.nan_to_num(rows["next"][keep], nan=-1.0)], axis=1
    ).astype(np.int64)
    combos, counts = np.unique(triples, axis=0, return_counts=True) if len(triples) else (triples, np.zeros(0))
    codes = list(DESTINATIONS)
    destinations: dict[str, int] = {}
    moves: dict[tuple[str, str, str], int] = {}
    for (destination, group_id, next_id), n in zip(combos.tolist(), counts.tolist(), strict=True):
        code = codes[destination] if destination >= 0 else "unknown"
        destinations[code] = destinations.get(code, 0) + int(n)
        before, before_level = groups.form_of(group_id)
        after, after_level = groups.form_of(next_id) if next_id >= 0 else (None, None)
        if after is not None and after != before:
            way = _direction(before, before_level, after, after_level)
            moves[(before, after, way)] = moves.get((before, after, way), 0) + int(n)
    move_rows = [
        {
            "from": before,
            "from_label": CARE_FORMS[before][0],
            "to": after,
            "to_label": CARE_FORMS[after][0],
            "direction": way,
            "moves": n,
        }
        for (before, after, way), n in sorted(moves.items(), key=lambda item: (-item[1], item[0]))
        if before in CARE_FORMS and after in CARE_FORMS
    ]
    return {
        "discharges": sum(destinations.values()),
        "discharges_by_destination": [
            {"destination": code, "label": DESTINATIONS[code], "discharges": destinations[code]}
            for code in DESTINATIONS
            if destinations.get(code)
        ],
        "care_form_moves": move_rows,
        "moves_up": sum(r["moves"] for r in move_rows if r["direction"] == "op"),
        "moves_down": sum(r["moves"] for r in move_rows if r["direction"] == "af"),
    }


# -- occupancy ---------------------------------------------------------------------------------


def occupancy(
    *, session: Session, region: Region, groups: list[Group], months: Months, names: Names, store: MonthStore
) -> dict[str, Any]:
    """Bed-days occupied over places × active nights, per group and per month, up to today."""
    through = min(months.end, today())
    days = max(0, (through - months.start).days + 1)
    ids = [g.id for g in groups if g.id is not None]
    every = [int(gid) for gid in session.exec(select(Group.id).where(Group.region_id == region.id)).all() if gid]

    def fetch(start: date, end: date) -> tuple[np.ndarray, np.ndarray]:
        # Every group of the region, so that a kept month serves any filter.
        grid = night_grid(
            session=session, group_ids=every, own_codes={gid: region.code for gid in every}, start=start, end=end
        )
        return grid.group_ids, grid.total

    nights = store.nights(ids, through, fetch)
    row_of = {gid: i for i, gid in enumerate(sorted(set(ids)))}
    day_numbers = np.arange(days)
    month_of_day = np.searchsorted([(d - months.start).days for d in months.first_days], day_numbers, side="right") - 1
    occupied_by_month = np.zeros(len(months.labels))
    places_by_month = np.zeros(len(months.labels))
    rows = []
    for group in sorted(groups, key=lambda g: (names.provider(g.provider_id), g.name)):
        start = (group.active_from - months.start).days if group.active_from else 0
        stop = (group.active_to - months.start).days + 1 if group.active_to else days
        active = (day_numbers >= start) & (day_numbers < stop)
        present = nights[row_of[group.id], :] if days and group.id is not None else np.zeros(0)
        occupied = float(present[active].sum()) if days else 0.0
        capacity = float(group.capacity * active.sum())
        if days:
            occupied_by_month += np.bincount(
                month_of_day[active], weights=present[active], minlength=len(months.labels)
            )
            places_by_month += np.bincount(month_of_day[active], minlength=len(months.labels)) * group.capacity
        rate = _share(int(occupied), int(capacity))
        rows.append(
            {
                "group_id": group.id,
                "group_name": group.name,
                "provider_id": group.provider_id,
                "provider_name": names.provider(group.provider_id),
                "care_form": group.care_form,
                "intensity": group.intensity,
                "places": group.capacity,
                "occupied_bed_days": int(occupied),
                "place_days": int(capacity),
                "occupancy_rate": rate,
                "below_50": rate is not None and rate < 0.5,
                "present_now": int(present[-1]) if days and through == today() else None,
            }
        )
    occupied_total, places_total = int(occupied_by_month.sum()), int(places_by_month.sum())
    return {
        "counted_through": through.isoformat(),
        "total": {
            "groups": len(rows),
            "occupied_bed_days": occupied_total,
            "place_days": places_total,
            "occupancy_rate": _share(occupied_total, places_total),
            "groups_below_50": sum(1 for r in rows if r["below_50"]),
        },
        "groups": rows,
        "by_month": [
            {
                "month": label,
                "occupied_bed_days": int(o),
                "place_days": int(p),
                "occupancy_rate": _share(int(o), int(p)),
            }
            for label, o, p in zip(months.labels, occupied_by_month, places_by_month, strict=True)
        ],
    }


# -- crisis ------------------------------------------------------------------------------------


def crisis(*, session: Session, region: Region, filters: Filters, months: Months) -> dict[str, Any]:
    sql = _Sql(session)
    params = _params(filters, region=region.id, since=sql.moment(months.since), until=sql.moment(months.until))
    table = sql.numbers(
        f"SELECT {sql.epoch('h.created_at')}, {_case('h.status', HOLD_OUTCOMES, 'status', params)}, "
        f"{sql.epoch('h.confirmed_at')}, CASE WHEN g.region_id = h.region_id THEN 1 ELSE 0 END "
        "FROM holds h JOIN groups g ON g.id = h.group_id "
        f"WHERE h.region_id = :region AND h.created_at >= :since AND h.created_at < :until{_group_filter(filters)}",
        params,
        columns=4,
    )
    created, status, confirmed_at, own = table[:, 0], table[:, 1].astype(np.int64), table[:, 2], table[:, 3] == 1
    confirmed = status == HOLD_OUTCOMES.index("confirmed")
    minutes = (confirmed_at - created)[confirmed & ~np.isnan(confirmed_at)] / 60.0
    total: dict[str, Any] = {"holds": int(created.size)}
    for i, outcome in enumerate(HOLD_OUTCOMES):
        total[outcome] = int(np.sum(status == i))
    total.update(
        {
            "confirmed_in_own_region": int(np.sum(confirmed & own)),
            "own_region_share": _share(int(np.sum(confirmed & own)), int(confirmed.sum())),
            "median_minutes_to_place": round(float(np.median(minutes)), 1) if minutes.size else None,
            "p90_minutes_to_place": round(float(np.quantile(minutes, 0.9, method="inverted_cdf")), 1)
            if minutes.size
            else None,
            "searches": None,
        }
    )
    return {
        "total": total,
        "by_month": [
            {"month": label, "holds": n, "confirmed": c, "confirmed_in_own_region": o}
            for label, n, c, o in zip(
                months.labels,
                months.count(created),
                months.count(created, confirmed),
                months.count(created, confirmed & own),
                strict=True,
            )
        ],
        "note": "Zoekacties worden niet geteld: de crisiszoekfunctie bewaart geen zoekvragen.",
    }


# -- data freshness ----------------------------------------------------------------------------


def freshness(
    *, session: Session, region: Region, groups: list[Group], names: Names, stale_hours: float, now: datetime
) -> dict[str, Any]:
    """Age of the availability reports per provider, now (not per period)."""
    limit = region_stale_hours(session, region.id, stale_hours)
    per_provider: dict[int, list[datetime | None]] = {}
    for group in groups:
        if group.active_to is not None and group.active_to < today():
            continue
        reported = group.reported_at
        if reported is not None and reported.tzinfo is None:
            reported = reported.replace(tzinfo=UTC)
        per_provider.setdefault(group.provider_id, []).append(reported)

    def hours(moment: datetime | None) -> float | None:
        return None if moment is None else round((now - moment).total_seconds() / 3600.0, 1)

    rows = []
    for provider_id, reports in sorted(per_provider.items(), key=lambda item: names.provider(item[0])):
        known = [r for r in reports if r is not None]
        newest = max(known) if known else None
        oldest = None if len(known) < len(reports) else min(known)
        stale = sum(1 for r in reports if r is None or (now - r).total_seconds() > limit * 3600.0)
        rows.append(
            {
                "provider_id": provider_id,
                "provider_name": names.provider(provider_id),
                "groups": len(reports),
                "last_report": newest.isoformat() if newest else None,
                "last_report_age_hours": hours(newest),
                "oldest_report_age_hours": hours(oldest),
                "never_reported": len(reports) - len(known),
                "stale_groups": stale,
            }
        )
    return {"stale_after_hours": limit, "providers": rows}


# -- the whole set -----------------------------------------------------------------------------


@dataclass
class Names:
    providers: dict[int, str]
    groups: dict[int, str]

    def provider(self, provider_id: int) -> str:
        return self.providers.get(provider_id, f"Aanbieder {provider_id}")

    def group(self, group_id: int) -> str:
        return self.groups.get(group_id, f"Groep {group_id}")


def _names(session: Session, region: Region, groups: list[Group]) -> Names:
    providers = {int(pid): name for pid, name in session.exec(select(Provider.id, Provider.name)).all() if pid}
    # Proposals and holds may name groups of other regions (a crisis place found elsewhere).
    others = session.exec(select(Group.id, Group.name).where(col(Group.region_id) != region.id)).all()
    named = {int(gid): name for gid, name in others if gid is not None}
    named.update({g.id: g.name for g in groups if g.id is not None})
    return Names(providers=providers, groups=named)


def indicators(
    *,
    session: Session,
    principal: Principal,
    region_code: str | None,
    start: date | None,
    end: date | None,
    filters: Filters,
    stale_hours: float,
) -> dict[str, Any]:
    region, filters = resolve_scope(session=session, principal=principal, region_code=region_code, filters=filters)
    months = resolve_months(start=start, end=end)
    now = utcnow()
    query = select(Group).where(Group.region_id == region.id)
    if filters.care_form is not None:
        query = query.where(Group.care_form == filters.care_form)
    if filters.intensity is not None:
        query = query.where(Group.intensity == filters.intensity)
    if filters.municipality_id is not None:
        query = query.where(Group.municipality_id == filters.municipality_id)
    if filters.provider_id is not None:
        query = query.where(Group.provider_id == filters.provider_id)
    groups = list(session.exec(query.order_by(col(Group.id))).all())
    names = _names(session, region, groups)
    region_wide = principal.role != Role.provider and filters.provider_id is None
    store = MonthStore(session, int(region.id or 0), months)  # (a stored region always has an id)
    table = GroupTable(session)
    flows = placements(session=session, region=region, filters=filters, months=months, store=store, groups=table)
    return {
        "region": region.code,
        "region_name": region.name,
        "period_start": months.start.isoformat(),
        "period_end": months.end.isoformat(),
        "generated_at": now.isoformat(),
        "scope": "regio" if principal.role != Role.provider else "aanbieder",
        "filters": {
            "care_form": filters.care_form,
            "intensity": filters.intensity,
            "municipality": filters.municipality_id,
            "provider": filters.provider_id,
        },
        "months": months.labels,
        "waiting": waiting_times(session=session, region=region, filters=filters, months=months, now=now, store=store)
        if region_wide
        else None,
        "proposals": proposals(
            session=session, region=region, filters=filters, months=months, names=names, store=store, groups=table
        ),
        "placements": flows["placements"],
        "scaling": flows["scaling"],
        "occupancy": occupancy(session=session, region=region, groups=groups, months=months, names=names, store=store),
        "crisis": crisis(session=session, region=region, filters=filters, months=months),
        "freshness": freshness(
            session=session, region=region, groups=groups, names=names, stale_hours=stale_hours, now=now
        ),
    }


def kept_ahead() -> tuple[date, date]:
    """The period whose closed months the periodic round keeps: the last 36 whole months."""
    last_closed = today().replace(day=1) - timedelta(days=1)
    first = date(last_closed.year - 3, last_closed.month, 1)
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1), last_closed


def keep_closed_months(db: Database) -> int:
    """Periodic: read every region's closed months of the last three years, so that the first
    dashboard after a deploy, or after a correction that touched a month, does not pay for them
    (some seconds for three years). Months kept and unchanged cost a read of their stored rows;
    the kept rows are written after each region's read (``MonthStore``). Returns the regions."""
    first, last_closed = kept_ahead()
    with db.transaction(write=False) as session:
        region_ids = [int(rid) for rid in session.exec(select(Region.id)).all() if rid is not None]
    for region_id in region_ids:
        with db.transaction(write=False) as session:
            region = session.get(Region, region_id)
            if region is None:
                continue
            months = resolve_months(start=first, end=last_closed)
            groups = list(session.exec(select(Group).where(Group.region_id == region_id).order_by(col(Group.id))).all())
            names = _names(session, region, groups)
            store = MonthStore(session, region_id, months)
            table = GroupTable(session)
            whole = Filters()
            waiting_times(session=session, region=region, filters=whole, months=months, now=utcnow(), store=store)
            proposals(
                session=session, region=region, filters=whole, months=months, names=names, store=store, groups=table
            )
            placements(session=session, region=region, filters=whole, months=months, store=store, groups=table)
            occupancy(session=session, region=region, groups=groups, months=months, names=names, store=store)
    return len(region_ids)
