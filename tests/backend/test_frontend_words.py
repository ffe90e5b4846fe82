"""The web app's one label table and its Dutch formatting helpers (``frontend/js/ui.js``), run in
Node.js: every code the API sends has a label there, and numbers, dates and countdowns are written
the Dutch way."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from backend.crisis.models import GENDERS, HOLD_STATUS_LABELS
from backend.placements.models import PLACEMENT_STATUS_LABELS
from backend.proposals.models import PROPOSAL_STATUS_LABELS
from backend.referrals.models import STATUS_LABELS
from backend.users.models import Role
from solver.vocabulary import CARE_FORMS, GENDER_POLICIES, NEED_TAGS, RISK_PROFILES

UI = Path(__file__).resolve().parents[2] / "frontend" / "js" / "ui.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js ontbreekt")

SCRIPT = """
const ui = await import(process.argv[1]);
const deadline = 2 * 3600 * 1000 - 4000;
console.log(JSON.stringify({
  labels: ui.LABELS,
  km: ui.formatKm(11.5),
  score: ui.formatScore(0.7634),
  big: ui.formatNumber(12500),
  year: ui.formatNumber(2026),
  countdown: ui.formatCountdown(deadline),
  short: ui.formatCountdown(4 * 60 * 1000 + 5000),
  day: ui.formatDate("2026-01-01"),
  moment: ui.formatDateTime("2026-01-01T13:05:00Z"),
  euro: ui.formatEuro(1234.5),
  need: ui.label("need", "lvb"),
  unknown: ui.label("need", "nieuw_label"),
  urgency: ui.urgencyLabel(4),
}));
"""


@pytest.fixture(scope="module")
def ui() -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT, UI.as_uri()],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        timeout=30,
        env={"TZ": "Europe/Amsterdam", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return json.loads(result.stdout)


def test_every_code_the_api_sends_has_a_label_in_the_web_app(ui):
    labels = ui["labels"]
    expected = {
        "careForm": set(CARE_FORMS),
        "need": set(NEED_TAGS),
        "genderPolicy": set(GENDER_POLICIES),
        "riskProfile": set(RISK_PROFILES),
        "gender": {"m", "v", "x", *GENDERS},
        "proposalStatus": set(PROPOSAL_STATUS_LABELS),
        "referralStatus": set(STATUS_LABELS),
        "placementStatus": set(PLACEMENT_STATUS_LABELS),
        "holdStatus": set(HOLD_STATUS_LABELS),
        "role": {role.value for role in Role},
    }
    for kind, codes in expected.items():
        missing = codes - set(labels[kind])
        assert not missing, f"LABELS.{kind} in ui.js has no label for {sorted(missing)}"
    # The same words as the server's own lists, so a screen and an export say the same thing.
    assert labels["need"] == NEED_TAGS
    assert labels["careForm"] == {code: form.label for code, form in CARE_FORMS.items()}
    assert labels["proposalStatus"] == PROPOSAL_STATUS_LABELS
    assert labels["referralStatus"] == STATUS_LABELS
    assert labels["placementStatus"] == PLACEMENT_STATUS_LABELS
    assert labels["holdStatus"] == HOLD_STATUS_LABELS


def test_numbers_dates_and_countdowns_in_dutch_notation(ui):
    assert ui["km"] == "11,5 km"
    assert ui["score"] == "0,76"
    assert ui["big"] == "12.500" and ui["year"] == "2026"
    assert ui["countdown"] == "1:59:56"
    assert ui["short"] == "4:05"
    assert ui["day"] == "01-01-2026"
    assert ui["moment"] == "01-01-2026 14:05"
    assert ui["euro"].replace("\xa0", " ") == "€ 1234,50"
    assert ui["need"] == "LVB (licht verstandelijke beperking)"
    assert ui["unknown"] == "nieuw_label"  # a code the table does not know yet is shown, not hidden
    assert ui["urgency"] == "4 van 5"
