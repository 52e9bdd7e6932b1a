"""The `normalise` stage: values, emails, phones, then time zones (which need the phone).

Each normaliser replaces its field with the normalised value (blank where it could not be
understood) and writes `_err_<field>` ("code|message") where a non-blank value could not be
understood; `validate` turns those into per-row warnings (the row is still imported without
that value), or into reasons that reject the row (it has no identity left, or `--strict`).
Country comes first because it gives each phone its region.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from transforms.cells import cell, null_words
from transforms.emails import normalise_emails
from transforms.phones import PhoneBook, normalise_phones
from transforms.timezones import canonical_timezone, normalise_timezones
from transforms.values import normalise_values

__all__ = ["ERROR_FIELDS", "normalise", "normalise_target", "said_status"]

# Fields that may carry an `_err_<field>` column after `normalise`, in report order.
ERROR_FIELDS: tuple[str, ...] = (
    "email",
    "phone",
    "timezone",
    "status",
    "value",
    "opted_out",
    "email_verified",
    "follow_up_step",
)


def said_status(columns: Sequence[str], null_tokens: Sequence[str] = ()) -> pl.Expr:
    """The status as the file's own `columns` say it (the first non-blank), before any
    `[values.status]` word: kept as `status_raw`, so a message can quote the file's word."""
    if not columns:
        return pl.lit(None, pl.String).alias("status_raw")
    words = null_words(null_tokens)
    return pl.coalesce(*[cell(c, words) for c in columns]).alias("status_raw")


def normalise(lf: pl.LazyFrame, book: PhoneBook, *, default_region: str | None) -> pl.LazyFrame:
    """Normalise the canonical columns of a mapped frame (see the module docstring)."""
    return (
        lf.pipe(normalise_values)
        .pipe(normalise_emails)
        .pipe(normalise_phones, book, default_region=default_region)
        .pipe(normalise_timezones)
    )


def normalise_target(lf: pl.LazyFrame, book: PhoneBook) -> pl.LazyFrame:
    """The target's leads in the file's normal form, for `match` and `diff`.

    Emails are cleaned and lower-cased; time zones get IANA's current names; phones become
    E.164 where libphonenumber can read them without a region (vendors store international
    numbers) and stay as stored otherwise.

    A stored phone that already is the E.164 form of a number the book knows to be valid is
    left as it is without parsing: E.164 of a valid number reads back as that number (the
    libphonenumber round trip), so parsing it would give it back. After a file's numbers are
    in the book, that is most of a target's.
    """
    from transforms.emails import clean_email
    from transforms.phones import clean_phone

    schema = lf.collect_schema()
    valid = book.known.filter(pl.col("e164").is_not_null())
    key = clean_phone("phone")
    as_is = key.is_in(valid.get_column("e164").implode()).fill_null(False)
    phones = (
        lf.with_columns(
            clean_email("email").alias("email"),
            pl.when(as_is).then(key).alias("_as_is"),
            *[
                pl.lit(None, pl.String).alias(c)
                for c in ("country", "phone_ext")
                if c not in schema
            ],
        )
        .with_columns(pl.when(pl.col("_as_is").is_null()).then(pl.col("phone")).alias("phone"))
        .pipe(normalise_phones, book, default_region=None)
    )
    # Time zones as IANA names them now (a vendor may store `Asia/Calcutta`), as the file's are.
    zones = [canonical_timezone("timezone").alias("timezone")] if "timezone" in schema else []
    return phones.with_columns(
        pl.coalesce("_as_is", "phone", "phone_raw").alias("phone"), *zones
    ).select(schema.names())
