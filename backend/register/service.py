"""The contract register: contract terms as dated versions, the region's tariff table, and the
group's mirror of the term valid today.

A group row carries ``capacity``, ``day_tariff`` and ``availability_funded`` of the term valid
today, because live availability, matching and crisis search read them on every request. The
terms themselves are the truth for any other day (the post-calculation reads them night by
night); ``sync_current_terms`` moves the mirror when a dated version becomes valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from backend import notation
from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_access, ensure_region_access
from backend.availability import service as places
from backend.availability.service import Notice
from backend.db import Database
from backend.domain import CARE_FORMS, GENDER_POLICIES, NEED_TAGS, intensity_index, utcnow
from backend.errors import Conflict, Forbidden, NotFound, RuleViolation
from backend.events.service import append_event
from backend.field_labels import field_label
from backend.intensity.service import open_band_reassessment
from backend.providers.models import Group, Location, Provider
from backend.providers.service import derive_intensity, get_group_for, region_bands
from backend.regions.models import Municipality, Postcode, Region
from backend.regions.service import resolve_postcode
from backend.regions.settings import load_settings
from backend.register.models import (
    FAMILY_HOME_LEVELS,
    TERM_APPROVED,
    TERM_REJECTED,
    TERM_REQUESTED,
    ContractTerm,
    ContractTermCreate,
    GroupContractUpdate,
    GroupProfileUpdate,
    LocationUpdate,
    PlacesRequest,
    ProviderUpdate,
    Tariff,
    TermDecision,
)
from backend.register.terms import NEVER_AVAILABILITY_FUNDED, Dated, valid_on
from backend.users.models import Role
from solver.vocabulary import OWN_NORM_CARE_FORMS

TERM_CHANGED = "register.contract_term"
PROFILE_CHANGED = "group.profile_changed"
SYSTEM = Principal(kind="system", id=0, name="contractregister", role="system", provider_id=None)


def check_term(
    *,
    care_form: str,
    contracted_places: int,
    availability_funded: bool,
    availability_share: float | None,
    day_tariff: float | None,
    valid_from: date,
    valid_to: date | None,
    family_home_max: int,
) -> list[tuple[str, str]]:
    """The rules of one contract term, as (field, Dutch message) pairs; empty when it is valid."""
    problems: list[tuple[str, str]] = []
    if contracted_places < 1:
        problems.append(("contracted_places", "het aantal gecontracteerde plaatsen moet minstens 1 zijn"))
    if care_form == "gezinshuis" and contracted_places > family_home_max:
        problems.append(
            (
                "contracted_places",
                f"een gezinshuis heeft hoogstens {family_home_max} kinderen, niet {contracted_places}",
            )
        )
    if availability_funded and care_form in NEVER_AVAILABILITY_FUNDED:
        problems.append(
            ("availability_funded", "crisispleegzorg wordt alleen per dag betaald (P×Q), nooit met beschikbaarheid")
        )
    if availability_share is not None and not 0 <= availability_share <= 1:
        problems.append(("availability_share", "het beschikbaarheidsdeel moet tussen 0 en 1 liggen, bijvoorbeeld 0,75"))
    if day_tariff is not None and day_tariff < 0:
        problems.append(("day_tariff", "het dagtarief mag niet negatief zijn"))
    if valid_to is not None and valid_to < valid_from:
        problems.append(("valid_to", "'geldig tot' ligt vóór 'geldig vanaf'"))
    return problems


def family_home_max(settings: dict[str, Any] | None) -> int:
    """The most children a family home of the region takes (region setting, default 6)."""
    return load_settings(settings)[0].family_home_max_children


def terms_of(
    session: Session, group_ids: list[int], *, status: str | None = TERM_APPROVED
) -> dict[int, list[ContractTerm]]:
    if not group_ids:
        return {}
    query = select(ContractTerm).where(col(ContractTerm.group_id).in_(group_ids))
    if status is not None:
        query = query.where(ContractTerm.status == status)
    out: dict[int, list[ContractTerm]] = {gid: [] for gid in group_ids}
    for term in session.exec(query.order_by(col(ContractTerm.valid_from))).all():
        out[term.group_id].append(term)
    return out


def tariffs_of(session: Session, region_id: int) -> list[Tariff]:
    return list(session.exec(select(Tariff).where(Tariff.region_id == region_id)).all())


def mirror_term(terms: Sequence[Dated], day: date) -> Dated | None:
    """The term a group shows today: the one valid today, else the next to start, else the
    last one that ended (a group before or after its contract keeps its last known places)."""
    current = valid_on(terms, day)
    if current is not None:
        return current
    future = [t for t in terms if t.valid_from > day]
    if future:
        return min(future, key=lambda t: t.valid_from)
    return max(terms, key=lambda t: t.valid_from) if terms else None


def insert_version(session: Session, term: ContractTerm) -> None:
    """Store an approved version: an open-ended version before it ends the day before it
    starts, and an open end of its own stops before the next version."""
    others = [
        t
        for t in session.exec(
            select(ContractTerm).where(ContractTerm.group_id == term.group_id, ContractTerm.status == TERM_APPROVED)
        ).all()
        if t.id != term.id
    ]
    for other in others:
        if other.valid_from == term.valid_from:
            raise RuleViolation(
                f"Er is al een contractversie vanaf {notation.day(term.valid_from)}; wijzig die.",
                code="contract_term_exists",
            )
        if other.valid_from < term.valid_from and (other.valid_to is None or other.valid_to >= term.valid_from):
            other.valid_to = term.valid_from - timedelta(days=1)
            session.add(other)
    later = [o.valid_from for o in others if o.valid_from > term.valid_from]
    if later:
        day_before = min(later) - timedelta(days=1)
        if term.valid_to is None or term.valid_to > day_before:
            term.valid_to = day_before
    session.add(term)
    session.flush()


def sync_groups(
    session: Session, groups: list[Group], *, day: date, actor: Principal, stale_after_hours: float, purpose: Purpose
) -> int:
    """Move each group's mirror (capacity, day tariff, funding) to its term valid ``day``, with
    the terms read in one query. Returns how many groups changed. Fewer places than the group
    reports free is refused (the provider reports first)."""
    all_terms = terms_of(session, [g.id for g in groups if g.id is not None])
    changed = 0
    for group in groups:
        assert group.id is not None
        term = mirror_term(all_terms[group.id], day)
        if term is None or not _differs(group, term):
            continue
        values: dict[str, Any] = {}
        if term.contracted_places != group.capacity:
            if group.places_from_feed and term.contracted_places < group.held_places:
                raise RuleViolation(
                    f"Groep {group.name} houdt nu {group.held_places} plaatsen vast (crisis, voorstel of "
                    f"verwachte komst); met {term.contracted_places} plaatsen kan dat niet. Laat die eerst aflopen.",
                    code="capacity_below_held",
                )
            # A group that follows the feed derives its free places from the new capacity.
            if not group.places_from_feed and term.contracted_places < group.free_places:
                raise RuleViolation(
                    f"Groep {group.name} meldt nu {group.free_places} vrije plaatsen; met "
                    f"{term.contracted_places} plaatsen kan dat niet. Laat de aanbieder eerst minder "
                    "vrije plaatsen melden.",
                    code="capacity_below_free",
                )
            values["capacity"] = term.contracted_places
        if term.day_tariff is not None and term.day_tariff != group.day_tariff:
            values["day_tariff"] = term.day_tariff
        if term.availability_funded != group.availability_funded:
            values["availability_funded"] = term.availability_funded
        places.change_group(
            session=session,
            group_id=group.id,
            stale_after_hours=stale_after_hours,
            values=values,
            notice=Notice(
                TERM_CHANGED,
                actor,
                "register.contract_term",
                "group",
                group.id,
                purpose,
                detail={"term_id": term.id, **values},
                extra={"term_id": term.id},
            ),
        )
        changed += 1
    return changed


def _differs(group: Group, term: ContractTerm | None) -> bool:
    return term is not None and (
        term.contracted_places != group.capacity
        or (term.day_tariff is not None and term.day_tariff != group.day_tariff)
        or term.availability_funded != group.availability_funded
    )


def sync_current_terms(db: Database) -> int:
    """Periodic: a contract version that became valid today moves its group's mirror. One read
    finds the groups whose mirror is behind; each is then moved in its own transaction, so a
    group that cannot follow yet (more places reported free than the new version has) waits
    for the next run and the others go on."""
    today = utcnow().date()
    with db.transaction() as session:
        groups = list(session.exec(select(Group)).all())
        all_terms = terms_of(session, [g.id for g in groups if g.id is not None])
        behind = [g.id for g in groups if g.id is not None and _differs(g, mirror_term(all_terms[g.id], today))]
    changed = 0
    for group_id in behind:
        try:
            with db.transaction() as session:
                group = session.get(Group, group_id)
                if group is not None:
                    changed += sync_groups(
                        session,
                        [group],
                        day=today,
                        actor=SYSTEM,
                        stale_after_hours=db.settings.stale_after_hours,
                        purpose=Purpose.contract_term_start,
                    )
        except RuleViolation:
            continue
    return changed


def record_term(session: Session, *, actor: Principal, term: ContractTerm, action: str) -> None:
    group = session.get(Group, term.group_id)  # (usually in the session already)
    audit.record(
        session=session,
        actor=actor,
        action=action,
        object_type="contract_term",
        object_id=term.id or 0,
        purpose=Purpose.contract_register,
        detail={
            "group_id": term.group_id,
            "valid_from": term.valid_from.isoformat(),
            "valid_to": term.valid_to.isoformat() if term.valid_to else None,
            "contracted_places": term.contracted_places,
            "day_tariff": term.day_tariff,
            "availability_funded": term.availability_funded,
            "availability_share": term.availability_share,
            "status": term.status,
        },
        region_id=group.region_id if group is not None else None,
    )


# -- who changes what ---------------------------------------------------------------------------


def ensure_region_admin(principal: Principal, region_id: int) -> None:
    """Contract terms, care forms, funding and active periods are the region's: an admin bound
    to this region, or an admin bound to none (who acts for every region)."""
    if principal.role != Role.admin:
        raise Forbidden(
            "Alleen de regio (beheerder) wijzigt contracten, zorgvormen en bekostiging.", code="role_forbidden"
        )
    ensure_region_access(principal, region_id)


def list_terms(*, session: Session, principal: Principal, group_id: int) -> list[ContractTerm]:
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    assert group.id is not None
    return terms_of(session, [group.id], status=None)[group.id]


def add_term(
    *, session: Session, principal: Principal, group_id: int, data: ContractTermCreate, stale_after_hours: float
) -> ContractTerm:
    """A new version from the region: the version before it ends the day before; if it is
    valid today, the group's places, tariff and funding follow at once."""
    group = get_group_for(session=session, principal=principal, group_id=group_id, for_update=True)
    ensure_region_admin(principal, group.region_id)
    region = session.get(Region, group.region_id)
    _refuse(
        check_term(
            care_form=group.care_form,
            contracted_places=data.contracted_places,
            availability_funded=data.availability_funded,
            availability_share=data.availability_share,
            day_tariff=data.day_tariff,
            valid_from=data.valid_from,
            valid_to=data.valid_to,
            family_home_max=family_home_max(region.settings if region else None),
        )
    )
    term = ContractTerm(
        region_id=group.region_id,
        group_id=group_id,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        contracted_places=data.contracted_places,
        day_tariff=data.day_tariff,
        availability_funded=data.availability_funded,
        availability_share=data.availability_share,
        status=TERM_APPROVED,
        created_at=utcnow(),
        created_by=principal.label,
        decided_at=utcnow(),
        decided_by=principal.label,
        note=data.note,
    )
    insert_version(session, term)
    record_term(session, actor=principal, term=term, action="register.contract_term")
    sync_groups(
        session,
        [group],
        day=utcnow().date(),
        actor=principal,
        stale_after_hours=stale_after_hours,
        purpose=Purpose.contract_register,
    )
    return term


