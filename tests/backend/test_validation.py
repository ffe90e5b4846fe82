"""The input rules of backend/validation.py, for every request body the API has: no boolean
as a number, dates within 1900–2100, text bounded and never holding a BSN; and no server error
for a strange token or live-feed position."""

from __future__ import annotations

import types
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Union, get_args, get_origin

import jwt
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocketDisconnect

from backend.registry import ROUTERS
from backend.validation import InputModel, looks_like_bsn
from tests.conftest import TEST_SECRET
from tests.factories import group_row, put_availability

# -- the BSN rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "123456782",
        "BSN 123456782 bekend bij de gemeente",
        "bsn: 1234.56.782",
        "111 222 333",
        "jongere (111.222.333)",
    ],
)
def test_a_bsn_is_recognised_with_or_without_dots_and_spaces(text: str) -> None:
    assert looks_like_bsn(text)


@pytest.mark.parametrize(
    "text",
    [
        "123456789",  # 9 digits that fail the eleven-test
        "000000000",
        "0612345678",  # a mobile number: 10 digits
        "053-1234567",  # a phone number
        "06 1234 5678",
        "NL91ABNA0417164300",
        "1234567820",  # ten digits, though the first nine pass
        "TW-2025-0012",
        "groep vol tot 01.02.2026",
    ],
)
def test_other_numbers_are_not_taken_for_a_bsn(text: str) -> None:
    assert not looks_like_bsn(text)


# -- every request body of the API -------------------------------------------------------------


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found = [annotation]
        for field in annotation.model_fields.values():
            found += _models_of(field.annotation)
        return found
    return [m for arg in get_args(annotation) for m in _models_of(arg)]


def _body_models(app: Any) -> list[type[BaseModel]]:
    """Every model a request body is made of (FastAPI's own wrappers for forms and uploads,
    ``Body_...``, left out: their parts are plain form fields and files). The routes come from
    the registry's routers (the app nests them)."""
    models: dict[str, type[BaseModel]] = {}
    for route in (route for router in ROUTERS for route in router.routes):
        if isinstance(route, APIRoute) and route.body_field is not None:
            for model in _models_of(route.body_field.field_info.annotation):
                if not model.__name__.startswith("Body_"):
                    models[model.__qualname__] = model
    return list(models.values())


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _bool_sample(annotation: Any) -> Any:
    """A value of this shape with ``True`` where a number belongs; None if it holds no number."""
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if annotation in (int, float):
        return True
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if bool in [_strip(o) for o in options]:
            return None
        for option in options:
            sample = _bool_sample(option)
            if sample is not None:
                return sample
        return None
    args = get_args(annotation)
    if origin is list and args:
        item = _bool_sample(args[0])
        return None if item is None else [item]
    if origin is dict and len(args) == 2:
        item = _bool_sample(args[1])
        return None if item is None else {"x": item}
    if origin is tuple and args:
        samples = [_bool_sample(a) for a in args]
        if all(s is None for s in samples):
            return None
        return ["A" if s is None else s for s in samples]
    return None


