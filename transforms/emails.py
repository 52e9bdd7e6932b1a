"""Emails: trimmed, `mailto:` removed, lower-cased and syntax-checked without DNS.

Plain ASCII addresses that match a deliberately narrow pattern (a subset of what
email-validator accepts) are accepted in polars; everything else goes, de-duplicated, to
email-validator, which decides and explains.

    >>> lf = pl.LazyFrame({"email": [" Mailto:Ann@Example.COM ", "ann@"]})
    >>> normalise_emails(lf).collect()["email"].to_list()
    ['ann@example.com', None]
"""

from __future__ import annotations

import email_validator
import polars as pl

__all__ = ["clean_email", "normalise_emails", "validate_email_values"]

_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FAST = rf"^{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[a-z]{{2,63}}$"
# email-validator refuses these (reserved TLDs, IDNA-reserved `xx--` labels, RFC lengths).
_SPECIAL_TLDS = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_MAX_LOCAL = 64
_MAX_ADDRESS = 254

EMAIL_RESULT_SCHEMA: dict[str, pl.DataType] = {
    "email_key": pl.String(),
    "normalised": pl.String(),
    "error": pl.String(),
}


def clean_email(raw: str | pl.Expr) -> pl.Expr:
    """Trim, drop a `mailto:` prefix, lower-case."""
    text = (pl.col(raw) if isinstance(raw, str) else raw).str.strip_chars()
    return text.str.replace(r"^(?i)mailto:", "").str.strip_chars().str.to_lowercase()


def _fast_valid(email: pl.Expr) -> pl.Expr:
    local = email.str.extract(r"^(.*)@", 1)
    tld = email.str.extract(r"\.([a-z]+)$", 1)
    return (
        email.str.contains(_FAST)
        & (local.str.len_bytes() <= _MAX_LOCAL)
        & (email.str.len_bytes() <= _MAX_ADDRESS)
        & ~email.str.contains(r"(?:^|[.@])[a-z0-9]{2}--")
        & ~tld.is_in(_SPECIAL_TLDS)
    )


def validate_email_values(keys: pl.DataFrame) -> pl.DataFrame:
    """email-validator (no DNS) on each distinct `email_key`: the one per-value function."""
    rows: list[tuple[str, str | None, str | None]] = []
    for (key,) in keys.select("email_key").iter_rows():
        try:
            checked = email_validator.validate_email(key, check_deliverability=False)
            rows.append((key, checked.normalized.lower(), None))
        except email_validator.EmailNotValidError as exc:
            shown = key if len(key) <= 60 else key[:60] + "…"
            rows.append((key, None, f"invalid_email|{shown!r} is not a valid email address: {exc}"))
    return pl.DataFrame(rows, schema=EMAIL_RESULT_SCHEMA, orient="row")


def normalise_emails(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Replace `email` with its normalised form; add `_err_email` ("code|message") where invalid."""
    keyed = lf.with_columns(clean_email("email").alias("email_key")).with_columns(
        _fast_valid(pl.col("email_key")).fill_null(False).alias("_email_fast")
    )
    slow = (
        keyed.filter(~pl.col("_email_fast") & pl.col("email_key").is_not_null())
        .select("email_key")
        .unique()
        .map_batches(validate_email_values, schema=EMAIL_RESULT_SCHEMA)
    )
    return (
        keyed.join(slow, on="email_key", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_email_fast"))
            .then(pl.col("email_key"))
            .otherwise(pl.col("normalised"))
            .alias("email"),
            pl.col("error").alias("_err_email"),
        )
        .drop("email_key", "_email_fast", "normalised", "error")
    )
