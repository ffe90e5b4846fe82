"""HTTP layer for logging in and for who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from backend.auth import CurrentPrincipal, create_access_token
from backend.config import Settings
from backend.db import DatabaseDep
from backend.errors import Unauthorized
from backend.users.models import Token
from backend.users.service import login

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
            token, expires_in = create_access_token(user, settings)
    if user is None:
        raise Unauthorized(
            "Onjuiste gebruikersnaam of wachtwoord.", code="login_failed", headers={"WWW-Authenticate": "Bearer"}
        )
    return Token(access_token=token, role=user.role, provider_id=user.provider_id, expires_in=expires_in)


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
        }
    )
