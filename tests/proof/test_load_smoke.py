"""The load test's smoke variant: the real script, a few seconds, two API processes, a few
websocket clients. Proves the script runs and that a short mixed load gives no errors; the
2-minute run is a separate command (see README)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from tests.servers import ROOT

pytestmark = pytest.mark.slow


def test_load_script_smoke(database_url, backend_name, tmp_path):
    if backend_name != "postgresql":
        pytest.skip("the load test runs on PostgreSQL")
    server = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    out = tmp_path / "load.json"
    completed = subprocess.run(
        [
            sys.executable,
            "benchmarks/load.py",
            "--duration",
            "3",
            "--processes",
            "2",
            "--clients",
            "10",
            "--providers",
            "6",
            "--coordinators",
            "1",
            "--crisis",
            "2",
            "--pg",
            server.replace("postgresql+psycopg://", "postgresql://"),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["total_errors"] == 0, result["error_samples"]
    operations = {row["operation"] for row in result["rows"]}
    assert {"PUT /groups/{id}/availability", "POST /crisis/search"} <= operations
    assert result["feed"]["ws_connected"] == 10 and result["feed"]["messages"] > 0
    assert len(result["memory"]) == 2 and all(m["rss_mb"] > 0 for m in result["memory"])
    assert "| operation | requests | req/s | p50 ms | p99 ms |" in completed.stdout
