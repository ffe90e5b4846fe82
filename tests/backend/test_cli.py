"""The ``plekwijzer`` command line, run as real subprocesses against a temporary SQLite
database (and, for ``availability``, against a real ``plekwijzer serve`` on that database)."""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.servers import ROOT, server_process

PASSWORD = "Twee-Beuken-aan-de-Dinkel-58"


def run(args: list[str], *, env: dict[str, str], stdin: str = "", cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        input=stdin,
        text=True,
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """One demo database for the module: loading it is the slow part."""
    work = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{work / 'cli.db'}"
    env = {
        **os.environ,
        "PLEKWIJZER_DATABASE_URL": url,
        "PLEKWIJZER_SECRET_KEY": TEST_SECRET,
        "PLEKWIJZER_ENVIRONMENT": "test",
        "PYTHONPATH": str(ROOT),
    }
    result = run(["demo", "--seed", "7"], env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    return work, env, result.stdout


def query(work: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(work / "cli.db") as conn:
        return conn.execute(sql, params).fetchall()


def test_db_upgrade_creates_the_schema(tmp_path):
    env = {**os.environ, "PLEKWIJZER_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "PYTHONPATH": str(ROOT)}
    result = run(["db", "upgrade"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Database bijgewerkt" in result.stdout
    with sqlite3.connect(tmp_path / "fresh.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"groups", "events", "event_counter", "users", "api_keys"} <= tables


def test_demo_loads_twente_and_writes_users_file(demo_db):
    work, env, stdout = demo_db
    groups = query(work, "SELECT count(*) FROM groups")[0][0]
    printed = int(re.search(r"(\d+) groepen", stdout).group(1))  # type: ignore[union-attr]
    # Other domains' demo loaders may add groups after the foundation's count is printed.
    assert 100 < printed <= groups
    assert (
        query(work, "SELECT count(*) FROM municipalities m JOIN regions r ON r.id = m.region_id WHERE r.code = 'JZ14'")[
            0
        ][0]
        == 14
    )
    users_file = (work / "plekwijzer-demo-users.txt").read_text()
    assert "coordinator\tcoordinator\t" in users_file and "API-sleutel" in users_file
    # A second run leaves the loaded data alone and says so.
    again = run(["demo", "--seed", "7"], env=env, cwd=work)
    assert again.returncode == 0 and "al geladen" in again.stdout
    assert query(work, "SELECT count(*) FROM groups")[0][0] == groups


def test_import_postcodes_keeps_address_postcodes_only(demo_db, tmp_path):
    work, env, _ = demo_db
    csv_file = tmp_path / "4pp-klein.csv"
    csv_file.write_text(
        'id,postcode,"woonplaats","alternatieve_schrijfwijzen","gemeente","provincie",'
        '"netnummer",latitude,longitude,"soort"\n'
        '1,7500,"Enschede","","Enschede","Overijssel","053",52.2215,6.8937,"Postbus"\n'
        '2,7511,"Enschede","","Enschede","Overijssel","053",52.2195,6.8940,"Adres"\n'
        '3,7600,"Almelo","","Almelo","Overijssel","0546",52.3570,6.6620,"Adres + Postbus"\n'
        '4,7601,"Almelo","","Almelo","Overijssel","0546",52.3600,6.6600,"Onbekend"\n',
        encoding="utf-8",
    )
    result = run(["import-postcodes", str(csv_file)], env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    assert "2 adrespostcodes" in result.stdout
    assert query(work, "SELECT pc4, place FROM postcodes ORDER BY pc4") == [("7511", "Enschede"), ("7600", "Almelo")]


def test_users_create_reads_password_from_stdin_and_refuses_in_dutch(demo_db):
    work, env, _ = demo_db
    result = run(
        ["users", "create", "--username", "cli-aanbieder", "--role", "provider", "--provider", "1"],
        env=env,
        stdin=PASSWORD + "\n",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    assert "cli-aanbieder (provider) aangemaakt" in result.stdout
    stored = query(work, "SELECT role, provider_id, password_hash FROM users WHERE username = ?", "cli-aanbieder")
    assert stored[0][:2] == ("provider", 1) and PASSWORD not in stored[0][2]
    short = run(["users", "create", "--username", "kort", "--role", "viewer"], env=env, stdin="kort\n", cwd=work)
    assert short.returncode == 1
    assert "minstens 12 tekens" in short.stderr
    assert query(work, "SELECT count(*) FROM users WHERE username = 'kort'")[0][0] == 0


def test_api_key_then_availability_set_and_show_against_a_running_server(demo_db):
    work, env, _ = demo_db
    created = run(["api-keys", "create", "--provider", "1", "--name", "cli-test"], env=env, cwd=work)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("pw_")
    # A group reported by hand (the demo lets some follow the occupancy feed, which takes no figure).
    group_id, capacity = query(
        work, "SELECT id, capacity FROM groups WHERE provider_id = 1 AND NOT places_from_feed ORDER BY id LIMIT 1"
    )[0]
    version = query(work, "SELECT version FROM groups WHERE id = ?", group_id)[0][0]
    with server_process(env["PLEKWIJZER_DATABASE_URL"], secret_key=TEST_SECRET) as base_url:
        client_env = {**env, "PLEKWIJZER_URL": base_url, "PLEKWIJZER_API_KEY": key}
        free = capacity - 1
        done = run(["availability", "set", str(group_id), "--free", str(free)], env=client_env, cwd=work)
        assert done.returncode == 0, done.stderr
        assert f"{free} van {capacity} vrij, plaatst; versie {version + 1}" in done.stdout
        closed = run(
            ["availability", "set", str(group_id), "--free", "0", "--not-admitting", "Personeelstekort"],
            env=client_env,
            cwd=work,
        )
        assert closed.returncode == 0, closed.stderr
        assert "plaatst niet (Personeelstekort)" in closed.stdout
        too_many = run(["availability", "set", str(group_id), "--free", str(capacity + 1)], env=client_env, cwd=work)
        # A user logs in with a password on standard input and sees the picture.
        login_env = {k: v for k, v in client_env.items() if k != "PLEKWIJZER_API_KEY"}
        shown = run(
            ["availability", "show", "--username", "aanbieder1"],
            env=login_env,
            stdin=_demo_password(work, "aanbieder1") + "\n",
            cwd=work,
        )
    assert too_many.returncode == 1
    assert "kan niet meer zijn dan de capaciteit" in too_many.stderr
    assert query(
        work, "SELECT free_places, admitting, not_admitting_reason, version FROM groups WHERE id = ?", group_id
    ) == [(0, 0, "Personeelstekort", version + 2)]
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines()[1:] if line.strip()]
    own_groups = query(work, "SELECT count(*) FROM groups WHERE provider_id = 1")[0][0]
    assert len(rows) == own_groups
    line = next(r for r in rows if r.split()[0] == str(group_id))
    assert f"0/{capacity}" in line and "plaatst niet: Personeelstekort" in line


def _demo_password(work: Path, username: str) -> str:
    for line in (work / "plekwijzer-demo-users.txt").read_text().splitlines():
        parts = line.split("\t")
        if parts[0] == username:
            return parts[2]
    raise AssertionError(f"{username} not in the demo users file")


def test_users_create_with_region_then_deactivate_and_revoke_a_key(demo_db):
    work, env, _ = demo_db
    made = run(
        ["users", "create", "--username", "cli-coordinator", "--role", "coordinator", "--region", "jz14"],
        env=env,
        stdin=PASSWORD + "\n",
        cwd=work,
    )
    assert made.returncode == 0, made.stderr
    region_id = query(work, "SELECT id FROM regions WHERE code = 'JZ14'")[0][0]
    assert query(work, "SELECT region_id, active FROM users WHERE username = 'cli-coordinator'") == [(region_id, 1)]
    unknown = run(
        ["users", "create", "--username", "cli-x", "--role", "viewer", "--region", "XX99"],
        env=env,
        stdin=PASSWORD + "\n",
        cwd=work,
    )
    assert unknown.returncode == 1 and "Regio 'XX99' niet gevonden." in unknown.stderr
    assert query(work, "SELECT count(*) FROM users WHERE username = 'cli-x'")[0][0] == 0

    gone = run(["users", "deactivate", "cli-coordinator"], env=env, cwd=work)
    assert gone.returncode == 0, gone.stderr
    assert "gedeactiveerd" in gone.stdout
    assert query(work, "SELECT active FROM users WHERE username = 'cli-coordinator'") == [(0,)]
    twice = run(["users", "deactivate", "cli-coordinator"], env=env, cwd=work)
    assert twice.returncode == 1 and "al gedeactiveerd" in twice.stderr
    missing = run(["users", "deactivate", "niemand"], env=env, cwd=work)
    assert missing.returncode == 1 and "niet gevonden" in missing.stderr

    created = run(["api-keys", "create", "--provider", "1", "--name", "in te trekken"], env=env, cwd=work)
    key_id = int(re.search(r"API-sleutel (\d+)", created.stdout).group(1))  # type: ignore[union-attr]
    revoked = run(["api-keys", "revoke", str(key_id)], env=env, cwd=work)
    assert revoked.returncode == 0, revoked.stderr
    assert query(work, "SELECT revoked FROM api_keys WHERE id = ?", key_id) == [(1,)]
    assert run(["api-keys", "revoke", "999999"], env=env, cwd=work).returncode == 1
    actions = [
        row[0]
        for row in query(work, "SELECT action FROM audit_log WHERE object_type IN ('user', 'api_key') ORDER BY id")
    ]
    assert actions[-3:] == ["user.create", "user.deactivate", "api_key.revoke"]


def test_users_reset_mfa(demo_db):
    work, env, _ = demo_db
    done = run(["users", "reset-mfa", "coordinator"], env=env, cwd=work)
    assert done.returncode == 0, done.stderr
    assert "Tweestapsverificatie van coordinator is gewist" in done.stdout
    assert query(work, "SELECT mfa_secret FROM users WHERE username = 'coordinator'") == [(None,)]
    assert query(work, "SELECT actor FROM audit_log WHERE action = 'user.mfa_reset'")[0][0].startswith("cli:0:")
    unknown = run(["users", "reset-mfa", "niemand"], env=env, cwd=work)
    assert unknown.returncode == 1 and "bestaat niet" in unknown.stderr


def _commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> list[tuple[str, str | None, argparse.ArgumentParser]]:
    """Every (sub)command of the parser, as ("users create", its help text, its own parser)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                found.append((f"{prefix}{name}", helps.get(name), child))
                found.extend(_commands(child, f"{prefix}{name} "))
    return found


def test_help_describes_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    from backend.cli import build_parser, main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    top = capsys.readouterr().out
    commands = _commands(build_parser())
    assert {"serve", "demo", "import-postcodes", "users create", "availability show"} <= {c for c, _, _ in commands}
    undescribed = [name for name, text, _ in commands if not (text or "").strip()]
    assert not undescribed, f"subcommands without a description: {undescribed}"
    # `plekwijzer --help` lists each top-level command with its description; `plekwijzer users
    # --help` (and every other group) does the same for its own commands.
    for name, text, _ in commands:
        if " " not in name:
            assert re.search(rf"^\s+{re.escape(name)}\s+{re.escape(text.split()[0])}", top, re.M), name
    for name, _, child in commands:
        nested = [(n, t) for n, t, _ in commands if n.startswith(name + " ") and " " not in n[len(name) + 1 :]]
        if nested:
            page = child.format_help()
            for sub_name, text in nested:
                short = sub_name.rsplit(" ", 1)[1]
                assert re.search(rf"^\s+{re.escape(short)}\s+{re.escape(text.split()[0])}", page, re.M), sub_name
