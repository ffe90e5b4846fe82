"""Notifications: who hears of what, by which channel, and when (the outbox rows).

``notify`` is the one function other domains call, in the transaction of their change (one line
at the call site). It writes one outbox row per delivery: in the app for each person concerned,
by e-mail to the people who chose it and to the provider's contacts, and to the provider's
webhook endpoints. In-app rows are delivered by the commit itself (and pushed over the live
feed); the others are delivered by the dispatcher.

Every row has a unique key: ``trigger:object:channel:target``. A periodic scan that sees the
same situation again (a figure still stale, a youth still waiting) therefore writes nothing twice,
and the key is the idempotency key a webhook receiver or mailbox sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_access
from backend.config import Settings
from backend.db import on_commit
from backend.domain import utcnow
from backend.errors import Forbidden, NotFound
from backend.events.service import append_event
from backend.notifications.dispatcher import wake as dispatcher_wake
from backend.notifications.models import (
    APP,
    DEAD,
    DELIVERED,
    EMAIL,
    PENDING,
    WEBHOOK,
    ContactCreate,
    EndpointCreate,
    Notification,
    NotificationPreference,
    PreferenceUpdate,
    ProviderContact,
    WebhookEndpoint,
)
from backend.providers.models import Provider
from backend.users.models import Role, User

LOCAL = ZoneInfo("Europe/Amsterdam")
# A digest goes out once a day, at this local time.
DIGEST_AT = time(7, 0)
NOTIFICATION_EVENT = "notification.new"


@dataclass(frozen=True)
class Trigger:
    label: str
    # "provider": the provider's people, contacts and systems; "region": the coordinators.
    audience: str
    # Urgent: ignores quiet hours and the digest (a crisis hold).
    urgent: bool = False
    # Which provider contacts hear it ("crisis", "proposals") besides the people.
    contacts: str | None = None


TRIGGERS: dict[str, Trigger] = {
    "hold_created": Trigger("Crisisplaatsing vastgehouden op uw groep", "provider", urgent=True, contacts="crisis"),
    "proposal_new": Trigger("Nieuw plaatsingsvoorstel", "provider", contacts="proposals"),
    "proposal_expiring": Trigger("Plaatsingsvoorstel verloopt binnenkort", "provider", contacts="proposals"),
    "stale_figure": Trigger("Uw plaatsen zijn lang niet bijgewerkt", "provider"),
    "proposal_declined": Trigger("Plaatsingsvoorstel afgewezen", "region"),
    "proposal_expired": Trigger("Plaatsingsvoorstel verlopen", "region"),
    "proposal_accepted": Trigger("Plaatsingsvoorstel aanvaard", "region"),
    "placement_fell_through": Trigger("Plaatsing gaat niet door", "region"),
    "arrival_missed": Trigger("Verwachte aankomst niet gebeurd", "region"),
    "youth_waiting": Trigger("Jongere wacht lang zonder voorstel", "region"),
    "reassessment_waiting": Trigger("Herindicatie wacht op een besluit", "region"),
    "import_finished": Trigger("Import klaar", "region"),
}


def trigger_labels() -> dict[str, str]:
    return {code: trigger.label for code, trigger in TRIGGERS.items()}


# --- writing the outbox --------------------------------------------------------------------------


def notify(
    *,
    session: Session,
    trigger: str,
    about: str,
    subject: str,
    body: str,
    provider_id: int | None = None,
    region_id: int | None = None,
    group_id: int | None = None,
    payload: dict[str, Any] | None = None,
    extra_emails: Sequence[tuple[str, str]] = (),
) -> int:
    """Write the notifications of one change in the caller's transaction; the number written.

    ``about`` names the object and, for a situation that may recur, its occurrence
    (``proposal:12``, ``group:4:2026-12-01``): the same ``about`` again writes nothing.
    ``extra_emails``: (key part, address) pairs that get the e-mail whatever their preferences
    (a one-click link meant for one mailbox)."""
    spec = TRIGGERS[trigger]
    now = utcnow()
    data = {"trigger": trigger, "subject": subject, **(payload or {})}
    base = {
        "trigger": trigger,
        "urgent": spec.urgent,
        "provider_id": provider_id,
        "region_id": region_id,
        "group_id": group_id,
        "subject": subject,
        "body": body,
        "payload": data,
        "created_at": now,
        "attempts": 0,
        "digest": False,
    }
    rows: list[dict[str, Any]] = []
    people = _people(session, spec, provider_id=provider_id, region_id=region_id)
    prefs = _preferences(session, [u.id for u in people if u.id is not None])
    for user in people:
        pref = prefs.get(user.id or 0)
        chosen = set((pref.channels.get(trigger) if pref else None) or [APP])
        if APP in chosen:
            rows.append(
                base
                | {
                    "key": f"{trigger}:{about}:app:{user.id}",
                    "channel": APP,
                    "status": DELIVERED,
                    "user_id": user.id,
                    "due_at": now,
                    "delivered_at": now,
                }
            )
        if EMAIL in chosen and pref is not None and pref.email:
            due, digest = _when(pref, now, urgent=spec.urgent)
            rows.append(
                base
                | {
                    "key": f"{trigger}:{about}:email:u{user.id}",
                    "channel": EMAIL,
                    "status": PENDING,
                    "user_id": user.id,
                    "email": pref.email,
                    "due_at": due,
                    "digest": digest,
                }
            )
    if provider_id is not None and spec.contacts is not None:
        wanted = col(ProviderContact.crisis) if spec.contacts == "crisis" else col(ProviderContact.proposals)
        for contact in session.exec(
            select(ProviderContact).where(ProviderContact.provider_id == provider_id, wanted.is_(True))
        ):
            rows.append(
                base
                | {
                    "key": f"{trigger}:{about}:email:c{contact.id}",
                    "channel": EMAIL,
                    "status": PENDING,
                    "email": contact.email,
                    "due_at": now,
                }
            )
    for part, address in extra_emails:
        rows.append(
            base
            | {
                "key": f"{trigger}:{about}:email:{part}",
                "channel": EMAIL,
                "status": PENDING,
                "email": address,
                "due_at": now,
            }
        )
    if provider_id is not None and spec.audience == "provider":
        for endpoint in session.exec(
            select(WebhookEndpoint).where(WebhookEndpoint.provider_id == provider_id, col(WebhookEndpoint.active))
        ):
            rows.append(
                base
                | {
                    "key": f"{trigger}:{about}:webhook:{endpoint.id}",
                    "channel": WEBHOOK,
                    "status": PENDING,
                    "endpoint_id": endpoint.id,
                    "due_at": now,
                }
            )
    return _write(session, rows)


def _write(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the rows, skipping keys that exist (a recurring scan); announce the in-app ones."""
    if not rows:
        return 0
    columns = set().union(*rows)
    rows = [{c: row.get(c) for c in columns} for row in rows]
    conn = session.connection()
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    table = Notification.__table__  # type: ignore[attr-defined]
    statement = (
        maker(table)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.id, table.c.channel, table.c.user_id)
    )
    written = 0
    if any(row["channel"] != APP for row in rows):
        on_commit(session, dispatcher_wake)
    for row in rows:  # one by one: RETURNING of a multi-row INSERT ... ON CONFLICT is per row anyway
        result = conn.execute(statement, row).first()
        if result is None:
            continue
        written += 1
        if result.channel == APP:
            append_event(
                session=session,
                type=NOTIFICATION_EVENT,
                region_id=row["region_id"],
                provider_id=row["provider_id"],
                group_id=row["group_id"],
                payload={
                    "for_user_id": result.user_id,
                    "notification": {
                        "id": result.id,
                        "trigger": row["trigger"],
                        "subject": row["subject"],
                        "body": row["body"],
                        "urgent": row["urgent"],
                        "created_at": row["created_at"].isoformat(),
                    },
                },
            )
    return written


