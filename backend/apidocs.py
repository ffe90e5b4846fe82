"""The API documentation: Swagger UI at ``/docs``, ReDoc at ``/redoc``, the document at
``/openapi.json``, all served by this server alone.

No CDN: the Swagger UI and ReDoc files come from the ``fastapi-offline`` package (installed from
PyPI, mounted at ``/docs-assets``); the pages' own start scripts live in ``apidocs_static/``
(``/docs-static``), because the Content-Security-Policy allows no inline script. FastAPI's own
documentation routes are switched off in ``main.create_app``.

Who may read it (setting ``api_docs``): in development everyone; elsewhere only a logged-in
administrator, whose token the pages take from the web app's session in the same browser tab;
or nobody (``off``: the routes do not exist). The HTML pages themselves hold nothing; the
document is what is protected.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.auth import CurrentPrincipal, require_roles
from backend.config import Settings
from backend.users.models import Role

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
OWN_DIR = Path(__file__).resolve().parent / "apidocs_static"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_LOGO = "/docs-assets/favicon.png"

_PAGE = """<!doctype html>
<html lang="nl">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>plekwijzer API-documentatie</title>
  <link rel="icon" href="/favicon.ico">
  {head}
</head>
<body>
  <p id="docs-status" role="status">API-documentatie laden…</p>
  {body}
</body>
</html>
"""

SWAGGER_PAGE = _PAGE.format(
    head='<link rel="stylesheet" href="/docs-assets/swagger-ui.css">',
    body='<div id="swagger-ui"></div>\n  <script src="/docs-assets/swagger-ui-bundle.js"></script>\n'
    '  <script src="/docs-static/swagger-init.js"></script>',
)
REDOC_PAGE = _PAGE.format(
    head="",
    body='<div id="redoc"></div>\n  <script src="/docs-assets/redoc.standalone.js"></script>\n'
    '  <script src="/docs-static/redoc-init.js"></script>',
)


# The route functions are module-level and find their app through the request: FastAPI keeps
# every dependency and endpoint function in a process-wide cache (4,096 entries), so a function
# made per app would keep each app of a test run, with its database pool, alive.


def api_paths(request: Request, _: CurrentPrincipal) -> dict[str, list[str]]:
    """The paths of the API document, for any logged-in person: the web app shows only the
    screens whose API this server has, without needing the (protected) document."""
    return {"paths": sorted(request.app.openapi()["paths"])}


@cache
def _redoc_js() -> str:
    # ReDoc's sidebar shows a logo from Redocly's CDN; this copy shows the package's own icon.
    return (ASSETS_DIR / "redoc.standalone.js").read_text(encoding="utf-8").replace(REDOC_CDN_LOGO, LOCAL_LOGO)


def redoc_script() -> Response:
    return Response(_redoc_js(), media_type="text/javascript; charset=utf-8")


def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def swagger_ui() -> HTMLResponse:
    return HTMLResponse(SWAGGER_PAGE)


def redoc() -> HTMLResponse:
    return HTMLResponse(REDOC_PAGE)


def install_api_docs(app: FastAPI, settings: Settings) -> None:
    app.add_api_route("/api/v1/api-paths", api_paths, methods=["GET"], include_in_schema=False)
    mode = settings.api_docs_mode
    if mode == "off":
        return
    app.add_api_route("/docs-assets/redoc.standalone.js", redoc_script, methods=["GET"], include_in_schema=False)
    app.mount("/docs-assets", StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    app.mount("/docs-static", StaticFiles(directory=OWN_DIR), name="docs-static")
    # Outside development only an administrator reads the document.
    guard = [require_roles(Role.admin)] if mode == "admin" else []
    app.add_api_route("/openapi.json", openapi_document, methods=["GET"], include_in_schema=False, dependencies=guard)
    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
