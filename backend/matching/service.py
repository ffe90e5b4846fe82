"""Ranking one referral, explaining one group, batch runs and sending their proposals."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

import solver
from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.db import Database
from backend.domain import CARE_FORMS, as_utc, utcnow
from backend.errors import Conflict, Forbidden, NotFound, RuleViolation
from backend.matching import adapter
from backend.matching.models import MatchingRun, MatchingRunCreate
from backend.proposals.service import create_proposal
from backend.providers.models import Group, is_stale
from backend.referrals.models import Referral, ReferralStatus
from backend.referrals.service import REFERRAL_ROLES, load_referral
from backend.regions.models import Municipality, Region
from backend.regions.settings import region_settings, region_stale_hours
from solver.scoring import distance_km as solver_distance_km

COMPONENT_LABELS = {
    "need": "Expertise dekt de zorgbehoeften",
    "intensity": "Verblijfsintensiteit: zo licht als mogelijk, zo zwaar als nodig",
    "distance": "Afstand tot thuis",
    "care_form": "Voorkeur voor de zorgvorm",
}


def _require_matcher(principal: Principal) -> None:
    if principal.role not in REFERRAL_ROLES:
        raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")


def _region(session: Session, region_id: int) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound("Regio niet gevonden.")
    return region


def _freshness(meta: adapter.GroupMeta, stale_after_hours: float, now: Any) -> dict[str, Any]:
    if meta.reported_at is None:
        return {"reported_at": None, "report_age_hours": None, "stale": True}
    age = (now - meta.reported_at).total_seconds() / 3600
    return {
        "reported_at": meta.reported_at.isoformat(),
        "report_age_hours": round(age, 2),
        "stale": is_stale(meta.reported_at, stale_after_hours=stale_after_hours, now=now),
    }


def _option(
    opt: solver.RankedOption, meta: adapter.GroupMeta, weights: solver.Weights, stale_after_hours: float, now: Any
) -> dict[str, Any]:
    weighted = {
        "need": weights.need * opt.components["need"],
        "intensity": weights.intensity * opt.components["intensity"],
        "distance": weights.distance * opt.components["distance"],
        "care_form": weights.care_form_preference * opt.components["care_form"],
    }
    return {
        "group_id": opt.group_id,
        "group_name": meta.name,
        "provider_id": meta.provider_id,
        "provider_name": meta.provider_name,
        "care_form": meta.care_form,
        "care_form_label": CARE_FORMS[meta.care_form][0],
        "intensity": meta.intensity,
        "score": round(opt.score, 6),
        "components": {k: round(v, 6) for k, v in opt.components.items()},
        "weighted_components": {k: round(v, 6) for k, v in weighted.items()},
        "distance_km": round(opt.distance_km, 2),
        "free_places": meta.net_free_places,
        "reported_free_places": meta.free_places,
        "held_places": meta.held_places,
        "expected_free_date": meta.expected_free_date.isoformat() if meta.expected_free_date else None,
        **_freshness(meta, stale_after_hours, now),
    }


def rank_options(
    *, session: Session, principal: Principal, referral_id: int, limit: int, stale_after_hours: float
) -> dict[str, Any]:
    _require_matcher(principal)
    referral = load_referral(session=session, principal=principal, referral_id=referral_id)
    region = _region(session, referral.region_id)
    weights = adapter.region_weights(region)
    # The region table holds the referral's region's groups only: one staleness limit for all.
    stale_after_hours = region_stale_hours(session, referral.region_id, stale_after_hours)
    cached = adapter.region_table(session, referral.region_id)
    youth = adapter.youth_from_referral(referral)
    ranking = solver.rank(youth, cached.table, weights, limit=max(1, limit))
    now = utcnow()
    audit.record(
        session=session,
        actor=principal,
        action="referral.options",
        object_type="referral",
        object_id=referral_id,
        purpose=Purpose.matching_options,
        detail={"limit": limit, "feasible": ranking.feasible_count},
        region_id=referral.region_id,
    )
    return {
        "referral_id": referral_id,
        "status": referral.status,
        "total_groups": ranking.total_groups,
        "feasible_count": ranking.feasible_count,
        "excluded": ranking.excluded,
        "excluded_reasons": dict(solver.RULES),
        "options": [_option(o, cached.meta[o.group_id], weights, stale_after_hours, now) for o in ranking.options],
        "expected_free_soon": [
            _option(o, cached.meta[o.group_id], weights, stale_after_hours, now) for o in ranking.expected_free_soon
        ],
        "component_labels": COMPONENT_LABELS,
        "weights": adapter.weights_dict(weights),
        "generated_at": now.isoformat(),
    }


def explain_option(
    *, session: Session, principal: Principal, referral_id: int, group_id: int, stale_after_hours: float
) -> dict[str, Any]:
    _require_matcher(principal)
    referral = load_referral(session=session, principal=principal, referral_id=referral_id)
    group = session.get(Group, group_id)
    # Options are the referral's own region's groups (as the ranking and a proposal have them).
    if group is None or group.region_id != referral.region_id:
        raise NotFound("Groep niet gevonden.")
    region = _region(session, referral.region_id)
    weights = adapter.region_weights(region)
    stale_after_hours = region_stale_hours(session, group.region_id, stale_after_hours)
    c_count = adapter.profile_c_counts(session).get(group_id, 0)
    sgroup = adapter.solver_group(group, c_count)
    youth = adapter.youth_from_referral(referral)
    ex = solver.explain(youth, sgroup, weights)
    now = utcnow()
    audit.record(
        session=session,
        actor=principal,
        action="referral.explain",
        object_type="referral",
        object_id=referral_id,
        purpose=Purpose.matching_explanation,
        detail={"group_id": group_id, "feasible": ex.feasible},
        region_id=referral.region_id,
    )
    meta = adapter.GroupMeta(
        name=group.name,
        provider_id=group.provider_id,
        provider_name="",
        care_form=group.care_form,
        intensity=group.intensity,
        free_places=group.free_places,
        held_places=group.held_places,
        net_free_places=sgroup.free_places,
        admitting=group.admitting,
        reported_at=as_utc(group.reported_at),
        expected_free_date=group.expected_free_date,
        location_id=group.location_id,
        municipality_id=group.municipality_id,
        profile_c_present=c_count,
    )
    return {
        "referral_id": referral_id,
        "group_id": group_id,
        "group_name": group.name,
        "provider_id": group.provider_id,
        "care_form": group.care_form,
        "intensity": group.intensity,
        "feasible": ex.feasible,
        "failed_rules": [{"rule": f.rule, "reason": f.reason} for f in ex.failed],
        "score": round(ex.score, 6),
        "components": {k: round(v, 6) for k, v in ex.components.items()},
        "component_labels": COMPONENT_LABELS,
        "distance_km": round(ex.distance_km, 2),
        "free_places": sgroup.free_places,
        "reported_free_places": group.free_places,
        "held_places": group.held_places,
        "admitting": group.admitting,
        "profile_c_present": c_count,
        "needs_covered": sorted(set(referral.needs) & set(group.expertise)),
        "needs_missing": sorted(set(referral.needs) - set(group.expertise)),
        **_freshness(meta, stale_after_hours, now),
    }


def propose_option(
    *,
    session: Session,
    principal: Principal,
    referral_id: int,
    group_id: int,
    expiry_hours: float,
    stale_after_hours: float,
) -> Any:
    """A coordinator sends one option from the ranking as a proposal."""
    _require_matcher(principal)
    referral = load_referral(session=session, principal=principal, referral_id=referral_id, for_update=True)
    group = session.get(Group, group_id)
    if group is None or group.region_id != referral.region_id:
        raise NotFound("Groep niet gevonden.")
    if referral.status != ReferralStatus.waiting:
        raise Conflict(
            "Deze jongere wacht niet (meer): er loopt al een voorstel of zij is geplaatst of ingetrokken.",
            code="referral_not_waiting",
        )
    weights = adapter.region_weights(_region(session, referral.region_id))
    youth = adapter.youth_from_referral(referral)
    sgroup = adapter.solver_group(group, adapter.profile_c_counts(session).get(group_id, 0))
    ex = solver.explain(youth, sgroup, weights)
    hard = [f for f in ex.failed if f.rule != "free_places"]
    if hard:
        raise RuleViolation(
            "Deze groep past niet: " + "; ".join(f.reason for f in hard) + ".",
            code="option_infeasible",
            extra={"failed_rules": [f.rule for f in hard]},
        )
    return create_proposal(
        session=session,
        referral=referral,
        group_id=group_id,
        actor=principal,
        expiry_hours=expiry_hours,
        stale_after_hours=stale_after_hours,
        score=ex.score,
        components=ex.components,
        distance_km=ex.distance_km,
    )


# --- batch runs ---------------------------------------------------------------------------------


def _select_referrals(session: Session, region_id: int, referral_ids: list[int] | None) -> list[Referral]:
    query = select(Referral).where(Referral.region_id == region_id, Referral.status == ReferralStatus.waiting)
    if referral_ids is None:
        return list(session.exec(query.order_by(col(Referral.id))).all())
    chosen = list(session.exec(query.where(col(Referral.id).in_(referral_ids))).all())
    missing = sorted(set(referral_ids) - {r.id for r in chosen})
    if missing:
        raise RuleViolation(
            "Deze verwijzingen zijn niet wachtend in deze regio (of bestaan niet): "
            + ", ".join(str(m) for m in missing)
            + ".",
            code="referrals_not_waiting",
            extra={"referral_ids": missing},
        )
    # Siblings travel together: a chosen youth brings its waiting brothers and sisters along.
    sets = {r.sibling_set for r in chosen if r.sibling_set}
    if sets:
        extra = session.exec(
            query.where(col(Referral.sibling_set).in_(sets), col(Referral.id).not_in([r.id for r in chosen]))
        ).all()
        chosen.extend(extra)
    return sorted(chosen, key=lambda r: r.id or 0)


def _review(
    data: MatchingRunCreate,
    referrals: list[Referral],
    youths: tuple[solver.Youth, ...],
    groups: tuple[solver.Group, ...],
    weights: solver.Weights,
) -> tuple[dict[int, int], frozenset[tuple[int, int]]]:
    """The coordinator's pins and forbidden pairs, checked with Dutch messages before solving:
    each names a youth of this run and a group of the region, and a pinned pair passes every
    hard rule (so that a refused pin says why)."""
    reference = {r.id: r.reference for r in referrals}
    youth_by_id = {y.id: y for y in youths}
    group_by_id = {g.id: g for g in groups}
    for pair in [*data.pins, *data.forbids]:
        if pair.referral_id not in reference:
            raise RuleViolation(
                f"Jongere {pair.referral_id} doet niet mee aan deze ronde (niet wachtend of weggelaten).",
                code="review_referral_unknown",
            )
        if pair.group_id not in group_by_id:
            raise RuleViolation(f"Groep {pair.group_id} hoort niet bij deze regio.", code="review_group_unknown")
    pins: dict[int, int] = {}
    for pin in data.pins:
        if pin.referral_id in pins:
            raise RuleViolation(
                f"{reference[pin.referral_id]} is twee keer vastgezet; kies één groep.", code="pin_twice"
            )
        pins[pin.referral_id] = pin.group_id
    forbidden = frozenset((f.referral_id, f.group_id) for f in data.forbids)
    for yid, gid in pins.items():
        if (yid, gid) in forbidden:
            raise RuleViolation(
                f"{reference[yid]} is in dezelfde groep zowel vastgezet als uitgesloten.", code="pin_forbidden"
            )
        failed = solver.explain(youth_by_id[yid], group_by_id[gid], weights).failed
        if failed:
            raise RuleViolation(
                f"{reference[yid]} kan niet vast in deze groep: " + "; ".join(f.reason for f in failed) + ".",
                code="pin_infeasible",
            )
    return pins, forbidden


def run_matching(
    *, db: Database, principal: Principal, data: MatchingRunCreate, default_expiry_hours: float
) -> dict[str, Any]:
    """A whole batch run as a job: recorded as running, solved, stored (and sent); its public form."""
    run_id = start_run(db=db, principal=principal, data=data)
    with db.transaction(write=False) as session:
        run = session.get(MatchingRun, run_id)
        assert run is not None
        expiry = proposal_expiry_hours(session, run.region_id, default_expiry_hours)
    execute_run(db=db, principal=principal, run_id=run_id, data=data, expiry_hours=expiry)
    with db.transaction(write=False) as session:
        run = session.get(MatchingRun, run_id)
        assert run is not None
        return run_public(run)


def start_run(*, db: Database, principal: Principal, data: MatchingRunCreate) -> int:
    """Record the run as running (committed, so a UI can poll it) and return its id."""
    _require_matcher(principal)
    with db.transaction() as session:
        region_id = data.region_id if data.region_id is not None else principal.region_id
        if region_id is None:
            raise RuleViolation("Kies de regio.", code="region_required")
        if not principal.may_see_region(region_id):
            raise Forbidden("U kunt alleen voor uw eigen regio matchen.", code="region_forbidden")
        region = _region(session, region_id)
        limit = data.time_limit_s or adapter.region_time_limit(region)
        run = MatchingRun(
            region_id=region_id, status="running", created_by=principal.label, created_at=utcnow(), time_limit_s=limit
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def execute_run(
    *, db: Database, principal: Principal, run_id: int, data: MatchingRunCreate, expiry_hours: float
) -> None:
    """Solve (outside any write transaction) and store the result; optionally send proposals."""
    try:
        with db.transaction(write=False) as session:
            run = session.get(MatchingRun, run_id)
            assert run is not None
            region = _region(session, run.region_id)
            weights = adapter.region_weights(region)
            referrals = _select_referrals(session, run.region_id, data.referral_ids)
            if not referrals:
                raise RuleViolation(
                    "Er wachten geen jongeren in deze regio; er valt niets te matchen.", code="nothing_to_match"
                )
            cached = adapter.region_table(session, run.region_id, exact=True)
            now = utcnow()
            youths = tuple(adapter.youth_from_referral(r, now=now) for r in referrals)
            pins, forbidden = _review(data, referrals, youths, cached.table.groups, weights)
            stale_hours = region_stale_hours(session, run.region_id, db.settings.stale_after_hours)
            municipalities: dict[int, str] = {
                mid: name for mid, name in session.execute(select(col(Municipality.id), col(Municipality.name)))
            }
            try:
                instance = solver.Instance(
                    groups=cached.table.groups, youths=youths, weights=weights, pins=pins, forbidden=forbidden
                )
            except ValueError as exc:
                raise RuleViolation(f"De invoer van de matching klopt niet: {exc}.", code="instance_invalid") from exc
        candidates = solver.build_candidates(instance, table=cached.table)
        result = solver.assign(instance, time_limit_s=run.time_limit_s, candidates=candidates)
        if pins and not result.assignments and result.status in ("infeasible", "timeout_no_solution"):
            raise RuleViolation(
                "De vastgezette combinaties passen niet allemaal tegelijk (te weinig vrije plekken in een "
                "groep, of broers en zussen die niet mee kunnen). Maak een vastzetting los en reken opnieuw.",
                code="pins_infeasible",
            )
        report = solver.validate(instance, result)
    except Exception as exc:
        with db.transaction() as session:
            run = session.get(MatchingRun, run_id)
            assert run is not None
            run.status = "failed"
            run.finished_at = utcnow()
            run.error = getattr(exc, "message", None) or "Onverwachte fout in de matching."
            session.add(run)
        raise
    with db.transaction() as session:
        run = session.get(MatchingRun, run_id)
        assert run is not None
        ref_by_id = {r.id: r for r in referrals}
        run.referral_ids = [r.id for r in referrals]  # type: ignore[misc]
        run.input_snapshot = {
            **adapter.snapshot(instance, total_groups=len(cached.table)),
            "review": {"pins": [p.model_dump() for p in data.pins], "forbids": [f.model_dump() for f in data.forbids]},
        }
        youth_by_id = {y.id: y for y in youths}
        group_by_id = {g.id: g for g in cached.table.groups}
        run.solver_status = result.status
        run.objective = result.objective
        run.optimal = result.optimal
        run.bound = result.bound
        run.solve_seconds = result.solve_seconds
        run.assignments = [
            {
                "referral_id": a.youth_id,
                "group_id": a.group_id,
                "score": a.score,
                "group_name": cached.meta[a.group_id].name,
                "provider_id": cached.meta[a.group_id].provider_id,
                "sibling_set": ref_by_id[a.youth_id].sibling_set,
                # What the coordinator reviews per line before sending.
                "provider_name": cached.meta[a.group_id].provider_name,
                "municipality": municipalities.get(cached.meta[a.group_id].municipality_id),
                "distance_km": round(
                    solver_distance_km(youth_by_id[a.youth_id], group_by_id[a.group_id], instance.road_km), 1
                ),
                "pinned": pins.get(a.youth_id) == a.group_id,
                **_freshness(cached.meta[a.group_id], stale_hours, now),
            }
            for a in result.assignments
        ]
        run.unplaced = [{"referral_id": u.youth_id, "reasons": list(u.reasons)} for u in result.unplaced]
        run.validation = {
            "ok": report.ok,
            "violations": list(report.violations),
            "objective": report.objective,
            "placed": report.placed,
            "mean_distance_km": report.mean_distance_km,
            "mean_intensity_steps": report.mean_intensity_steps,
        }
        run.status = "done"
        run.finished_at = utcnow()
        session.add(run)
        session.flush()
        audit.record(
            session=session,
            actor=principal,
            action="matching.run",
            object_type="matching_run",
            object_id=run_id,
            purpose=Purpose.matching_run,
            detail={"referral_ids": run.referral_ids, "placed": len(result.assignments)},
            youth=audit.referrals(run.referral_ids),
            region_id=run.region_id,
        )
        if data.send_proposals:
            _send(
                session=session,
                principal=principal,
                run=run,
                expiry_hours=expiry_hours,
                stale_after_hours=db.settings.stale_after_hours,
            )


def send_run_proposals(
    *,
    session: Session,
    principal: Principal,
    run_id: int,
    expiry_hours: float,
    stale_after_hours: float,
    referral_ids: list[int] | None = None,
) -> MatchingRun:
    _require_matcher(principal)
    run = load_run(session=session, principal=principal, run_id=run_id, for_update=True)
    if run.status != "done":
        raise Conflict(
            "Deze matchingronde is nog niet klaar of mislukt; er is niets te versturen.", code="run_not_done"
        )
    if run.proposals_sent_at is not None:
        raise Conflict("De voorstellen van deze matchingronde zijn al verstuurd.", code="proposals_already_sent")
    chosen = _chosen(run, referral_ids)
    _send(
        session=session,
        principal=principal,
        run=run,
        expiry_hours=expiry_hours,
        stale_after_hours=stale_after_hours,
        chosen=chosen,
    )
    return run


def _chosen(run: MatchingRun, referral_ids: list[int] | None) -> set[int] | None:
    """The youths whose assignment the coordinator sends (None: all); siblings go together."""
    if referral_ids is None:
        return None
    assigned = {a["referral_id"]: a for a in run.assignments}
    unknown = sorted(set(referral_ids) - set(assigned))
    if unknown:
        raise RuleViolation(
            "Deze jongeren hebben in deze ronde geen toewijzing: " + ", ".join(map(str, unknown)) + ".",
            code="not_assigned",
            extra={"referral_ids": unknown},
        )
    chosen = set(referral_ids)
    for a in assigned.values():
        sibling_set = a.get("sibling_set")
        together = [b["referral_id"] for b in assigned.values() if sibling_set and b.get("sibling_set") == sibling_set]
        if together and chosen.intersection(together) and not chosen.issuperset(together):
            names = ", ".join(f"verwijzing {i}" for i in sorted(together))
            raise RuleViolation(
                f"Broers en zussen gaan samen: verstuur {names} allemaal of geen van hen.", code="siblings_split"
            )
    return chosen


def _send(
    *,
    session: Session,
    principal: Principal,
    run: MatchingRun,
    expiry_hours: float,
    stale_after_hours: float,
    chosen: set[int] | None = None,
) -> None:
    """Turn the run's assignments into proposals, each claiming its place atomically.

    Siblings are sent as one unit: if any sibling's place was taken in the meantime, none of the
    set is sent (their claims are given back), so siblings are never proposed apart.
    """
    units: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # Lines the coordinator dropped are not sent; the youth stays waiting for the next round.
    dropped = [
        {"referral_id": a["referral_id"], "group_id": a["group_id"]}
        for a in run.assignments
        if chosen is not None and a["referral_id"] not in chosen
    ]
    for a in run.assignments:
        if chosen is None or a["referral_id"] in chosen:
            units[a.get("sibling_set") or f"#{a['referral_id']}"].append(a)
    sent: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for members in units.values():
        referrals = {
            a["referral_id"]: session.exec(
                select(Referral).where(Referral.id == a["referral_id"]).with_for_update()
            ).one()
            for a in members
        }
        if any(r.status != ReferralStatus.waiting for r in referrals.values()):
            for a in members:
                skipped.append(
                    {
                        "referral_id": a["referral_id"],
                        "group_id": a["group_id"],
                        "reason": "De jongere wacht niet meer (al voorgesteld, geplaatst of "
                        "ingetrokken sinds de matching).",
                    }
                )
            continue
        try:
            # One savepoint per unit: a sibling whose place was taken undoes the others' claims,
            # proposals and events with it.
            with session.begin_nested():
                proposals = [
                    create_proposal(
                        session=session,
                        referral=referrals[a["referral_id"]],
                        group_id=a["group_id"],
                        actor=principal,
                        expiry_hours=expiry_hours,
                        stale_after_hours=stale_after_hours,
                        score=a["score"],
                        run_id=run.id,
                    )
                    for a in members
                ]
        except Conflict:
            for a in members:
                skipped.append(
                    {
                        "referral_id": a["referral_id"],
                        "group_id": a["group_id"],
                        "reason": "De plek is intussen vergeven (bijv. aan een crisisplaatsing); "
                        "de jongere blijft wachtend.",
                    }
                )
            continue
        for a, proposal in zip(members, proposals, strict=True):
            sent.append({"referral_id": a["referral_id"], "group_id": a["group_id"], "proposal_id": proposal.id})
    run.proposals_sent_at = utcnow()
    run.proposals_report = {"sent": sent, "skipped": skipped, "dropped": dropped}
    session.add(run)
    session.flush()


def load_run(*, session: Session, principal: Principal, run_id: int, for_update: bool = False) -> MatchingRun:
    _require_matcher(principal)
    query = select(MatchingRun).where(MatchingRun.id == run_id)
    if for_update:
        query = query.with_for_update()
    run = session.exec(query).first()
    if run is None or not principal.may_see_region(run.region_id):
        raise NotFound("Matchingronde niet gevonden.")
    return run


def run_public(run: MatchingRun, *, include_snapshot: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "region_id": run.region_id,
        "status": run.status,
        "solver_status": run.solver_status,
        "objective": run.objective,
        "optimal": run.optimal,
        "bound": run.bound,
        "solve_seconds": run.solve_seconds,
        "time_limit_s": run.time_limit_s,
        "created_by": run.created_by,
        "created_at": as_utc(run.created_at),
        "finished_at": as_utc(run.finished_at),
        "referral_ids": run.referral_ids,
        "assignments": run.assignments,
        "unplaced": run.unplaced,
        "validation": run.validation,
        "error": run.error,
        "proposals_sent_at": as_utc(run.proposals_sent_at),
        "proposals": run.proposals_report or None,
        "group_count": (run.input_snapshot or {}).get("total_groups"),
        "review": (run.input_snapshot or {}).get("review") or {"pins": [], "forbids": []},
    }
    if include_snapshot:
        data["input_snapshot"] = run.input_snapshot
    return data


def proposal_expiry_hours(session: Session, region_id: int, default: float) -> float:
    value = region_settings(session.get(Region, region_id)).proposal_expiry_hours
    return float(value) if value is not None else default
