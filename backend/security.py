"""Security headers on every HTTP response, and no caching of API answers.

- **Content-Security-Policy**: the web app (``frontend/``) loads scripts, styles, images and
  its websocket from this server only, so a script injected into a page cannot load code or
  send data elsewhere; ``frame-ancestors 'none'`` (with ``X-Frame-Options: DENY`` for old
  browsers) stops another site from framing plekwijzer to trick a click. Images may also come
  from the configured map tile server and be ``blob:`` (the report charts) or ``data:``. The
  API documentation pages get the same policy with inline styles allowed, which Swagger UI and
  ReDoc need (never inline scripts).
- **X-Content-Type-Options: nosniff**: a download (an export, an SVG chart) is never run as
  something else than its declared type.
- **Referrer-Policy: strict-origin-when-cross-origin**: another site (the configured map tile
  server, whose usage policy may ask for a referrer) learns at most plekwijzer's host name,
  never a path with ids in it; and nothing at all over plain HTTP.
- **Permissions-Policy**: only the location (the crisis screen's "my position") is used, and
  only by this site.
- **Strict-Transport-Security** when the request came over TLS: directly, or through a proxy
  in ``PLEKWIJZER_TRUSTED_PROXIES`` that says so in ``X-Forwarded-Proto`` (the same trust as
  the login limits' client address; uvicorn's own forwarded-header handling is off), or when
  the setting ``hsts`` says the server always stands behind TLS.
- **Cache-Control: no-store** on every ``/api/`` answer: youth data (referrals, proposals,
  holds, occupancy, audit, matching) never stays in a browser cache or a shared proxy.

Written as plain ASGI middleware (not ``BaseHTTPMiddleware``) so that it adds no task per
request on the hot paths, and never touches websockets.
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.config import Settings

HSTS_VALUE = "max-age=31536000; includeSubDomains"
DOCS_PATHS = ("/docs", "/redoc")


def _origin(url: str | None) -> str | None:
    """The scheme and host of a tile server URL such as ``https://tiles.example.org/{z}/{x}/{y}.png``."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings, *, docs: bool = False) -> str:
    images = ["'self'", "data:", "blob:"]
    tiles = _origin(settings.tile_server_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        # Swagger UI and ReDoc set style attributes and <style> elements; the web app does not.
        "style-src": "'self' 'unsafe-inline'" if docs else "'self'",
        "img-src": " ".join(images),
        "font-src": "'self' data:" if docs else "'self'",
        "connect-src": "'self'",  # includes the same host's ws:/wss: (the live feed)
        "worker-src": "'self' blob:" if docs else "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders:
    """Adds the headers above to every HTTP response (errors and static files included)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hsts = settings.hsts
        self.proxies = settings.trusted_proxy_networks
        common = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("Permissions-Policy", "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ]
        self.app_headers = [("Content-Security-Policy", content_security_policy(settings)), *common]
        self.docs_headers = [("Content-Security-Policy", content_security_policy(settings, docs=True)), *common]

    def _tls_at_proxy(self, scope: Scope) -> bool:
        if not self.proxies or not scope.get("client"):
            return False
        try:
            peer = ip_address(scope["client"][0])
        except ValueError:
            return False
        if not any(peer in network for network in self.proxies):
            return False
        return any(name == b"x-forwarded-proto" and value.strip() == b"https" for name, value in scope["headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = list(self.docs_headers if path.startswith(DOCS_PATHS) else self.app_headers)
        if path.startswith("/api/") or path == "/openapi.json":
            extra.append(("Cache-Control", "no-store"))
        if self.hsts or scope.get("scheme") == "https" or self._tls_at_proxy(scope):
            extra.append(("Strict-Transport-Security", HSTS_VALUE))

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # An unexpected error: answer here, so that this answer has the headers too (the
            # framework's last-resort 500 is made outside every middleware) and says nothing
            # of the error itself; then re-raise, so that it is logged as before.
            if not started:
                await JSONResponse(
                    {"detail": "Er ging iets mis op de server; probeer het opnieuw.", "code": "server_error"},
                    status_code=500,
                )(scope, receive, send_with_headers)
            raise