def _people(session: Session, spec: Trigger, *, provider_id: int | None, region_id: int | None) -> list[User]:
    query = select(User).where(col(User.active))
    if spec.audience == "provider":
        if provider_id is None:
            return []
        query = query.where(User.provider_id == provider_id, User.role == Role.provider)
    else:
        if region_id is None:
            return []
        query = query.where(User.region_id == region_id, User.role == Role.coordinator)
    return list(session.exec(query.order_by(col(User.id))))


def _preferences(session: Session, user_ids: list[int]) -> dict[int, NotificationPreference]:
    if not user_ids:
        return {}
    rows = session.exec(select(NotificationPreference).where(col(NotificationPreference.user_id).in_(user_ids)))
    return {row.user_id: row for row in rows}


def _parse(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(pref: NotificationPreference, moment: datetime) -> datetime | None:
    """When the quiet hours around ``moment`` end (UTC), or None when it is not quiet then."""
    if not pref.quiet_start or not pref.quiet_end or pref.quiet_start == pref.quiet_end:
        return None
    local = moment.astimezone(LOCAL)
    start, end = _parse(pref.quiet_start), _parse(pref.quiet_end)
    now = local.time()
    quiet = start <= now < end if start < end else now >= start or now < end
    if not quiet:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=LOCAL)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(moment.tzinfo)


