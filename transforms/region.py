"""The region a file's numbers are written in, when the rows do not say it themselves.

A phone without `+` is read in its row's country, else in a default region; exports of one
country often have no country column at all (a Zoho export of US leads), and every such
number would be invalid without `--default-region`. `infer_region` looks at the whole file's
raw `country`, `phone` and `email` text and takes the first of:

1. the country column: the most common country (read as `transforms.values.country_code`
   reads it) when it is dominant among the rows that name a known country;
2. numbers written with `+`: the main region of the most common calling code
   (`phonenumbers.region_code_for_country_code`, so +1 is US) when it is dominant among
   them and they are a fair share of the rows with a phone;
3. email domains: the most common country-code top-level domain (`.de` -> DE, `.uk` and
   `.co.uk` -> GB; generic ones such as `.com`, and country codes sold as generic such as
   `.io`, `.co` and `.me`, do not count), on the same terms;
4. national numbers: the region whose national format the file's numbers written without
   `+` follow: a number counts for a region when libphonenumber reads it as valid there and
   formats it nationally in the same groups of digits as written (`(305) 555-0176` is US;
   `020 7946 0958` is GB). Validity alone says little (German numbers take almost any length;
   every +1 region reads a US number), the grouping tells them apart. One region must account
   for at least `DOMINANT_SHARE` of the grouped numbers, with no region of another calling
   code as high; a tie within one calling code goes to its main region (US for +1), a tie
   across calling codes (`0412 345 696` reads the same in AU, NL and UA) to the region the
   few `+` numbers or email domains point to, if any. The most common `NATIONAL_SAMPLE`
   distinct numbers are tried, by libphonenumber itself, in the `NATIONAL_REGIONS` where
   exports mostly come from: a bounded number of calls per file, off the per-row path.

Dominant means at least `DOMINANT_SHARE` of that kind of evidence and at least
`LEAST_EVIDENCE` rows; a fair share is `LEAST_SHARE` of the rows with a phone (for numbers)
or with an email (for domains), so that a few foreign numbers or addresses in a file of
national ones decide nothing. A region must be one libphonenumber can read numbers in.

    >>> phones = ["+1 212 555 0100", "+1 415 555 0132", "+1 646 555 0100", "(646) 555-0199"]
    >>> infer_region(pl.LazyFrame({"phone": phones}))
    RegionGuess(region='US', basis='numbers written with +', evidence=3, rows_decided=1)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
import polars as pl

from transforms.values import country_code

__all__ = [
    "BASES",
    "DOMINANT_SHARE",
    "EVIDENCE_ROWS",
    "LEAST_EVIDENCE",
    "LEAST_SHARE",
    "NATIONAL_REGIONS",
    "NATIONAL_SAMPLE",
    "RegionGuess",
    "infer_region",
]

COUNTRY_COLUMN = "country column"
PLUS_NUMBERS = "numbers written with +"
EMAIL_DOMAINS = "email domains"
NATIONAL_NUMBERS = "national numbers"
NO_BASIS = "none"
BASES = (COUNTRY_COLUMN, PLUS_NUMBERS, EMAIL_DOMAINS, NATIONAL_NUMBERS, NO_BASIS)
NATIONAL_SAMPLE = 40
EVIDENCE_ROWS = 100_000
# Where exports mostly come from: the regions national numbers are tried in (with any region
# the file's few `+` numbers or email domains point to). A file from elsewhere gets no region
# this way: nothing is guessed rather than something wrong.
NATIONAL_REGIONS: tuple[str, ...] = (
    *("US", "CA", "GB", "IE", "AU", "NZ", "IN", "PK", "BD", "LK", "ZA", "NG", "KE", "EG"),
    *("DE", "AT", "CH", "FR", "BE", "NL", "LU", "IT", "ES", "PT", "DK", "SE", "NO", "FI"),
    *("PL", "CZ", "SK", "HU", "RO", "GR", "TR", "RU", "UA", "IL", "AE", "SA", "SG", "MY"),
    *("PH", "ID", "TH", "VN", "JP", "KR", "CN", "HK", "TW", "BR", "MX", "AR", "CO", "CL"),
)

DOMINANT_SHARE = 0.8
LEAST_EVIDENCE = 3
LEAST_SHARE = 0.25

# Country-code domains mostly bought for their letters, not their country.
_GENERIC_CCTLDS = frozenset(
    {"ac", "ai", "am", "cc", "co", "fm", "gg", "im", "io", "la", "ly", "me", "ms", "nu"}
    | {"sh", "so", "st", "tk", "to", "tv", "vc", "ws"}
)
_TLD_REGIONS = {"uk": "GB"}  # the one ccTLD that is not its ISO code
_PLUS_HEAD = r"^[^0-9+]*\+([0-9 ().\-]+)"  # what follows a leading `+`
_EMAIL_CCTLD = r"@[^@\s]*\.([A-Za-z]{2})\s*>?\s*$"
_COUNT = "_rows"
_GROUPED = r"[0-9][^0-9]+[0-9]"  # at least two runs of digits
_DIGIT_RUN = re.compile(r"[0-9]+")
_EXTENSION = re.compile(r"(?i)\s*(?:x|ext\.?|extension|#)\s*[0-9]+\s*$")


@dataclass(frozen=True)
class RegionGuess:
    """The region `infer_region` found for a file, and what it rests on."""

    region: str | None  # a region libphonenumber knows, or None when the file does not say
    basis: str  # one of BASES: what decided it
    evidence: int  # rows that supported it (0 for "none")
    rows_decided: int  # rows with a phone not written with `+` and no country of their own


def infer_region(frame: pl.LazyFrame) -> RegionGuess:
    """The region the file's own `country`, `phone` and `email` text points to (see the
    module docstring); a missing column counts as blank.

    The evidence is read from the first `EVIDENCE_ROWS` rows (a file's home region shows in
    them), collected as one small frame: the rows counted per distinct (country, calling
    code, email domain, has a phone), so the lookups run once per distinct value. The rows
    the region decides are counted over the whole file.
    """
    sample = frame.head(EVIDENCE_ROWS)
    tally = _tally(sample).collect()
    tally = tally.with_columns(
        _alpha_2(tally["_country"]).alias("_alpha_2"),
        _per_value(tally["_head"], _calling_region).alias("_plus_region"),
        _per_value(tally["_tld"], _tld_region).alias("_mail_region"),
    )
    decided = _decided(frame)
    phones, emails = _rows(tally, pl.col("_has_phone")), _rows(tally, pl.col("_has_email"))
    for basis, column, rows in (
        (COUNTRY_COLUMN, "_alpha_2", 0),
        (PLUS_NUMBERS, "_plus_region", phones),
        (EMAIL_DOMAINS, "_mail_region", emails),
    ):
        found = _dominant(tally, column, rows)
        if found is not None:
            return RegionGuess(found[0], basis, found[1], decided)
    # Too little to decide alone, the + numbers and email domains still break a tie.
    hints = [h for c in ("_plus_region", "_mail_region") if (h := _hint(tally, c)) is not None]
    found = _national(sample, hints) if decided else None
    if found is not None:
        return RegionGuess(found[0], NATIONAL_NUMBERS, found[1], decided)
    return RegionGuess(None, NO_BASIS, 0, decided)


def _national(frame: pl.LazyFrame, hints: list[str]) -> tuple[str, int] | None:
    """The one region whose national format the file's numbers written without `+` follow
    (see the module docstring), and the rows whose numbers it reads."""
    if "phone" not in frame.collect_schema().names():
        return None
    written = (
        frame.select(pl.col("phone").cast(pl.String).str.strip_chars().alias("_written"))
        .filter(
            pl.col("_written").str.contains(_GROUPED)  # digits in groups: the format tells
            & ~pl.col("_written").str.contains("+", literal=True)
        )
        .group_by("_written")
        .agg(pl.len().alias(_COUNT))
        .sort([_COUNT, "_written"], descending=[True, False])
        .head(NATIONAL_SAMPLE)
        .collect()
    )
    regions = list(dict.fromkeys((*hints, *NATIONAL_REGIONS)))
    read: dict[str, int] = {}
    total = 0
    # At most NATIONAL_SAMPLE x len(NATIONAL_REGIONS) libphonenumber calls, once per file.
    for text, rows in written.iter_rows():
        readers = [region for region in regions if _reads(text, region)]
        total += rows if readers else 0  # a number no region reads is junk: it decides nothing
        for region in readers:
            read[region] = read.get(region, 0) + rows
    if not read or total < LEAST_EVIDENCE:
        return None
    top = max(read.values())
    leaders = [region for region, rows in read.items() if rows == top]
    if top < DOMINANT_SHARE * total:
        return None
    hinted = [h for h in hints if h in leaders]
    codes = {phonenumbers.country_code_for_region(r) for r in leaders}
    if len(codes) != 1:
        return (hinted[0], top) if hinted else None
    region = phonenumbers.region_code_for_country_code(codes.pop())
    return (region, top) if region in leaders else None


def _reads(text: str, region: str) -> bool:
    """Whether libphonenumber reads `text` in `region` as a valid number whose national
    format groups its digits as `text` does."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(number):
        return False
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    groups = _groups(national)
    written = _groups(text)
    # Exports often leave the trunk prefix off: `98765 43210` for `098765 43210`.
    without_trunk = (groups[0] - 1, *groups[1:]) if national.lstrip(" (").startswith("0") else ()
    return written == groups or (bool(groups) and groups[0] > 1 and written == without_trunk)


