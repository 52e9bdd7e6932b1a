"""Emails: a valid address whose domain looks mistyped keeps its value and gets a note."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest

import transforms.emails
from transforms.emails import COMMON_PROVIDERS, domain_notes, normalise_emails


def _notes(values: Sequence[str | None]) -> pl.DataFrame:
    lf = pl.LazyFrame({"email": list(values)}, schema={"email": pl.String})
    return normalise_emails(lf).collect().select("email", "_err_email", "_warn_email")


@pytest.mark.parametrize(
    ("raw", "email", "note"),
    [
        (
            "ann@gmail.comn",
            "ann@gmail.comn",
            "email_typo|'ann@gmail.comn': the domain 'gmail.comn' looks like a typo of 'gmail.com'",
        ),
        (
            " Ann@iCloud.con ",
            "ann@icloud.con",
            "email_typo|'ann@icloud.con': the domain 'icloud.con' looks like a typo of "
            "'icloud.com'",
        ),
        (
            "ann@yahoo.ft",
            "ann@yahoo.ft",
            "email_typo|'ann@yahoo.ft': the domain 'yahoo.ft' looks like a typo of 'yahoo.fr'",
        ),
        (
            "ann@gmial.com",
            "ann@gmial.com",
            "email_typo|'ann@gmial.com': the domain 'gmial.com' looks like a typo of 'gmail.com'",
        ),
        (
            "ann@hotmai.co.uk",
            "ann@hotmai.co.uk",
            "email_typo|'ann@hotmai.co.uk': the domain 'hotmai.co.uk' looks like a typo of "
            "'hotmail.co.uk'",
        ),
        (
            "ann@aol.con",
            "ann@aol.con",
            "email_typo|'ann@aol.con': the domain 'aol.con' looks like a typo of 'aol.com'",
        ),
        ("ann@x.qqq", "ann@x.qqq", "unknown_tld|'ann@x.qqq': '.qqq' is not a top-level domain"),
        (
            "ann@acme.con",
            "ann@acme.con",
            "unknown_tld|'ann@acme.con': '.con' is not a top-level domain "
            "(did you mean 'acme.com'?)",
        ),
        (
            "ann@acme.co.ik",
            "ann@acme.co.ik",
            "unknown_tld|'ann@acme.co.ik': '.ik' is not a top-level domain "
            "(did you mean 'acme.co.uk'?)",
        ),
        (
            "иван@пример.рфф",
            "иван@пример.рфф",
            "unknown_tld|'иван@пример.рфф': '.рфф' is not a top-level domain",
        ),
        # Real domains: the providers themselves, real ones next to them, short names whose
        # neighbours are other real domains, IDN top-level domains, long suffixes.
        ("ann@gmail.com", "ann@gmail.com", None),
        ("ann@mail.com", "ann@mail.com", None),
        ("ann@ymail.com", "ann@ymail.com", None),
        ("ann@aon.com", "ann@aon.com", None),
        ("ann@maia.com", "ann@maia.com", None),
        (
            "ann@mail.ry",
            "ann@mail.ry",
            "email_typo|'ann@mail.ry': the domain 'mail.ry' looks like a typo of 'mail.ru'",
        ),
        ("ann@cox.com", "ann@cox.com", None),
        ("ann@acme.co.uk", "ann@acme.co.uk", None),
        ("ann@acme.photography", "ann@acme.photography", None),
        ("иван@пример.рф", "иван@пример.рф", None),
        ("иван@xn--e1afmkfd.xn--p1ai", "иван@пример.рф", None),
        ("ann@例え.jp", "ann@例え.jp", None),
        ("ann@gmail", None, None),  # invalid: an error, not a note
        (None, None, None),
    ],
)
def test_notes(raw: str | None, email: str | None, note: str | None) -> None:
    row = _notes([raw]).row(0, named=True)
    assert row["email"] == email
    assert row["_warn_email"] == note
    if raw is not None and email is None:
        assert row["_err_email"].startswith("invalid_email|")


def test_a_note_never_changes_or_rejects_the_address() -> None:
    out = _notes(["a@gmail.comn", "b@x.qqq", "c@gmail.com"])
    assert out["email"].to_list() == ["a@gmail.comn", "b@x.qqq", "c@gmail.com"]
    assert out["_err_email"].to_list() == [None, None, None]
    assert [n.split("|")[0] if n else None for n in out["_warn_email"]] == [
        "email_typo",
        "unknown_tld",
        None,
    ]


def test_no_provider_is_noted_as_a_typo_of_another() -> None:
    out = _notes([f"ann@{p}" for p in COMMON_PROVIDERS])
    assert out["_warn_email"].null_count() == len(COMMON_PROVIDERS)


def test_notes_are_computed_once_per_distinct_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def recording(keys: pl.DataFrame) -> pl.DataFrame:
        seen.extend(keys["_email_note_domain"].to_list())
        return domain_notes(keys)

    monkeypatch.setattr(transforms.emails, "domain_notes", recording)
    values = [f"user{i}@{d}" for i in range(500) for d in ("gmail.comn", "acme.de", "Gmail.COM")]
    out = _notes(values)
    assert sorted(seen) == ["acme.de", "gmail.com", "gmail.comn"]
    assert out["_warn_email"].is_not_null().sum() == 500
