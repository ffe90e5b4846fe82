"""HTTP layer for logging in (password, then the second factor where the role needs one) and
for who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from backend.auth import CurrentPrincipal, client_address, find_login_user, password_matches
from backend.config import Settings
from backend.db import DatabaseDep, WriteSessionDep
from backend.errors import ServiceBusy, Unauthorized
from backend.users.mfa import complete_challenge
from backend.users.models import MfaChallengeOut, MfaCodeIn, MfaToken, RefreshRequest, Token
from backend.users.service import finish_login, issue_tokens, release_attempt, reserve_login
from backend.users.sessions import end_sessions, refresh

router = APIRouter(tags=["inloggen"])


@router.post(
    "/auth/token",
    response_model=Token | MfaChallengeOut,
    responses={
        401: {"description": "Onjuiste inloggegevens"},
        429: {"description": "Te veel pogingen"},
        503: {"description": "Even te druk om in te loggen (Retry-After)"},
    },
)
def post_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db: DatabaseDep
) -> Token | MfaChallengeOut:
    """Step one: the password. For a role in ``PLEKWIJZER_MFA_ROLES`` the answer has no access
    token but an ``mfa_token`` for ``POST /auth/mfa`` (with, the first time, the enrolment)."""
    settings: Settings = request.app.state.settings
    client = client_address(request, settings)
    # The attempt is counted and committed before the password is checked (a failure must
    # count although the answer is 401, and concurrent guesses must see each other's count);
    # the slow hash runs outside any transaction, so it holds no connection or lock.
    with db.transaction() as session:
        limits = reserve_login(session=session, settings=settings, username=form.username, client=client)
    with db.transaction(write=False) as session:
        user = find_login_user(session, form.username)
    try:
        matches = password_matches(user, form.password)
    except ServiceBusy:
        # Refused before the password was looked at: this attempt must not count as a failure.
        with db.transaction() as session:
            release_attempt(session=session, limits=limits)
        raise
    if not matches or user is None or user.id is None:
        raise Unauthorized(
            "Onjuiste gebruikersnaam of wachtwoord.", code="login_failed", headers={"WWW-Authenticate": "Bearer"}
        )
    with db.transaction() as session:
        return finish_login(session=session, settings=settings, user_id=user.id, limits=limits, client=client)


@router.post(
    "/auth/mfa",
    response_model=MfaToken,
    responses={
        401: {"description": "Code onjuist, of de inlogstap is verlopen"},
        429: {"description": "Te veel pogingen"},
    },
)
def post_mfa(body: MfaCodeIn, request: Request, db: DatabaseDep) -> MfaToken:
    """Step two: a code from the authenticator app (or a one-time recovery code) with the
    ``mfa_token`` of step one. After enrolment the answer also holds the recovery codes,
    shown this once."""
    settings: Settings = request.app.state.settings
    client = client_address(request, settings)
    # Its own transaction, committed also for a wrong code: the attempt must count.
    with db.transaction() as session:
        outcome = complete_challenge(
            session=session, settings=settings, token=body.mfa_token, code=body.code, client=client
        )
        if outcome.user is not None:
            token = issue_tokens(session=session, settings=settings, user=outcome.user)
    if outcome.error is not None or outcome.user is None:
        raise outcome.error or Unauthorized("Inloggen is mislukt.", code="mfa_code_invalid")
    return MfaToken(**token.model_dump(), recovery_codes=outcome.recovery_codes)


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
