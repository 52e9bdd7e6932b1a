"""Emails: trimmed, `mailto:` removed, lower-cased and syntax-checked without DNS.

Plain ASCII addresses are decided in polars by the rules email-validator applies to them
(dot-atom local part of any length, host-name labels of at most 63 characters, a top-level
label ending in a letter, at most 254 characters in all). What those rules cannot settle
alone (non-ASCII, quoting, Punycode and `ab--` labels, special-use domains) and every
rejected value goes, de-duplicated, to email-validator, which decides and explains.

    >>> lf = pl.LazyFrame({"email": [" Mailto:Ann@Example.COM ", "ann@"]})
    >>> normalise_emails(lf).collect()["email"].to_list()
    ['ann@example.com', None]
"""

from __future__ import annotations

import re

import email_validator
import polars as pl

from transforms._lookup import attach_lookup, per_value

__all__ = ["clean_email", "normalise_emails", "validate_email_values"]

_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP_LABEL = r"(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]"
_FAST = rf"^{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+{_TOP_LABEL}$"
# Left to email-validator although the pattern matches: labels with `--` in 3rd-4th place
# (IDNA-reserved; checked wherever a label could start), Punycode, special-use domains.
_SPECIAL_TLDS = "|".join(re.escape(d) for d in email_validator.SPECIAL_USE_DOMAIN_NAMES)
_UNDECIDED = rf"(?:^|[.@])[a-z0-9][a-z0-9-]--|xn--|\.(?:{_SPECIAL_TLDS})$"
_MAX_ADDRESS = 254
_CLEAN = "_email_clean"

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
    return (
        email.str.contains(_FAST)
        & (email.str.len_bytes() <= _MAX_ADDRESS)
        & ~email.str.contains(_UNDECIDED)
    )


def validate_email_values(keys: pl.DataFrame) -> pl.DataFrame:
    """email-validator (no DNS) on each distinct `email_key`: the one per-value function."""
    return per_value(keys, ("email_key",), _check_one, EMAIL_RESULT_SCHEMA)


def _check_one(key: str) -> tuple[str, str | None, str | None]:
    try:
        checked = email_validator.validate_email(key, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        shown = key if len(key) <= 60 else key[:60] + "…"
        return key, None, f"invalid_email|{shown!r} is not a valid email address: {exc}"
    return key, checked.normalized.lower(), None


def normalise_emails(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Replace `email` with its normalised form; add `_err_email` ("code|message") where invalid."""
    # Cleaned once into a column: every check below reads it.
    clean = pl.col(_CLEAN)
    fast = _fast_valid(clean).fill_null(False)
    # Addresses the fast path accepts are final; only the others get a key to look up.
    # Cached: the lookup reads this frame three times, and polars' own subplan elimination
    # misses it (each read projects other columns), which ran the checks twice.
    keyed = (
        lf.with_columns(clean_email("email").alias(_CLEAN))
        .with_columns(
            pl.when(fast).then(clean).alias("_email_fast"),
            pl.when(~fast).then(clean).alias("email_key"),
        )
        .cache()
    )
    return (
        attach_lookup(keyed, ("email_key",), validate_email_values, EMAIL_RESULT_SCHEMA)
        .with_columns(
            pl.coalesce("_email_fast", "normalised").alias("email"),
            pl.col("error").alias("_err_email"),
        )
        .drop(_CLEAN, "email_key", "_email_fast", "normalised", "error")
    )