def request_places(*, session: Session, principal: Principal, group_id: int, data: PlacesRequest) -> ContractTerm:
    """A provider asks for more or fewer places from a date; it waits for the region."""
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    if principal.role not in (Role.provider, Role.admin):
        raise Forbidden("Alleen de aanbieder vraagt plaatsen aan.", code="role_forbidden")
    assert group.id is not None
    current = mirror_term(terms_of(session, [group.id])[group.id], data.valid_from)
    region = session.get(Region, group.region_id)
    _refuse(
        check_term(
            care_form=group.care_form,
            contracted_places=data.contracted_places,
            availability_funded=current.availability_funded if current else False,
            availability_share=current.availability_share if current else None,
            day_tariff=current.day_tariff if current else None,
            valid_from=data.valid_from,
            valid_to=None,
            family_home_max=family_home_max(region.settings if region else None),
        )
    )
    term = ContractTerm(
        region_id=group.region_id,
        group_id=group.id,
        valid_from=data.valid_from,
        contracted_places=data.contracted_places,
        day_tariff=current.day_tariff if current else None,
        availability_funded=current.availability_funded if current else False,
        availability_share=current.availability_share if current else None,
        status=TERM_REQUESTED,
        created_at=utcnow(),
        created_by=principal.label,
        note=data.note,
    )
    session.add(term)
    session.flush()
    record_term(session, actor=principal, term=term, action="register.places_requested")
    append_event(
        session=session,
        type="register.places_requested",
        group_id=group.id,
        provider_id=group.provider_id,
        region_id=group.region_id,
        actor=principal.label,
        payload={
            "group_id": group.id,
            "term_id": term.id,
            "valid_from": data.valid_from.isoformat(),
            "contracted_places": data.contracted_places,
        },
    )
    return term


