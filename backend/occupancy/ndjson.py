"""Reading a batch sent as NDJSON (``application/x-ndjson``): one JSON object per line.

A provider's system can write a year of history line by line, without holding one large JSON
document; a line that cannot be read is reported with its line number, so that it can be found
in a file of 50,000 lines. Blank lines are skipped (a trailing newline is common).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from backend.errors import dutch_field_error

M = TypeVar("M", bound=BaseModel)

# A refused request names this many bad lines at most (the rest are counted).
MAX_REPORTED = 20


def _dutch_number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def parse_lines(body: bytes, model: type[M], *, max_items: int) -> tuple[list[M], list[int]]:
    """The objects on the lines of ``body`` and their line numbers (1-based).

    Raises ``ValueError`` with a Dutch message naming the lines that are not valid JSON or not a
    valid ``model``; nothing is returned then, so a request is taken whole or not at all."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = body[: exc.start].count(b"\n") + 1
        raise ValueError(f"regel {where} is geen tekst in UTF-8") from None
    numbered = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not numbered:
        raise ValueError("het verzoek bevat geen gebeurtenissen (één JSON-object per regel)")
    if len(numbered) > max_items:
        raise ValueError(
            f"een batch heeft hoogstens {_dutch_number(max_items)} gebeurtenissen en deze heeft er "
            f"{_dutch_number(len(numbered))}; verdeel ze over meer verzoeken"
        )
    items: list[M] = []
    problems: list[str] = []
    bad_lines = 0
    for number, line in numbered:
        try:
            items.append(model.model_validate_json(line))
        except ValidationError as exc:
            bad_lines += 1
            if len(problems) < MAX_REPORTED:
                problems.append(_line_problem(number, line, exc))
    if problems:
        more = bad_lines - len(problems)
        tail = f"; en nog {_dutch_number(more)} andere regels" if more else ""
        raise ValueError("; ".join(problems) + tail)
    return items, [number for number, _ in numbered]


def _line_problem(number: int, line: str, exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return f"regel {number} is geen geldige JSON"
    if line.lstrip().startswith('{"events"'):
        return (
            f"regel {number} is een hele batch; stuur die als JSON (Content-Type: application/json) "
            "of zet als NDJSON één gebeurtenis op elke regel"
        )
    return f"regel {number}: " + ", ".join(dutch_field_error(dict(e)) for e in errors)
