"""`normalise_target`: the target's leads in the file's normal form.

A stored phone that is already the E.164 form of a number the book knows to be valid is kept
without parsing; the result must be what parsing every phone gives.
"""

from __future__ import annotations

import polars as pl

from transforms.normalise import normalise_target
from transforms.phones import PHONE_RESULT_SCHEMA, PhoneBook, parse_phone_values

LEADS = pl.DataFrame(
    {
        "id": ["a", "b", "c", "d", "e", "f", "g"],
        "email": [" Ann@X.io ", "bob@x.io", None, "d@x.io", "e@x.io", "f@x.io", "g@x.io"],
        "phone": [
            "+14155550100",  # E.164 of a known valid number: kept as it is
            " +442079460000 ",  # the same, with spaces around it
            "+14155550100",  # again, with an extension on the lead
            "(415) 555-0101",  # not E.164: parsed (no region: stays as stored)
            "+1 415 555 0102",  # E.164 once cleaned up, but not known: parsed
            "+15555555555",  # not a valid number: parsed, stays as stored
            None,
        ],
        "phone_ext": [None, None, " 12 ", None, None, None, None],
        "country": [None, "GB", None, None, None, None, None],
    }
)


def _book(values: list[tuple[str, str | None]]) -> PhoneBook:
    keys = pl.DataFrame(values, schema=["phone_key", "region"], orient="row")
    return PhoneBook(parse_phone_values(keys).cast(PHONE_RESULT_SCHEMA))  # type: ignore[arg-type]


def test_known_e164_phones_are_kept_and_the_rest_parsed_as_before() -> None:
    # The file had these numbers in its own spelling; their E.164 forms are what the target holds.
    book = _book([("415-555-0100 x7", "US"), ("020 7946 0000", "GB")])
    fast = normalise_target(LEADS.lazy(), book).collect()
    # Only the phones that are not a known E.164 form were parsed.
    assert sorted(book.added["phone_key"]) == ["(415) 555-0101", "+1 415 555 0102", "+15555555555"]
    parsed_all = normalise_target(LEADS.lazy(), PhoneBook()).collect()
    assert fast.equals(parsed_all)
    assert fast["phone"].to_list() == [
        "+14155550100",
        "+442079460000",
        "+14155550100",
        "(415) 555-0101",
        "+14155550102",
        "+15555555555",
        None,
    ]
    assert fast["phone_ext"].to_list() == [None, None, "12", None, None, None, None]
    assert fast["email"].to_list()[:2] == ["ann@x.io", "bob@x.io"]
