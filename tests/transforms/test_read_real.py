"""The reader on exports as real systems write them: preambles above the header, repeated and
mis-decoded header names, blank lines at the end, short rows, and workbooks whose first sheet
is not the leads."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from transforms.exceptions import ReadError
from transforms.read import READ_ERROR, READ_WARNING, SourceTable, read_source

LINKEDIN = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses'
    ' are missing. You will only see email addresses for connections who have allowed it."\n'
    "\n"
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    "Ann,Lee,https://www.linkedin.com/in/ann,ann@x.io,Acme,CTO,01 Feb 2024\n"
    "Bob,Roe,https://www.linkedin.com/in/bob,,Initech,,15 Mar 2023\n"
)


def _read(tmp_path: Path, name: str, data: str | bytes, **kw: object) -> SourceTable:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return read_source(path, scratch=tmp_path / "scratch", **kw)  # type: ignore[arg-type]


def _both(tmp_path: Path, name: str, data: str | bytes) -> SourceTable:
    """The table read whole, after checking that the spilled reading gives the same facts and,
    in ranges of any size, the same rows."""
    whole = _read(tmp_path, name, data)
    spilled = _read(tmp_path, name, data, spill=True)
    assert spilled.spilled is not None
    assert _facts(spilled) == _facts(whole)
    for size in (1, 2, 1000):
        parts = [spilled.partition(o, size) for o in range(0, max(spilled.rows, 1), size)]
        assert_frame_equal(pl.concat(parts), whole.frame)
    assert_frame_equal(spilled.scan().collect(), whole.frame)
    assert_frame_equal(whole.scan().collect(), whole.frame)
    return whole


def _facts(table: SourceTable) -> tuple[object, ...]:
    return (
        table.headers,
        table.rows,
        table.delimiter,
        table.preamble,
        table.header_row,
        table.renamed_headers,
        table.repaired_headers,
        table.trailing_blank_rows,
        table.ignored_columns,
    )


# --- the header row found below a preamble ---------------------------------------------------


def test_a_linkedin_preamble_is_skipped_and_rows_keep_their_spreadsheet_numbers(
    tmp_path: Path,
) -> None:
    table = _both(tmp_path, "Connections.csv", LINKEDIN)
    assert table.delimiter == ","
    assert table.preamble == ("Notes:", LINKEDIN.splitlines()[1], "")
    assert table.header_row == 4
    assert table.headers[0] == "First Name" and table.headers[-1] == "Connected On"
    assert table.frame.select("source_row", "First Name", "Email Address").rows() == [
        (5, "Ann", "ann@x.io"),
        (6, "Bob", None),
    ]
    assert table.frame[READ_ERROR].to_list() == [None, None]
    assert table.frame[READ_WARNING].to_list() == [None, None]


def test_source_rows_after_a_preamble_in_any_partition(tmp_path: Path) -> None:
    rows = "".join(f"u{i}@x.io,N{i}\n" for i in range(7))
    path = tmp_path / "p.csv"
    path.write_text("Exported by the CRM\nOn 2024-05-01\n\nemail,name\n" + rows)
    table = read_source(path, scratch=tmp_path / "s", spill=True)
    assert (table.preamble, table.header_row, table.rows) == (
        ("Exported by the CRM", "On 2024-05-01", ""),
        4,
        7,
    )
    assert table.partition(2, 3).select("source_row", "email").rows() == [
        (7, "u2@x.io"),
        (8, "u3@x.io"),
        (9, "u4@x.io"),
    ]


def test_a_preamble_with_commas_does_not_decide_the_delimiter(tmp_path: Path) -> None:
    data = (
        "Leads, all owners, exported 2024-05-01, by admin\n"
        "\n"
        "Name;Email;Phone\n"
        "Ann;ann@x.io;+49 30 901820\n"
        "Bob;bob@x.io;+49 30 901821\n"
        "Cy;cy@x.io;+49 30 901822\n"
    )
    table = _both(tmp_path, "semi.csv", data)
    assert (table.delimiter, table.headers, table.header_row) == (
        ";",
        ("Name", "Email", "Phone"),
        3,
    )
    assert table.frame["source_row"].to_list() == [4, 5, 6]


def test_a_title_row_of_a_sheet_saved_as_csv_is_a_preamble(tmp_path: Path) -> None:
    data = "Q3 leads,,,\n,,,\nName,Email,Phone,Company\nAnn,ann@x.io,,Acme\nBob,bob@x.io,1,\n"
    table = _both(tmp_path, "title.csv", data)
    assert (table.preamble, table.header_row) == (("Q3 leads,,,", ",,,"), 3)
    assert table.frame.select("source_row", "Name", "Company").rows() == [
        (4, "Ann", "Acme"),
        (5, "Bob", None),
    ]


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        # Rows wider than the header, or narrower, do not make the header a preamble.
        ("a,b\n1,2,3\n4,5\n", ("a", "b")),
        ("name,city\n" + "Ann,Rome,\n" * 3, ("name", "city")),
        # A header naming a year is still the header.
        ("Name,City,2024\nAnn,Rome,5\nBob,Paris,\n", ("Name", "City", "2024")),
        # Leading blank lines are a preamble.
        ("\n\nemail\na@x.io\n", ("email",)),
    ],
)
def test_a_header_on_the_first_line_is_kept(
    tmp_path: Path, data: str, headers: tuple[str, ...]
) -> None:
    table = _read(tmp_path, "h.csv", data)
    assert table.headers == headers
    assert table.header_row == len(table.preamble) + 1 == (3 if data.startswith("\n") else 1)


# --- repeated and mis-decoded header names ------------------------------------------------------


def test_repeated_header_names_are_numbered_never_onto_an_existing_name(tmp_path: Path) -> None:
    data = (
        "Create Date,Email,Create Date,Create Date (2),Create Date\n"
        "2024-01-01,a@x.io,2023-01-01,x,2022-01-01\n"
    )
    table = _both(tmp_path, "hubspot.csv", data)
    assert table.headers == (
        "Create Date",
        "Email",
        "Create Date (3)",
        "Create Date (2)",
        "Create Date (4)",
    )
    assert table.renamed_headers == (
        ("Create Date", "Create Date (3)"),
        ("Create Date", "Create Date (4)"),
    )
    assert table.frame.select(table.headers).row(0) == (
        "2024-01-01",
        "a@x.io",
        "2023-01-01",
        "x",
        "2022-01-01",
    )


def test_mis_decoded_header_names_are_repaired_and_cells_left_alone(tmp_path: Path) -> None:
    data = "PrÃ©nom,TÃ©lÃ©phone,Téléphone,Email\nCafÃ©,+33 1 23 45 67 89,,a@x.io\n"
    table = _both(tmp_path, "fr.csv", data)
    assert table.headers == ("Prénom", "Téléphone", "Téléphone (2)", "Email")
    assert table.repaired_headers == (("PrÃ©nom", "Prénom"), ("TÃ©lÃ©phone", "Téléphone"))
    assert table.renamed_headers == (("Téléphone", "Téléphone (2)"),)
    assert table.frame["Prénom"].to_list() == ["CafÃ©"]
    assert table.frame["Téléphone"].to_list() == ["+33 1 23 45 67 89"]


def test_repeated_names_in_a_parquet_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    columns = [pa.array(["a@x.io"]), pa.array(["b@x.io"]), pa.array(["Ann"])]
    pq.write_table(pa.table(columns, names=["Email", "Email", "NÃ¤me"]), path)
    for spill in (False, True):
        table = read_source(path, scratch=tmp_path / "s", spill=spill)
        assert table.headers == ("Email", "Email (2)", "Näme")
        assert table.renamed_headers == (("Email", "Email (2)"),)
        assert table.repaired_headers == (("NÃ¤me", "Näme"),)
        assert table.partition(0, 10).select(table.headers).rows() == [("a@x.io", "b@x.io", "Ann")]


def test_mis_decoded_keys_in_ndjson_and_parquet_are_repaired(tmp_path: Path) -> None:
    ndjson = _read(tmp_path, "x.ndjson", '{"TÃ©l": "1", "email": "a@x.io"}\n')
    assert (ndjson.headers, ndjson.repaired_headers) == (("Tél", "email"), (("TÃ©l", "Tél"),))
    assert ndjson.frame["Tél"].to_list() == ["1"]
    path = tmp_path / "x.parquet"
    pl.DataFrame({"TÃ©l": ["1"], "n": [2]}).write_parquet(path)
    for spill in (False, True):
        table = read_source(path, scratch=tmp_path / "s", spill=spill)
        assert (table.headers, table.repaired_headers) == (("Tél", "n"), (("TÃ©l", "Tél"),))
        assert table.partition(0, 5).select("source_row", "Tél", "n", READ_WARNING).rows() == [
            (2, "1", "2", None)
        ]


# --- blank lines at the end, short and long rows ---------------------------------------------


def test_blank_lines_after_the_last_record_are_not_rows(tmp_path: Path) -> None:
    table = _both(tmp_path, "t.csv", "a,b\r\n1,2\r\n\r\n3,4\r\n,\r\n\r\n\r\n")
    assert table.trailing_blank_rows == 2
    # The blank line between records stays a row with its reason; `,` holds empty fields.
    assert table.frame.select("source_row", "a", READ_ERROR).rows() == [
        (2, "1", None),
        (3, None, "empty_row|the row is blank"),
        (4, "3", None),
        (5, None, None),
    ]


def test_a_file_of_a_header_and_blank_lines_has_no_rows(tmp_path: Path) -> None:
    table = _both(tmp_path, "h.csv", "a,b\n\n\n")
    assert (table.rows, table.trailing_blank_rows) == (0, 2)


def test_an_outlook_file_of_mostly_short_rows_is_read_with_notes(tmp_path: Path) -> None:
    header = "Title,First Name,Middle Name,Last Name,E-mail Address,Business Phone\n"
    short = [f",Name{i},,Last{i},n{i}@x.io\n" for i in range(11)]  # no Business Phone
    data = header + "".join(short) + ",Ann,,Lee\n" + ",Bob,,Roe,bob@x.io,+1 555 0100\n"
    table = _both(tmp_path, "outlook.csv", data)
    assert table.rows == 13
    assert table.frame[READ_ERROR].null_count() == 13
    notes = table.frame[READ_WARNING].to_list()
    assert (
        notes[:11]
        == ["short_row|the row has 5 of the header's 6 fields; the missing ones were read as blank"]
        * 11
    )
    assert notes[11:] == [
        "short_row|the row has 4 of the header's 6 fields; the missing ones were read as blank",
        None,
    ]
    assert table.frame.select("First Name", "E-mail Address", "Business Phone").rows()[11:] == [
        ("Ann", None, None),
        ("Bob", "bob@x.io", "+1 555 0100"),
    ]


def test_a_file_where_every_row_is_short_is_read(tmp_path: Path) -> None:
    rows = "".join(f"a{i},b{i}\n" for i in range(12))
    table = _both(tmp_path, "short.csv", "a,b,c,d\n" + rows)
    assert table.rows == 12
    assert table.frame[READ_WARNING].str.starts_with("short_row|").all()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # Every record one field where the header has three: the delimiter splits only the header.
        ("".join(f"{i};{i};{i}\n" for i in range(12)), "12 of 12 rows do not split"),
        # Most records longer than the header.
        ("".join(f"{i},{i},{i},{i}\n" for i in range(8)) + "1,2,3\n" * 4, "8 of 12 rows"),
    ],
)
def test_rows_the_delimiter_does_not_split_are_refused(
    tmp_path: Path, rows: str, message: str
) -> None:
    with pytest.raises(ReadError, match=f"{message}.*not a consistent table"):
        _read(tmp_path, "w.csv", "a,b,c\n" + rows)


# --- workbooks: the sheet that holds the leads -----------------------------------------------


Rows = list[tuple[int, list[Any]]]  # (row from 0, cells from column A)


def _workbook(path: Path, sheets: dict[str, Rows]) -> Path:
    import xlsxwriter

    with xlsxwriter.Workbook(path) as book:
        for name, rows in sheets.items():
            sheet = book.add_worksheet(name)
            for row, cells in rows:
                sheet.write_row(row, 0, cells)
    return path


_NOTES: Rows = [(0, ["Exported from the CRM"]), (1, ["Only open leads are included."])]
_LEADS: Rows = [
    (0, ["Leads, Q3"]),  # a title row, then a blank row, above the header
    (2, ["Email", "Name", "Email"]),
    (3, ["a@x.io", "Ann", "a2@x.io"]),
    (4, [None, None]),
    (5, ["b@x.io", "Bob"]),
]


def test_a_workbook_whose_first_sheet_is_notes_reads_the_leads(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "b.xlsx", {"Notes": _NOTES, "Leads": _LEADS})
    table = read_source(path, scratch=tmp_path / "s")
    assert (table.sheet, table.sheets) == ("Leads", ("Notes", "Leads"))
    assert (table.preamble, table.header_row) == (("Leads, Q3", ""), 3)
    assert table.headers == ("Email", "Name", "Email (2)")
    assert table.renamed_headers == (("Email", "Email (2)"),)
    assert table.frame.select("source_row", "Email", "Email (2)", READ_ERROR).rows() == [
        (4, "a@x.io", "a2@x.io", None),
        (5, None, None, "empty_row|the row is blank"),
        (6, "b@x.io", None, None),
    ]


def test_the_sheet_whose_headers_score_best_is_read(tmp_path: Path) -> None:
    other = [(0, ["Region", "Total"]), (1, ["EMEA", "12"])]
    path = _workbook(tmp_path / "b.xlsx", {"Summary": other, "Notes": _NOTES, "Leads": _LEADS})

    def mapped_share(headers: tuple[str, ...]) -> float:
        return sum(h.startswith(("Email", "Name")) for h in headers) / len(headers)

    assert read_source(path, scratch=tmp_path / "s").sheet == "Summary"  # no scorer: the first
    table = read_source(path, scratch=tmp_path / "s", header_score=mapped_share)
    assert (table.sheet, table.rows) == ("Leads", 3)
    # Equal scores: the first of them.
    tied = read_source(path, scratch=tmp_path / "s", header_score=lambda headers: 0.5)
    assert tied.sheet == "Summary"


def test_a_one_column_sheet_of_emails_holds_leads(tmp_path: Path) -> None:
    emails = [(0, ["email"]), (1, ["a@x.io"]), (2, ["b@x.io"])]
    path = _workbook(tmp_path / "b.xlsx", {"Notes": _NOTES, "List": emails})
    table = read_source(path, scratch=tmp_path / "s")
    assert (table.sheet, table.frame["email"].to_list()) == ("List", ["a@x.io", "b@x.io"])


def test_a_workbook_with_no_table_of_leads_is_refused_in_one_line(tmp_path: Path) -> None:
    header_only = [(0, ["Email", "Phone"])]
    path = _workbook(tmp_path / "b.xlsx", {"Notes": _NOTES, "Summary": header_only, "Empty": []})
    with pytest.raises(ReadError) as caught:
        read_source(path, scratch=tmp_path / "s")
    assert str(caught.value) == (
        f"{path}: no sheet holds a table of leads (sheets: Notes, Summary, Empty); "
        "name one with --sheet"
    )


def test_a_named_sheet_is_read_as_it_is(tmp_path: Path) -> None:
    header_only = [(0, ["Email", "Phone"])]
    path = _workbook(tmp_path / "b.xlsx", {"Notes": _NOTES, "Summary": header_only, "Empty": []})
    notes = read_source(path, scratch=tmp_path / "s", sheet="Notes")
    assert (notes.headers, notes.frame["source_row"].to_list()) == (
        ("Exported from the CRM",),
        [2],
    )
    summary = read_source(path, scratch=tmp_path / "s", sheet="Summary")
    assert (summary.headers, summary.rows, summary.sheets) == (
        ("Email", "Phone"),
        0,
        ("Notes", "Summary", "Empty"),
    )
    empty = read_source(path, scratch=tmp_path / "s", sheet="Empty")
    assert (empty.headers, empty.rows) == ((), 0)


def test_a_sheet_row_of_spaces_is_a_record_not_a_blank_row(tmp_path: Path) -> None:
    rows: Rows = [(0, ["Email", "Name"]), (1, ["a@x.io", "Ann"]), (3, [" "])]
    path = _workbook(tmp_path / "b.xlsx", {"Leads": rows})
    table = read_source(path, scratch=tmp_path / "s")
    assert (table.rows, table.trailing_blank_rows) == (3, 0)
    assert table.frame.select("source_row", "Email", READ_ERROR).rows() == [
        (2, "a@x.io", None),
        (3, None, "empty_row|the row is blank"),
        (4, " ", None),
    ]


def _outcome(data: bytes, *, spill: bool) -> tuple[Any, ...]:
    """What `read_source` makes of `data`: the error, or the rows (every partition of a
    spilled table, one record at a time) and what it found out."""
    # A streaming sink that failed (a long row, read strictly first) may still be finishing
    # its scratch file as the folder is removed (pola-rs/polars#16187).
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        path = Path(tmp) / "x.csv"
        path.write_bytes(data)
        try:
            table = read_source(path, scratch=Path(tmp) / "s", spill=spill)
        except ReadError as exc:
            return ("error", str(exc).removeprefix(f"{path}: "))
        rows = [row for o in range(table.rows) for row in table.partition(o, 1).rows()]
        return ("read", rows, _facts(table))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["Notes:", "", '"a, b\nc"', "Title,,", "x;y"]), max_size=4),
    st.sampled_from(["A,B,C\n", "A\n", "A,B\r\n", "A;B;C\n"]),
    st.lists(
        st.sampled_from(["a", "b c", " ", ",", ";", '"', "\n", "\r\n", ",\n", "1,2,3\n", "é"]),
        max_size=40,
    ),
)
def test_a_spilled_table_after_any_preamble_reads_as_the_whole_file(
    preamble: list[str], header: str, body: list[str]
) -> None:
    data = ("".join(f"{line}\n" for line in preamble) + header + "".join(body)).encode()
    whole = _outcome(data, spill=False)
    assert _outcome(data, spill=True) == whole
    if whole[0] == "read":
        rows, facts = whole[1], whole[2]
        header_row = facts[4]
        assert [row[1] for row in rows] == list(range(header_row + 1, header_row + 1 + len(rows)))
