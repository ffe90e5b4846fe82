"""The service's own routes, found by walking the app, so that every route a domain adds is
covered by the proof tests without anyone listing it here.

For each HTTP operation: method, path, path parameters, whether it authenticates, which roles
``require_roles`` lets through (read from the dependency itself), and the JSON body schema from
the OpenAPI document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from backend.auth import current_person, current_principal

ROLES = ("admin", "coordinator", "crisis", "viewer", "provider")
# Routes that must work without logging in. Everything else must authenticate.
# (The second login step is authenticated by the challenge token of the first, not a session;
# a refresh token or a password-reset code is the credential of the other two.)
PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/mfa"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/password"),
    # The signed one-click link in a stale-figure e-mail is its own credential (one group, once).
    ("GET", "/api/v1/figure-confirmations"),
    ("POST", "/api/v1/figure-confirmations"),
}


@dataclass
class Operation:
    method: str
    path: str
    path_params: list[str]
    authenticates: bool
    allowed_roles: frozenset[str] | None  # None: every logged-in role
    body_schema: dict[str, Any] | None = None
    body_media: str | None = None
    query_params: list[dict[str, Any]] = field(default_factory=list)
    # For logged-in people only: every API key gets 403 before the path's ids are looked at.
    people_only: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, values: dict[str, Any]) -> str:
        return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), self.path)


def _walk_candidates(node: Any) -> list[Any]:
    found = []
    for candidate in node.effective_candidates():
        if type(candidate).__name__ == "_IncludedRouter":
            found.extend(_walk_candidates(candidate))
        else:
            found.append(candidate)
    return found


def _route_contexts(app: FastAPI) -> list[Any]:
    contexts = []
    for route in app.routes:
        if type(route).__name__ == "_IncludedRouter":
            contexts.extend(_walk_candidates(route))
        else:
            contexts.append(route)
    return contexts


def _dependency_calls(dependant: Any) -> list[Any]:
    calls = []
    for sub in getattr(dependant, "dependencies", []) or []:
        calls.append(sub.call)
        calls.extend(_dependency_calls(sub))
    return calls


def _roles_of(call: Any) -> frozenset[str] | None:
    if getattr(call, "__qualname__", "") != "require_roles.<locals>._check":
        return None
    closure = dict(zip(call.__code__.co_freevars, call.__closure__ or (), strict=False))
    return frozenset(str(r) for r in closure["roles"].cell_contents)


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def api_operations(app: FastAPI) -> list[Operation]:
    doc = app.openapi()
    security: dict[tuple[str, str], tuple[bool, frozenset[str] | None, bool]] = {}
    for ctx in _route_contexts(app):
        dependant = getattr(ctx, "dependant", None)
        methods = getattr(ctx, "methods", None)
        if dependant is None or not methods:
            continue
        calls = _dependency_calls(dependant)
        authenticates = any(c is current_principal for c in calls)
        people_only = any(c is current_person for c in calls)
        roles = None
        for call in calls:
            found = _roles_of(call)
            if found is not None:
                roles = found if roles is None else roles & found
        for method in methods:
            security[(method.upper(), ctx.path)] = (authenticates or roles is not None, roles, people_only)

    operations = []
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, spec in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            key = (method.upper(), path)
            authenticates, roles, people_only = security.get(key, (False, None, False))
            body_schema = body_media = None
            content = (spec.get("requestBody") or {}).get("content") or {}
            for media, media_spec in content.items():
                body_media = media
                body_schema = _resolve(media_spec.get("schema", {}), doc)
                break
            params = spec.get("parameters", [])
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=[p["name"] for p in params if p["in"] == "path"],
                    authenticates=authenticates,
                    allowed_roles=roles,
                    people_only=people_only,
                    body_schema=body_schema,
                    body_media=body_media,
                    query_params=[p for p in params if p["in"] == "query"],
                )
            )
    return operations


def minimal_body(schema: dict[str, Any] | None, doc: dict[str, Any]) -> Any:
    """A small instance with just the required fields, valid as far as types go."""
    if schema is None:
        return None
    schema = _resolve(schema, doc)
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [s for s in schema[combinator] if _resolve(s, doc).get("type") != "null"]
            return minimal_body(options[0] if options else schema[combinator][0], doc)
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: minimal_body(schema["properties"][name], doc)
            for name in schema.get("required", [])
            if name in schema.get("properties", {})
        }
    if kind == "array":
        return [minimal_body(schema.get("items", {}), doc) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return (
            max(int(schema.get("minimum", 1)), 1)
            if "maximum" not in schema or schema["maximum"] >= 1
            else int(schema.get("minimum", 0))
        )
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return "2030-01-01"
        if fmt == "date-time":
            return "2030-01-01T12:00:00Z"
        return "x" * max(schema.get("minLength", 1), 1)
    return None


def body_fields(schema: dict[str, Any] | None, doc: dict[str, Any]) -> set[str]:
    if schema is None:
        return set()
    return set(_resolve(schema, doc).get("properties", {}))
