"""The bucketed match (a target too large for memory, issue 19) decides exactly as the
in-memory one: the same rows, on a case made to trip it (switchboards, duplicate emails,
external ids, name case, keys of one row in different buckets, conflicts)."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.transforms.frames import normalised
from transforms.buckets import BUCKET, bucket_of, split, with_ids
from transforms.dedupe import DUPLICATE
from transforms.match import (
    BucketedIndex,
    key_leads,
    key_lookups,
    lookup_kinds,
    match_index,
    match_rows,
)
from transforms.validate import ISSUES

BOARDS = [f"+1212555{n:04d}" for n in range(12)]


def target_leads(n: int = 3000, seed: int = 3) -> pl.DataFrame:
    """Leads sharing switchboards, some emails twice, some external ids twice, some no email."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        # No email: one lead on a switchboard (it is found by every row on it), some alone.
        bare = i % 17 == 0 and (i % 3 != 0 or i == 0)
        email = None if bare else f"p{i // 2 if i % 23 == 0 else i}@x.io"
        phone = rng.choice(BOARDS) if i % 3 == 0 else None if i % 5 == 0 else f"+1415555{i:04d}"
        external = f"X{i // 2 if i % 29 == 0 else i}" if i % 4 == 0 else None
        rows.append(
            {
                "id": f"L{i:05d}",
                "email": email,
                "phone": phone,
                "external_id": external,
                "first_name": f"First{i % 50}",
                "last_name": f"Last{i % 7}",
            }
        )
    return pl.DataFrame(rows)


def source_rows(leads: pl.DataFrame, n: int = 2000, seed: int = 5) -> list[dict[str, Any]]:
    """Rows finding leads by each key, new people on switchboards, keys pointing at two
    leads, and invalid or duplicate rows (which keep no match)."""
    rng = random.Random(seed)
    got = leads.to_dicts()
    rows: list[dict[str, Any]] = []
    for i in range(n):
        lead, other = rng.choice(got), rng.choice(got)
        kind = i % 8
        row: dict[str, Any] = {"first_name": lead["first_name"], "last_name": lead["last_name"]}
        if kind == 0:
            row |= {"email": lead["email"], "phone": lead["phone"]}
        elif kind == 1:  # the same person with a new email, on the lead's phone; name case
            row |= {"email": f"new{i}@y.io", "phone": lead["phone"]}
            row["first_name"] = str(lead["first_name"]).upper()
        elif kind == 2:  # another person on a switchboard
            row |= {"email": f"n{i}@z.io", "phone": rng.choice(BOARDS), "first_name": "Zed"}
        elif kind == 3:
            row |= {"target_id": lead["id"], "email": other["email"]}
        elif kind == 4:
            row |= {"external_id": lead["external_id"], "phone": other["phone"]}
        elif kind == 5:  # two new rows on one new number
            row |= {"email": f"fresh{i}@q.io", "phone": f"+1212555{100 + i // 16:04d}"}
        elif kind == 6:
            row |= {"phone": lead["phone"]}  # no email: every lead on the number
        else:
            row |= {"email": lead["email"], "external_id": f"X{rng.randrange(3000)}"}
        row["_issues"] = ["invalid_status|no"] if i % 31 == 0 else []
        row["_duplicate"] = "duplicate|row 2" if i % 37 == 0 else None
        rows.append(row)
    return rows


def checked(rows: list[dict[str, Any]]) -> pl.DataFrame:
    issues = [r.pop("_issues", []) for r in rows]
    duplicates = [r.pop("_duplicate", None) for r in rows]
    return normalised(rows).with_columns(
        pl.Series(ISSUES, issues, pl.List(pl.String)),
        pl.Series(DUPLICATE, duplicates, pl.String),
    )


@cache
def case() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The leads and the checked rows (normalised once for the module: phones take time)."""
    leads = target_leads()
    return leads, checked(source_rows(leads))


def in_buckets(leads: pl.DataFrame, buckets: int) -> BucketedIndex:
    """The bucketed index of `leads`, each bucket's lookups made in memory from its leads."""
    keys = ("target_id", "external_id", "email", "phone")
    kinds = {k: lookup_kinds(leads.schema, k) for k in keys if lookup_kinds(leads.schema, k)}

    def lookup(key: str, kind: str, bucket: int) -> pl.LazyFrame:
        narrow = key_leads(leads.lazy(), key)
        assert narrow is not None
        mine = narrow.filter(bucket_of("_value", buckets) == bucket)
        return key_lookups(mine, kinds[key])[kind]

    return BucketedIndex(keys, buckets, kinds, lookup)


@pytest.mark.parametrize("buckets", [1, 4, 8])
def test_bucketed_match_gives_the_rows_of_the_in_memory_match(buckets: int) -> None:
    leads, frame = case()
    expected = match_rows(frame, match_index(leads.lazy()), {"new": "open"})
    got = match_rows(frame, in_buckets(leads, buckets), {"new": "open"})
    assert_frame_equal(got.sort("source_row"), expected.sort("source_row"))
    # The case exercises every outcome and key, and buckets split the keys of one row.
    statuses = expected["match_status"].value_counts().to_dicts()
    assert {s["match_status"] for s in statuses} == {"matched", "new", "conflict", None}
    assert set(expected["match_by"].drop_nulls()) == {"target_id", "external_id", "email", "phone"}
    assert expected["match_reason"].str.contains("belongs to the lead row").any()
    assert expected["match_reason"].str.contains("belongs to L").any()
    if buckets > 1:
        placed = frame.select(
            bucket_of("email", buckets).alias("e"), bucket_of("phone", buckets).alias("p")
        )
        assert placed.filter(pl.col("e") != pl.col("p")).height > 100


def test_an_empty_partition_matches_to_no_rows() -> None:
    leads = target_leads(50)
    frame = checked(source_rows(leads, 4)).clear()
    got = match_rows(frame, in_buckets(leads, 4), {})
    expected = match_rows(frame, match_index(leads.lazy()), {})
    assert got.height == 0
    assert got.schema == expected.schema


def test_split_places_every_row_in_the_bucket_its_hash_names() -> None:
    frame = pl.DataFrame({"id": [f"L{i}" for i in range(100)] + [None]})
    parts = split(frame, "id", 4)
    assert sum(p.height for p in parts.values()) == 101
    for bucket, part in parts.items():
        assert part.select(bucket_of("id", 4))[BUCKET].unique().to_list() == [bucket]


def test_with_ids_keeps_the_leads_asked_for() -> None:
    leads = pl.LazyFrame({"id": ["a", "b", "c"], "v": [1, 2, 3]})
    assert with_ids(leads, pl.Series(["c", "a", "z"])).collect()["v"].to_list() == [1, 3]
