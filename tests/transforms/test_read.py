"""The reader: formats, encodings, delimiters, row numbering, and clear refusals."""

from __future__ import annotations

import contextlib
import gzip
import json
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import transforms.read
from transforms.exceptions import ReadError
from transforms.read import READ_ERROR, READ_WARNING, read_source

HEADER = "First Name,Email,Phone\n"


def _read(path: Path, **kw: object) -> pl.DataFrame:
    return read_source(path, scratch=path.parent / "scratch", **kw).frame  # type: ignore[arg-type]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "encoding", "delimiter"),
    [
        ("plain.csv", b"a,b\n1,2\n", "utf-8", ","),
        ("bom.csv", b"\xef\xbb\xbfa,b\r\n1,2\r\n", "utf-8-sig", ","),
        ("u16.csv", "a;b\r\n1;2\r\n".encode("utf-16"), "utf-16", ";"),
        ("u16le.csv", "a|b\n1|2\n".encode("utf-16-le"), "utf-16-le", "|"),
        ("cp.csv", "a;b\n1;2\n".encode("cp1252"), "utf-8", ";"),
        ("tabs.tsv", b"a\tb\n1\t2\n", "utf-8", "\t"),
        ("sniffed.txt", b"a\tb\n1\t2\n", "utf-8", "\t"),
    ],
)
def test_encodings_and_delimiters(
    tmp_path: Path, name: str, data: bytes, encoding: str, delimiter: str
) -> None:
    table = read_source(_write(tmp_path, name, data), scratch=tmp_path / "s")
    assert (table.encoding, table.delimiter, table.headers) == (encoding, delimiter, ("a", "b"))
    assert table.frame.select("a", "b").rows() == [("1", "2")]


