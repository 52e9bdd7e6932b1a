"""Broken inputs through `leadpipe check`: a clear one-line error or one report row per record.

Each committed file under `tests/data/bad/` has an expectation in `CASES`; big or binary-format
inputs (10 MB cell, 100k columns, workbooks, a folder, a missing path) are made in `tmp_path`.
The CLI runs in-process with `LEADPIPE_DEBUG=1`, so an error that is not ours escapes as an
exception instead of hiding behind "internal error".

`Report.records` says how the source records were counted: data lines after the header for
CSV-like files (a blank line is a record unless no record follows it, a quoted line break is
not), non-blank lines for NDJSON, rows for Parquet, rows below the header of the sheet read for
XLSX.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from flows.cli import app
from transforms.exceptions import ReadError
from transforms.read import READ_ERROR, read_source

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
runner = CliRunner()


@dataclass(frozen=True)
class Fails:
    """The run stops: this exit status and a one-line error containing `message`."""

    exit_code: int
    message: str


@dataclass(frozen=True)
class Report:
    """The run finishes: `records` report rows, these non-null reason codes (with counts)."""

    records: int
    reasons: dict[str, int] = field(default_factory=dict)
    values: dict[tuple[int, str], str | None] = field(default_factory=dict)


CASES: dict[str, Fails | Report] = {
    "empty.csv": Fails(3, "file is empty"),
    "blank_lines_only.csv": Fails(3, "file is empty"),
    "header_only.csv": Report(0),
    "binary_garbage.csv": Fails(3, "looks like a binary file"),
    "nul_bytes.csv": Fails(3, "looks like a binary file"),
    "latin1.csv": Report(2, values={(2, "first_name"): "José", (3, "first_name"): "Ren\x81e"}),
    "cp1252.csv": Report(1, values={(2, "first_name"): "Zoë"}),
    # Not valid UTF-8 as a whole: each line is read as UTF-8 where it is valid, else cp1252.
    "mixed_encodings.csv": Report(2, values={(2, "first_name"): "José", (3, "first_name"): "René"}),
    "invalid_utf8_surrogates.csv": Report(1),
    "control_chars.csv": Report(1),
    "unclosed_quote.csv": Fails(3, "is a quote left open?"),
    # Quotes inside unquoted fields: read leniently; the row split at the formula's comma is
    # ragged, the other kept as it is.
    "stray_quote_in_field.csv": Report(
        2, {"ragged_row": 1}, values={(3, "first_name"): "+cmd", (3, "email"): "bob@example.com"}
    ),
    # The short row is read with blanks and a note; the long one is refused (values shifted).
    "ragged_rows.csv": Report(3, {"ragged_row": 1}, {(2, "email"): "ann@example.com"}),
    "blank_rows_between.csv": Report(4, {"empty_row": 1, "no_identity": 1}),
    # The repeated name is read as `email (2)` (the file's phone, `1`, is no phone number: left
    # out with a warning beside the good email).
    "duplicate_headers.csv": Report(
        1, values={(2, "email"): "a@example.com", (2, "phone"): "None"}
    ),
    "blank_header_with_values.csv": Fails(3, "column 2 has no header name but holds values"),
    "whitespace_headers.csv": Fails(3, "no header row: the first line is blank"),
    "no_header.csv": Fails(3, "no header row: the first line holds data"),
    "formula_cells.csv": Report(
        2, values={(2, "first_name"): '=HYPERLINK("http://evil.example","click")'}
    ),
    "bom_utf8.csv": Report(1, values={(2, "email"): "ann@example.com"}),
    "bom_utf16le.csv": Report(2, values={(3, "email"): "bob@example.com"}),
    "bom_utf16be.csv": Report(2, values={(3, "email"): "bob@example.com"}),
    "utf16le_no_bom.csv": Report(1, values={(2, "email"): "ann@example.com"}),
    "crlf.csv": Report(2, values={(3, "first_name"): "Bob"}),
    "lone_cr.csv": Report(2, values={(3, "first_name"): "Bob"}),
    "truncated.csv.gz": Fails(3, "gzip file is truncated"),
    "not_gzip.csv.gz": Fails(3, "not a valid gzip file"),
    "gzip_of_garbage.csv.gz": Fails(3, "gzip_of_garbage.csv.gz: looks like a binary file"),
    "semicolon_decimal_comma.csv": Report(2, values={(2, "value"): "1234.5"}),
    "tab_delimited.tsv": Report(2, values={(3, "first_name"): "Bob"}),
    "tab_in_csv_suffix.csv": Report(2, values={(3, "first_name"): "Bob"}),
    "quoted_header_newlines.csv": Report(2, values={(3, "email"): "bob@example.com"}),
    "one_column.csv": Report(4, {"invalid_email": 1, "empty_row": 1}),
    "ndjson_bad_line.ndjson": Report(3, {"bad_json": 1}, {(4, "email"): "cy@example.com"}),
    "ndjson_not_objects.ndjson": Report(2, {"bad_json": 2}),
    "ndjson_blank_lines.ndjson": Report(2),
    "legacy_workbook.xls": Fails(3, ".xls workbooks are not supported"),
    "fake.xlsx": Fails(3, "cannot be read as a workbook"),
    "fake.parquet": Fails(3, "is not a valid .parquet file"),
    # An integer phone that is no number is left out with a warning; the row is kept.
    "parquet_ints.parquet": Report(2, values={(2, "value"): "1.0"}),
    "parquet_nested_dates.parquet": Report(1),
    "parquet_binary.parquet": Fails(3, "column 'blob' holds Binary values"),
    "parquet_empty.parquet": Report(0),
    "pattern_header.csv": Fails(3, "column name '*' cannot be used; rename it"),
    "pattern_key.ndjson": Fails(3, "column name '^a$' cannot be used; rename it"),
    "utf16_cut_mid_character.csv": Fails(3, "is not valid utf-16-le text (truncated data)"),
    # Double-encoded header names are repaired, so `TÃ©lÃ©phone` maps as `Téléphone`.
    "mojibake_headers.csv": Report(
        1, values={(2, "email"): "zoe@example.com", (2, "phone"): "+33142685300"}
    ),
    # Blank lines after the last record are not records.
    "trailing_blank_lines.csv": Report(2),
    # Rows that leave out trailing fields are read with blanks, not rejected.
    "short_rows.csv": Report(2, values={(2, "email"): "ann@example.com", (3, "first_name"): "Bob"}),
}


@pytest.fixture(autouse=True)
def _debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_DEBUG", "1")


def _check(source: Path, out: Path) -> Result:
    args = ["check", str(source), "--engine", "local", "--out", str(out), "--json"]
    return runner.invoke(app, args)


def _assert_outcome(result: Result, expected: Fails | Report, out: Path) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output + result.stderr
    assert "internal error" not in result.stderr
    if isinstance(expected, Fails):
        assert result.exit_code == expected.exit_code, result.stderr
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert expected.message in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    rows = pl.read_parquet(out / "rows.parquet")
    assert rows["source_row"].to_list() == list(range(2, expected.records + 2))
    assert dict(Counter(c for c in rows["reason_code"] if c)) == expected.reasons
    by_row = {r["source_row"]: r for r in rows.iter_rows(named=True)}
    for (row, column), value in expected.values.items():
        assert str(by_row[row][column]) == value


def test_every_committed_file_has_an_expectation() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(CASES)
    assert len(CASES) >= 30
    assert all(p.stat().st_size < 4096 for p in BAD.iterdir())


@pytest.mark.parametrize("name", sorted(CASES))
def test_committed_case(name: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _assert_outcome(_check(BAD / name, out), CASES[name], out)


def _big_cell(path: Path) -> None:
    path.write_text('email,note\na@example.com,"' + "x" * 10_000_000 + '"\nb@example.com,hi\n')


def _wide(path: Path) -> None:
    names = ",".join(f"c{i}" for i in range(100_000))
    path.write_text(f"email,{names}\na@example.com,{','.join(['x'] * 100_000)}\n")


def _long_lines(path: Path) -> None:
    rows = "".join(f"u{i}@example.com,{'y' * 2_000_000}\n" for i in range(3))
    path.write_text("email,note\n" + rows)


def _xlsx(path: Path, build: Callable[[object], None]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    build(book)
    book.close()


def _several_sheets(path: Path) -> None:
    def build(book: object) -> None:
        for name, emails in (("Leads", ["a@example.com", "b@example.com"]), ("Other", ["c@x"])):
            sheet = book.add_worksheet(name)  # type: ignore[attr-defined]
            sheet.write_row(0, 0, ["email", "first_name"])
            for i, email in enumerate(emails, start=1):
                sheet.write_row(i, 0, [email, f"N{i}"])

    _xlsx(path, build)


def _merged_cells(path: Path) -> None:
    def build(book: object) -> None:
        sheet = book.add_worksheet("Leads")  # type: ignore[attr-defined]
        sheet.write_row(0, 0, ["email", "first_name", "company"])
        sheet.write_row(1, 0, ["a@example.com", "Ann"])
        sheet.write_row(2, 0, ["b@example.com", "Bob"])
        sheet.merge_range(1, 2, 2, 2, "Acme")  # one company across both rows
        sheet.write_row(3, 0, ["c@example.com", "Cy", "Initech"])

    _xlsx(path, build)


# name -> (file name, how to make it, expectation)
GENERATED: dict[str, tuple[str, Callable[[Path], None], Fails | Report]] = {
    "10 MB single cell": ("big_cell.csv", _big_cell, Report(2)),
    "100k columns": ("wide.csv", _wide, Report(1)),
    "2 MB lines": ("long_lines.csv", _long_lines, Report(3)),
    "xlsx with several sheets": (
        "sheets.xlsx",
        _several_sheets,
        Report(2, values={(3, "email"): "b@example.com"}),
    ),
    # calamine gives a merged range's value to its top-left cell only.
    "xlsx with merged cells": (
        "merged.xlsx",
        _merged_cells,
        Report(3, values={(2, "business_name"): "Acme", (3, "business_name"): "None"}),
    ),
    "a folder": ("folder.csv", lambda p: p.mkdir(), Fails(3, "is a folder, not a file")),
    "a missing file": ("missing.csv", lambda p: None, Fails(3, "file not found")),
}


@pytest.mark.parametrize("case", list(GENERATED))
def test_generated_case(case: str, tmp_path: Path) -> None:
    name, make, expected = GENERATED[case]
    make(tmp_path / name)
    out = tmp_path / "run"
    _assert_outcome(_check(tmp_path / name, out), expected, out)


def _read(path: Path, text: str | bytes) -> pl.DataFrame:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return read_source(path, scratch=path.parent / "scratch").frame


def test_a_first_record_longer_than_the_header_is_ragged_not_fatal(tmp_path: Path) -> None:
    frame = _read(tmp_path / "f.csv", "a,b\n1,2,3\n4,5\n")
    assert frame.select("a", "b").rows() == [("1", "2"), ("4", "5")]
    assert frame[READ_ERROR][0].startswith("ragged_row|the row has 3 fields")


def test_lone_cr_line_ends_split_records(tmp_path: Path) -> None:
    frame = _read(tmp_path / "f.csv", 'a,b\r1,"x\ry"\r3,4\r')
    assert frame.select("a", "b").rows() == [("1", "x\ny"), ("3", "4")]


def test_fields_past_the_stdlib_limit_and_headers_past_the_sample(tmp_path: Path) -> None:
    names = [f"column_{i}" for i in range(30_000)]  # a header line of ~330 KB
    frame = _read(tmp_path / "f.csv", f"{','.join(names)}\n{'x' * 200_000}\n")
    assert frame.columns[2:-2] == names  # after source_file, source_row; before the notes
    assert frame["column_0"].str.len_chars().to_list() == [200_000]


def test_ndjson_lines_that_are_no_objects_become_rows_with_reasons(tmp_path: Path) -> None:
    frame = _read(tmp_path / "f.ndjson", '{"a": "1"}\n[2]\n\n{"a": 3\n{"a": "4"}\n')
    assert frame["a"].to_list() == ["1", None, None, "4"]
    assert [(e or "").split("|")[0] for e in frame[READ_ERROR]] == ["", "bad_json", "bad_json", ""]


def test_errors_about_a_decompressed_copy_name_the_given_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv.gz"
    with pytest.raises(ReadError, match=r"f\.csv\.gz: looks like a binary file") as caught:
        _read(path, gzip.compress(bytes(range(256))))
    assert caught.value.path == str(path)
