"""Postcode centroids: only address postcodes are loaded (a PO box carries town-centre
coordinates), a youth's postcode resolves to its centroid, and a bad file changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.errors import RuleViolation
from backend.regions.models import Postcode
from backend.regions.service import import_postcodes, resolve_postcode

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "4pp.csv"
HEADER = (
    'id,postcode,"woonplaats","alternatieve_schrijfwijzen","gemeente","provincie","netnummer",'
    'latitude,longitude,"soort"'
)


def twente_file(tmp_path: Path) -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data/4pp.csv is not beside the project")
    lines = SHARED.read_text(encoding="utf-8").splitlines()
    wanted = [line for line in lines[1:] if line.split(",")[1] in ("7511", "7512", "7601", "1000")]
    path = tmp_path / "4pp.csv"
    path.write_text("\n".join([lines[0], *wanted]) + "\n", encoding="utf-8")
    return path


def test_address_postcodes_load_and_resolve(db, tmp_path):
    with db.transaction() as session:
        loaded = import_postcodes(session=session, path=twente_file(tmp_path))
    with db.transaction(write=False) as session:
        assert loaded == 3  # 1000 Amsterdam is a PO-box postcode
        assert session.get(Postcode, "1000") is None
        lat, lon = resolve_postcode(session=session, pc4="7511")
        assert 52.1 < lat < 52.3 and 6.8 < lon < 7.0  # Enschede centre
        assert session.get(Postcode, "7601").place == "Almelo"
        with pytest.raises(RuleViolation, match="onbekend"):
            resolve_postcode(session=session, pc4="9999")
        with pytest.raises(RuleViolation, match="4 cijfers"):
            resolve_postcode(session=session, pc4="75A1")


def test_a_bad_file_is_refused_in_dutch_and_keeps_the_table(db, tmp_path):
    with db.transaction() as session:
        import_postcodes(session=session, path=twente_file(tmp_path))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + '\n1,7511,"Enschede","","Enschede","Overijssel","053",noord,6.9,"Adres"\n', encoding="utf-8"
    )
    with pytest.raises(RuleViolation, match="Regel 2: coördinaten zijn geen getallen"), db.transaction() as session:
        import_postcodes(session=session, path=bad)
    with db.transaction(write=False) as session:
        assert session.get(Postcode, "7512") is not None
