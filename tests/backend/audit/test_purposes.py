"""The purpose of every audit row comes from one fixed list (backend/audit/purposes.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from backend.audit import service as audit
from backend.audit.purposes import LABELS, Purpose, label
from backend.auth import Principal

BACKEND = Path(__file__).resolve().parents[3] / "backend"
# Callables that take a purpose, and the position of that argument when given positionally.
POSITIONAL = {"Notice": 5, "_notice": 4}


def _purpose_arguments() -> list[tuple[str, ast.expr]]:
    found = []
    for path in sorted(BACKEND.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(BACKEND.parent)}:{node.lineno}"
            for keyword in node.keywords:
                if keyword.arg == "purpose":
                    found.append((where, keyword.value))
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in POSITIONAL and len(node.args) > POSITIONAL[name]:
                found.append((where, node.args[POSITIONAL[name]]))
    return found


def test_every_purpose_in_the_code_is_a_member_of_the_fixed_list():
    """Each purpose passed anywhere is ``Purpose.<member>`` or a parameter passed on (whose
    callers are checked here too); a string or an unknown member fails."""
    arguments = _purpose_arguments()
    assert len(arguments) >= 30, len(arguments)  # the call sites are really found
    wrong = []
    for where, value in arguments:
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "Purpose":
            if value.attr not in Purpose.__members__:
                wrong.append(f"{where}: Purpose.{value.attr} is not in the list")
        elif isinstance(value, ast.Attribute) and value.attr == "value":
            inner = value.value
            if not (isinstance(inner, ast.Attribute) and getattr(inner.value, "id", "") == "Purpose"):
                wrong.append(f"{where}: {ast.unparse(value)}")
            elif inner.attr not in Purpose.__members__:
                wrong.append(f"{where}: Purpose.{inner.attr} is not in the list")
        elif isinstance(value, ast.Name | ast.Attribute):
            continue  # passed on from a parameter (purpose, notice.purpose)
        else:
            wrong.append(f"{where}: {ast.unparse(value)} is not a Purpose")
    assert not wrong, "\n".join(wrong)


def test_every_code_has_a_dutch_label_and_is_stored_as_itself():
    assert set(LABELS) == set(Purpose)
    for purpose in Purpose:
        assert purpose.name == purpose.value  # a driver that stores an enum's name stores the code
        assert LABELS[purpose] and LABELS[purpose][0].isupper()
    assert label("referral_review") == "Verwijzing inzien"
    assert label("vrije tekst van vroeger") == "vrije tekst van vroeger"  # rows from before the list


def test_a_purpose_outside_the_list_is_a_programming_error(db):
    actor = Principal(kind="user", id=1, name="t", role="admin", provider_id=None)
    with pytest.raises(ValueError, match="fixed list"), db.transaction() as session:
        audit.record(
            session=session,
            actor=actor,
            action="referral.read",
            object_type="referral",
            object_id=1,
            purpose="omdat het kan",  # type: ignore[arg-type]
        )


def test_every_purpose_parameter_and_field_is_typed_as_a_purpose():
    """A parameter or field named ``purpose`` is a ``Purpose`` (mypy then checks every value
    passed to it), and never has a text default."""
    wrong = []
    for path in sorted(BACKEND.rglob("*.py")):
        if path == BACKEND / "audit" / "models.py":
            continue  # the stored column: a code, or free text in rows from before the list
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(BACKEND.parent)}:{getattr(node, 'lineno', 0)}"
            annotated: list[tuple[ast.expr | None, ast.expr | None]] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args
                positional = args.posonlyargs + args.args
                defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
                pairs = list(zip(positional, defaults, strict=True)) + list(
                    zip(args.kwonlyargs, args.kw_defaults, strict=True)
                )
                annotated += [(a.annotation, d) for a, d in pairs if a.arg == "purpose"]
            elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "purpose":
                annotated.append((node.annotation, node.value))
            for annotation, default in annotated:
                text = ast.unparse(annotation) if annotation is not None else ""
                if "Purpose" not in text or (isinstance(default, ast.Constant) and isinstance(default.value, str)):
                    wrong.append(f"{where}: purpose: {text or '(no type)'}")
    assert not wrong, "\n".join(wrong)
