"""Reporting availability: the new state, an event and an audit row in one transaction."""

from __future__ import annotations

from sqlmodel import Session

from backend.audit import service as audit
from backend.auth import Principal
from backend.availability.models import AvailabilityUpdate
from backend.domain import utcnow
from backend.errors import PreconditionFailed, RuleViolation
from backend.events.service import append_event
from backend.providers.models import Group
from backend.providers.service import get_group_for, to_public

AVAILABILITY_CHANGED = "availability.changed"


def group_state(group: Group, *, stale_after_hours: float) -> dict[str, object]:
    """The group as it travels on the live feed."""
    return to_public(group, stale_after_hours=stale_after_hours).model_dump(mode="json")


def publish_group_change(*, session: Session, group: Group, event_type: str, actor: str | None,
                         stale_after_hours: float, extra: dict[str, object] | None = None) -> int:
    """Append the group's new state to the event table (and so to the live feed)."""
    payload: dict[str, object] = {"group": group_state(group, stale_after_hours=stale_after_hours)}
    payload.update(extra or {})
    event = append_event(session=session, type=event_type, payload=payload, group_id=group.id,
                         provider_id=group.provider_id, region_id=group.region_id, actor=actor)
    return event.seq


def report_availability(
    *,
    session: Session,
    principal: Principal,
    group_id: int,
    report: AvailabilityUpdate,
    expected_version: int | None,
    stale_after_hours: float,
) -> tuple[Group, int]:
    # The row lock makes concurrent reports for one group queue up, so none is lost and each
    # gets the next version.
    group = get_group_for(session=session, principal=principal, group_id=group_id,
                          for_update=True)
    if expected_version is not None and expected_version != group.version:
        raise PreconditionFailed(
            f"De gegevens van deze groep zijn intussen gewijzigd (nu versie {group.version}, "
            f"u had versie {expected_version}). Laad de groep opnieuw en probeer het nog eens.",
            extra={"current_version": group.version},
        )
    if report.free_places > group.capacity:
        raise RuleViolation(
            f"Vrije plaatsen ({report.free_places}) kan niet meer zijn dan de capaciteit van "
            f"de groep ({group.capacity}).",
            code="free_places_above_capacity",
        )
    if report.free_places < group.held_places:
        raise RuleViolation(
            f"Er {'is' if group.held_places == 1 else 'zijn'} {group.held_places} "
            f"{'plaats' if group.held_places == 1 else 'plaatsen'} vastgehouden voor een crisisplaatsing "
            f"of plaatsingsvoorstel; meld minstens {group.held_places} vrij, of wijs de claim eerst af.",
            code="free_places_below_held",
        )
    before = {"free_places": group.free_places, "admitting": group.admitting,
              "reason": group.not_admitting_reason, "version": group.version}
    group.free_places = report.free_places
    group.admitting = report.admitting
    group.not_admitting_reason = None if report.admitting else report.reason
    group.expected_free_date = report.expected_free_date
    group.waiting_list = report.waiting_list
    group.reported_at = utcnow()
    group.reported_by = principal.label
    group.version += 1
    session.add(group)
    session.flush()
    seq = publish_group_change(session=session, group=group, event_type=AVAILABILITY_CHANGED,
                               actor=principal.label, stale_after_hours=stale_after_hours)
    audit.record(session=session, actor=principal, action="availability.update",
                 object_type="group", object_id=group_id, purpose="beschikbaarheid gemeld",
                 detail={"before": before,
                         "after": {"free_places": group.free_places, "admitting": group.admitting,
                                   "reason": group.not_admitting_reason,
                                   "version": group.version},
                         "seq": seq})
    return group, seq