def _when(pref: NotificationPreference, now: datetime, *, urgent: bool) -> tuple[datetime, bool]:
    """When an e-mail to this person is due, and whether it waits for the digest."""
    if urgent:
        return now, False
    if pref.digest:
        local = now.astimezone(LOCAL)
        at = datetime.combine(local.date(), DIGEST_AT, tzinfo=LOCAL)
        if at <= local:
            at += timedelta(days=1)
        return at.astimezone(now.tzinfo), True
    return in_quiet_hours(pref, now) or now, False


# --- the notification centre ---------------------------------------------------------------------


def _own(principal: Principal) -> int:
    if principal.kind != "user":
        raise Forbidden("Meldingen zijn voor personen; een API-sleutel krijgt ze als webhook.")
    return principal.id


def inbox(*, session: Session, principal: Principal, limit: int = 50) -> tuple[int, list[Notification]]:
    user_id = _own(principal)
    mine = (Notification.user_id == user_id, Notification.channel == APP)
    unread_only = col(Notification.read_at).is_(None)
    unread = session.exec(select(func.count()).select_from(Notification).where(*mine, unread_only))
    rows = session.exec(select(Notification).where(*mine).order_by(col(Notification.id).desc()).limit(limit))
    return int(unread.one()), list(rows)


def mark_read(*, session: Session, principal: Principal, notification_id: int | None) -> int:
    """Mark one (or, with None, every) own notification read; the number changed."""
    user_id = _own(principal)
    statement = (
        update(Notification)
        .where(
            col(Notification.user_id) == user_id,
            col(Notification.channel) == APP,
            col(Notification.read_at).is_(None),
        )
        .values(read_at=utcnow())
    )
    if notification_id is not None:
        found = session.get(Notification, notification_id)
        if found is None or found.user_id != user_id or found.channel != APP:
            raise NotFound("Melding niet gevonden.")
        statement = statement.where(col(Notification.id) == notification_id)
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def read_preferences(*, session: Session, principal: Principal) -> NotificationPreference:
    user_id = _own(principal)
    return session.get(NotificationPreference, user_id) or NotificationPreference(
        user_id=user_id, channels={}, updated_at=utcnow()
    )


def change_preferences(*, session: Session, principal: Principal, data: PreferenceUpdate) -> NotificationPreference:
    from backend.errors import RuleViolation

    user_id = _own(principal)
    for trigger, channels in data.channels.items():
        if trigger not in TRIGGERS:
            raise RuleViolation(f"Onbekende soort melding: {trigger}.", code="unknown_trigger")
        if not set(channels) <= {APP, EMAIL}:
            raise RuleViolation("Kies per melding 'app' en/of 'email'.", code="unknown_channel")
        if EMAIL in channels and not data.email:
            raise RuleViolation("Vul een e-mailadres in om meldingen per e-mail te krijgen.", code="email_missing")
    if (data.quiet_start is None) != (data.quiet_end is None):
        raise RuleViolation("Vul voor rustige uren zowel een begin als een einde in.", code="quiet_hours_incomplete")
    pref = session.exec(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id).with_for_update()
    ).first()
    if pref is None:
        pref = NotificationPreference(user_id=user_id, channels={}, updated_at=utcnow())
    pref.email = data.email
    pref.channels = {k: sorted(set(v)) for k, v in data.channels.items()}
    pref.quiet_start, pref.quiet_end, pref.digest = data.quiet_start, data.quiet_end, data.digest
    pref.updated_at = utcnow()
    session.add(pref)
    session.flush()
    _audit(
        session,
        principal,
        "notification_preference.change",
        "notification_preference",
        user_id,
        detail={
            "email": pref.email,
            "channels": pref.channels,
            "quiet_start": pref.quiet_start,
            "quiet_end": pref.quiet_end,
            "digest": pref.digest,
        },
    )
    return pref


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: int,
    *,
    detail: dict[str, Any],
    provider: Provider | None = None,
) -> None:
    """Who changed where notifications go: an address or endpoint changed unseen would send a
    crisis hold to the wrong mailbox or system, so each change is in the audit log."""
    audit.record(
        session=session,
        actor=principal,
        action=action,
        object_type=object_type,
        object_id=object_id,
        purpose=Purpose.notification_settings,
        detail=detail,
        region_id=provider.region_id if provider is not None else None,
    )


# --- provider contacts and webhook endpoints -----------------------------------------------------


def _provider(session: Session, principal: Principal, provider_id: int) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("Zorgaanbieder niet gevonden.")
    ensure_access(principal, provider_id=provider_id, region_id=provider.region_id, what="Zorgaanbieder")
    if principal.role not in (Role.provider, Role.admin):
        raise Forbidden("Alleen de zorgaanbieder of een beheerder beheert de meldingen van een aanbieder.")
    return provider


def list_contacts(*, session: Session, principal: Principal, provider_id: int) -> list[ProviderContact]:
    _provider(session, principal, provider_id)
    query = select(ProviderContact).where(ProviderContact.provider_id == provider_id)
    return list(session.exec(query.order_by(col(ProviderContact.id))))


def add_contact(*, session: Session, principal: Principal, provider_id: int, data: ContactCreate) -> ProviderContact:
    provider = _provider(session, principal, provider_id)
    contact = ProviderContact(provider_id=provider_id, created_at=utcnow(), **data.model_dump())
    session.add(contact)
    session.flush()
    assert contact.id is not None
    detail = {"provider_id": provider_id, **data.model_dump()}
    _audit(session, principal, "provider_contact.add", "provider_contact", contact.id, detail=detail, provider=provider)
    return contact


def remove_contact(*, session: Session, principal: Principal, contact_id: int) -> None:
    contact = session.get(ProviderContact, contact_id)
    if contact is None:
        raise NotFound("Contactpersoon niet gevonden.")
    provider = _provider(session, principal, contact.provider_id)
    detail = {"provider_id": contact.provider_id, "name": contact.name, "email": contact.email}
    session.delete(contact)
    session.flush()
    _audit(
        session, principal, "provider_contact.remove", "provider_contact", contact_id, detail=detail, provider=provider
    )


def new_secret() -> str:
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def list_endpoints(*, session: Session, principal: Principal, provider_id: int) -> list[WebhookEndpoint]:
    _provider(session, principal, provider_id)
    query = select(WebhookEndpoint).where(WebhookEndpoint.provider_id == provider_id)
    return list(session.exec(query.order_by(col(WebhookEndpoint.id))))


