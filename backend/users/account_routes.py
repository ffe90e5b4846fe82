"""HTTP layer for managing people and API keys (``backend/users/accounts.py`` decides who may
manage whom), and for setting a password with an administrator's one-time code."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from backend.auth import CurrentPrincipal, require_roles
from backend.db import ReadSessionDep, WriteSessionDep
from backend.users import accounts
from backend.users.models import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    PasswordResetPublic,
    PasswordSet,
    Role,
    UserCreate,
    UserCreated,
    UserPublic,
    UserUpdate,
)

router = APIRouter(tags=["beheer"])
# Admins and provider administrators (provider users with the flag; checked per request from
# their current account, so other provider users and API keys get 403 there).
MANAGERS = [require_roles(Role.admin, Role.provider)]


@router.get("/users", response_model=list[UserPublic], dependencies=MANAGERS)
def get_users(principal: CurrentPrincipal, session: ReadSessionDep) -> list[UserPublic]:
    return accounts.list_users(session=session, principal=principal)


@router.post("/users", response_model=UserCreated, status_code=201, dependencies=MANAGERS)
def post_user(body: UserCreate, principal: CurrentPrincipal, session: WriteSessionDep, request: Request) -> UserCreated:
    """A new person; the answer has a one-time code (shown once) with which they set a password."""
    return accounts.create(session=session, principal=principal, body=body, settings=request.app.state.settings)


@router.patch("/users/{user_id}", response_model=UserPublic, dependencies=MANAGERS)
def patch_user(user_id: int, body: UserUpdate, principal: CurrentPrincipal, session: WriteSessionDep) -> UserPublic:
    """Change the role or the provider-administrator flag; the person's sessions end."""
    return accounts.change(session=session, principal=principal, user_id=user_id, body=body)


@router.post("/users/{user_id}/deactivate", response_model=UserPublic, dependencies=MANAGERS)
def post_deactivate(user_id: int, principal: CurrentPrincipal, session: WriteSessionDep) -> UserPublic:
    """The person can no longer log in; every session and websocket ends within a second."""
    return accounts.set_active(session=session, principal=principal, user_id=user_id, active=False)


@router.post("/users/{user_id}/reactivate", response_model=UserPublic, dependencies=MANAGERS)
def post_reactivate(user_id: int, principal: CurrentPrincipal, session: WriteSessionDep) -> UserPublic:
    return accounts.set_active(session=session, principal=principal, user_id=user_id, active=True)


@router.post(
    "/users/{user_id}/password-reset", response_model=PasswordResetPublic, status_code=201, dependencies=MANAGERS
)
def post_password_reset(
    user_id: int, principal: CurrentPrincipal, session: WriteSessionDep, request: Request
) -> PasswordResetPublic:
    """A one-time code (shown once) for a new password; the old one stops working."""
    return accounts.reset_password(
        session=session, principal=principal, user_id=user_id, settings=request.app.state.settings
    )


@router.post("/auth/password", status_code=204)
def post_password(body: PasswordSet, session: WriteSessionDep) -> Response:
    """Set a new password with the one-time code from an administrator (no login needed)."""
    accounts.set_password_with_code(session=session, code=body.code, password=body.password)
    return Response(status_code=204)


@router.get("/api-keys", response_model=list[ApiKeyPublic], dependencies=MANAGERS)
def get_api_keys(
    principal: CurrentPrincipal, session: ReadSessionDep, provider_id: int | None = None
) -> list[ApiKeyPublic]:
    return accounts.list_keys(session=session, principal=principal, provider_id=provider_id)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201, dependencies=MANAGERS)
def post_api_key(body: ApiKeyCreate, principal: CurrentPrincipal, session: WriteSessionDep) -> ApiKeyCreated:
    """A new key for a provider system, shown once in this answer."""
    return accounts.create_key(session=session, principal=principal, body=body)


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyPublic, dependencies=MANAGERS)
def post_revoke_api_key(key_id: int, principal: CurrentPrincipal, session: WriteSessionDep) -> ApiKeyPublic:
    """Revoke a key: refused, and its websockets closed, within a second in every API process."""
    return accounts.revoke_key(session=session, principal=principal, key_id=key_id)