def decide_request(
    *, session: Session, principal: Principal, term_id: int, decision: TermDecision, stale_after_hours: float
) -> ContractTerm:
    term = session.exec(select(ContractTerm).where(ContractTerm.id == term_id).with_for_update()).first()
    if term is None:
        raise NotFound("Aanvraag niet gevonden.")
    group = get_group_for(session=session, principal=principal, group_id=term.group_id, for_update=True)
    ensure_region_admin(principal, group.region_id)
    if term.status != TERM_REQUESTED:
        raise Conflict("Over deze aanvraag is al besloten.", code="request_decided")
    term.decided_at = utcnow()
    term.decided_by = principal.label
    term.note = decision.note or term.note
    if not decision.approve:
        term.status = TERM_REJECTED
        session.add(term)
        session.flush()
        record_term(session, actor=principal, term=term, action="register.places_rejected")
        return term
    term.status = TERM_APPROVED
    insert_version(session, term)
    record_term(session, actor=principal, term=term, action="register.places_approved")
    sync_groups(
        session,
        [group],
        day=utcnow().date(),
        actor=principal,
        stale_after_hours=stale_after_hours,
        purpose=Purpose.places_request,
    )
    return term


def update_profile(
    *, session: Session, principal: Principal, group_id: int, data: GroupProfileUpdate, stale_after_hours: float
) -> Group:
    """A provider's planner keeps its own group's profile current. Roster hours that move the
    group into another intensity band open the re-assessment (the funded intensity waits)."""
    if principal.role not in (Role.provider, Role.admin):
        raise Forbidden("Alleen de aanbieder wijzigt het profiel van een groep.", code="role_forbidden")
    group = get_group_for(session=session, principal=principal, group_id=group_id, for_update=True)
    if principal.role == Role.admin:
        ensure_region_admin(principal, group.region_id)
    values = data.model_dump(exclude_unset=True)
    problems: list[tuple[str, str]] = []
    age_min = values.get("age_min", group.age_min)
    age_max = values.get("age_max", group.age_max)
    if age_min is None or age_max is None or age_min > age_max:
        problems.append(("age_max", "de leeftijd 'tot' ligt onder de leeftijd 'van'"))
    if "gender_policy" in values and values["gender_policy"] not in GENDER_POLICIES:
        problems.append(("gender_policy", f"kies uit {', '.join(GENDER_POLICIES)}"))
    if "risk_profiles" in values:
        risk = (values["risk_profiles"] or "").upper()
        if not risk or any(ch not in "ABC" for ch in risk):
            problems.append(("risk_profiles", "risicoprofielen zijn A, B en/of C, bijvoorbeeld AB"))
        values["risk_profiles"] = "".join(sorted(set(risk)))
    if "expertise" in values:
        unknown = [tag for tag in values["expertise"] or [] if tag not in NEED_TAGS]
        if unknown:
            problems.append(("expertise", f"onbekende expertise: {', '.join(unknown)}"))
        values["expertise"] = sorted(set(values["expertise"] or []))
    for name in ("name", "age_min", "age_max", "gender_policy", "weekly_roster_hours"):
        if name in values and values[name] is None:
            problems.append((name, f"{field_label(name)} mag niet leeg zijn"))
    _refuse(problems)
    values = {name: value for name, value in values.items() if getattr(group, name) != value}
    if not values:
        return group
    if "weekly_roster_hours" in values:
        region = session.get(Region, group.region_id)
        letter = derive_intensity(
            weekly_roster_hours=values["weekly_roster_hours"],
            capacity=group.capacity,
            occupancy_norm=group.occupancy_norm,
            bands=region_bands(region),
        )
        if (
            intensity_index(letter) > intensity_index(group.max_intensity)
            and group.care_form not in OWN_NORM_CARE_FORMS
        ):
            raise RuleViolation(
                f"Met deze roosteruren komt de groep op intensiteit {letter}, boven het maximum "
                f"{group.max_intensity} van de zorgvorm.",
                code="intensity_above_maximum",
            )
        open_band_reassessment(
            session,
            actor=principal,
            group=group,
            capacity=group.capacity,
            roster=values["weekly_roster_hours"],
            letter=letter,
        )
    before = {name: getattr(group, name) for name in values}
    places.change_group(
        session=session,
        group_id=group_id,
        stale_after_hours=stale_after_hours,
        values=values,
        notice=Notice(
            PROFILE_CHANGED,
            principal,
            "group.profile",
            "group",
            group_id,
            Purpose.group_profile,
            detail={"before": before, "after": values},
        ),
    )
    session.refresh(group)
    return group


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise RuleViolation(
            "; ".join(message for _field, message in problems).capitalize() + ".",
            code="invalid_input",
            extra={"errors": [{"field": name, "message": message} for name, message in problems]},
        )


