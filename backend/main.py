"""The app factory: settings, database, live hub, routers, error handlers and the web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.apidocs import install_api_docs
from backend.audit.refusals import install_refusal_audit
from backend.auth import hash_slots
from backend.config import Settings, get_settings
from backend.db import Database
from backend.errors import ERROR_RESPONSES, install_error_handlers
from backend.live.hub import LiveHub
from backend.registry import PERIODIC_TASKS, ROUTERS
from backend.security import SecurityHeaders
from backend.tasks import start_periodic_tasks, stop_periodic_tasks

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"


# Routes that take larger bodies than the rest (path -> setting with their limit).
LARGE_BODY_ROUTES = {"/api/v1/occupancy/events": "max_feed_body_bytes"}


def body_limit(settings: Settings, path: str) -> int:
    """Largest body accepted on ``path``, in bytes."""
    name = LARGE_BODY_ROUTES.get(path)
    return int(getattr(settings, name)) if name else settings.max_body_bytes


class BodySizeLimit:
    """Refuses bodies over the configured size with 413 before anything reads them."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self._limited(scope, receive, send, body_limit(self.settings, scope.get("path", "")))

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            response = JSONResponse(
                {"detail": f"Het verzoek is te groot (meer dan {max_bytes} bytes).", "code": "body_too_large"},
                status_code=413,
            )
            await response(scope, receive, send)
            return
        if declared is None:
            # No Content-Length (chunked): read the body here, up to the limit, so that an
            # oversized one gets this 413 rather than the framework's generic 400 "error
            # parsing the body" (which it makes of any exception raised while reading).
            messages = []
            seen = 0
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    response = JSONResponse(
                        {
                            "detail": f"Het verzoek is te groot (meer dan {max_bytes} bytes).",
                            "code": "body_too_large",
                        },
                        status_code=413,
                    )
                    await response(scope, receive, send)
                    return
                if not message.get("more_body", False):
                    break

            async def replay():  # type: ignore[no-untyped-def]
                return messages.pop(0) if messages else await receive()

            await self.app(scope, replay, send)
            return
        seen = 0

        async def limited_receive():  # type: ignore[no-untyped-def]
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            response = JSONResponse(
                {"detail": f"Het verzoek is te groot (meer dan {max_bytes} bytes).", "code": "body_too_large"},
                status_code=413,
            )
            await response(scope, receive, send)


class _TooLarge(Exception):
    pass


@cache
def api_routes() -> tuple[BaseRoute, ...]:
    """The routes under ``/api/v1``, built once per process and shared by every app made in it.

    FastAPI analyses each route's parameters and responses per inclusion (about 1.8 s for this
    API); the routes hold no per-app state (they read settings and database from
    ``request.app.state``), so an app made per test, per server or per worker reuses them.
    """
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    for router in ROUTERS:
        api.include_router(router)
    holder = APIRouter()  # without an app: no dependency overrides, which plekwijzer never uses
    holder.include_router(api)  # builds every route's handling now, once
    return tuple(holder.routes)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = LiveHub(db)
        app.state.live = hub
        await hub.start()
        periodic = start_periodic_tasks(db, PERIODIC_TASKS) if settings.run_periodic_tasks else []
        try:
            yield
        finally:
            await stop_periodic_tasks(periodic, db, PERIODIC_TASKS if settings.run_periodic_tasks else [])
            await hub.stop()
            db.dispose()

    app = FastAPI(
        title="plekwijzer",
        version="0.1.0",
        description="Live beschikbaarheid en uitlegbare matching van plekken in de residentiële "
        "jeugdhulp. Authenticatie: OAuth2 (wachtwoord, JWT) of een API-sleutel in `X-API-Key`.",
        lifespan=lifespan,
        # Served by backend/apidocs.py instead: without a CDN, and only for an administrator
        # outside development.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    hash_slots.configure(settings.password_hash_concurrency, settings.password_hash_queue)
    install_error_handlers(app)
    install_refusal_audit(app)  # refused attempts on youth data are audited (NEN 7513)

    app.router.routes.extend(api_routes())

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if (FRONTEND_DIR / "index.html").exists():
        app.mount("/app", StaticFiles(directory=FRONTEND_DIR, html=True), name="frontend")

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse("/app/")

        @app.get("/favicon.ico", include_in_schema=False)
        def favicon() -> FileResponse:
            return FileResponse(FRONTEND_DIR / "favicon.svg", media_type="image/svg+xml")

    install_api_docs(app, settings)
    app.add_middleware(BodySizeLimit, settings=settings)
    # Outermost (added last), so that every answer gets the headers, a 413 included.
    app.add_middleware(SecurityHeaders, settings=settings)
    return app
