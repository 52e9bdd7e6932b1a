"""rows.csv from polars is byte for byte what the first writer made, and parts feed one Parquet
sink: hostile text, nulls, empty and null lists, negative numbers, columns with nothing in them;
a failing part or sink leaves the old files and no thread waiting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from reports import write_report_rows
from schemas.fields import WARNING_ENTRY
from transforms.report import neutralise_formulas

_ENTRY = pl.Struct({"key": pl.String, "value": pl.String})
_CHECK = pl.Struct({"code": pl.String, "value": pl.String, "status": pl.String})


def _reference_csv(rows: pl.DataFrame, path: Path) -> None:
    """rows.csv as the first writer made it (commit c9dae86's `reports.rows._csv_ready`),
    kept here as the oracle: every column's whole expression, whatever its values."""
    columns = []
    for name, dtype in rows.schema.items():
        col = pl.col(name)
        if dtype == pl.List(WARNING_ENTRY):
            entry = pl.element().struct
            said = pl.format("{}: {}", entry.field("field"), entry.field("message"))
            notes = col.list.eval(said).list.join("; ").replace("", None)
            col = neutralise_formulas(notes)
        elif dtype == pl.List(pl.String):
            col = neutralise_formulas(col.list.join(", "))
        elif isinstance(dtype, pl.List):
            wrapped = pl.struct(name).struct.json_encode()
            prefix = "{" + json.dumps(name) + ":"
            unwrapped = wrapped.str.strip_prefix(prefix).str.strip_suffix("}")
            col = pl.when(pl.col(name).is_not_null()).then(unwrapped)
        elif dtype == pl.Boolean:
            col = col.cast(pl.String)
        else:
            col = neutralise_formulas(col if dtype == pl.String else col.cast(pl.String))
        columns.append(col.alias(name))
    rows.lazy().select(columns).sink_csv(path)


def _hostile_rows() -> pl.DataFrame:
    """Eight report rows with every kind of value rows.csv turns into text."""
    note = ["=SUM(A1)", "+1 555", "-2", "@cmd", "\tx", "\rx", 'say "hi", ok', "line\nbreak"]
    return pl.DataFrame(
        {
            "source_row": [2, 3, 4, 5, 6, 7, 8, 9],
            "outcome": ["valid", "invalid", "duplicate", "valid", None, "valid", "x", "valid"],
            "warnings": [
                [{"field": "phone", "code": "c", "message": "'0044' was read as +44"}],
                [],
                None,
                [
                    {"field": "=email", "code": "c", "message": "ünïcode 名前"},
                    {"field": "country", "code": "d", "message": 'a "quote", comma'},
                ],
                [],
                [],
                [{"field": "x", "code": "c", "message": "line\nbreak"}],
                [],
            ],
            "changed_fields": [None] * 8,
            "tags": [["VIP", "hot"], [], None, ["=x"], ["ünï"], None, ["a,b"], []],
            "note": note,
            "first_name": ["Zoë", None, "李", "", " -x", "Ann", "Bob", "O'Neil"],
            "value": [1.5, -2.0, None, -0.0, float("inf"), float("-inf"), float("nan"), 0.0],
            "attempts": [None, 1, 2, -3, None, 0, 5, 6],
            "http_status": pl.Series([None] * 8, dtype=pl.Int64),
            "opted_out": [True, False, None, True, None, None, False, True],
            "checklist": [[], [], None, [], [], [], [], []],
            "changes": pl.Series([None] * 8, dtype=pl.List(_CHECK)),
            "custom": [
                [{"key": "city", "value": "Zürich"}, {"key": 'say "hi"\\', "value": None}],
                [],
                None,
                [{"key": "=formula", "value": "line\nbreak, comma"}],
                [],
                [{"key": "tab", "value": "\t"}],
                None,
                [],
            ],
            "nothing": pl.Series([None] * 8, dtype=pl.Null),
        },
        schema_overrides={
            "warnings": pl.List(WARNING_ENTRY),
            "checklist": pl.List(_CHECK),
            "custom": pl.List(_ENTRY),
            "changed_fields": pl.List(pl.String),
        },
    )


def _variants() -> list[pl.DataFrame]:
    """The hostile rows, and cuts of them where whole columns are empty, null or positive."""
    rows = _hostile_rows()
    return [rows, rows.slice(1, 1), rows.slice(4, 2), rows.slice(0, 0), rows.slice(6, 2)]


@pytest.mark.parametrize("at", range(5))
def test_csv_is_byte_identical_to_the_first_writer(tmp_path: Path, at: int) -> None:
    rows = _variants()[at]
    _reference_csv(rows, tmp_path / "reference.csv")
    write_report_rows(rows, tmp_path / "whole")
    expected = (tmp_path / "reference.csv").read_bytes()
    assert (tmp_path / "whole" / "rows.csv").read_bytes() == expected
    assert pl.read_parquet(tmp_path / "whole" / "rows.parquet").equals(rows)


def test_reference_output_says_what_a_person_reads(tmp_path: Path) -> None:
    """The oracle itself, on the cells that matter (so it cannot drift into nonsense)."""
    rows = _hostile_rows()
    write_report_rows(rows, tmp_path)
    csv = pl.read_csv(tmp_path / "rows.csv", infer_schema=False)
    assert csv["note"].to_list() == [
        "'=SUM(A1)",
        "'+1 555",
        "'-2",
        "'@cmd",
        "'\tx",
        "'\rx",
        'say "hi", ok',
        "line\nbreak",
    ]
    assert csv["value"].to_list()[:4] == ["1.5", "'-2.0", None, "'-0.0"]
    assert csv["attempts"].to_list()[:4] == [None, "1", "2", "'-3"]
    assert csv["warnings"].to_list()[:4] == [
        "phone: '0044' was read as +44",
        None,
        None,
        '\'=email: ünïcode 名前; country: a "quote", comma',
    ]
    assert csv["tags"].to_list()[:4] == ["VIP, hot", "", None, "'=x"]  # [] is written `""`
    assert csv["checklist"].to_list()[:3] == ["[]", "[]", None]
    assert json.loads(csv["custom"][0]) == [
        {"key": "city", "value": "Zürich"},
        {"key": 'say "hi"\\', "value": None},
    ]
    assert csv["custom"].to_list()[1:3] == ["[]", None]
    assert csv["changes"].null_count() == csv["nothing"].null_count() == 8


@pytest.mark.parametrize("size", [1, 3, 8])
def test_parts_give_the_bytes_and_rows_of_the_whole(tmp_path: Path, size: int) -> None:
    rows = _hostile_rows()
    _reference_csv(rows, tmp_path / "reference.csv")
    parts = (rows.slice(at, size) for at in range(0, rows.height, size))
    write_report_rows(parts, tmp_path / "parts")
    assert (tmp_path / "parts" / "rows.csv").read_bytes() == (
        tmp_path / "reference.csv"
    ).read_bytes()
    assert pl.read_parquet(tmp_path / "parts" / "rows.parquet").equals(rows)


def test_a_failing_part_leaves_the_old_files(tmp_path: Path) -> None:
    rows = _hostile_rows()
    write_report_rows(rows.head(1), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def parts() -> Iterator[pl.DataFrame]:
        yield rows.head(4)
        yield rows.slice(4, 2)
        raise ValueError("stage failed")

    with pytest.raises(ValueError, match="stage failed"):
        write_report_rows(parts(), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_part_the_sink_cannot_take_fails_the_write(tmp_path: Path) -> None:
    """A part whose columns differ from the first's stops the Parquet sink: the error comes
    back (not a wait on a sink that is gone), and neither file is replaced."""
    rows = _hostile_rows()
    odd = rows.slice(2, 2).with_columns(pl.col("source_row").cast(pl.String))
    parts = [rows.head(2), odd, rows.slice(4, 2), rows.slice(6, 2)]
    with pytest.raises(pl.exceptions.PolarsError):
        write_report_rows(iter(parts), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_parts_is_a_mistake(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="at least one part"):
        write_report_rows(iter([]), tmp_path)
    assert list(tmp_path.iterdir()) == []
