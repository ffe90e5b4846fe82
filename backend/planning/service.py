"""Crisis capacity planner: how many crisis places keep the chance that a youth finds no free
place below the region's target, and what each choice costs in availability funding.

Per crisis group, per provider (its crisis groups as one pool) and for the region (all of them
as one pool), from the occupancy feed over a period (default the last 365 days):

- *arrival rate*: admissions in the period per day, with the exact Poisson (Garwood) interval;
- *length of stay*: the completed stays admitted in the period (days, to the hour), mean with a
  seeded bootstrap interval, median and 90th percentile; stays still open are counted apart;
- *offered load* a = rate × mean stay (places), its interval from the two intervals' ends (wide
  on purpose: both ends at once);
- Erlang's loss probability B(n, a) for every number of places n from 0 up to a few beyond the
  largest recommendation, with the expected places occupied a·(1 − B) and empty n − a·(1 − B);
- the *availability funding* of each n for a year: expected empty places × 365 nights × day
  tariff × availability share of the contract version valid on the last day of the period
  (computed by the post-calculation's own rules, ``backend.reports.service``); a pool uses the
  mean of its groups' rates weighted by their places;
- the recommendation: the smallest n with B(n, a) ≤ target, and the same at both ends of the
  load interval;
- a check: a discrete-event simulation (SimPy, ``backend.planning.simulation``) replays the
  period's real arrival moments at the recommended number of places, with lengths of stay drawn
  from the observed ones, and says whether B lies in its confidence interval.

Who: the region's contract manager, which in plekwijzer is the ``viewer`` role (the app calls it
"contractmanager"), and with it the other roles that read the region's post-calculation: the
region's coordinator and administrator. Only the administrator changes the region's target (in
the region settings); the others try a target in the screen without saving it. Providers and the
crisis team do not see it: how many places the region buys is the region's decision, and the
figures of one provider's groups beside the others' are not theirs to compare.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from backend.auth import Principal
from backend.errors import RuleViolation
from backend.occupancy.models import OccupancyStay
from backend.occupancy.service import local_day, today
from backend.planning import erlang, simulation
from backend.providers.models import Group, Provider
from backend.regions.models import Region
from backend.regions.settings import region_settings
from backend.reports.service import (
    _night_begins,
    funding_settings,
    group_segments,
    load_history,
    providers_of,
    resolve_region,
)

DEFAULT_DAYS = 365
MAX_DAYS = 3 * 366 + 1
CONFIDENCE = 0.95
# Replications of the simulation: 12, fewer for a large pool (its replications are longer and
# so each is more precise), keeping about 12,000 simulated arrivals per pool, at least 6. The
# simulation is most of the planner's time (benchmarks/RESULTS_planner.md).
REPLICATIONS = 12
MIN_REPLICATIONS = 6
SIMULATED_ARRIVALS = 12_000
FEW_ARRIVALS = 20
OTHER_REGIONS_NOTE = 0.25
NIGHTS_PER_YEAR = 365

ASSUMPTIONS = [
    "Jongeren komen onafhankelijk van elkaar binnen, met een vast gemiddeld aantal per dag (Poisson-instroom).",
    "Wie geen vrije plaats vindt, wacht niet op deze plaatsen maar gaat elders heen (een verliessysteem). "
    "Dan geldt de formule van Erlang voor elke verdeling van de verblijfsduur: alleen het gemiddelde telt.",
    "De instroom is geschat uit de opnamen in de bezettingsfeed. Jongeren die niet konden worden opgenomen omdat "
    "alles vol was, staan daar niet in: bij plaatsen die vaak vol waren is de werkelijke vraag hoger.",
    "Plaatsen van een aanbieder of van de hele regio zijn samen één voorraad: elke jongere kan elke vrije plaats "
    "krijgen. Daarom is het advies voor de regio lager dan de som van de groepen.",
    "Het model geldt niet bij seizoenspieken of een stijgende of dalende vraag (plan dan op de drukste maanden), "
    "bij overplaatsingen tussen regio's (jongeren uit andere regio's gebruiken dezelfde plaatsen; verandert dat, "
    "dan verandert de instroom) en als plaatsen niet inzetbaar zijn (opnamestop, personeelstekort).",
    "De kosten zijn de verwachte beschikbaarheidsvergoeding voor lege plaatsen in een jaar: (plaatsen − verwachte "
    "bezetting) × 365 nachten × dagtarief × beschikbaarheidsdeel, van de contractversie op de laatste dag van de "
    "periode. P×Q voor bezette dagen komt daarbij en hangt nauwelijks af van het aantal plaatsen.",
]


@dataclass(frozen=True)
class PlannerPeriod:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def begins(self) -> datetime:
        return _night_begins(self.start)

    @property
    def ends(self) -> datetime:
        return _night_begins(self.end + timedelta(days=1))


def check_past_period(first: date, last: date, *, who: str) -> None:
    """A period of what happened (the planner's, the what-if's): in order, not past today, at
    most three years. ``who`` ends the sentence on today: "de planner rekent", say."""
    if last < first:
        raise RuleViolation("De einddatum ligt vóór de begindatum.", code="period_invalid")
    if last > today():
        raise RuleViolation(
            f"De periode mag niet na vandaag eindigen: {who} met wat gebeurd is.", code="period_invalid"
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise RuleViolation("Een periode mag hoogstens drie jaar beslaan.", code="period_too_long")


def planner_period(*, start: date | None, end: date | None) -> PlannerPeriod:
    last = end or today()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    check_past_period(first, last, who="de planner rekent")
    if (last - first).days + 1 < 28:
        raise RuleViolation(
            "Kies een periode van minstens 28 dagen: korter zegt te weinig over de instroom.", code="period_too_short"
        )
    return PlannerPeriod(first, last)


def check_target(target: float | None, region_target: float) -> float:
    if target is None:
        return region_target
    if not 0 < target < 1:
        raise RuleViolation("Het doel is een kans tussen 0 en 1, bijvoorbeeld 0.05 voor 5%.", code="target_invalid")
    return target


@dataclass
class StayRow:
    group_id: int
    admitted_at: datetime
    discharged_at: datetime | None
    origin: str


@dataclass
class PoolInput:
    kind: str  # "group", "provider", "region"
    id: int | str
    name: str
    provider_id: int | None
    provider_name: str | None
    group_ids: list[int]
    places: int
    funding_per_place_night: float  # tariff × share; 0 when not availability-funded
    stays: list[StayRow]


def crisis_capacity(
    *,
    session: Session,
    principal: Principal,
    region_code: str | None,
    start: date | None = None,
    end: date | None = None,
    target: float | None = None,
    simulate: bool = True,
) -> dict[str, Any]:
    region = resolve_region(session=session, principal=principal, region_code=region_code)
    period = planner_period(start=start, end=end)
    region_target = float(region_settings(region).crisis_loss_target)
    chosen = check_target(target, region_target)
    groups = crisis_groups(session=session, region=region, period=period)
    providers = providers_of(session, groups)
    stays = stays_of(session=session, group_ids=[g.id for g in groups if g.id is not None], period=period)
    pools = build_pools(session=session, region=region, groups=groups, providers=providers, stays=stays, period=period)
    return {
        "region": region.code,
        "region_name": region.name,
        "period_start": period.start,
        "period_end": period.end,
        "days": period.days,
        "target": chosen,
        "region_target": region_target,
        "target_is_region_setting": target is None or abs(chosen - region_target) < 1e-12,
        "confidence": CONFIDENCE,
        "assumptions": ASSUMPTIONS,
        "pools": [
            plan_pool(pool, period=period, target=chosen, region_code=region.code, simulate=simulate) for pool in pools
        ],
    }


def crisis_groups(*, session: Session, region: Region, period: PlannerPeriod) -> list[Group]:
    query = (
        select(Group)
        .where(
            Group.region_id == region.id,
            col(Group.is_crisis).is_(True),
            or_(col(Group.active_to).is_(None), col(Group.active_to) >= period.start),
            or_(col(Group.active_from).is_(None), col(Group.active_from) <= period.end),
        )
        .order_by(col(Group.provider_id), col(Group.id))
    )
    return list(session.exec(query).all())


def stays_of(*, session: Session, group_ids: list[int], period: PlannerPeriod) -> dict[int, list[StayRow]]:
    """The stays admitted in the period, per group (only the columns the planner needs)."""
    out: dict[int, list[StayRow]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return out
    s = OccupancyStay.__table__.c  # type: ignore[attr-defined]
    rows = session.connection().execute(
        select(s.group_id, s.admitted_at, s.discharged_at, s.origin_region_code)
        .where(s.group_id.in_(group_ids), s.admitted_at >= period.begins, s.admitted_at < period.ends)
        .order_by(s.admitted_at, s.id)
    )
    for group_id, admitted, discharged, origin in rows:
        out[group_id].append(StayRow(group_id, _aware(admitted), _aware(discharged) if discharged else None, origin))
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_pools(
    *,
    session: Session,
    region: Region,
    groups: list[Group],
    providers: dict[int | None, Provider],
    stays: dict[int, list[StayRow]],
    period: PlannerPeriod,
) -> list[PoolInput]:
    """One pool per group, per provider and for the region, with the places and the funding
    rate of the contract version valid on the last day of the period."""
    history = load_history(session=session, groups=groups, region=region, start=period.end, until=period.end)
    settings = funding_settings(region)
    pools: list[PoolInput] = []
    by_provider: dict[int, list[PoolInput]] = {}
    for group in groups:
        assert group.id is not None
        segment = group_segments(group, history, settings, start=period.end, days=1)[0]
        places = segment.places if segment.counted else group.capacity
        rate = segment.tariff * segment.share if segment.funded else 0.0
        provider = providers.get(group.provider_id)
        pool = PoolInput(
            kind="group",
            id=group.id,
            name=group.name,
            provider_id=group.provider_id,
            provider_name=provider.name if provider else None,
            group_ids=[group.id],
            places=places,
            funding_per_place_night=rate,
            stays=stays.get(group.id, []),
        )
        pools.append(pool)
        by_provider.setdefault(group.provider_id, []).append(pool)
    if not pools:
        return []
    combined = [_combine("provider", pid, parts) for pid, parts in by_provider.items()]
    region_pool = _combine("region", region.code, pools)
    region_pool.name = f"Regio {region.name}"
    return [region_pool, *combined, *pools]


def _combine(kind: str, key: int | str, parts: list[PoolInput]) -> PoolInput:
    places = sum(p.places for p in parts)
    weights = [p.places for p in parts] if places else [1] * len(parts)
    rate = sum(w * p.funding_per_place_night for w, p in zip(weights, parts, strict=True)) / max(1, sum(weights))
    stays = sorted((s for p in parts for s in p.stays), key=lambda s: s.admitted_at)
    first = parts[0]
    return PoolInput(
        kind=kind,
        id=key,
        name=(first.provider_name or "") if kind == "provider" else "",
        provider_id=first.provider_id if kind == "provider" else None,
        provider_name=first.provider_name if kind == "provider" else None,
        group_ids=[g for p in parts for g in p.group_ids],
        places=places,
        funding_per_place_night=rate,
        stays=stays,
    )


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400.0


def plan_pool(
    pool: PoolInput, *, period: PlannerPeriod, target: float, region_code: str, simulate: bool
) -> dict[str, Any]:
    arrivals = len(pool.stays)
    lengths = [_days(s.discharged_at - s.admitted_at) for s in pool.stays if s.discharged_at is not None]
    still_open = arrivals - len(lengths)
    rate = arrivals / period.days
    rate_low, rate_high = erlang.poisson_rate_interval(arrivals, period.days, CONFIDENCE)
    stay = erlang.stay_estimate(lengths, confidence=CONFIDENCE)
    notes: list[str] = []
    base = {
        "kind": pool.kind,
        "id": pool.id,
        "name": pool.name,
        "provider_id": pool.provider_id,
        "provider_name": pool.provider_name,
        "group_ids": pool.group_ids,
        "current_places": pool.places,
        "arrivals": arrivals,
        "arrivals_per_year": rate * NIGHTS_PER_YEAR,
        "arrival_rate_per_day": rate,
        "arrival_rate_interval": [rate_low, rate_high],
        "stays_completed": stay.count,
        "stays_open": still_open,
        "mean_stay_days": stay.mean,
        "mean_stay_interval": list(stay.interval) if stay.interval else None,
        "median_stay_days": stay.median,
        "p90_stay_days": stay.p90,
        "funding_per_place_per_year": _money(pool.funding_per_place_night * NIGHTS_PER_YEAR),
        "notes": notes,
    }
    if stay.mean is None or stay.interval is None:
        notes.append(
            "Geen afgeronde verblijven in deze periode: zonder verblijfsduur is er geen advies. "
            "Kies een langere periode."
        )
        return {
            **base,
            "offered_load": None,
            "offered_load_interval": None,
            "table": [],
            "recommended_places": None,
            "recommended_interval": None,
            "recommended_funding_per_year": None,
            "current_loss_probability": None,
            "simulation": None,
        }
    load = rate * stay.mean
    load_low, load_high = rate_low * stay.interval[0], rate_high * stay.interval[1]
    recommended = erlang.smallest_places(load, target)
    low, high = erlang.smallest_places(load_low, target), erlang.smallest_places(load_high, target)
    top = max(pool.places, high, recommended) + 3
    losses = erlang.erlang_b_table(load, top)
    table = [
        {
            "places": n,
            "loss_probability": b,
            "expected_occupied": load * (1 - b),
            "expected_empty": n - load * (1 - b),
            "availability_funding_per_year": _money(
                (n - load * (1 - b)) * NIGHTS_PER_YEAR * pool.funding_per_place_night
            ),
        }
        for n, b in enumerate(losses)
    ]
    _notes(notes, pool=pool, arrivals=arrivals, still_open=still_open, period=period, region_code=region_code)
    checked = None
    if simulate and arrivals and lengths:
        checked = _simulate(pool, lengths=lengths, period=period, places=recommended, formula=losses[recommended])
        if checked["loss_interval"][0] > checked["formula"]:
            notes.append(
                "De simulatie met de werkelijke aankomstmomenten geeft vaker geen plek dan de formule: de opnamen "
                "kwamen in pieken of clusters binnen. Het advies is dan te krap; reken met de simulatie of met "
                "een hoger aantal plaatsen uit de bandbreedte."
            )
        elif checked["loss_interval"][1] < checked["formula"]:
            notes.append(
                "De simulatie met de werkelijke aankomstmomenten geeft minder vaak geen plek dan de formule: de "
                "opnamen kwamen regelmatiger binnen dan bij toeval (bijvoorbeeld omdat een opname pas volgt als "
                "er een plaats vrij is). Het advies is dan aan de veilige kant."
            )
    return {
        **base,
        "offered_load": load,
        "offered_load_interval": [load_low, load_high],
        "table": table,
        "recommended_places": recommended,
        "recommended_interval": [low, high],
        "recommended_loss_probability": losses[recommended],
        "recommended_funding_per_year": table[recommended]["availability_funding_per_year"],
        "current_loss_probability": losses[pool.places],
        "current_funding_per_year": table[pool.places]["availability_funding_per_year"],
        "simulation": checked,
    }


def _notes(
    notes: list[str], *, pool: PoolInput, arrivals: int, still_open: int, period: PlannerPeriod, region_code: str
) -> None:
    """What in this pool's own data weakens the model, in Dutch."""
    if arrivals < FEW_ARRIVALS:
        notes.append(f"Weinig opnamen ({arrivals}): de schatting is onzeker; kijk naar de bandbreedte van het advies.")
    if still_open:
        notes.append(
            f"{still_open} {'verblijf loopt' if still_open == 1 else 'verblijven lopen'} nog; de gemiddelde "
            "verblijfsduur telt alleen afgeronde verblijven en is daardoor mogelijk iets te laag."
        )
    months = Counter((local_day(s.admitted_at).year, local_day(s.admitted_at).month) for s in pool.stays)
    counts = [months.get(key, 0) for key in _months(period)]
    spread = erlang.dispersion(counts)
    if spread is not None and spread[1] < 0.05:
        notes.append(
            f"Het aantal opnamen per maand schommelt meer dan bij een vaste instroom (spreidingsindex "
            f"{spread[0]:.1f}, p = {spread[1]:.3f}): er zijn pieken, bijvoorbeeld per seizoen. In drukke maanden is "
            "de kans op geen plek dan groter dan berekend."
        )
    others = sum(1 for s in pool.stays if s.origin != region_code)
    if arrivals and others / arrivals > OTHER_REGIONS_NOTE:
        notes.append(
            f"{round(100 * others / arrivals)}% van de opnamen kwam uit andere regio's. Veranderen de afspraken of "
            "overplaatsingen tussen regio's, dan verandert de instroom en dus het advies."
        )
    if pool.funding_per_place_night == 0:
        notes.append("Geen beschikbaarheidsgefinancierde contractversie op de laatste dag: de kosten staan op € 0.")


