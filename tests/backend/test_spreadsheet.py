"""Every CSV and Excel export writes a text that a spreadsheet would run as plain text
(backend/spreadsheet.py), on every export route the API has."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from typing import Any

import pytest
from fastapi.routing import APIRoute
from openpyxl import load_workbook

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.providers.models import Group, Location, Provider
from backend.registry import ROUTERS
from backend.spreadsheet import neutralise, restore
from tests.backend.reports.helpers import since

FORMULA = '=HYPERLINK("http://x","klik")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_text_that_a_spreadsheet_would_run_gets_a_quote_and_comes_back(start: str) -> None:
    text = f"{start}1+1"
    assert neutralise(text) == f"'{text}"
    assert restore(neutralise(text)) == text


def test_numbers_stay_numbers_and_plain_text_stays_as_it_is() -> None:
    assert neutralise(-5) == -5 and isinstance(neutralise(-5), int)
    assert neutralise(-1.25) == -1.25
    assert neutralise(date(2025, 1, 1)) == date(2025, 1, 1)
    assert neutralise(None) is None and neutralise(True) is True
    assert neutralise("Stichting De Linde") == "Stichting De Linde"
    assert neutralise("") == ""
    assert restore("'quote at the start of a plain text") == "'quote at the start of a plain text"


# -- every export route ------------------------------------------------------------------------


def _formula_names(db: Any, world: Any) -> None:
    """A group, its location and its provider named with a formula; the crisis group is
    availability-funded with a history, so it shows in the post-calculation of 2025."""
    crisis = world.groups_b[1]
    since(db, [crisis], date(2024, 1, 1))
    with db.transaction() as session:
        group = session.get(Group, crisis)
        group.name = FORMULA
        location = session.get(Location, group.location_id)
        location.name = "+31 53 123 " + FORMULA
        provider = session.get(Provider, group.provider_id)
        provider.name = "@" + FORMULA
        session.add_all([group, location, provider])


def _csv_cells(data: bytes, delimiter: str) -> list[Any]:
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter)
    return [cell for row in rows for cell in row]


def _xlsx_cells(data: bytes) -> list[Any]:
    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _check_csv(cells: list[Any]) -> int:
    risky = [c for c in cells if "HYPERLINK" in c]
    assert risky, "the export does not contain the test text"
    for cell in risky:
        assert cell.startswith("'"), cell
    return len(risky)


def _check_xlsx(cells: list[Any]) -> int:
    risky = [c for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert risky, "the workbook does not contain the test text"
    for cell in risky:
        # Text (data type "s"), starting with a quote: never a formula (data type "f").
        assert cell.data_type == "s" and cell.value.startswith("'"), (cell.coordinate, cell.value, cell.data_type)
    return len(risky)


def _register_xlsx(client: Any, world: Any, db: Any) -> None:
    response = client.get("/api/v1/register/export", params={"format": "xlsx"}, headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    cells = _xlsx_cells(response.content)
    assert _check_xlsx(cells) >= 3  # provider, location, group
    # Numbers stay numbers: the contracted places are a number cell, not a text.
    assert any(c.data_type == "n" and isinstance(c.value, int) for c in cells)


def _register_csv(client: Any, world: Any, db: Any) -> None:
    response = client.get("/api/v1/register/export", params={"format": "csv"}, headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        cells = [cell for name in archive.namelist() for cell in _csv_cells(archive.read(name), ",")]
    assert _check_csv(cells) >= 3


def _post_calculation_csv(client: Any, world: Any, db: Any) -> None:
    params = {"region": "JZ14", "year": 2025}
    response = client.get("/api/v1/post-calculation/export.csv", params=params, headers=world.headers("coordinator"))
    assert response.status_code == 200, response.text
    assert _check_csv(_csv_cells(response.content, ";")) >= 1


def _post_calculation_xlsx(client: Any, world: Any, db: Any) -> None:
    params = {"region": "JZ14", "year": 2025}
    response = client.get("/api/v1/post-calculation/export.xlsx", params=params, headers=world.headers("coordinator"))
    assert response.status_code == 200, response.text
    cells = _xlsx_cells(response.content)
    assert _check_xlsx(cells) >= 1
    assert any(c.data_type == "n" and isinstance(c.value, float) for c in cells)


def _audit_row_with_a_formula(db: Any, world: Any) -> None:
    with db.transaction() as session:
        audit.record(
            session=session,
            actor=Principal(
                kind="user", id=99, name="tester", role="coordinator", provider_id=None, region_id=world.region_id
            ),
            action="referral.read",
            object_type="referral",
            object_id='=HYPERLINK("http://x.nl","klik")',
            purpose=Purpose.referral_review,
        )


def _audit_csv(client: Any, world: Any, db: Any) -> None:
    _audit_row_with_a_formula(db, world)
    response = client.get("/api/v1/audit/export.csv", headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    # (The youth-record column names it too, behind "referral:": text that cannot start a formula.)
    cells = [c for c in _csv_cells(response.content, ";") if c.lstrip("'").startswith("=")]
    assert _check_csv(cells) >= 1


def _audit_xlsx(client: Any, world: Any, db: Any) -> None:
    _audit_row_with_a_formula(db, world)
    response = client.get("/api/v1/audit/export.xlsx", headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    cells = [c for c in _xlsx_cells(response.content) if str(c.value or "").lstrip("'").startswith("=")]
    assert _check_xlsx(cells) >= 1


# The indicators and the data-quality report name every group and provider of the region.
STEERING_PERIOD = {"region": "JZ14", "start": "2025-01-01", "end": "2025-12-31"}


def _indicators_csv(client: Any, world: Any, db: Any) -> None:
    response = client.get("/api/v1/indicators/export.csv", params=STEERING_PERIOD, headers=world.headers("coordinator"))
    assert response.status_code == 200, response.text
    delimiter = ";" if response.text.count(";") > response.text.count(",") else ","
    assert _check_csv(_csv_cells(response.content, delimiter)) >= 1


def _indicators_xlsx(client: Any, world: Any, db: Any) -> None:
    response = client.get(
        "/api/v1/indicators/export.xlsx", params=STEERING_PERIOD, headers=world.headers("coordinator")
    )
    assert response.status_code == 200, response.text
    assert _check_xlsx(_xlsx_cells(response.content)) >= 1


def _data_quality_csv(client: Any, world: Any, db: Any) -> None:
    response = client.get(
        "/api/v1/data-quality/export.csv", params=STEERING_PERIOD, headers=world.headers("coordinator")
    )
    assert response.status_code == 200, response.text
    delimiter = ";" if response.text.count(";") > response.text.count(",") else ","
    assert _check_csv(_csv_cells(response.content, delimiter)) >= 1


EXPORTS = {
    ("/api/v1/register/export", "xlsx"): _register_xlsx,
    ("/api/v1/register/export", "csv"): _register_csv,
    ("/api/v1/post-calculation/export.csv", "csv"): _post_calculation_csv,
    ("/api/v1/post-calculation/export.xlsx", "xlsx"): _post_calculation_xlsx,
    ("/api/v1/audit/export.csv", "csv"): _audit_csv,
    ("/api/v1/audit/export.xlsx", "xlsx"): _audit_xlsx,
    ("/api/v1/indicators/export.csv", "csv"): _indicators_csv,
    ("/api/v1/indicators/export.xlsx", "xlsx"): _indicators_xlsx,
    ("/api/v1/data-quality/export.csv", "csv"): _data_quality_csv,
}


def test_every_export_route_is_checked_below() -> None:
    """A new export route must join EXPORTS (and so the formula check)."""
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    exports = {f"/api/v1{r.path}" for r in routes if "export" in r.path}
    assert exports == {path for path, _ in EXPORTS}


@pytest.mark.parametrize(("path", "kind"), list(EXPORTS))
def test_a_formula_in_a_name_is_inert_in_every_export(client, world, db, path: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    _formula_names(db, world)
    EXPORTS[(path, kind)](client, world, db)
