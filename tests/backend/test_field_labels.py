"""Words in messages: every input field of the API has a Dutch label, a refused field is named by
its label (never by its code), and numbers and dates in messages are in Dutch notation."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from backend.errors import dutch_field_error
from backend.field_labels import FIELD_LABELS
from backend.notation import day, number

# A field name as code: lowercase words joined by "_" (region_id, crisis_reference).
CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def _input_names(doc: dict[str, Any]) -> set[str]:
    """Every request-body property (through nested schemas) and every parameter of the document."""
    schemas = doc["components"]["schemas"]
    names: set[str] = set()
    seen: set[str] = set()

    def walk(schema: dict[str, Any]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name])
            return
        for prop, sub in schema.get("properties", {}).items():
            names.add(prop)
            walk(sub)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                walk(schema[key])
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub)

    for operations in doc["paths"].values():
        for operation in operations.values():
            names.update(p["name"] for p in operation.get("parameters", []))
            for content in (operation.get("requestBody") or {}).get("content", {}).values():
                walk(content["schema"])
    return names


def test_every_input_field_of_the_api_has_a_dutch_label(app):
    names = _input_names(app.openapi())
    assert len(names) > 100  # the walk found the API's fields
    missing = sorted(names - FIELD_LABELS.keys())
    assert not missing, f"no Dutch label in backend/field_labels.py for: {missing}"
    coded = {name: label for name, label in FIELD_LABELS.items() if CODE.search(label)}
    assert not coded, f"labels that are codes: {coded}"


def test_a_refused_field_is_named_by_its_label_not_its_code(client, world):
    cases = [
        # (method, path, body, who, the words the message must have)
        ("POST", "/api/v1/holds", {"group_id": world.groups_a[0], "crisis_reference": "a b"}, "crisis", "crisiscode:"),
        ("POST", "/api/v1/referrals", {"reference": "TW-9"}, "coordinator", "geboortejaar is verplicht"),
        ("GET", "/api/v1/referrals?region_id=twee", None, "coordinator", "regio moet een geheel getal zijn"),
    ]
    for method, path, body, who, expected in cases:
        response = client.request(method, path, json=body, headers=world.headers(who))
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert expected in detail, detail
        leaked = [code for code in CODE.findall(detail) if code in FIELD_LABELS]
        assert not leaked, f"field codes in {detail!r}: {leaked}"
        # The machine-readable part keeps the field's code, for clients that mark the field.
        assert all(e["field"] for e in response.json()["errors"])


def test_a_place_in_a_list_is_counted_from_one():
    message = dutch_field_error({"loc": ("body", "events", 2, "event_id"), "type": "missing"})
    assert message == "gebeurtenissen nr. 3, gebeurtenis-id is verplicht"


def test_limits_and_dates_in_messages_are_written_the_dutch_way():
    assert dutch_field_error({"loc": ("body", "occupancy_norm"), "type": "less_than_equal", "ctx": {"le": 1.0}}) == (
        "bezettingsnorm mag hoogstens 1 zijn"
    )
    assert dutch_field_error({"loc": ("body", "max_distance_km"), "type": "greater_than", "ctx": {"gt": 0.5}}) == (
        "maximale afstand (km) moet groter zijn dan 0,5"
    )
    assert number(11.5) == "11,5" and number(0.7634, 2) == "0,76" and number(2100) == "2100"
    assert number(12500.25, 1) == "12.500,2" or number(12500.25, 1) == "12.500,3"
    assert day(date(2026, 1, 1)) == "01-01-2026"