def _hint(tally: pl.DataFrame, column: str) -> str | None:
    """The value of `column` with at least DOMINANT_SHARE of its rows, however few."""
    counts = tally.filter(pl.col(column).is_not_null()).group_by(column).agg(pl.col(_COUNT).sum())
    if counts.is_empty():
        return None
    top = counts.sort(_COUNT, descending=True).row(0)
    return str(top[0]) if top[1] >= DOMINANT_SHARE * int(counts[_COUNT].sum()) else None


def _groups(text: str) -> tuple[int, ...]:
    """The lengths of the runs of digits before any extension: `(305) 555-0176 x12` ->
    (3, 3, 4)."""
    return tuple(len(run) for run in _DIGIT_RUN.findall(_EXTENSION.sub("", text)))


def _decided(frame: pl.LazyFrame) -> int:
    """Rows with a phone not written with `+` and no known country of their own."""
    names = frame.collect_schema().names()
    if "phone" not in names:
        return 0
    phone = pl.col("phone").cast(pl.String).str.strip_chars()
    # A `+` anywhere: written international (a literal search, not `_PLUS_HEAD`: all rows)
    national = (phone.str.len_chars() > 0) & ~phone.str.contains("+", literal=True)
    country = (
        pl.col("country").cast(pl.String).str.strip_chars()
        if "country" in names
        else pl.lit(None, pl.String)
    )
    counted = (
        frame.filter(national.fill_null(False))
        .group_by(country.alias("_country"))
        .agg(pl.len().alias(_COUNT))
        .collect()
    )
    known = _alpha_2(counted["_country"]).is_not_null()
    return int(counted.filter(~known)[_COUNT].sum())