def test_cp1252_text_is_decoded(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.csv", "name,city\nJosé,Zürich €\n".encode("cp1252"))
    table = read_source(path, scratch=tmp_path / "s")
    assert table.encoding == "cp1252"
    assert table.frame.select("name", "city").row(0) == ("José", "Zürich €")


def test_latin1_fallback_when_cp1252_cannot_decode(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.csv", b"name\nab\x81c\n")  # 0x81 is undefined in cp1252
    table = read_source(path, scratch=tmp_path / "s")
    assert table.encoding == "latin-1"
    assert table.frame["name"].item() == "ab\x81c"


def test_everything_is_text_and_rows_are_spreadsheet_numbers(tmp_path: Path) -> None:
    data = b'id,phone,note\r\n00123,+1 555 0100,"two\r\nlines"\r\n00124,1e5,plain\r\n'
    frame = _read(_write(tmp_path, "t.csv", data))
    assert frame.schema["id"] == pl.String
    assert frame.select("source_file", "source_row", "id", "phone").rows() == [
        ("t.csv", 2, "00123", "+1 555 0100"),
        ("t.csv", 3, "00124", "1e5"),
    ]
    assert frame["note"][0] == "two\r\nlines"


def test_long_and_blank_rows_are_kept_with_reasons_and_short_rows_with_a_note(
    tmp_path: Path,
) -> None:
    frame = _read(
        _write(
            tmp_path, "r.csv", (HEADER + "Ann,a@x.io,1\n\nBob,b@x.io\nCy,c@x.io,3,extra\n").encode()
        )
    )
    assert frame["source_row"].to_list() == [2, 3, 4, 5]
    assert frame[READ_ERROR].to_list() == [
        None,
        "empty_row|the row is blank",
        None,
        "ragged_row|the row has 4 fields but the header has 3"
        " (values past the last column were not read)",
    ]
    assert frame[READ_WARNING].to_list() == [
        None,
        None,
        "short_row|the row has 2 of the header's 3 fields; the missing ones were read as blank",
        None,
    ]
    assert frame.filter(pl.col("source_row") == 4).select("First Name", "Phone").row(0) == (
        "Bob",
        None,
    )


def test_gzip_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv.gz", gzip.compress((HEADER + "Ann,a@x.io,1\n").encode()))
    table = read_source(path, scratch=tmp_path / "s")
    assert table.format == "csv.gz"
    assert table.frame["Email"].to_list() == ["a@x.io"]


def test_parquet_columns_become_text(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pl.DataFrame(
        {"phone": [14155550100.0], "n": [7], "tags": [["a", "b"]], "s": [{"k": 1}]}
    ).write_parquet(path)
    frame = _read(path)
    assert frame.select("phone", "n", "tags", "s").row(0) == (
        "14155550100.0",
        "7",
        "a, b",
        '{"k":1}',
    )


def test_ndjson(tmp_path: Path) -> None:
    lines = [
        json.dumps({"email": "a@x.io", "n": 1}),
        json.dumps({"email": "b@x.io", "extra": True}),
    ]
    frame = _read(_write(tmp_path, "x.ndjson", ("\n".join(lines) + "\n").encode()))
    assert frame.select("email", "n", "extra").rows() == [
        ("a@x.io", "1", None),
        ("b@x.io", None, "true"),
    ]


def test_xlsx_first_sheet_or_named_sheet(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(path) as book:
        first = book.add_worksheet("Leads")
        for r, row in enumerate(
            [["Email", "Phone"], ["a@x.io", 14155550100], [None, None], ["c@x.io", "0123"]]
        ):
            first.write_row(r, 0, row)
        book.add_worksheet("Other").write_row(0, 0, ["Email"])
    table = read_source(path, scratch=tmp_path / "s")
    assert table.sheet == "Leads"
    assert table.frame.select("source_row", "Email", "Phone").rows() == [
        (2, "a@x.io", "14155550100"),
        (3, None, None),
        (4, "c@x.io", "0123"),
    ]
    assert table.frame[READ_ERROR].to_list() == [None, "empty_row|the row is blank", None]
    assert read_source(path, scratch=tmp_path / "s", sheet="Other").frame.height == 0
    with pytest.raises(ReadError, match="no sheet named 'Nope'"):
        read_source(path, scratch=tmp_path / "s", sheet="Nope")


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert _read(_write(tmp_path, "h.csv", HEADER.encode())).height == 0


def test_blank_header_column_without_values_is_ignored(tmp_path: Path) -> None:
    table = read_source(_write(tmp_path, "b.csv", b"a,,b\n1,,2\n"), scratch=tmp_path / "s")
    assert table.headers == ("a", "b")
    assert table.ignored_columns == ("column 2",)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "file is empty"),
        ("blank.csv", b"\n\n  \n", "file is empty"),
        ("binary.csv", bytes(range(256)) * 20, "binary"),
        ("nohead.csv", b"ann@example.com,+12125550100\n", "no header row"),
        ("unnamed.csv", b"a,,b\n1,x,2\n", "column 2 has no header name"),
        ("broken.xlsx", b"PK\x03\x04garbage", "cannot be read as a workbook"),
        ("fake.parquet", b"not parquet at all", "not a valid .parquet"),
        (
            "trunc.csv.gz",
            gzip.compress(b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(5000)))[:900],
            "truncated",
        ),
        ("old.xls", b"\xd0\xcf\x11\xe0", "not supported"),
    ],
)
def test_unreadable_files_raise_one_clear_error(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(ReadError, match=message) as info:
        read_source(_write(tmp_path, name, data), scratch=tmp_path / "s")
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 3


def test_wrong_delimiter_everywhere_is_refused(tmp_path: Path) -> None:
    rows = "a,b,c\n" + "".join(f"{i};{i};{i}\n" for i in range(20))
    # Every row is a single field against a 3-column header: not a table, not 20 ragged rows.
    with pytest.raises(ReadError, match="not a consistent table"):
        read_source(_write(tmp_path, "w.csv", rows.encode()), scratch=tmp_path / "s")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="file not found"):
        read_source(tmp_path / "nope.csv", scratch=tmp_path)


