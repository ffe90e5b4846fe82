"""HTTP layer for logging in and for who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from backend.auth import CurrentPrincipal
from backend.config import Settings
from backend.db import DatabaseDep, WriteSessionDep
from backend.errors import Unauthorized
from backend.users.models import RefreshRequest, Token
from backend.users.service import login
from backend.users.sessions import end_sessions, refresh, start_session

router = APIRouter(tags=["inloggen"])


@router.post(
    "/auth/token",
    response_model=Token,
    responses={401: {"description": "Onjuiste inloggegevens"}, 429: {"description": "Te veel pogingen"}},
)
def post_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db: DatabaseDep) -> Token:
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client else "onbekend"
    # Its own transaction, committed even when the password is wrong: the failure must count.
    with db.transaction() as session:
        user = login(session=session, settings=settings, username=form.username, password=form.password, client=client)
        if user is not None:
            tokens = start_session(session=session, user=user, settings=settings)
    if user is None:
        raise Unauthorized(
            "Onjuiste gebruikersnaam of wachtwoord.", code="login_failed", headers={"WWW-Authenticate": "Bearer"}
        )
    return tokens


@router.post("/auth/refresh", response_model=Token, responses={401: {"description": "Sessie verlopen of beëindigd"}})
def post_refresh(body: RefreshRequest, request: Request, db: DatabaseDep) -> Token:
    """A new access token and refresh token for a refresh token, which is then used up."""
    # Its own transaction, committed also when the answer is 401: reusing a used refresh token
    # ends its session, and that must stay ended.
    with db.transaction() as session:
        outcome = refresh(session=session, settings=request.app.state.settings, refresh_token=body.refresh_token)
    if isinstance(outcome, Unauthorized):
        raise outcome
    return outcome


@router.post("/auth/logout", status_code=204)
def post_logout(principal: CurrentPrincipal, session: WriteSessionDep) -> Response:
    """End this login session: its access and refresh tokens and its websockets stop working."""
    if principal.session_id is not None:
        end_sessions(session=session, session_ids=[principal.session_id], reason="uitgelogd", actor=principal.label)
    return Response(status_code=204)


@router.get("/auth/me")
def get_me(principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(
        {
            "kind": principal.kind,
            "id": principal.id,
            "name": principal.name,
            "role": principal.role,
            "provider_id": principal.provider_id,
            "region_id": principal.region_id,
            "manages_provider": principal.manages_provider,
        }
    )
