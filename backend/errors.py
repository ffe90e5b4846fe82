"""Business errors and how they become HTTP responses.

Hierarchy::

    DomainError              (400) base: carries status code, machine code and a Dutch message
    ├── NotFound             (404) also used for objects of another provider: no leak that they exist
    ├── Forbidden            (403) the role may not do this
    ├── Conflict             (409) the state changed underneath (place taken, hold expired, ...)
    ├── PreconditionFailed   (412) If-Match names an old version
    ├── RuleViolation        (422) the input is well-formed but breaks a domain rule
    ├── TooManyRequests      (429) brute-force protection, with Retry-After
    └── ServiceBusy          (503) too many logins at once for the password hashing, with Retry-After

Every response body has ``detail`` (a sentence a user understands, in Dutch) and ``code``.
Malformed input (pydantic validation) also answers 422, with a Dutch sentence per field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend import notation
from backend.field_labels import field_label


class FieldErrorBody(BaseModel):
    field: str | None = None
    message: str


class ErrorBody(BaseModel):
    """Every error response: a Dutch sentence for the user and a code for programs."""

    model_config = ConfigDict(extra="allow")  # some errors add context, e.g. current_version

    detail: str
    code: str
    errors: list[FieldErrorBody] | None = None


_ERROR_DESCRIPTIONS = {
    400: "Het verzoek kon niet worden gelezen",
    401: "Niet ingelogd, of het toegangsbewijs is ongeldig of verlopen",
    403: "Uw rol mag dit niet",
    404: "Niet gevonden (ook voor objecten van een andere aanbieder)",
    409: "Conflict: de toestand is intussen veranderd",
    412: "Versieconflict (If-Match)",
    413: "Het verzoek is te groot",
    422: "Ongeldige invoer",
    429: "Te veel verzoeken of pogingen",
    503: "De database is even niet bereikbaar",
}
# Documented on every API route, so that the OpenAPI document tells clients the truth about
# the error answers they can get (the generated API tests hold the service to it).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERROR_DESCRIPTIONS.items()
}


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}
        self.headers = headers or {}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PreconditionFailed(DomainError):
    status_code = 412
    code = "version_conflict"


class RuleViolation(DomainError):
    status_code = 422
    code = "rule_violation"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"


class ServiceBusy(DomainError):
    status_code = 503
    code = "busy"


_MESSAGES = {
    "missing": "is verplicht",
    "extra_forbidden": "is geen bekend veld en mag niet worden meegestuurd",
    "int_parsing": "moet een geheel getal zijn",
    "int_type": "moet een geheel getal zijn",
    "int_from_float": "moet een geheel getal zijn",
    "float_parsing": "moet een getal zijn",
    "float_type": "moet een getal zijn",
    "bool_parsing": "moet ja (true) of nee (false) zijn",
    "bool_type": "moet ja (true) of nee (false) zijn",
    "string_type": "moet tekst zijn",
    "date_parsing": "moet een datum zijn (JJJJ-MM-DD)",
    "date_from_datetime_parsing": "moet een datum zijn (JJJJ-MM-DD)",
    "datetime_parsing": "moet een tijdstip zijn (ISO 8601)",
    "datetime_from_date_parsing": "moet een tijdstip zijn (ISO 8601)",
    "json_invalid": "is geen geldige JSON",
    "model_attributes_type": "moet een object zijn",
    "dict_type": "moet een object zijn",
    "list_type": "moet een lijst zijn",
    "enum": "heeft geen toegestane waarde",
    "literal_error": "heeft geen toegestane waarde",
    "string_too_short": "is te kort",
    "string_too_long": "is te lang",
    "string_pattern_mismatch": "heeft niet de juiste vorm",
    "too_short": "heeft te weinig elementen",
    "too_long": "heeft te veel elementen",
    "uuid_parsing": "is geen geldige sleutel",
}


def _bound(value: Any) -> Any:
    """A limit as people write it: 1 rather than 1.0 (pydantic hands float limits as floats),
    0,5 rather than 0.5, a date as 01-01-2026."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return notation.number(value)
    if isinstance(value, date):
        return notation.day(value)
    return value


