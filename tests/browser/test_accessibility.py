"""Accessibility checked by a tool: axe-core (npm, injected from node_modules/, never served)
on every screen of every role, at phone width (390 px) and desktop width (1280 px): no serious
or critical violation (contrast under 4.5:1, a control without a name, a missing landmark, ...).

One browser context per role walks the role's own menu (so a new screen is checked without
being listed here) at both widths, plus the screens behind a button: the login screen, the
region map and a referral's options.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, ROOT, SCREENSHOTS, _session_for

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ROLES = ["aanbieder1", "coordinator", "crisis", "viewer", "admin"]
WIDTHS = {"telefoon": PHONE, "desktop": DESKTOP}
# Every screen of the walk, as its role first sees it, at both widths (the top of the screen:
# what fits the window without scrolling).
WALK_SHOTS = SCREENSHOTS / "rondgang"
SHOT_NAMES = {"telefoon": "phone", "desktop": "desktop"}
# Screens another role's walk already checks with the same controls (the coordinator's): left
# out of this role's walk to keep the test short. Each is still in this role's menu (asserted).
SAME_AS_COORDINATOR = {
    "admin": {"regio", "wachtlijst", "matching", "crisis", "bezetting"},
    "viewer": {"regio", "rapportages"},
    "crisis": {"regio"},
}

# The rules of WCAG 2.1 A and AA, and axe's best practices (landmarks, regions, headings).
# Rows after the tenth of a table and cards after the sixth of a grid are left out: the same code
# draws each of them, and the long demo lists (141 groups, the audit log) would make the check
# take minutes instead of seconds.
RUN = """async () => {
  const result = await axe.run({ exclude: [["tbody tr:nth-child(n+11)"], [".card-grid > :nth-child(n+7)"]] }, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ rule: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(" ")} :: ${n.failureSummary}`) }));
}"""


def _context(browser: Any, demo_server: Any, username: str | None) -> Any:
    # bypass_csp: axe is injected as a script of its own; the policy itself is tested elsewhere.
    context = browser.new_context(viewport=DESKTOP, locale="nl-NL", timezone_id="Europe/Amsterdam", bypass_csp=True)
    if username:
        state = json.dumps(_session_for(demo_server, username))
        context.add_init_script(f"window.sessionStorage.setItem('plekwijzer.sessie', {json.dumps(state)});")
    return context


def _settled(page: Any) -> None:
    page.locator("main h1, main h2").first.wait_for(timeout=10_000)
    expect(page.locator("main .loading")).to_have_count(0, timeout=15_000)


def _check(page: Any, where: str, found: dict[str, Any]) -> None:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(RUN)
    if violations:
        found[where] = violations


def _walk(page: Any, demo_server: Any, username: str, found: dict[str, Any]) -> list[str]:
    page.goto(demo_server.url + "/app/")
    page.locator("#live-status[data-state='live']").wait_for(timeout=10_000)
    screens = [a.split("#/", 1)[1] for a in page.locator("#nav a").evaluate_all("as => as.map((a) => a.href)")]
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        for screen in screens:
            if screen in SAME_AS_COORDINATOR.get(username, set()):
                continue
            page.goto(demo_server.app_url(screen))
            _settled(page)
            _check(page, f"{username} {screen} ({width})", found)
            page.screenshot(path=str(WALK_SHOTS / f"{username}-{screen}-{SHOT_NAMES[width]}.png"))
            if width == "telefoon" and username == "coordinator" and screen == screens[0]:
                page.get_by_role("button", name="Menu").click()  # the folded menu of a phone, open
                expect(page.locator("#nav a").first).to_be_visible()
                _check(page, f"{username} menu ({width})", found)
                page.keyboard.press("Escape")
            if screen == "regio":
                page.get_by_role("button", name="Kaart").click()
                page.locator("#regio-kaart .group-marker, #regio-kaart .group-cluster").first.wait_for(timeout=10_000)
                _check(page, f"{username} regio kaart ({width})", found)
            if screen == "wachtlijst" and username == "coordinator":
                page.locator("#wachtlijst-tabel a.button").first.click()
                page.locator("#opties li").first.wait_for(timeout=15_000)
                _check(page, f"{username} opties ({width})", found)
    return screens


def test_no_serious_or_critical_violation_on_any_screen(browser, demo_server) -> None:  # type: ignore[no-untyped-def]
    assert AXE.exists(), "npm ci installeert axe-core in node_modules/"
    WALK_SHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, Any] = {}
    walked: dict[str, list[str]] = {}
    context = _context(browser, demo_server, None)
    page = context.new_page()
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.goto(demo_server.url + "/app/#/login")
        page.get_by_label("Gebruikersnaam").wait_for()
        _check(page, f"inloggen ({width})", found)
    context.close()
    for username in ROLES:
        context = _context(browser, demo_server, username)
        try:
            walked[username] = _walk(context.new_page(), demo_server, username, found)
        finally:
            context.close()
    # Every role walked its own menu: the screens the app gives it.
    assert {"aanbieder", "bezetting"} <= set(walked["aanbieder1"])
    assert {"regio", "wachtlijst", "matching", "crisis", "rapportages"} <= set(walked["coordinator"])
    assert {"auditlog", "beheer", "contractregister", "instellingen"} <= set(walked["admin"])
    for username, skipped in SAME_AS_COORDINATOR.items():
        assert skipped <= set(walked[username]) & set(walked["coordinator"]), username
    assert not found, "axe-core vond ernstige toegankelijkheidsfouten:\n" + json.dumps(
        found, indent=1, ensure_ascii=False
    )


def test_axe_finds_a_violation_when_there_is_one(browser, demo_server) -> None:  # type: ignore[no-untyped-def]
    """The check above can fail: a button without a name and grey text on white are reported."""
    context = _context(browser, demo_server, None)
    page = context.new_page()
    page.goto(demo_server.url + "/app/#/login")
    page.get_by_label("Gebruikersnaam").wait_for()
    page.evaluate(
        """() => {
        const b = document.createElement("button"); document.querySelector("main").append(b);
        const p = document.createElement("p"); p.textContent = "nauwelijks leesbaar"; p.style.color = "#bbb";
        document.querySelector("main").append(p);
    }"""
    )
    found: dict[str, Any] = {}
    _check(page, "proef", found)
    context.close()
    rules = {v["rule"] for v in found.get("proef", [])}
    assert {"button-name", "color-contrast"} <= rules, found
