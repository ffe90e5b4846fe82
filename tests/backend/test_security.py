"""HTTP hygiene: security headers on the web app and the API, no caching of API answers, HSTS
behind TLS, and the API documentation without any CDN and only for an administrator outside
development (backend/security.py, backend/apidocs.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from backend.main import create_app
from tests.conftest import make_settings
from tests.servers import running_server


def _csp(response: Any) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in policy.split(";")) if part}


def _common_headers(response: Any) -> None:
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'"
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_web_app_gets_the_headers_and_may_be_cached(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/app/", "/app/js/app.js", "/app/styles.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        _common_headers(response)
        assert _csp(response)["style-src"] == "'self'"  # no inline styles in the web app
        assert "no-store" not in response.headers.get("cache-control", "")
    assert "strict-transport-security" not in client.get("/app/").headers  # plain HTTP


def test_every_api_answer_gets_the_headers_and_no_store(client, world) -> None:  # type: ignore[no-untyped-def]
    answers = [
        client.get("/api/v1/groups", headers=world.headers("coordinator")),  # 200
        client.get("/api/v1/referrals", headers=world.headers("coordinator")),  # youth data
        client.get("/api/v1/groups"),  # 401
        client.get("/api/v1/referrals", headers=world.headers("provider_a")),  # 403
        client.get("/api/v1/groups/999999", headers=world.headers("coordinator")),  # 404
        client.put(f"/api/v1/groups/{world.groups_a[0]}/availability", json={}, headers=world.headers("provider_a")),
        client.post("/api/v1/holds", content=b"x" * 2_000_000, headers=world.headers("crisis")),  # 413
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 403, 404, 422, 413]
    for response in answers:
        _common_headers(response)
        assert response.headers["cache-control"] == "no-store", response.request.url


def test_hsts_over_tls_or_when_the_setting_says_so(settings) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings), base_url="https://testserver") as tls:
        assert tls.get("/healthz").headers["strict-transport-security"].startswith("max-age=31536000")
    forced = make_settings(settings.database_url, hsts=True)
    with TestClient(create_app(forced)) as plain:
        assert "max-age=" in plain.get("/app/").headers["strict-transport-security"]


def test_hsts_behind_a_trusted_proxy_only(settings) -> None:  # type: ignore[no-untyped-def]
    """X-Forwarded-Proto counts only from a proxy in PLEKWIJZER_TRUSTED_PROXIES."""
    with running_server(make_settings(settings.database_url, trusted_proxies="127.0.0.1")) as url:
        behind_tls = httpx.get(f"{url}/healthz", headers={"X-Forwarded-Proto": "https"})
        direct = httpx.get(f"{url}/healthz")
    assert "strict-transport-security" in behind_tls.headers
    assert "strict-transport-security" not in direct.headers
    with running_server(settings) as url:  # no trusted proxy: the header is anyone's claim
        claimed = httpx.get(f"{url}/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in claimed.headers


def test_the_map_tile_server_is_allowed_for_images_only(settings) -> None:  # type: ignore[no-untyped-def]
    tiles = make_settings(settings.database_url, tile_server_url="https://tiles.example.org/{z}/{x}/{y}.png")
    with TestClient(create_app(tiles)) as client:
        csp = _csp(client.get("/app/"))
    assert csp["img-src"].split() == ["'self'", "data:", "blob:", "https://tiles.example.org"]
    assert "tiles.example.org" not in csp["script-src"] + csp["connect-src"]


# -- the API documentation ----------------------------------------------------------------------


class _Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if values.get("src"):
                self.sources.append(str(values["src"]))
            else:
                self.inline_scripts += 1
        if tag == "link" and values.get("href"):
            self.sources.append(str(values["href"]))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_nothing_from_elsewhere(client, page: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert not re.search(r"(https?:)?//", response.text), "an external address in the page"
    parser = _Sources()
    parser.feed(response.text)
    assert parser.inline_scripts == 0  # the policy allows no inline script
    assert any(s.endswith(".js") for s in parser.sources)
    for source in parser.sources:
        assert source.startswith("/") and not source.startswith("//"), source
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 100, source
    csp = _csp(response)
    assert csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'"


def test_outside_development_the_document_is_for_an_administrator(client, world) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/openapi.json").status_code == 401
    refused = client.get("/openapi.json", headers=world.headers("coordinator"))
    assert refused.status_code == 403 and refused.json()["detail"] == "U heeft geen rechten voor deze handeling."
    answer = client.get("/openapi.json", headers=world.headers("admin"))
    assert answer.status_code == 200 and answer.json()["info"]["title"] == "plekwijzer"
    assert answer.headers["cache-control"] == "no-store"


def test_in_development_the_document_is_open_and_it_can_be_switched_off(settings) -> None:  # type: ignore[no-untyped-def]
    open_docs = make_settings(settings.database_url, api_docs="open")
    with TestClient(create_app(open_docs)) as client:
        assert client.get("/openapi.json").status_code == 200
    off = make_settings(settings.database_url, api_docs="off")
    with TestClient(create_app(off)) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs-assets/swagger-ui-bundle.js"):
            assert client.get(path).status_code == 404, path


def test_an_unexpected_error_also_gets_the_headers_and_says_nothing_of_itself(settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings)

    def boom() -> None:
        raise RuntimeError("geheime details van de fout")

    app.add_api_route("/api/v1/test-boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/test-boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Er ging iets mis op de server; probeer het opnieuw.", "code": "server_error"}
    assert "geheime" not in response.text
    _common_headers(response)
    assert response.headers["cache-control"] == "no-store"


def test_the_web_app_learns_the_api_paths_without_the_document(client, world) -> None:  # type: ignore[no-untyped-def]
    """The web app shows only screens whose API exists; it asks /api/v1/api-paths (any logged-in
    person), since the document itself is for an administrator."""
    assert client.get("/api/v1/api-paths").status_code == 401
    answer = client.get("/api/v1/api-paths", headers=world.headers("provider_a"))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    paths = answer.json()["paths"]
    assert "/api/v1/groups" in paths and "/api/v1/referrals" in paths
    assert paths == sorted(client.app.openapi()["paths"])
