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
from backend.errors import Forbidden, ServiceBusy, Unauthorized
from backend.users.mfa import complete_challenge, confirm_reenrolment, start_reenrolment
from backend.users.models import (
    MfaChallengeOut,
    MfaCodeIn,
    MfaReenrolConfirm,
    MfaReenrolStart,
    MfaToken,
    RefreshRequest,
    Token,
    User,
)
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


@router.post(
    "/auth/mfa/re-enrol",
    response_model=MfaChallengeOut,
    responses={
        401: {"description": "Code of wachtwoord onjuist"},
        422: {"description": "Nog geen authenticator-app ingesteld"},
        429: {"description": "Te veel pogingen"},
    },
)
def post_mfa_reenrol(
    body: MfaReenrolStart, principal: CurrentPrincipal, request: Request, db: DatabaseDep
) -> MfaChallengeOut:
    """Move to a new authenticator app while logged in, step one: confirm with a code from the
    current app (or the password). The answer holds a new secret and QR code and an
    ``mfa_token`` for ``POST /auth/mfa/re-enrol/confirm``; the current app keeps working until
    then."""
    settings: Settings = request.app.state.settings
    if principal.kind != "user":
        raise Forbidden("Alleen een persoon stelt een authenticator-app in.", code="role_forbidden")
    client = client_address(request, settings)
    # Counted before the password or code is looked at, as a login (a stolen access token must
    # not become a way to guess the password), and committed also when the answer is 401.
    with db.transaction() as session:
        limits = reserve_login(session=session, settings=settings, username=principal.name, client=client)
    password_ok = False
    if body.password:
        with db.transaction(write=False) as session:
            user = session.get(User, principal.id)
        try:
            password_ok = password_matches(user, body.password)  # slow on purpose: outside a transaction
        except ServiceBusy:
            with db.transaction() as session:
                release_attempt(session=session, limits=limits)
            raise
    with db.transaction() as session:
        started, error = start_reenrolment(
            session=session,
            settings=settings,
            user_id=principal.id,
            code=body.code,
            password_ok=password_ok,
            limits=limits,
            client=client,
        )
    if error is not None or started is None:
        raise error or Unauthorized("Dat is niet gelukt.", code="mfa_confirm_invalid")
    return started


@router.post(
    "/auth/mfa/re-enrol/confirm",
    status_code=204,
    responses={401: {"description": "Code onjuist, of de stap is verlopen"}, 429: {"description": "Te veel pogingen"}},
)
def post_mfa_reenrol_confirm(
    body: MfaReenrolConfirm, principal: CurrentPrincipal, request: Request, db: DatabaseDep
) -> Response:
    """Step two: the first code of the new app. Only now the old secret is replaced (and the
    old app stops working); audited."""
    settings: Settings = request.app.state.settings
    client = client_address(request, settings)
    with db.transaction() as session:  # committed also for a wrong code: the attempt counts
        error = confirm_reenrolment(
            session=session, settings=settings, actor=principal, token=body.mfa_token, code=body.code, client=client
        )
    if error is not None:
        raise error
    return Response(status_code=204)


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
