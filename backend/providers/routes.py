"""HTTP layer for providers and groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from backend.auth import CurrentPrincipal, ensure_provider_access
from backend.config import Settings
from backend.db import ReadSessionDep
from backend.domain import CARE_FORMS, NEED_TAGS
from backend.errors import NotFound
from backend.providers.models import GroupPublic, Provider, ProviderPublic
from backend.providers.service import get_group_for, list_groups, list_providers, to_public

router = APIRouter(tags=["aanbieders en groepen"])


@router.get("/providers", response_model=list[ProviderPublic])
def get_providers(session: ReadSessionDep, principal: CurrentPrincipal) -> list[Provider]:
    return list_providers(session=session, principal=principal)


@router.get("/providers/{provider_id}", response_model=ProviderPublic)
def get_provider(provider_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("Aanbieder niet gevonden.")
    ensure_provider_access(principal, provider_id, what="Aanbieder")
    return provider


@router.get("/groups", response_model=list[GroupPublic])
def get_groups(
    request: Request,
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    care_form: Annotated[list[str] | None, Query()] = None,
    municipality_id: Annotated[list[int] | None, Query()] = None,
    min_free: Annotated[int | None, Query(ge=0)] = None,
    admitting_only: bool = False,
    provider_id: int | None = None,
    region_id: int | None = None,
    crisis_only: bool = False,
    include_inactive: Annotated[bool, Query(description="ook groepen die (nog) niet of niet meer actief zijn")] = False,
) -> list[GroupPublic]:
    settings: Settings = request.app.state.settings
    return list_groups(
        session=session,
        principal=principal,
        stale_after_hours=settings.stale_after_hours,
        care_forms=care_form,
        municipality_ids=municipality_id,
        min_free=min_free,
        admitting_only=admitting_only,
        provider_id=provider_id,
        region_id=region_id,
        crisis_only=crisis_only,
        include_inactive=include_inactive,
    )


@router.get("/groups/{group_id}", response_model=GroupPublic)
def get_group(group_id: int, request: Request, session: ReadSessionDep, principal: CurrentPrincipal) -> JSONResponse:
    settings: Settings = request.app.state.settings
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    body = to_public(session, group, stale_after_hours=settings.stale_after_hours).model_dump(mode="json")
    return JSONResponse(body, headers={"ETag": f'"{group.version}"'})


@router.get("/ui-settings")
def get_ui_settings(request: Request, _: CurrentPrincipal) -> dict[str, object]:
    """Installation settings the web app needs: the optional map tile server and the age at
    which a reported figure counts as stale."""
    settings: Settings = request.app.state.settings
    return {"tile_server_url": settings.tile_server_url, "stale_after_hours": settings.stale_after_hours}


@router.get("/vocabulary")
def get_vocabulary(_: CurrentPrincipal) -> dict[str, object]:
    """Care forms and need tags with their Dutch labels, for forms and filters."""
    return {
        "care_forms": [
            {"code": code, "label": label, "segment": segment, "max_intensity": top}
            for code, (label, segment, top) in CARE_FORMS.items()
        ],
        "need_tags": [{"code": code, "label": label} for code, label in NEED_TAGS.items()],
    }
