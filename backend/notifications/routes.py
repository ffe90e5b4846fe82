"""HTTP layer for notifications: the own notification centre and preferences, a provider's
contacts and webhook endpoints (with a test message and the delivery log), the dead-letter list
for administrators, and the one-click link that confirms a stale figure without logging in.

Notifications carry no youth data (proposal and group numbers, never a youth's reference), so
reading them writes no audit row."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from backend.auth import CurrentPerson, CurrentPrincipal, require_roles
from backend.db import DatabaseDep, ReadSessionDep, WriteSessionDep
from backend.domain import as_utc
from backend.errors import DomainError
from backend.notifications import service
from backend.notifications.models import (
    ContactCreate,
    ContactPublic,
    EndpointCreate,
    EndpointCreated,
    EndpointPublic,
    Inbox,
    Notification,
    NotificationPublic,
    PreferencePublic,
    PreferenceUpdate,
)
from backend.users.models import Role

router = APIRouter(tags=["meldingen"])
PROVIDER_SIDE = require_roles(Role.provider, Role.admin)


def _public(row: Notification) -> NotificationPublic:
    public = NotificationPublic.model_validate(row, from_attributes=True)
    # SQLite hands back times without a zone; they are UTC, and the web app must know it.
    for name in ("created_at", "due_at", "delivered_at", "read_at"):
        setattr(public, name, as_utc(getattr(public, name)))
    return public


@router.get("/notifications", response_model=Inbox)
def get_inbox(
    session: ReadSessionDep, principal: CurrentPerson, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Inbox:
    """The caller's own notification centre: the newest notifications and the unread count."""
    unread, rows = service.inbox(session=session, principal=principal, limit=limit)
    return Inbox(unread=unread, notifications=[_public(r) for r in rows])


@router.post("/notifications/read-all")
def post_read_all(session: WriteSessionDep, principal: CurrentPerson) -> dict[str, int]:
    return {"read": service.mark_read(session=session, principal=principal, notification_id=None)}


@router.post("/notifications/{notification_id}/read")
def post_read(notification_id: int, session: WriteSessionDep, principal: CurrentPerson) -> dict[str, int]:
    return {"read": service.mark_read(session=session, principal=principal, notification_id=notification_id)}


def _preferences(pref: Any) -> PreferencePublic:
    return PreferencePublic(
        email=pref.email,
        channels=pref.channels,
        quiet_start=pref.quiet_start,
        quiet_end=pref.quiet_end,
        digest=pref.digest,
        triggers=service.trigger_labels(),
    )


@router.get("/notifications/preferences", response_model=PreferencePublic)
def get_preferences(session: ReadSessionDep, principal: CurrentPerson) -> PreferencePublic:
    return _preferences(service.read_preferences(session=session, principal=principal))


@router.put("/notifications/preferences", response_model=PreferencePublic)
def put_preferences(data: PreferenceUpdate, session: WriteSessionDep, principal: CurrentPerson) -> PreferencePublic:
    """Channels per kind of notification, quiet hours (local time; an urgent crisis hold
    ignores them) and a daily digest instead of single e-mails."""
    return _preferences(service.change_preferences(session=session, principal=principal, data=data))


@router.get(
    "/notifications/dead-letters", response_model=list[NotificationPublic], dependencies=[require_roles(Role.admin)]
)
def get_dead_letters(session: ReadSessionDep, principal: CurrentPrincipal) -> list[NotificationPublic]:
    """E-mails and webhooks that failed every attempt (a region administrator: its region's)."""
    return [_public(r) for r in service.dead_letters(session=session, principal=principal)]


