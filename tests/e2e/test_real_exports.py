"""Real exports, out of the box: `leadpipe check FILE` with no flags, one layout at a time.

The samples under tests/data/exports are written in each system's documented export layout
(see its README and layouts.toml). For each one, with no flag at all, the check must:
- detect the expected preset;
- read every record (one report row per record, no more, no fewer);
- mark valid at least 95% of the rows that hold an email email-validator accepts or a phone
  libphonenumber accepts (in the row's country, else the file's home region), the oracle
  being those libraries themselves, called here row by row.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl
import pytest
from email_validator import EmailNotValidError, validate_email
from typer.testing import CliRunner

from flows.cli import app
from schemas.presets import header_key
from transforms.mapping import resolve_mapping
from transforms.read import read_source
from transforms.values import country_lookup

EXPORTS = Path(__file__).parents[1] / "data" / "exports"
LAYOUTS: list[dict[str, Any]] = (
    tomllib.loads((EXPORTS / "layouts.toml").read_text(encoding="utf-8"))["layout"]
    if (EXPORTS / "layouts.toml").exists()
    else []
)
_SEPARATORS = (":::", ";", "\n")


def _oracle_accepts(
    record: dict[str, str | None], sources: dict[str, tuple[str, ...]], home: str | None
) -> bool:
    """Whether the record has an email or a phone the reference libraries accept."""
    for column in sources.get("email", ()):
        for value in _values(record.get(column)):
            try:
                validate_email(value, check_deliverability=False)
            except EmailNotValidError:
                continue
            return True
    countries = [record.get(c) for c in sources.get("country", ())]
    country = next((c for c in countries if c and c.strip()), None)
    region = country_lookup().get(header_key(country)) if country else None
    for column in sources.get("phone", ()):
        for value in _values(record.get(column)):
            try:
                number = phonenumbers.parse(value, region or home)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return True
    return False


def _values(cell: str | None) -> list[str]:
    if cell is None:
        return []
    text = cell
    for separator in _SEPARATORS:
        text = text.replace(separator, "\x1f")
    return [v.strip() for v in text.split("\x1f") if v.strip()]


@pytest.mark.skipif(not LAYOUTS, reason="tests/data/exports/layouts.toml is missing")
@pytest.mark.parametrize("layout", LAYOUTS, ids=[str(x["file"]) for x in LAYOUTS])
def test_a_real_export_is_checked_right_with_no_flags(
    layout: dict[str, Any], tmp_path: Path
) -> None:
    path = EXPORTS / layout["file"]
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["check", str(path), "--engine", "local", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["mapping"]["preset"] == layout["preset"], summary["notices"]
    assert summary["rows"] == layout["rows"]
    rows = pl.read_parquet(out / "rows.parquet")
    assert rows.height == layout["rows"]
    assert rows["source_row"].n_unique() == rows.height

    # The oracle reads the same records (the reader is tested on its own) and the columns
    # the detected preset maps, and asks the reference libraries about each row.
    table = read_source(path, scratch=tmp_path / "scratch", sheet=layout.get("sheet"))
    sources = resolve_mapping(table.headers, preset=layout["preset"]).sources
    records = table.frame.select("source_row", *table.headers).to_dicts()
    accepted = {
        r["source_row"] for r in records if _oracle_accepts(r, sources, layout.get("region"))
    }
    assert accepted, "a sample with no usable row tests nothing"
    marked = rows.filter(pl.col("source_row").is_in(list(accepted)))
    valid = marked.filter(pl.col("outcome") != "invalid")
    share = valid.height / len(accepted)
    rejected = marked.filter(pl.col("outcome") == "invalid").select("source_row", "reason")
    assert share >= 0.95, rejected.head(5).to_dicts()


def test_the_layouts_cover_at_least_fifteen_export_layouts() -> None:
    assert len(LAYOUTS) >= 15
    assert len({x["file"] for x in LAYOUTS}) == len(LAYOUTS)
