"""One guard for every CSV and Excel export: a text cell never becomes a formula.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(a tab or carriage return in front is skipped by some of them), so a name such as
``=HYPERLINK("http://evil","klik")`` typed into plekwijzer would become a live link or worse in
the coordinator's Excel ("CSV injection"). Every export writes its cells through
:func:`neutralise`: such a text gets a single quote in front, which Excel and LibreOffice show
as plain text. Numbers stay numbers (a negative amount is a number, not a formula); only text
is touched. The register import takes the quote off again (:func:`restore`), so exporting and
importing a register changes nothing.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The value as an export writes it: a text a spreadsheet would run gets a leading quote;
    numbers, dates, booleans and None are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_text(value: str) -> str:
    """:func:`neutralise` for a value known to be text (typed for the exporters' callers)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def restore(text: str) -> str:
    """The text as it was before :func:`neutralise` (for reading an exported file back in)."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text