def update_group_contract(
    *, session: Session, principal: Principal, group_id: int, data: GroupContractUpdate, stale_after_hours: float
) -> Group:
    """The region changes a group's care form, family-home level or active period. An end date
    in the past takes the group off every screen (the event carries it)."""
    group = get_group_for(session=session, principal=principal, group_id=group_id, for_update=True)
    ensure_region_admin(principal, group.region_id)
    values = data.model_dump(exclude_unset=True)
    care_form = values.get("care_form", group.care_form)
    level = values.get("level", group.level if care_form == "gezinshuis" else None)
    problems: list[tuple[str, str]] = []
    if care_form not in CARE_FORMS:
        problems.append(("care_form", f"onbekende zorgvorm '{care_form}'"))
    elif care_form == "gezinshuis" and level not in FAMILY_HOME_LEVELS:
        problems.append(("level", "een gezinshuis heeft een niveau: licht, middel of zwaar"))
    elif care_form != "gezinshuis" and level is not None:
        problems.append(("level", "alleen een gezinshuis heeft een niveau"))
    problems += _period_problems(values, group)
    if care_form in CARE_FORMS and care_form in NEVER_AVAILABILITY_FUNDED and group.availability_funded:
        problems.append(
            ("care_form", "crisispleegzorg wordt nooit met beschikbaarheid bekostigd: pas eerst het contract aan")
        )
    _refuse(problems)
    if care_form in CARE_FORMS:
        values["care_form"] = care_form
        values["level"] = level
        values["max_intensity"] = CARE_FORMS[care_form].max_intensity
        values["is_crisis"] = CARE_FORMS[care_form].segment == "crisis"
    values = {name: value for name, value in values.items() if getattr(group, name) != value}
    if not values:
        return group
    before = {name: getattr(group, name) for name in values}
    places.change_group(
        session=session,
        group_id=group_id,
        stale_after_hours=stale_after_hours,
        values=values,
        notice=Notice(
            "group.changed",
            principal,
            "register.group",
            "group",
            group_id,
            Purpose.contract_register,
            detail={"before": _plain(before), "after": _plain(values)},
        ),
    )
    session.refresh(group)
    return group


