"""One owner of a group's places: only backend/availability/service.py writes the place
columns (free and held places, admitting, the reason, when reported, the version) or sends an
UPDATE to the groups table. Every other module calls it, so a rule changed there holds on
every path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from backend.availability.service import PLACE_COLUMNS

BACKEND = Path(__file__).resolve().parents[3] / "backend"
OWNER = BACKEND / "availability" / "service.py"
GROUP_TABLE_NAMES = {"Group", "_G", "_GROUPS"}
UPDATE_GROUPS_SQL = re.compile(r"\bUPDATE\s+groups\b", re.IGNORECASE)


def place_writes(source: str) -> list[str]:
    """Where ``source`` writes a place column or updates the groups table (line: what)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if not isinstance(target, ast.Attribute) or target.attr not in PLACE_COLUMNS:
                continue
            # "version" is also a referral's and a user's column: only a group's counts here.
            owner = ast.unparse(target.value).lower()
            if target.attr != "version" or "group" in owner:
                found.append(f"{node.lineno}: assigns {ast.unparse(target)}")
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if (
                name in ("update", "sa.update", "sqlalchemy.update")
                and node.args
                and ast.unparse(node.args[0]).split(".")[0] in GROUP_TABLE_NAMES
            ):
                found.append(f"{node.lineno}: {ast.unparse(node)[:60]}")
            if name.endswith("__table__.update") and name.split(".")[0] in GROUP_TABLE_NAMES:
                found.append(f"{node.lineno}: {name}")
            if name == "Group":
                found += [f"{node.lineno}: Group({kw.arg}=...)" for kw in node.keywords if kw.arg in PLACE_COLUMNS]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and UPDATE_GROUPS_SQL.search(node.value):
            found.append(f"{node.lineno}: SQL UPDATE groups")
    return found


def test_no_module_but_the_owner_writes_a_place_column():
    offenders = {}
    for path in sorted(BACKEND.rglob("*.py")):
        if path == OWNER or "migrations" in path.parts:
            continue
        writes = place_writes(path.read_text())
        if writes:
            offenders[str(path.relative_to(BACKEND))] = writes
    assert offenders == {}, "write places through backend.availability.service: " + repr(offenders)


def test_the_check_finds_each_kind_of_write():
    """The check above is only as good as what it recognises."""
    sample = """
group.free_places = 3
group.held_places += 1
group.version += 1
referral.version += 1
session.execute(update(Group).where(Group.id == 1).values(admitting=False))
Group(name="x", free_places=2)
conn.execute(text("update groups set held_places = 0"))
_GROUPS.__table__.update()
"""
    kinds = place_writes(sample)
    assert sorted(int(k.split(":")[0]) for k in kinds) == [2, 3, 4, 6, 7, 8, 9], kinds
