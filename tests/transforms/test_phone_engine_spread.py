"""The phone engine spread over threads gives, row for row, what it gives in turn.

`parse_keys(..., workers=1)` runs every step on the whole frame in turn; with `workers=2` and
a small `piece_rows` the same keys are cut into slices that polars' threads take side by side,
so a step that is not per row, a slice that drops or repeats rows, or a plan's size judged on
a slice rather than the whole plan shows up as a difference.
"""

from __future__ import annotations

import threading
from collections import Counter

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import transforms._phone_engine as engine
from tests.transforms.phone_corpus import corpus, mangled_examples
from transforms._phone_engine import parse_keys
from transforms.phones import clean_phone

KEY_SCHEMA = {"phone_key": pl.String, "region": pl.String}
# valid, invalid, extensions, vanity, odd text, several regions and none, nulls, duplicates
_MIXED = [
    ("+1 212-555-0100 x12", None),
    ("(212) 555-0100", "US"),
    ("212 555 0100 ext. 7", "US"),
    ("+44 20 7946 0958", "GB"),
    ("020 7946 0958", "GB"),
    ("020 7946 0958#123", "GB"),
    ("+49 30 901820", None),
    ("030 901820", "DE"),
    ("+33 1 42 68 53 00", "FR"),
    ("01 42 68 53 00", "FR"),
    ("+91 98765 43210", "IN"),
    ("98765 43210", "IN"),
    ("1-800-FLOWERS", "US"),
    ("tel:+1-212-555-0100;phone-context=example.com", "US"),
    ("+1 212 555 01", None),
    ("123", "US"),
    ("n/a", "GB"),
    ("+999 1234 5678", None),
    ("0049 30 901820", "US"),
    ("２１２ ５５５ ０１００", "US"),
    ("212 555 0100", "ZZ"),
    ("212 555 0100", None),
    (None, "US"),
    (None, None),
    ("(212) 555-0100", "US"),  # a duplicate
    ("+44 20 7946 0958", "GB"),  # a duplicate
]


def _mixed(cases: int) -> pl.DataFrame:
    """_MIXED, the spreadsheet corpus (18 regions) and a tenth as many numbers of any plan."""
    spreadsheet = [(case.text, case.region) for case in corpus(cases, seed=5)]
    pairs = _MIXED + spreadsheet + mangled_examples(cases // 10, seed=5)
    frame = pl.DataFrame(pairs, schema={"text": pl.String, "region": pl.String}, orient="row")
    return frame.select(clean_phone("text").alias("phone_key"), "region")


@pytest.mark.parametrize("least_group", [0, 8])
def test_spread_over_threads_gives_the_rows_of_a_run_in_turn(least_group: int) -> None:
    keys = _mixed(1_000)
    in_turn = parse_keys(keys, least_group=least_group, workers=1)
    spread = parse_keys(keys, least_group=least_group, workers=2, piece_rows=3)
    assert_frame_equal(spread, in_turn)
    assert spread.height == keys.height == len(_MIXED) + 1_100
    assert spread["phone_key"].to_list() == keys["phone_key"].to_list()
    # every kind of answer is among the rows compared
    assert spread["e164"].is_not_null().sum() > 800
    assert spread["zones"].list.len().sum() > 4_000
    assert spread["extension"].is_not_null().sum() > 40
    assert spread["parse_error"].is_not_null().sum() > 40
    assert spread["possibility"].is_not_null().sum() > 70
    # vanity, phone-context, full-width digits; and with `least_group`, small plans
    assert 3 <= spread["undecided"].sum() <= (200 if least_group else 40)


def test_the_size_of_a_plan_is_judged_on_the_whole_plan_not_its_pieces() -> None:
    texts = [f"+1 212 555 {n:04d}" for n in range(12)] + ["+44 20 7946 0958"] * 2
    keys = pl.DataFrame({"phone_key": texts, "region": [None] * 14}, schema=KEY_SCHEMA)
    found = parse_keys(keys, least_group=10, workers=2, piece_rows=2)
    # US's 12 rows are one plan of 12 (decided), not pieces of 2 or 3 (too few)
    assert found["undecided"].to_list() == [False] * 12 + [True] * 2
    assert found["e164"].to_list()[:2] == ["+12125550000", "+12125550001"]


def test_the_pieces_run_on_polars_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: Counter[bool] = Counter()  # on the main thread?
    rows: list[int] = []
    validate = engine._validate_code

    def watched(code: object, piece: pl.DataFrame) -> pl.DataFrame:
        threads[threading.current_thread() is threading.main_thread()] += 1
        rows.append(piece.height)
        return validate(code, piece)

    monkeypatch.setattr(engine, "_validate_code", watched)
    keys = _mixed(2_000)
    parse_keys(keys, least_group=0, workers=2, piece_rows=50)
    assert threads[False] > 10
    assert threads[True] == 0
    assert max(rows) <= -(-sum(rows) // 2)  # a plan's rows in each thread's slice
    threads.clear()
    parse_keys(keys, least_group=0, workers=1)
    assert threads[False] == 0
    assert threads[True] > 10


def test_empty_keys_give_an_empty_frame_of_the_engine_schema() -> None:
    keys = pl.DataFrame(schema=KEY_SCHEMA)
    found = parse_keys(keys, workers=2, piece_rows=1)
    assert found.height == 0
    assert found.schema == pl.Schema({**KEY_SCHEMA, **engine.ENGINE_SCHEMA})


def test_spread_inside_a_polars_function_as_a_lookup_runs_it() -> None:
    # the flow's lookups call the engine from `map_batches`, on one of polars' threads
    keys = _mixed(500)
    in_turn = parse_keys(keys, least_group=0, workers=1)

    def lookup(_: pl.DataFrame) -> pl.DataFrame:
        return parse_keys(keys, least_group=0, workers=2, piece_rows=20)

    query = pl.LazyFrame({"x": [1]}).map_batches(lookup, validate_output_schema=False)
    assert_frame_equal(query.collect(engine="in-memory"), in_turn)