def update_location(
    *, session: Session, principal: Principal, location_id: int, data: LocationUpdate, stale_after_hours: float
) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound("Locatie niet gevonden.")
    provider = session.get(Provider, location.provider_id)
    assert provider is not None
    ensure_access(principal, provider_id=location.provider_id, region_id=provider.region_id, what="Locatie")
    if principal.role not in (Role.provider, Role.admin):
        raise Forbidden("Alleen de aanbieder wijzigt zijn locaties.", code="role_forbidden")
    values = data.model_dump(exclude_unset=True)
    if values.get("name") is None:
        values.pop("name", None)
    moved = False
    if values.get("postcode") and values["postcode"] != location.postcode:
        lat, lon = resolve_postcode(session=session, pc4=values["postcode"])
        known = session.get(Postcode, values["postcode"])
        municipality = session.exec(
            select(Municipality).where(
                Municipality.region_id == provider.region_id,
                func.lower(Municipality.name) == (known.municipality_name if known else "").lower(),
            )
        ).first()
        if municipality is None:
            raise RuleViolation(
                f"Postcode {values['postcode']} ligt niet in een gemeente van de regio; "
                "laat de regio de locatie wijzigen.",
                code="postcode_outside_region",
            )
        values |= {"lat": lat, "lon": lon, "municipality_id": municipality.id}
        moved = True
    else:
        values.pop("postcode", None)
    _change_audited(session, principal, location, values, action="register.location", purpose=Purpose.contract_register)
    if moved:
        move_groups_with(session, location, actor=principal, stale_after_hours=stale_after_hours)
    return location