def _outcome(data: bytes, *, count_every_record: bool = False) -> tuple[Any, ...]:
    """What `read_source` makes of `data`: the error, or the rows and what it found out."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        path.write_bytes(data)
        # Without the strict polars read, every record is counted by the stdlib reader.
        no_shortcut = mock.patch.object(transforms.read, "_scan_strict", return_value=None)
        try:
            with no_shortcut if count_every_record else contextlib.nullcontext():
                table = read_source(path, scratch=Path(tmp) / "s")
        except ReadError as exc:
            return ("error", str(exc).removeprefix(f"{path}: "))
    return ("read", table.frame.rows(), table.headers, table.delimiter, table.encoding)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["A,B,C\n", "A\n", "A,B\r\n", "A;B;C\n"]),
    st.lists(
        st.sampled_from(["a", "b c", " ", ",", ";", '"', '""', "\n", "\r\n", "\r", ",\n", "é"]),
        max_size=40,
    ),
)
def test_counting_fields_only_where_polars_is_unsure_changes_nothing(
    header: str, body: list[str]
) -> None:
    data = (header + "".join(body)).encode()
    assert _outcome(data) == _outcome(data, count_every_record=True)


def test_blank_last_fields_are_not_ragged_and_short_rows_are(tmp_path: Path) -> None:
    # The last record ends the file without a newline, where polars drops an empty last field.
    rows = "".join(f'{i},"Smith, J",\n' for i in range(50)) + "51,short\n\n52,x,y,"
    frame = _read(_write(tmp_path, "b.csv", ("id,name,note\n" + rows).encode()))
    reasons = frame[READ_ERROR].to_list()
    assert reasons[:50] == [None] * 50
    assert reasons[50:] == [
        None,  # short: read with a note in `_warn_row`
        "empty_row|the row is blank",
        "ragged_row|the row has 4 fields but the header has 3"
        " (values past the last column were not read)",
    ]
    assert frame[READ_WARNING].to_list()[50] == (
        "short_row|the row has 2 of the header's 3 fields; the missing ones were read as blank"
    )
    assert frame["name"][0] == "Smith, J"


def test_a_quote_inside_an_unquoted_field_is_read_as_it_stands(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(
        'first_name,note,email\nAnn,He said "hi",a@x.io\n\nBob,"quoted, fine",b@x.io\n'
        'Cy,5" screen,c@x.io\n'
    )
    table = read_source(path, scratch=tmp_path / "s")
    assert table.frame.select("source_row", "note", "email", "_read_error").rows() == [
        (2, 'He said "hi"', "a@x.io", None),
        (3, None, None, "empty_row|the row is blank"),  # as in any file
        (4, "quoted, fine", "b@x.io", None),
        (5, '5" screen', "c@x.io", None),
    ]


_BAD = Path(__file__).resolve().parent.parent / "data" / "bad"


@pytest.mark.parametrize("name", sorted(p.name for p in _BAD.iterdir() if p.is_file()))
def test_spilled_partitions_read_as_the_whole_file(name: str, tmp_path: Path) -> None:
    """`spill=True` (Parquet in scratch, read in ranges) gives the frame, facts and errors that
    reading the file whole does, whatever the range size."""
    whole = _read_or_error(_BAD / name, tmp_path / "whole", spill=False)
    spilled = _read_or_error(_BAD / name, tmp_path / "spilled", spill=True)
    if isinstance(whole, str):
        assert spilled == whole
        return
    assert isinstance(spilled, tuple)
    (frame, facts), (table, spilled_facts) = whole, spilled
    assert spilled_facts == facts
    for size in (1, 2, 1000):
        parts = [table.partition(o, size) for o in range(0, max(table.rows, 1), size)]
        assert_frame_equal(pl.concat(parts), frame)
    assert_frame_equal(table.scan().collect(), frame)


def _read_or_error(path: Path, scratch: Path, *, spill: bool) -> str | tuple[Any, tuple[Any, ...]]:
    try:
        table = read_source(path, scratch=scratch, spill=spill)
    except ReadError as exc:
        return str(exc)
    facts = (
        table.headers,
        table.format,
        table.encoding,
        table.delimiter,
        table.rows,
        table.preamble,
        table.header_row,
        table.renamed_headers,
        table.repaired_headers,
        table.trailing_blank_rows,
    )
    return (table.frame if not spill else table), facts