def _errors_at(model: type[BaseModel], data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [e for e in exc.errors() if e["loc"][:1] == (name,) and e["type"] != "missing"]
    return []


def test_the_request_bodies_are_found(app) -> None:  # type: ignore[no-untyped-def]
    names = {m.__name__ for m in _body_models(app)}
    assert {"AvailabilityUpdate", "HoldCreate", "ReferralCreate", "OccupancyEventIn", "RegionSettings"} <= names


def test_no_request_body_takes_a_boolean_for_a_number(app) -> None:  # type: ignore[no-untyped-def]
    checked = []
    for model in _body_models(app):
        for name, field in model.model_fields.items():
            sample = _bool_sample(field.annotation)
            if sample is None:
                continue
            checked.append(f"{model.__name__}.{name}")
            assert _errors_at(model, {name: sample}, name), f"{model.__name__}.{name} takes {sample!r}"
    assert len(checked) > 40, checked


def test_every_body_field_that_is_a_date_keeps_to_the_sane_range(app) -> None:  # type: ignore[no-untyped-def]
    checked = []
    for model in _body_models(app):
        for name, field in model.model_fields.items():
            kind = _strip(field.annotation)
            options = [_strip(a) for a in get_args(kind)] or [kind]
            if date not in options and datetime not in options:
                continue
            checked.append(f"{model.__name__}.{name}")
            for wrong in ("0001-01-01", "9999-12-31", "1899-12-31T23:00:00+00:00"):
                errors = _errors_at(model, {name: wrong}, name)
                assert errors, f"{model.__name__}.{name} takes {wrong}"
            assert not _errors_at(model, {name: "2026-03-01"}, name)
    assert len(checked) >= 10, checked


def test_every_request_body_is_an_input_model(app) -> None:  # type: ignore[no-untyped-def]
    """The rules hold for every field, present and future, because every body inherits them
    (the region settings have strict scalars of their own and no dates)."""
    others = {m.__name__ for m in _body_models(app) if not issubclass(m, InputModel)}
    assert others <= {"RegionSettings", "MatchingWeights", "DeclineReason"}, others


def _string_schemas(schema: dict[str, Any], doc: dict[str, Any], where: str, seen: set[str]) -> list[tuple]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _string_schemas(doc["components"]["schemas"][name], doc, name, seen)
    found: list[tuple] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found += _string_schemas(part, doc, where, seen)
    if schema.get("type") == "string":
        found.append((where, schema))
    if "items" in schema:
        found += _string_schemas(schema["items"], doc, f"{where}[]", seen)
    if isinstance(schema.get("prefixItems"), list):
        for part in schema["prefixItems"]:
            found += _string_schemas(part, doc, f"{where}()", seen)
    for name, part in (schema.get("properties") or {}).items():
        found += _string_schemas(part, doc, f"{where}.{name}", seen)
    return found


def test_every_text_in_a_json_body_has_a_maximum_length(app) -> None:  # type: ignore[no-untyped-def]
    doc = app.openapi()
    unbounded = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            for where, text in _string_schemas(schema, doc, f"{method.upper()} {path}", set()):
                bounded = "maxLength" in text or "enum" in text or "const" in text or "format" in text
                if not bounded:
                    unbounded.append(where)
    assert not unbounded, unbounded


# -- over HTTP, in Dutch, changing nothing -----------------------------------------------------


def test_true_as_a_number_is_refused_in_dutch(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    before = group_row(db, group).version
    response = put_availability(client, world, group, {"free_places": True})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["detail"] == "vrije plaatsen moet een getal zijn, geen ja/nee (true/false)"
    assert group_row(db, group).version == before
    # The same for the crisis search: an age of "true" is no age of 1.
    response = client.post(
        "/api/v1/crisis/search",
        json={"age": True, "postcode": "7511"},
        headers=world.headers("crisis"),
    )
    assert response.status_code == 422 and "geen ja/nee" in response.json()["detail"]


def test_a_text_with_a_bsn_is_refused_with_the_reason(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    before = group_row(db, group).version
    response = put_availability(
        client, world, group, {"free_places": 0, "admitting": False, "reason": "jongere 1234.56.782 komt"}
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("reden lijkt een BSN") and "plekwijzer bewaart geen BSN" in detail
    assert group_row(db, group).version == before
    response = client.post(
        "/api/v1/holds",
        json={"group_id": world.groups_b[1], "crisis_reference": "CR-0001", "note": "bsn 111222333"},
        headers=world.headers("crisis"),
    )
    assert response.status_code == 422 and "BSN" in response.json()["detail"], response.text


def test_dates_outside_the_sane_range_are_refused_in_dutch(client, world) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    response = put_availability(client, world, group, {"free_places": 1, "expected_free_date": "9999-12-31"})
    assert response.status_code == 422
    assert response.json()["detail"] == "verwachte datum vrij moet een datum tussen 1-1-1900 en 31-12-2100 zijn"
    response = client.get(
        "/api/v1/post-calculation",
        params={"region": "JZ14", "start": "0001-01-01", "end": "0001-12-31"},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 422 and "1-1-1900" in response.json()["detail"], response.text


# -- a strange token or live-feed position: 401 or a refusal, never a server error ------------


def _token(**claims: Any) -> str:
    now = datetime.now(UTC)
    body = {"sub": "1", "role": "admin", "iat": now, "exp": now + timedelta(minutes=5), **claims}
    return jwt.encode(body, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "abc"},
        {"sub": "²"},
        {"sub": "9" * 40},
        {"sub": ""},
        {"provider_id": "een"},
        {"region_id": 2**70},
        {"region_id": True},
    ],
)
def test_a_token_with_a_strange_subject_is_refused_with_401(client, world, claims: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {_token(**claims)}"})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "token_invalid"


@pytest.mark.parametrize("since", [str(2**63), "-1", "9" * 30, "9" * 5000])
def test_an_out_of_range_since_closes_the_live_feed_cleanly(client, world, since: str) -> None:  # type: ignore[no-untyped-def]
    url, key = f"/api/v1/live?since={since}", world.headers("key_a")
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(url, headers=key) as ws:
        ws.receive_json()
    assert refused.value.code == 1008


def test_a_large_since_within_range_is_served(client, world) -> None:  # type: ignore[no-untyped-def]
    with client.websocket_connect(f"/api/v1/live?since={2**63 - 1}", headers=world.headers("key_a")) as socket:
        hello = socket.receive_json()
    assert hello["type"] == "hello" and hello["replayed"] == 0