def move_groups_with(session: Session, location: Location, *, actor: Principal, stale_after_hours: float) -> None:
    """The groups at a location carry its place (search needs no join): they move with it, each
    with its event, so every screen and the matching cache follow."""
    for group_id in session.exec(select(Group.id).where(Group.location_id == location.id)).all():
        assert group_id is not None
        places.change_group(
            session=session,
            group_id=group_id,
            stale_after_hours=stale_after_hours,
            values={"lat": location.lat, "lon": location.lon, "municipality_id": location.municipality_id},
            notice=Notice("group.changed", actor, "register.location", "group", group_id, Purpose.contract_register),
        )


def update_provider(*, session: Session, principal: Principal, provider_id: int, data: ProviderUpdate) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("Aanbieder niet gevonden.")
    # Another provider's entry is not found (its existence does not leak); its own is the region's.
    ensure_access(principal, provider_id=provider_id, region_id=provider.region_id, what="Aanbieder")
    ensure_region_admin(principal, provider.region_id)
    values = data.model_dump(exclude_unset=True)
    problems = _period_problems(values, provider)
    if "name" in values and not values["name"]:
        problems.append(("name", "de naam mag niet leeg zijn"))
    if values.get("contact_email") and "@" not in values["contact_email"]:
        problems.append(("contact_email", f"'{values['contact_email']}' is geen e-mailadres"))
    _refuse(problems)
    _change_audited(
        session,
        principal,
        provider,
        values,
        action="register.provider",
        purpose=Purpose.contract_register,
    )
    append_event(
        session=session,
        type="register.provider_changed",
        provider_id=provider_id,
        region_id=provider.region_id,
        actor=principal.label,
        payload={"provider_id": provider_id, "changed": sorted(values)},
    )
    return provider


