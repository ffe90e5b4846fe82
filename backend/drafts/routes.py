"""HTTP layer for drafts: one half-finished form per person and form key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import Response

from backend.auth import CurrentPerson
from backend.db import WriteSessionDep
from backend.drafts import service
from backend.drafts.models import DraftPublic, DraftSave

router = APIRouter(tags=["concepten"])
FormKey = Annotated[str, Path(max_length=60, description="formulier, eventueel met ':<id>' (zie FORMS)")]


@router.get("/drafts/{form_key}", response_model=DraftPublic)
def get_draft(form_key: FormKey, session: WriteSessionDep, principal: CurrentPerson) -> DraftPublic:
    """The caller's own draft of this form (404 when there is none or it expired). A write
    session: reading a draft with youth data is audited."""
    return service.to_public(service.read_draft(session=session, principal=principal, form_key=form_key))


@router.put("/drafts/{form_key}", response_model=DraftPublic)
def put_draft(
    form_key: FormKey, body: Annotated[DraftSave, Body()], session: WriteSessionDep, principal: CurrentPerson
) -> DraftPublic:
    """Keep the form as it is now (replaces the previous draft; kept 7 days after the last save)."""
    draft = service.save_draft(session=session, principal=principal, form_key=form_key, data=body.data)
    return service.to_public(draft)


@router.delete("/drafts/{form_key}", status_code=204)
def delete_draft(form_key: FormKey, session: WriteSessionDep, principal: CurrentPerson) -> Response:
    """The form was sent or given up: discard its draft."""
    service.discard_draft(session=session, principal=principal, form_key=form_key)
    return Response(status_code=204)
