"""Every audit action the code writes has a Dutch label (the audit screen shows words, not codes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from backend.audit.actions import LABELS, actor_text, label

BACKEND = Path(__file__).resolve().parents[3] / "backend"
CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
# Actions built from a value: each template with every value it takes.
TEMPLATES = {
    "f'occupancy.{kind}'": ["occupancy.admission", "occupancy.discharge"],
    "f'placement.{kind}'": ["placement.no_show", "placement.cancelled"],
}


def _written_actions() -> tuple[dict[str, str], dict[str, str]]:
    """(action code -> where, f-string template -> where) for every action passed as
    ``action=`` or positionally to a function with an ``action`` parameter (``Notice``, the
    domains' ``_audit``/``_notice`` helpers), and every ``action`` parameter's default."""
    codes: dict[str, str] = {}
    templates: dict[str, str] = {}
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(BACKEND.rglob("*.py"))}
    # Module-level names for a code (FEED_ACTION = "availability.feed"), wherever they are used.
    named = {
        target.id: node.value.value
        for tree in trees.values()
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.isupper()
    }

    def collect(node: ast.expr | None, where: str) -> None:
        if isinstance(node, ast.Name) and node.id in named:
            node = ast.Constant(named[node.id])
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
            codes.setdefault(node.value, where)
        elif isinstance(node, ast.IfExp):
            collect(node.body, where)
            collect(node.orelse, where)
        elif isinstance(node, ast.JoinedStr):
            templates.setdefault(ast.unparse(node), where)

    for path, tree in trees.items():
        position = {"Notice": 2}  # Notice(event_type, actor, action, ...)
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef):
                names = [a.arg for a in fn.args.args]
                if "action" in names:
                    position[fn.name] = names.index("action")
                params = fn.args.args + fn.args.kwonlyargs
                defaults = [None] * (len(fn.args.args) - len(fn.args.defaults)) + fn.args.defaults + fn.args.kw_defaults
                for param, default in zip(params, defaults, strict=True):
                    if param.arg == "action":
                        collect(default, f"{path.name}:{fn.lineno}")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(BACKEND.parent)}:{node.lineno}"
            for keyword in node.keywords:
                if keyword.arg == "action":
                    collect(keyword.value, where)
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in position and len(node.args) > position[name]:
                collect(node.args[position[name]], where)
    return codes, templates


def test_every_action_the_code_writes_has_a_dutch_label():
    codes, templates = _written_actions()
    assert len(codes) >= 50, len(codes)  # the call sites are really found
    assert "referral.read" in codes and "hold.create" in codes and "placement.discharge" in codes
    unknown_templates = sorted(set(templates) - set(TEMPLATES))
    assert not unknown_templates, f"add the values of {unknown_templates} to TEMPLATES"
    written = set(codes) | {code for values in TEMPLATES.values() for code in values}
    missing = sorted(f"{code} ({codes.get(code, 'template')})" for code in written - set(LABELS))
    assert not missing, "no Dutch label in backend/audit/actions.py: " + ", ".join(missing)
    assert all(text and text != code for code, text in LABELS.items())


def test_labels_and_actors_in_words():
    assert label("referral.read") == "Verwijzing ingezien"
    assert label("old.code") == "old.code"  # an old row is shown, not hidden
    assert actor_text("user:2:coordinator") == "coordinator"
    assert actor_text("api_key:3:roostersysteem") == "API-sleutel roostersysteem"
    assert actor_text("system:0:plekwijzer") == "het systeem"
