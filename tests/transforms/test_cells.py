"""Cells as the mapper reads them, and entries appended to a list of structs."""

from __future__ import annotations

import polars as pl

from schemas.fields import CUSTOM_ENTRY
from transforms.cells import append_entries, candidates, null_words


def test_null_words_come_in_their_usual_cases() -> None:
    assert null_words([" n/a ", "null", ""]) == ("n/a", "N/A", "null", "NULL", "Null")


def test_candidates_split_cells_and_keep_column_order() -> None:
    frame = pl.DataFrame(
        {"a": ["x@a.io ::: y@a.io", None, "-"], "b": ["z@b.io;w@b.io", "v@b.io", "u@b.io, t@b.io"]}
    )
    got = frame.select(candidates(["a", "b"], "email", ("-",))).to_series().to_list()
    assert got == [["x@a.io", "y@a.io", "z@b.io", "w@b.io"], ["v@b.io"], ["u@b.io", "t@b.io"]]
    phones = pl.DataFrame({"p": ["+1 212 555 0100, ext 5"]})
    assert phones.select(candidates(["p"], "phone")).item().to_list() == ["+1 212 555 0100, ext 5"]


def test_entries_are_appended_in_place_empty_and_null_lists_included() -> None:
    frame = pl.DataFrame(
        {"custom": [[{"key": "city", "value": "Oslo"}], [], None, []], "v": ["a", None, "b", "c"]},
        schema={"custom": pl.List(CUSTOM_ENTRY), "v": pl.String},
    )
    entry = pl.when(pl.col("v").is_not_null()).then(pl.struct(key=pl.lit("o"), value="v"))
    assert append_entries(frame, "custom", entry).to_list() == [
        [{"key": "city", "value": "Oslo"}, {"key": "o", "value": "a"}],
        [],
        [{"key": "o", "value": "b"}],
        [{"key": "o", "value": "c"}],
    ]
