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

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
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


def install_api_docs(app: FastAPI, settings: Settings) -> None:
    @app.get("/api/v1/api-paths", include_in_schema=False)
    def api_paths(_: CurrentPrincipal) -> dict[str, list[str]]:
        """The paths of the API document, for any logged-in person: the web app shows only the
        screens whose API this server has, without needing the (protected) document."""
        return {"paths": sorted(app.openapi()["paths"])}

    mode = settings.api_docs_mode
    if mode == "off":
        return
    # ReDoc's sidebar shows a logo from Redocly's CDN; this copy shows the package's own icon.
    redoc_js = (ASSETS_DIR / "redoc.standalone.js").read_text(encoding="utf-8").replace(REDOC_CDN_LOGO, LOCAL_LOGO)

    @app.get("/docs-assets/redoc.standalone.js", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(redoc_js, media_type="text/javascript; charset=utf-8")

    app.mount("/docs-assets", StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    app.mount("/docs-static", StaticFiles(directory=OWN_DIR), name="docs-static")

    def document() -> dict[str, Any]:
        return app.openapi()

    if mode == "admin":

        @app.get("/openapi.json", include_in_schema=False, dependencies=[require_roles(Role.admin)])
        def openapi_for_admins() -> JSONResponse:
            return JSONResponse(document())

    else:

        @app.get("/openapi.json", include_in_schema=False)
        def openapi_open() -> JSONResponse:
            return JSONResponse(document())

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE)