def field_name(loc: list[str | int]) -> str:
    """Where in the request, in words: 'gebeurtenissen nr. 3, gebeurtenis-id' for
    ('events', 2, 'event_id'). The position in a list counts from 1, as people count."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]} nr. {part + 1}" if parts else f"nr. {part + 1}"]
        else:
            parts.append(field_label(part))
    return ", ".join(parts)


def dutch_field_error(err: dict[str, Any]) -> str:
    """One pydantic error as a Dutch sentence, e.g. 'vrije plaatsen moet minstens 0 zijn'."""
    loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
    kind = err.get("type", "")
    # An unknown field has no label: it is named as the client sent it.
    field = field_name(loc[:-1] if kind == "extra_forbidden" else loc)
    if kind == "extra_forbidden" and loc:
        field = f"{field}, {loc[-1]}" if field else str(loc[-1])
    field = field or "het verzoek"
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":
        # loc holds the character position, not a field name.
        where = f" (rond teken {loc[0]})" if loc else ""
        return f"het verzoek is geen geldige JSON{where}"
    if kind in ("greater_than_equal", "greater_than"):
        text = f"moet minstens {_bound(ctx.get('ge', ctx.get('gt')))} zijn"
        if kind == "greater_than":
            text = f"moet groter zijn dan {_bound(ctx.get('gt'))}"
    elif kind in ("less_than_equal", "less_than"):
        text = f"mag hoogstens {_bound(ctx.get('le', ctx.get('lt')))} zijn"
        if kind == "less_than":
            text = f"moet kleiner zijn dan {_bound(ctx.get('lt'))}"
    elif kind in ("string_too_short", "string_too_long", "too_short", "too_long") and (
        "min_length" in ctx or "max_length" in ctx
    ):
        unit = "tekens" if kind.startswith("string") else "onderdelen"
        if kind.endswith("short"):
            text = f"is te kort (minstens {_bound(ctx['min_length'])} {unit})"
        else:
            text = f"is te lang (hoogstens {_bound(ctx['max_length'])} {unit})"
    elif kind == "value_error":
        text = str(ctx.get("error") or err.get("msg", "")).removeprefix("Value error, ")
        return f"{field}: {text}" if loc else text
    elif kind in ("enum", "literal_error") and ctx.get("expected"):
        # pydantic lists the choices in English ("'a', 'b' or 'c'").
        expected = str(ctx["expected"]).replace("' or '", "' of '")
        text = f"moet een van deze waarden zijn: {expected}"
    else:
        text = _MESSAGES.get(kind, err.get("msg", "is ongeldig"))
    return f"{field} {text}"


def _body(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": message, "code": code, **extra}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(_body(exc.message, exc.code, **exc.extra), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or None, "message": dutch_field_error(e)}
            for e in exc.errors()
        ]
        message = "; ".join(e["message"] for e in errors) or "Het verzoek is ongeldig."
        return JSONResponse(_body(message, "invalid_input", errors=errors), status_code=422)

    # The database away for a moment (connection cut, restart, pool exhausted): a clean 503 the
    # client may retry, instead of a bare 500. The transaction was rolled back, so nothing of
    # the request was written (unless the cut hit the commit's acknowledgement itself).
    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    async def _database_away(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            _body("De database is even niet bereikbaar; probeer het zo opnieuw.", "database_unavailable"),
            status_code=503,
            headers={"Retry-After": "2"},
        )

    # A number too large for the database's integer (e.g. ?provider_id=2**70): the input is
    # wrong, not the server. SQLite's driver raises OverflowError, PostgreSQL a DataError.
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            _body("Een van de opgegeven waarden is te groot of ongeldig.", "value_out_of_range"), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {
            404: "Niet gevonden.",
            405: "Deze methode is hier niet toegestaan.",
            401: "Niet ingelogd of sessie verlopen.",
            413: "Het verzoek is te groot.",
        }
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and exc.status_code not in messages
            else messages.get(exc.status_code, str(exc.detail))
        )
        if detail == "There was an error parsing the body":  # the framework's own, e.g. not UTF-8
            detail = "De inhoud van het verzoek kon niet worden gelezen; stuur geldige JSON in UTF-8."
        return JSONResponse(
            _body(detail, "http_error"), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )
