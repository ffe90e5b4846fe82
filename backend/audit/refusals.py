"""Refused attempts on youth data are logged too (NEN 7513): a 401, 403 or 404 on a route of
referrals, proposals, holds, occupancy, matching or intensity re-assessments writes an audit row
with who (or "anonymous"), which route and object, and the refusal.

The row is written in a transaction of its own after the request's transaction rolled back,
from the app's handler of ``DomainError`` (every refusal is one). A failure to write it is
logged and the refusal is answered all the same.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from starlette.responses import Response

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.db import get_db
from backend.errors import DomainError

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
YOUTH_ROUTES = ("referrals", "proposals", "holds", "crisis", "occupancy", "matching", "intensity")
REFUSALS = (401, 403, 404)
# The object a path parameter names (the first one found is the row's object).
PATH_OBJECTS = (
    ("hold_id", "hold"),
    ("proposal_id", "proposal"),
    ("referral_id", "referral"),
    ("run_id", "matching_run"),
    ("reassessment_id", "reassessment"),
    ("group_id", "group"),
)
_REFERRAL_OF = {
    "hold": text("SELECT referral_id FROM holds WHERE id = :id"),
    "proposal": text("SELECT referral_id FROM proposals WHERE id = :id"),
}


def is_youth_route(path: str) -> bool:
    parts = path.split("/")
    return len(parts) > 3 and parts[1:3] == ["api", "v1"] and parts[3] in YOUTH_ROUTES


def route_template(request: Request) -> str:
    """The matched route as declared, e.g. /api/v1/referrals/{referral_id} (no ids: "" when no
    route matched). The route in the scope may carry its path without the API prefix."""
    route_path = getattr(request.scope.get("route"), "path", "")
    if route_path and not route_path.startswith(API_PREFIX) and request.url.path.startswith(API_PREFIX + "/"):
        return API_PREFIX + route_path
    return str(route_path)


def install_refusal_audit(app: FastAPI) -> None:
    """Wrap the app's ``DomainError`` handler (``backend.errors``) so refusals are logged."""
    answer = app.exception_handlers[DomainError]

    async def handler(request: Request, exc: Exception) -> Response:
        response = answer(request, exc)
        if not isinstance(response, Response):  # the handler is async (backend/errors.py)
            response = await response
        path = route_template(request)
        if isinstance(exc, DomainError) and exc.status_code in REFUSALS and is_youth_route(path):
            try:
                await run_in_threadpool(_record, request, exc, path)
            except Exception:  # the refusal stands; the missing row is in the server log
                log.warning("could not write the audit row of a refused request to %s", path, exc_info=True)
        return response

    app.add_exception_handler(DomainError, handler)


def _record(request: Request, exc: DomainError, path: str) -> None:
    principal: Principal | None = getattr(request.state, "principal", None)
    actor = principal or Principal(kind="anonymous", id=0, name="", role="anonymous", provider_id=None)
    params: dict[str, Any] = dict(request.path_params)
    object_type, object_id = "route", path
    for name, kind in PATH_OBJECTS:
        if name in params:
            object_type, object_id = kind, str(params[name])[:60]
            break
    with get_db(request).transaction() as session:
        youth = []
        if object_type in _REFERRAL_OF and object_id.isdigit() and len(object_id) < 10:
            referral = session.execute(_REFERRAL_OF[object_type], {"id": int(object_id)}).scalar()
            youth = audit.referrals([referral])
        audit.record(
            session=session,
            actor=actor,
            action="access.refused",
            object_type=object_type,
            object_id=object_id[:60],
            purpose=Purpose.access_refused,
            detail={
                "status": exc.status_code,
                "code": exc.code,
                "method": request.method,
                "route": path,
                "client": request.client.host if request.client else None,
            },
            youth=youth,
        )
