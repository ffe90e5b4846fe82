"""The rules every API input follows, in one place (request bodies inherit ``InputModel``).

- **A number is a number.** pydantic reads JSON ``true`` as 1 where an integer is expected, so
  ``{"free_places": true}`` would report one free place. Every numeric field of an input model
  refuses a boolean with a Dutch 422 (also inside lists and maps).
- **Dates lie within a sane range** (1900 to 2100): a birth date, a valid-from date or an
  expected-free date in year 1 or 9999 is a typing error, and such dates break date arithmetic
  further on. One rule, :func:`check_date`, for body fields (automatically) and query
  parameters (``SaneDate``).
- **plekwijzer holds no BSN.** Youths are known by pseudonymous references; a text that
  contains a number that looks like a citizen service number (9 digits passing the
  eleven-test, with or without dots or spaces) is refused with a Dutch explanation, in every
  text field of every input model. Fields that hold secrets (passwords, tokens) are not
  inspected (their content must not end up in an error message either), nor are technical
  identifiers a model names in ``not_free_text``.
- **Text is bounded**: every text field declares its ``max_length`` (visible in the API
  document); ``tests/backend/test_validation.py`` checks that every text field of every
  request body has one.
"""

from __future__ import annotations

import functools
import re
import types
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlmodel import SQLModel
from stdnum.nl import bsn

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)
DATE_RANGE_MESSAGE = "moet een datum tussen 1-1-1900 en 31-12-2100 zijn"
BOOLEAN_NUMBER_MESSAGE = "moet een getal zijn, geen ja/nee (true/false)"
BSN_MESSAGE = (
    "lijkt een BSN (burgerservicenummer) te bevatten; plekwijzer bewaart geen BSN. "
    "Laat het nummer weg of gebruik een eigen code (pseudoniem)"
)
# Field names whose text is never inspected: secrets are not echoed or scanned.
_SECRET_NAMES = ("password", "secret", "token", "totp", "recovery")

# A run of digits, each separated from the next by at most one space or dot ("123 456 782",
# "1234.56.782"), and not glued to more digits.
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ .]?\d)*(?!\d)")


# -- the rules ---------------------------------------------------------------------------------


def looks_like_bsn(text: str) -> bool:
    """True when the text contains 9 digits (dots or spaces between them allowed) that pass
    the BSN eleven-test (``stdnum.nl.bsn``); 000000000 is no BSN."""
    if len(text) < 9 or sum(map(str.isdigit, text)) < 9:
        return False  # fewer than nine digits in all (fast: runs for every text of every body)
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ .]", "", match.group())
        if len(digits) == 9 and digits != "000000000" and bsn.is_valid(digits):
            return True
    return False


def refuse_bsn(text: str) -> str:
    if looks_like_bsn(text):
        raise PydanticCustomError("bsn_refused", BSN_MESSAGE)
    return text


def check_date(value: date) -> date:
    """A date (or the day of a moment) between 1-1-1900 and 31-12-2100, or a Dutch 422."""
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        raise PydanticCustomError("date_out_of_range", DATE_RANGE_MESSAGE)
    return value


# For query parameters (``start: SaneDate | None = None``); body fields get it automatically.
SaneDate = Annotated[date, AfterValidator(check_date)]
# A free-text field outside an ``InputModel`` (e.g. a query parameter).
FreeText = Annotated[str, AfterValidator(refuse_bsn)]
# An item of a list of codes (care forms, need tags, expertise): bounded like any text.
Code = Annotated[str, Field(min_length=1, max_length=60)]


# -- walking a field's annotation and value ----------------------------------------------------

# Only these values can hold a boolean (bool itself, or one inside a container).
_MAY_HOLD_BOOL = (bool, list, tuple, set, frozenset, dict)


@functools.cache
def _is_secret(field_name: str) -> bool:
    return any(part in field_name.lower() for part in _SECRET_NAMES)


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_number(annotation: Any) -> bool:
    annotation = _strip(annotation)
    return annotation in (int, float, Decimal)


def _takes_bool(annotation: Any) -> bool:
    annotation = _strip(annotation)
    if annotation is bool or annotation is Any:
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(option, bool) for option in get_args(annotation))
    return False


def _misplaced_bool(annotation: Any, value: Any) -> bool:
    """Whether ``value`` (raw input) has a boolean where ``annotation`` wants only a number."""
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [option for option in get_args(annotation) if option is not type(None)]
        if isinstance(value, bool):
            return any(_is_number(o) for o in options) and not any(_takes_bool(o) for o in options)
        return any(_misplaced_bool(option, value) for option in options)
    if isinstance(value, bool):
        return _is_number(annotation)
    args = get_args(annotation)
    if origin in (list, set, frozenset) and isinstance(value, list | tuple):
        return bool(args) and any(_misplaced_bool(args[0], item) for item in value)
    if origin is tuple and isinstance(value, list | tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            return any(_misplaced_bool(args[0], item) for item in value)
        return any(_misplaced_bool(a, item) for a, item in zip(args, value, strict=False))
    if origin is dict and isinstance(value, dict):
        return len(args) == 2 and any(_misplaced_bool(args[1], item) for item in value.values())
    return False


def _check_parsed(value: Any, *, inspect_text: bool) -> None:
    """Dates in range and no BSN in text, through lists, tuples and maps (nested models check
    themselves)."""
    if isinstance(value, date):
        check_date(value)
    elif isinstance(value, str):
        if inspect_text:
            refuse_bsn(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_parsed(item, inspect_text=inspect_text)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_parsed(key, inspect_text=inspect_text)
            _check_parsed(item, inspect_text=inspect_text)


class InputModel(SQLModel):
    """Base of every request body: unknown fields refused (no mass assignment), and the rules
    above for every field, present and future."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    # Technical identifiers made by a provider's system, never typed by a person: the BSN check
    # skips them (a 9-digit database id passes the eleven-test one time in eleven).
    not_free_text: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, _MAY_HOLD_BOOL):
            return value  # a plain text or number holds no boolean (fast: runs for every field)
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _misplaced_bool(field.annotation, value):
            raise PydanticCustomError("number_not_boolean", BOOLEAN_NUMBER_MESSAGE)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _sane_dates_and_no_bsn(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, int | float | Decimal):
            return value  # nothing to check (fast: runs for every field)
        name = info.field_name or ""
        _check_parsed(value, inspect_text=not (_is_secret(name) or name in cls.not_free_text))
        return value