def add_endpoint(
    *, session: Session, principal: Principal, provider_id: int, data: EndpointCreate, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    from backend.users.totp_secrets import encrypt

    provider = _provider(session, principal, provider_id)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        provider_id=provider_id,
        url=data.url,
        description=data.description,
        secret=encrypt(settings, secret),
        created_at=utcnow(),
        created_by=principal.label,
    )
    session.add(endpoint)
    session.flush()
    assert endpoint.id is not None
    # The secret stays out of the log: whoever reads the log must not be able to forge a signature.
    detail = {"provider_id": provider_id, "url": data.url, "description": data.description}
    _audit(
        session, principal, "webhook_endpoint.add", "webhook_endpoint", endpoint.id, detail=detail, provider=provider
    )
    return endpoint, secret


def load_endpoint(*, session: Session, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("Webhook niet gevonden.")
    _provider(session, principal, endpoint.provider_id)
    return endpoint


def remove_endpoint(*, session: Session, principal: Principal, endpoint_id: int) -> None:
    endpoint = load_endpoint(session=session, principal=principal, endpoint_id=endpoint_id)
    endpoint.active = False  # its delivery log stays readable
    session.add(endpoint)
    session.flush()
    detail = {"provider_id": endpoint.provider_id, "url": endpoint.url}
    provider = session.get(Provider, endpoint.provider_id)
    _audit(
        session, principal, "webhook_endpoint.remove", "webhook_endpoint", endpoint_id, detail=detail, provider=provider
    )


def test_endpoint(*, session: Session, principal: Principal, endpoint_id: int) -> Notification:
    """A test message to one endpoint, through the outbox like every other (so it shows in the
    delivery log with its attempts)."""
    endpoint = load_endpoint(session=session, principal=principal, endpoint_id=endpoint_id)
    now = utcnow()
    row = Notification(
        key=f"test:{endpoint.id}:{now.timestamp():.6f}",
        trigger="test",
        channel=WEBHOOK,
        status=PENDING,
        endpoint_id=endpoint.id,
        provider_id=endpoint.provider_id,
        subject="Testbericht van plekwijzer",
        body="Dit is een testbericht: uw webhook is goed ingesteld als dit aankomt.",
        payload={"trigger": "test", "subject": "Testbericht van plekwijzer"},
        created_at=now,
        due_at=now,
    )
    session.add(row)
    session.flush()
    on_commit(session, dispatcher_wake)
    return row


def deliveries(*, session: Session, principal: Principal, endpoint_id: int, limit: int = 100) -> list[Notification]:
    load_endpoint(session=session, principal=principal, endpoint_id=endpoint_id)
    query = select(Notification).where(Notification.endpoint_id == endpoint_id)
    return list(session.exec(query.order_by(col(Notification.id).desc()).limit(limit)))


# --- the dead-letter list ----------------------------------------------------------------------


def _admin(principal: Principal) -> None:
    if principal.role != Role.admin:
        raise Forbidden("Alleen een beheerder ziet de onbezorgde meldingen.")


def dead_letters(*, session: Session, principal: Principal, limit: int = 200) -> list[Notification]:
    _admin(principal)
    query = select(Notification).where(Notification.status == DEAD)
    scope = principal.region_scope
    if scope is not None:
        query = query.where(
            or_(
                col(Notification.region_id) == scope,
                col(Notification.provider_id).in_(select(Provider.id).where(Provider.region_id == scope)),
            )
        )
    return list(session.exec(query.order_by(col(Notification.id).desc()).limit(limit)))


def retry(*, session: Session, principal: Principal, notification_id: int) -> Notification:
    """Give a dead notification a fresh round of attempts (the receiver is back)."""
    from backend.errors import Conflict

    _admin(principal)
    row = session.exec(select(Notification).where(Notification.id == notification_id).with_for_update()).first()
    visible = row is not None and row.channel != APP and _in_scope(session, principal, row)
    if row is None or not visible:
        raise NotFound("Melding niet gevonden.")
    if row.status != DEAD:
        raise Conflict("Deze melding staat niet op de lijst van onbezorgde meldingen.", code="not_dead")
    row.status, row.attempts, row.due_at, row.claimed_until = PENDING, 0, utcnow(), None
    session.add(row)
    session.flush()
    return row


def _in_scope(session: Session, principal: Principal, row: Notification) -> bool:
    scope = principal.region_scope
    if scope is None:
        return True
    if row.region_id is not None:
        return row.region_id == scope
    provider = session.get(Provider, row.provider_id) if row.provider_id is not None else None
    return provider is not None and provider.region_id == scope


def count(session: Session, *, status: str | None = None) -> int:
    query = select(func.count()).select_from(Notification)
    if status is not None:
        query = query.where(Notification.status == status)
    return int(session.exec(query).one())


# --- the one-click "niets veranderd" link -----------------------------------------------------------

LINK_HOURS = 24


def sign_link(settings: Settings, *, group_id: int, version: int, now: datetime | None = None) -> str:
    """A token that confirms one group's figure, as it was at ``version``, once, for 24 hours.
    HMAC-SHA256 under the secret key (a purpose prefix, so no other token verifies as this)."""
    import base64
    import hashlib
    import hmac
    import json
    import secrets

    expires = int(((now or utcnow()) + timedelta(hours=LINK_HOURS)).timestamp())
    claims = {"g": group_id, "v": version, "n": secrets.token_hex(12), "e": expires}
    body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(settings.secret_key.encode(), b"figure-confirm." + body.encode(), hashlib.sha256).digest()
    return body + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def read_link(settings: Settings, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The claims of a valid, unexpired token; otherwise a Dutch refusal."""
    import base64
    import binascii
    import hashlib
    import hmac
    import json

    from backend.errors import Forbidden as Refused

    invalid = Refused("Deze link is ongeldig.", code="link_invalid")
    body, _, mac = token.partition(".")
    if not body or not mac or len(token) > 400:
        raise invalid
    expected = hmac.new(settings.secret_key.encode(), b"figure-confirm." + body.encode(), hashlib.sha256).digest()
    try:
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(expected, given) or not isinstance(claims, dict):
        raise invalid
    if int(claims.get("e", 0)) < int((now or utcnow()).timestamp()):
        raise Refused(
            "Deze link is verlopen (hij is 24 uur geldig). Log in om de plaatsen bij te werken.", code="link_expired"
        )
    return claims


def confirm_figure(*, session: Session, settings: Settings, token: str) -> dict[str, Any]:
    """The one thing the link can do: confirm that one group's figure, unchanged, once.

    The report goes through the availability service like any other (the one writer of the
    places), with the group's own current values; the link's version must still be the
    group's, so a figure that changed since the e-mail is not confirmed blindly."""
    from backend.availability import service as places
    from backend.availability.models import AvailabilityUpdate
    from backend.errors import Conflict
    from backend.notifications.models import UsedLink
    from backend.providers.models import Group

    claims = read_link(settings, token)
    nonce = str(claims["n"])[:40]
    if session.get(UsedLink, nonce) is not None:
        raise Conflict("Deze link is al gebruikt; de plaatsen zijn toen bevestigd.", code="link_used")
    session.add(UsedLink(nonce=nonce, used_at=utcnow()))
    session.flush()  # a second use at the same moment fails on the key
    group = session.get(Group, int(claims["g"]))
    if group is None:
        raise NotFound("Groep niet gevonden.")
    actor = Principal(
        kind="link", id=0, name="eenklik-link", role=Role.provider, provider_id=group.provider_id, region_id=None
    )
    change = places.report(
        session=session,
        principal=actor,
        group_id=group.id,  # type: ignore[arg-type]
        report=AvailabilityUpdate(
            free_places=group.free_places,
            admitting=group.admitting,
            reason=group.not_admitting_reason,
            expected_free_date=group.expected_free_date,
            waiting_list=group.waiting_list,
        ),
        expected_version=int(claims["v"]),
        stale_after_hours=settings.stale_after_hours,
    )
    if change is None:  # pragma: no cover - report raises instead
        raise Conflict("De plaatsen konden niet worden bevestigd.")
    return {"group_id": group.id, "name": group.name, "free_places": group.free_places}