def _tally(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows counted per (country text, digits after `+`, email ccTLD, has phone/email)."""
    names = frame.collect_schema().names()

    def text(column: str) -> pl.Expr:
        if column not in names:
            return pl.lit(None, pl.String)
        stripped = pl.col(column).cast(pl.String).str.strip_chars()
        return pl.when(stripped.str.len_chars() > 0).then(stripped)

    phone, email = text("phone"), text("email")
    head = phone.str.extract(_PLUS_HEAD, 1).str.replace_all("[^0-9]", "").str.slice(0, 3)
    return frame.group_by(
        text("country").alias("_country"),
        pl.when(head.str.len_chars() > 0).then(head).alias("_head"),
        email.str.extract(_EMAIL_CCTLD, 1).str.to_lowercase().alias("_tld"),
        phone.is_not_null().alias("_has_phone"),
        email.is_not_null().alias("_has_email"),
    ).agg(pl.len().alias(_COUNT))


def _rows(tally: pl.DataFrame, which: pl.Expr) -> int:
    return int(tally.filter(which)[_COUNT].sum())


def _dominant(tally: pl.DataFrame, column: str, rows: int) -> tuple[str, int] | None:
    """The value of `column` with the most rows, and that count, when it has at least
    DOMINANT_SHARE of the rows with a value and LEAST_EVIDENCE of them, and (for `rows` > 0)
    at least LEAST_SHARE of `rows`."""
    counts = (
        tally.filter(pl.col(column).is_not_null())
        .group_by(column)
        .agg(pl.col(_COUNT).sum())
        .sort([_COUNT, column], descending=[True, False])
    )
    if counts.is_empty():
        return None
    region, top = counts.row(0)
    total = int(counts[_COUNT].sum())
    if top < LEAST_EVIDENCE or top < DOMINANT_SHARE * total or top < LEAST_SHARE * rows:
        return None
    return str(region), int(top)


def _alpha_2(countries: pl.Series) -> pl.Series:
    """Each country text as `normalise_values` reads it, where libphonenumber knows it."""
    found = countries.to_frame("country").select(country_code("country")).to_series()
    return found.replace_strict(_phone_regions(), default=None, return_dtype=pl.String)


def _per_value(values: pl.Series, read: Callable[[str], str | None]) -> pl.Series:
    """`read` of each distinct non-null value, mapped back onto `values`."""
    found = {value: read(value) for value in values.drop_nulls().unique()}
    return values.replace_strict(found, default=None, return_dtype=pl.String)


def _calling_region(head: str) -> str | None:
    """The first digits after `+` -> the main region of the calling code they start with
    (non-geographic codes, such as +800, have none)."""
    for length in (1, 2, 3):
        code = int(head[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            region = phonenumbers.region_code_for_country_code(code)
            return region if region in _phone_regions() else None
    return None


def _tld_region(tld: str) -> str | None:
    """A two-letter top-level domain -> the region it names, unless sold as generic."""
    region = _TLD_REGIONS.get(tld, tld.upper())
    return region if tld not in _GENERIC_CCTLDS and region in _phone_regions() else None


@lru_cache(maxsize=1)
def _phone_regions() -> dict[str, str]:
    """libphonenumber's regions, as a lookup of themselves."""
    return {region: region for region in phonenumbers.SUPPORTED_REGIONS}