def _period_problems(values: dict[str, Any], current: Group | Provider) -> list[tuple[str, str]]:
    """An active period after a change: its end may not lie before its start."""
    start = values.get("active_from", current.active_from)
    end = values.get("active_to", current.active_to)
    if start is not None and end is not None and end < start:
        return [("active_to", "'actief tot' ligt vóór 'actief vanaf'")]
    return []


def _change_audited(
    session: Session,
    actor: Principal,
    target: Location | Provider,
    values: dict[str, Any],
    *,
    action: str,
    purpose: Purpose,
) -> None:
    """Set ``values`` on a register row and write one audit row with before and after."""
    before = {name: getattr(target, name) for name in values}
    for name, value in values.items():
        setattr(target, name, value)
    session.add(target)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=action,
        object_type=type(target).__name__.lower(),
        object_id=target.id or 0,
        purpose=purpose,
        detail={"before": _plain(before), "after": _plain(values)},
        region_id=_region_of(session, target),
    )


def _region_of(session: Session, target: Location | Provider) -> int | None:
    if isinstance(target, Provider):
        return target.region_id
    provider = session.get(Provider, target.provider_id)
    return provider.region_id if provider is not None else None


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Values as the audit log's JSON keeps them (dates as text)."""
    return {name: value.isoformat() if isinstance(value, date) else value for name, value in values.items()}


def contract_capacity_from_today(*, session: Session, principal: Principal, group: Group, capacity: int) -> None:
    """A change of places made by the region outside the register screens (the staffing form)
    is a contract version from today, so the history and the post-calculation know it: the
    version that starts today is corrected, or a new one (with the current tariff and funding)
    ends the one before it. Providers ask for places instead (``request_places``)."""
    ensure_region_admin(principal, group.region_id)
    assert group.id is not None
    today = utcnow().date()
    terms = terms_of(session, [group.id])[group.id]
    current = mirror_term(terms, today)
    region = session.get(Region, group.region_id)
    _refuse(
        check_term(
            care_form=group.care_form,
            contracted_places=capacity,
            availability_funded=current.availability_funded if current else group.availability_funded,
            availability_share=current.availability_share if current else None,
            day_tariff=current.day_tariff if current else group.day_tariff,
            valid_from=today,
            valid_to=None,
            family_home_max=family_home_max(region.settings if region else None),
        )
    )
    if current is not None and current.valid_from == today:
        current.contracted_places = capacity
        session.add(current)
        session.flush()
        record_term(session, actor=principal, term=current, action="register.contract_term")
        return
    term = ContractTerm(
        region_id=group.region_id,
        group_id=group.id,
        valid_from=today,
        contracted_places=capacity,
        day_tariff=current.day_tariff if current else group.day_tariff,
        availability_funded=current.availability_funded if current else group.availability_funded,
        availability_share=current.availability_share if current else None,
        status=TERM_APPROVED,
        created_at=utcnow(),
        created_by=principal.label,
        decided_at=utcnow(),
        decided_by=principal.label,
        note="plaatsen gewijzigd via bezetting en roosteruren",
    )
    insert_version(session, term)
    record_term(session, actor=principal, term=term, action="register.contract_term")