def _months(period: PlannerPeriod) -> list[tuple[int, int]]:
    """The whole calendar months of the period (a partial first or last month would look like a dip)."""
    out: list[tuple[int, int]] = []
    year, month = period.start.year, period.start.month
    if period.start.day != 1:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    while True:
        first = date(year, month, 1)
        after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        if after - timedelta(days=1) > period.end:
            return out
        out.append((first.year, first.month))
        year, month = after.year, after.month


def _simulate(
    pool: PoolInput, *, lengths: Sequence[float], period: PlannerPeriod, places: int, formula: float
) -> dict[str, Any]:
    moments = [_days(s.admitted_at - period.begins) for s in pool.stays]
    mean_stay = sum(lengths) / len(lengths)
    # The places start empty: arrivals before about three mean stays (at most a quarter of the
    # period) are simulated but not counted.
    warmup = min(3 * mean_stay, period.days / 4)
    replications = max(MIN_REPLICATIONS, min(REPLICATIONS, SIMULATED_ARRIVALS // max(1, len(moments))))
    traces = simulation.replay_traces(moments, lengths, replications=replications, seed=int(places))
    result = simulation.simulate(traces, places, warmup=warmup, confidence=CONFIDENCE)
    low, high = result.loss_interval
    return {
        "places": places,
        "replications": result.replications,
        "counted_arrivals": result.counted_arrivals,
        "warmup_days": warmup,
        "loss_mean": result.loss_mean,
        "loss_interval": [low, high],
        "formula": formula,
        "agrees": low <= formula <= high,
    }


def _money(value: float) -> float:
    return round(float(value) + 0.0, 2)
