"""The live feed websocket: ``/api/v1/live``.

Authentication: ``ticket`` (a one-time ticket from ``POST /api/v1/live/ticket``, for browsers,
which cannot set headers on a websocket) or the ``Authorization`` / ``X-API-Key`` headers (other
clients). No token or API key in the URL: URLs are written to access logs. The ticket does appear
in uvicorn's access log line of the websocket, which is harmless because it is used up by that
very connection and expires after ``live_ticket_seconds`` anyway.
Query parameters: ``care_form`` and ``municipality_id``
(repeatable filters), ``own=true`` (only the caller's own groups), ``since=SEQ`` (replay what
was missed after SEQ, or a snapshot when too much was missed), ``snapshot=true`` (start with the
full current picture).

Messages are JSON objects with at least ``seq``, ``type`` and the new state (``group`` for
availability changes). Control messages: ``hello`` (the current position), ``snapshot``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect

from backend.auth import CurrentPrincipal, Principal, resolve_principal
from backend.db import WriteSessionDep
from backend.errors import DomainError
from backend.events.service import last_seq
from backend.live.hub import SESSION_ENDED_CLOSE, LiveHub, Subscriber
from backend.providers.service import list_groups
from backend.users.models import LiveTicketPublic
from backend.users.sessions import access_deadline, issue_ticket, redeem_ticket

router = APIRouter(tags=["live"])
POLICY_VIOLATION = 1008


def _authenticate(websocket: WebSocket) -> tuple[Principal, datetime | None]:
    """Who is connecting, and when their session or key runs out (the hub closes the
    websocket then, as when it is ended)."""
    db = websocket.app.state.db
    ticket = websocket.query_params.get("ticket")
    if ticket:
        with db.transaction() as session:  # writes: the ticket is used up
            principal = redeem_ticket(session=session, ticket=ticket, revocations=db.revocations)
            return principal, access_deadline(session, principal)
    header = websocket.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    api_key = websocket.headers.get("x-api-key")
    with db.transaction(write=False) as session:
        principal = resolve_principal(session, db.settings, db.revocations, token=token, api_key=api_key)
        return principal, access_deadline(session, principal)


@router.post("/live/ticket", status_code=201, response_model=LiveTicketPublic)
def post_live_ticket(principal: CurrentPrincipal, session: WriteSessionDep, request: Request) -> LiveTicketPublic:
    """A one-time ticket, valid for seconds, to open ``/api/v1/live?ticket=...`` with."""
    return issue_ticket(session=session, principal=principal, settings=request.app.state.settings)


def _snapshot(hub: LiveHub, subscriber: Subscriber) -> tuple[str, int]:
    with hub.db.transaction(write=False) as session:
        seq = last_seq(session)
        groups = list_groups(
            session=session,
            principal=subscriber.principal,
            stale_after_hours=hub.settings.stale_after_hours,
            care_forms=sorted(subscriber.care_forms) if subscriber.care_forms else None,
            municipality_ids=sorted(subscriber.municipalities) if subscriber.municipalities else None,
            provider_id=subscriber.principal.provider_id if subscriber.own_only else None,
        )
    body = {"type": "snapshot", "seq": seq, "groups": [g.model_dump(mode="json") for g in groups]}
    return json.dumps(body), seq


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    hub: LiveHub = websocket.app.state.live
    try:
        principal, expires_at = await asyncio.to_thread(_authenticate, websocket)
    except DomainError as exc:
        await websocket.close(code=POLICY_VIOLATION, reason=exc.message[:120])
        return
    params = websocket.query_params
    try:
        care_forms = frozenset(params.getlist("care_form")) or None
        municipalities = frozenset(int(m) for m in params.getlist("municipality_id")) or None
        since = int(params["since"]) if params.get("since") not in (None, "") else None
        # Beyond a database integer (or negative): refused here, not a server error later.
        if any(not 0 <= n < 2**63 for n in [*(municipalities or ()), *([] if since is None else [since])]):
            raise ValueError(since)
    except ValueError:
        await websocket.close(code=POLICY_VIOLATION, reason="Ongeldige filter of since-waarde")
        return
    own_only = params.get("own", "").lower() in ("1", "true", "ja")
    subscriber = Subscriber(
        principal=principal,
        care_forms=care_forms,
        municipalities=municipalities,
        own_only=own_only,
        expires_at=expires_at,
    )
    await websocket.accept()
    # Subscribe before catching up: events arriving meanwhile wait in the queue, and anything
    # already sent by the catch-up is skipped by its sequence number.
    hub.subscribe(subscriber)
    try:
        sent_up_to = await _start(
            websocket, hub, subscriber, since, params.get("snapshot", "").lower() in ("1", "true", "ja")
        )
        receiver = asyncio.create_task(_drain_incoming(websocket))
        # When the client goes away the queue gets an end marker, so the send loop below is a
        # plain queue read: no task and no asyncio.wait per message, which is what keeps
        # hundreds of clients cheap.
        receiver.add_done_callback(lambda _task: subscriber.end())
        try:
            while True:
                item = await subscriber.queue.get()
                if item is None:
                    if subscriber.ended_reason is not None and not receiver.done():
                        await websocket.close(code=SESSION_ENDED_CLOSE, reason=subscriber.ended_reason)
                        return
                    if not receiver.done():
                        await websocket.close(code=4000, reason="Te ver achter; maak opnieuw verbinding met since")
                    return
                seq, text = item
                if seq > sent_up_to:
                    await websocket.send_text(text)
                    sent_up_to = seq
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        hub.unsubscribe(subscriber)


async def _start(
    websocket: WebSocket, hub: LiveHub, subscriber: Subscriber, since: int | None, want_snapshot: bool
) -> int:
    if since is not None and not want_snapshot:
        caught_up = await asyncio.to_thread(hub.catch_up, subscriber, since)
        if caught_up is not None:
            texts, covered = caught_up
            for text in texts:
                await websocket.send_text(text)
            await websocket.send_json({"type": "hello", "seq": covered, "replayed": len(texts)})
            return covered
        want_snapshot = True
    if want_snapshot:
        text, seq = await asyncio.to_thread(_snapshot, hub, subscriber)
        await websocket.send_text(text)
        return seq
    seq = await asyncio.to_thread(hub._read_last_seq)
    await websocket.send_json({"type": "hello", "seq": seq, "replayed": 0})
    return seq


async def _drain_incoming(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message.get("type") == "websocket.disconnect":
                return
