"""The web app keeps to its Content-Security-Policy on every main screen: no violation reported
by the browser (the page's own ``securitypolicyviolation`` events and the console), with the
live feed connected. The API documentation too, for an administrator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Recorded from the first script on every page: each violation the browser reports.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile || ""}:${event.lineNumber || ""}`;
  window.__cspViolations.push(`${event.violatedDirective}: ${event.blockedURI || "inline"} (${where})`);
});
"""

SCREENS = {
    "coordinator": ["regio", "wachtlijst", "matching", "crisis", "rapportages", "instellingen", "contractregister"],
    "aanbieder1": ["aanbieder"],
    "crisis": ["crisis", "regio"],
}


def _watch(person: Any) -> list[str]:
    console: list[str] = []
    person.page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
            else None
        ),
    )
    person.context.add_init_script(WATCH)
    return console


def _settled(page: Any) -> None:
    """The screen is drawn: a heading, and no "Laden…" left."""
    # expect() polls with selectors: wait_for_function would evaluate a string in the page,
    # which this very policy forbids ('unsafe-eval').
    page.locator("main h1, main h2").first.wait_for(timeout=10_000)
    expect(page.locator("main .loading")).to_have_count(0, timeout=15_000)


def _violations(person: Any) -> list[str]:
    return list(person.page.evaluate("window.__cspViolations || []"))


@pytest.mark.parametrize("username", list(SCREENS))
def test_the_main_screens_run_without_a_policy_violation(people, demo_server, username: str) -> None:  # type: ignore[no-untyped-def]
    person = people(username, login=False)
    console = _watch(person)
    page = person.page
    response = page.goto(demo_server.url + "/app/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    person.login()  # through the login screen; waits for the live feed (a websocket) to be live
    for screen in SCREENS[username]:
        page.goto(demo_server.app_url(screen))
        _settled(page)
        if screen == "regio":
            kaart = page.get_by_role("button", name="Kaart")
            if kaart.count():
                kaart.first.click()  # the map view: Leaflet, outlines (SVG) and markers
                page.locator("#regio-kaart .group-marker, #regio-kaart .group-cluster").first.wait_for(timeout=10_000)
        if screen == "rapportages":
            page.wait_for_timeout(500)  # the occupancy bars are drawn with widths (style)
    assert page.locator("#live-status[data-state='live']").count() == 1
    assert not _violations(person), _violations(person)
    assert not console, console


def test_a_report_chart_and_its_bars_keep_to_the_policy(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    """Style widths set by script and the chart as a blob: image are what the policy had to allow."""
    person = people("coordinator", login=False)
    console = _watch(person)
    person.login()
    page = person.page
    page.goto(demo_server.app_url("rapportages"))
    _settled(page)
    expect(page.locator("#rapport-tabel tbody tr").first).to_be_visible(timeout=10_000)
    bars = page.locator("#rapport-tabel .rate-fill")
    # The width is applied (a style attribute refused by the policy would leave it empty).
    widths = [bars.nth(i).evaluate("node => node.style.width") for i in range(bars.count())]
    assert widths and all(w.endswith("%") for w in widths), widths
    assert any(bars.nth(i).evaluate("node => node.getBoundingClientRect().width") > 0 for i in range(bars.count()))
    page.get_by_role("button", name="Grafiek").first.click()
    chart = page.locator("#groep-grafiek img.group-chart")
    chart.wait_for(timeout=10_000)
    assert chart.get_attribute("src").startswith("blob:")
    expect(chart).to_have_js_property("complete", True)
    assert chart.evaluate("img => img.naturalWidth") > 0
    assert not _violations(person), _violations(person)
    assert not console, console


def test_the_api_documentation_for_an_administrator(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    person = people("admin", login=False)
    console = _watch(person)
    page = person.page
    # Logged in to the web app in this tab: the documentation takes that session's token.
    person.login()
    page.goto(demo_server.url + "/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
    assert "plekwijzer" in page.locator(".swagger-ui .info .title").inner_text()
    page.goto(demo_server.url + "/redoc")
    page.locator("#redoc h1").first.wait_for(timeout=20_000)
    assert not _violations(person), _violations(person)
    assert not console, console
    # Without a session the page says in Dutch what to do, and shows no document.
    stranger = people("admin", login=False)
    stranger.page.goto(demo_server.url + "/docs")
    status = stranger.page.locator("#docs-status")
    expect(status).to_contain_text("Log in de web-app", timeout=10_000)
    assert json.dumps(stranger.page.evaluate("document.querySelector('.swagger-ui .info') === null")) == "true"


def test_the_api_documentation_renders_with_the_network_blocked(people, demo_server) -> None:  # type: ignore[no-untyped-def]
    """/docs and /redoc without internet: every request to another host is aborted, and the
    pages still show the operations (their files come from the fastapi-offline package)."""
    person = people("admin", login=False)
    local = demo_server.url.split("//", 1)[1].split("/", 1)[0]
    blocked: list[str] = []

    def only_this_server(route: Any) -> None:
        url = route.request.url
        if url.split("//", 1)[-1].split("/", 1)[0] == local or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    person.context.route("**/*", only_this_server)
    person.login()
    page = person.page
    page.goto(demo_server.url + "/docs")
    operations = page.locator(".swagger-ui .opblock")
    expect(operations.first).to_be_visible(timeout=20_000)
    assert operations.count() > 50  # the whole API, not an empty shell
    expect(
        page.locator(".swagger-ui .opblock-summary-path").filter(has_text="/api/v1/availability").first
    ).to_be_visible()
    # ReDoc's own script runs (it needs 20 s or more to lay out the whole API on a busy machine,
    # so this waits only for its first drawing).
    page.goto(demo_server.url + "/redoc")
    expect(page.locator("#redoc")).not_to_be_empty(timeout=20_000)
    assert not blocked, f"de documentatie vroeg iets van buiten deze server: {blocked}"