@router.post(
    "/notifications/{notification_id}/retry",
    response_model=NotificationPublic,
    dependencies=[require_roles(Role.admin)],
)
def post_retry(notification_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> NotificationPublic:
    return _public(service.retry(session=session, principal=principal, notification_id=notification_id))


# --- a provider's contacts and webhooks ---------------------------------------------------------------


@router.get("/providers/{provider_id}/contacts", response_model=list[ContactPublic], dependencies=[PROVIDER_SIDE])
def get_contacts(provider_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> list[Any]:
    return service.list_contacts(session=session, principal=principal, provider_id=provider_id)


@router.post(
    "/providers/{provider_id}/contacts", response_model=ContactPublic, status_code=201, dependencies=[PROVIDER_SIDE]
)
def post_contact(provider_id: int, data: ContactCreate, session: WriteSessionDep, principal: CurrentPrincipal) -> Any:
    """A mailbox that hears of crisis holds on the provider's groups (`crisis`: its 24-hour
    contact) and/or of new proposals (`proposals`)."""
    return service.add_contact(session=session, principal=principal, provider_id=provider_id, data=data)


@router.delete("/provider-contacts/{contact_id}", status_code=204, dependencies=[PROVIDER_SIDE])
def delete_contact(contact_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> None:
    service.remove_contact(session=session, principal=principal, contact_id=contact_id)


@router.get("/providers/{provider_id}/webhooks", response_model=list[EndpointPublic], dependencies=[PROVIDER_SIDE])
def get_endpoints(provider_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> list[Any]:
    return service.list_endpoints(session=session, principal=principal, provider_id=provider_id)


@router.post(
    "/providers/{provider_id}/webhooks", response_model=EndpointCreated, status_code=201, dependencies=[PROVIDER_SIDE]
)
def post_endpoint(
    provider_id: int, data: EndpointCreate, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> EndpointCreated:
    """A webhook endpoint of the provider's system. The answer holds the signing secret
    (Standard Webhooks, `whsec_...`): it is shown this once."""
    endpoint, secret = service.add_endpoint(
        session=session, principal=principal, provider_id=provider_id, data=data, settings=request.app.state.settings
    )
    return EndpointCreated(**EndpointPublic.model_validate(endpoint, from_attributes=True).model_dump(), secret=secret)


@router.delete("/webhooks/{endpoint_id}", status_code=204, dependencies=[PROVIDER_SIDE])
def delete_endpoint(endpoint_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> None:
    service.remove_endpoint(session=session, principal=principal, endpoint_id=endpoint_id)


@router.post(
    "/webhooks/{endpoint_id}/test", response_model=NotificationPublic, status_code=202, dependencies=[PROVIDER_SIDE]
)
def post_test(endpoint_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> NotificationPublic:
    """Send a signed test message (within seconds; its outcome shows in the delivery log)."""
    return _public(service.test_endpoint(session=session, principal=principal, endpoint_id=endpoint_id))


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=list[NotificationPublic], dependencies=[PROVIDER_SIDE])
def get_deliveries(endpoint_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> list[NotificationPublic]:
    """The delivery log: every message to this endpoint, with its state, attempts and last error."""
    return [_public(r) for r in service.deliveries(session=session, principal=principal, endpoint_id=endpoint_id)]


# --- the one-click link ----------------------------------------------------------------------------

_PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>plekwijzer</title>
<link rel="stylesheet" href="/app/styles.css"></head><body><main class="link-page"><h1>plekwijzer</h1>{body}</main>
</body></html>"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body=body), status_code=status)


# The link's answers are pages (opened from an e-mail), but a request without a token is refused
# before the route runs, as JSON like every other input error.
_PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
}


@router.get("/figure-confirmations", response_class=HTMLResponse, responses=_PAGE_RESPONSES)
def get_confirmation_page(token: Annotated[str, Query(max_length=400)], request: Request) -> HTMLResponse:
    """The page behind the "niets veranderd" link in the e-mail: one button. Opening the link
    changes nothing (mail scanners open links); the button confirms."""
    from html import escape

    try:
        service.read_link(request.app.state.settings, token)
    except DomainError as exc:
        return _page(f"<p>{escape(str(exc.message))}</p>", exc.status_code)
    return _page(
        "<p>Klopt het aantal vrije plaatsen van uw groep nog? Bevestig het met één klik.</p>"
        '<form method="post" action="/api/v1/figure-confirmations">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        '<button type="submit">Niets veranderd</button></form>'
    )


@router.post("/figure-confirmations", response_class=HTMLResponse, responses=_PAGE_RESPONSES)
def post_confirmation(token: Annotated[str, Form(max_length=400)], db: DatabaseDep) -> HTMLResponse:
    """Confirm the one group's figure the link was made for, once; no login needed."""
    from html import escape

    try:
        with db.transaction() as session:  # its own unit: the refusal page is an answer, not an error
            done = service.confirm_figure(session=session, settings=db.settings, token=token)
    except DomainError as exc:
        return _page(f"<p>{escape(str(exc.message))}</p>", exc.status_code)
    return _page(f"<p>Dank u. De {done['free_places']} vrije plaatsen van {escape(done['name'])} zijn bevestigd.</p>")
