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

from transforms._lookup import attach_lookup, per_value

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
    clean = clean_email("email")
    fast = _fast_valid(clean).fill_null(False)
    # Addresses the fast path accepts are final; only the others get a key to look up.
    keyed = lf.with_columns(
        pl.when(fast).then(clean).alias("_email_fast"),
        pl.when(~fast).then(clean).alias("email_key"),
    )
    return (
        attach_lookup(keyed, ("email_key",), validate_email_values, EMAIL_RESULT_SCHEMA)
        .with_columns(
            pl.coalesce("_email_fast", "normalised").alias("email"),
            pl.col("error").alias("_err_email"),
        )
        .drop("email_key", "_email_fast", "normalised", "error")
    )
