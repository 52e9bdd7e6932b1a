"""`normalise_emails` on a multilingual export, against the per-address path it replaced.

The addresses are seeded: ~40 % have a non-ASCII local part (native Russian, Greek, Chinese,
Hindi, Arabic, Japanese, Korean, Thai names; German names with umlauts) or an IDN domain
(`bücher.de`, `пример.рф`, `例え.jp`), the rest are ASCII, ~2 % are invalid, and every address
is mangled the way spreadsheets mangle them (case, spaces, `mailto:`) now and then.

"before" is the engine as it was: ASCII addresses decided by a pattern in polars, every other
address sent, de-duplicated, to email-validator one by one (`validate_email_values`, still the
oracle). "after" is `normalise_emails` as it is now, domain notes included. Both must give the
same `email` and `_err_email` columns; the run fails otherwise. Timings are the best of
`--repeat` runs; an untimed run of each counts what it handed email-validator.

Run ``python -m benchmarks.emails_multilingual [ROWS] [--seed N] [--repeat N] [--non-ascii F]``
(``--non-ascii 0`` times a plain ASCII export, where the old engine had nothing to hand off).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import email_validator
import polars as pl
from faker import Faker

from benchmarks._settings import Settings
from benchmarks._table import Row
from transforms import emails
from transforms._lookup import attach_lookup
from transforms.emails import (
    EMAIL_RESULT_SCHEMA,
    clean_email,
    normalise_emails,
    validate_email_domains,
    validate_email_values,
)

DEFAULT_ROWS = 500_000
# Rolls that make an internationalised address; some get a Punycode (ASCII) domain: ~40 % end
# up non-ASCII.
NON_ASCII_SHARE = 0.44
INVALID_SHARE = 0.02
POOL = 3_000
NATIVE_LOCALES = (
    "ru_RU",
    "el_GR",
    "zh_CN",
    "hi_IN",
    "ar_AA",
    "ja_JP",
    "ko_KR",
    "th_TH",
    "uk_UA",
    "tr_TR",
)
ASCII_LOCALES = ("en_US", "en_GB", "fr_FR", "es_ES", "it_IT", "nl_NL")
IDN_DOMAINS = (
    "bücher.de",
    "пример.рф",
    "例え.jp",
    "münchen.de",
    "xn--e1afmkfd.xn--p1ai",
    "δοκιμή.gr",
    "παράδειγμα.ελ",
    "中文.中国",
    "königsbräu.at",
    "société.fr",
)
PLAIN_DOMAINS = ("gmail.com", "yahoo.com", "mail.ru", "yandex.ru", "qq.com", "163.com", "gmx.de")
INVALID = ("info at acme", "ann@", "@example.com", "a..b@x.com", "иван@", "ann@пример", "a b@c.de")


def multilingual_addresses(rows: int, seed: int, non_ascii: float = NON_ASCII_SHARE) -> list[str]:
    """`rows` seeded addresses, ~40 % of them non-ASCII by default (see the module docstring)."""
    rng = random.Random(seed)
    natives = [_names(locale, seed) for locale in NATIVE_LOCALES]
    umlauts = [n for n in _names("de_DE", seed) if not n.isascii()] or ["jürgen"]
    plain = [n for locale in ASCII_LOCALES for n in _user_names(locale, seed)]
    companies = [f"{n.split('_')[0].split('.')[0]}-gmbh.de" for n in plain[:POOL]]
    out = []
    for _ in range(rows):
        roll = rng.random()
        if roll < INVALID_SHARE:
            out.append(rng.choice(INVALID))
            continue
        if roll < non_ascii:
            address = _non_ascii(rng, natives, umlauts, plain, companies)
        else:
            domain = rng.choice(PLAIN_DOMAINS) if rng.random() < 0.6 else rng.choice(companies)
            address = f"{rng.choice(plain)}{rng.randrange(1000)}@{domain}"
        out.append(_mangle(rng, address))
    return out


def _non_ascii(
    rng: random.Random,
    natives: list[list[str]],
    umlauts: list[str],
    plain: list[str],
    companies: list[str],
) -> str:
    roll = rng.random()
    if roll < 0.6:
        local = rng.choice(rng.choice(natives))
    elif roll < 0.75:
        local = rng.choice(umlauts)
    else:
        local = rng.choice(plain)  # an ASCII local part at an IDN domain
    if rng.random() < 0.5:
        local += rng.choice((".", "_", "")) + str(rng.randrange(1000))
    if roll >= 0.75 or rng.random() < 0.3:
        domain = rng.choice(IDN_DOMAINS)
    else:
        domain = rng.choice(PLAIN_DOMAINS) if rng.random() < 0.7 else rng.choice(companies)
    return f"{local}@{domain}"


def _names(locale: str, seed: int) -> list[str]:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return [fake.first_name().lower() for _ in range(POOL // 3)] + [
        fake.last_name().lower() for _ in range(POOL // 3)
    ]


def _user_names(locale: str, seed: int) -> list[str]:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return [fake.user_name() for _ in range(POOL)]


def _mangle(rng: random.Random, address: str) -> str:
    roll = rng.random()
    if roll < 0.05:
        return address.upper()
    if roll < 0.10:
        return f"  {address} "
    if roll < 0.12:
        return f"mailto:{address}"
    return address


# The engine as it was before internationalised addresses had a fast path (the "before").
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP_LABEL = r"(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]"
_OLD_FAST = rf"^{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+{_TOP_LABEL}$"
_SPECIAL = "|".join(re.escape(d) for d in email_validator.SPECIAL_USE_DOMAIN_NAMES)
_OLD_UNDECIDED = rf"(?:^|[.@])[a-z0-9][a-z0-9-]--|xn--|\.(?:{_SPECIAL})$"


def normalise_emails_before(
    lf: pl.LazyFrame,
    validate: Callable[[pl.DataFrame], pl.DataFrame] = validate_email_values,
) -> pl.LazyFrame:
    """The previous `normalise_emails`: a pattern for plain ASCII, email-validator for the rest."""
    clean = pl.col("_email_clean")
    fast = (
        clean.str.contains(_OLD_FAST)
        & (clean.str.len_bytes() <= 254)
        & ~clean.str.contains(_OLD_UNDECIDED)
    ).fill_null(False)
    keyed = (
        lf.with_columns(clean_email("email").alias("_email_clean"))
        .with_columns(
            pl.when(fast).then(clean).alias("_email_fast"),
            pl.when(~fast).then(clean).alias("email_key"),
        )
        .cache()
    )
    return (
        attach_lookup(keyed, ("email_key",), validate, EMAIL_RESULT_SCHEMA)
        .with_columns(
            pl.coalesce("_email_fast", "normalised").alias("email"),
            pl.col("error").alias("_err_email"),
        )
        .drop("_email_clean", "email_key", "_email_fast", "normalised", "error")
    )


@dataclass(frozen=True)
class Timing:
    """Both engines on the same addresses."""

    rows: int
    non_ascii: float  # share of addresses with a non-ASCII character
    before_s: float
    after_s: float
    same: bool  # the `email` columns are equal
    sent_before: int  # distinct addresses email-validator checked one by one, before
    sent_after: int  # and after
    sent_valid_after: int  # of which it accepted (the rest are rejected addresses it explains)
    domains_after: int  # distinct domains it normalised, after

    @property
    def ratio(self) -> float:
        return self.before_s / self.after_s

    @property
    def ok(self) -> bool:
        return self.same

    def table_rows(self) -> list[Row]:
        note = (
            f"{self.non_ascii:.0%} non-ASCII; email-validator on {self.sent_before:,} distinct "
            f"addresses before, {self.sent_after:,} after, and {self.domains_after:,} domains"
        )
        return [
            Row(
                "emails: multilingual, per-address path before",
                rows=self.rows,
                seconds=self.before_s,
                rate=self.rows / self.before_s,
            ),
            Row(
                "emails: multilingual, vectorised after",
                rows=self.rows,
                seconds=self.after_s,
                rate=self.rows / self.after_s,
                measured=f"{self.ratio:.1f}× faster",
                note=note,
            ),
            Row(
                "emails: multilingual parity",
                rows=self.rows,
                measured="same" if self.same else "differ",
                goal="same emails and errors",
                met=self.same,
            ),
        ]

    def caption(self) -> list[str]:
        return []


def measure_part(settings: Settings) -> Timing:
    """`measure` at this run's size (500,000 addresses at BENCH_ROWS=1,000,000)."""
    return measure(settings.scaled(DEFAULT_ROWS * 2), settings.seed)


def measure(
    rows: int = DEFAULT_ROWS, seed: int = 7, repeat: int = 3, non_ascii: float = NON_ASCII_SHARE
) -> Timing:
    """Time both engines (best of `repeat`) on `rows` seeded addresses."""
    values = multilingual_addresses(rows, seed, non_ascii)
    frame = pl.DataFrame({"email": values}, schema={"email": pl.String})
    before_s, before = _best(lambda: normalise_emails_before(frame.lazy()).collect(), repeat)
    after_s, after = _best(lambda: normalise_emails(frame.lazy()).collect(), repeat)
    sent_before, sent_after, domains = _sent(frame)
    return Timing(
        rows=rows,
        non_ascii=sum(not v.isascii() for v in values) / rows,
        before_s=before_s,
        after_s=after_s,
        same=before["email"].equals(after["email"])
        and before["_err_email"].equals(after["_err_email"]),
        sent_before=sent_before.height,
        sent_after=sent_after.height,
        sent_valid_after=sent_after.height - sent_after["normalised"].null_count(),
        domains_after=domains,
    )


def _sent(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """What each engine handed email-validator (an untimed run of each)."""
    calls: list[pl.DataFrame] = []
    domains: list[int] = []

    def values(keys: pl.DataFrame) -> pl.DataFrame:
        calls.append(validate_email_values(keys))
        return calls[-1]

    def domain_values(keys: pl.DataFrame) -> pl.DataFrame:
        domains.append(keys.height)
        return validate_email_domains(keys)

    old = (emails.validate_email_values, emails.validate_email_domains)
    emails.validate_email_values, emails.validate_email_domains = values, domain_values
    try:
        normalise_emails_before(frame.lazy(), values).collect()
        before = pl.concat(calls)
        calls.clear()
        normalise_emails(frame.lazy()).collect()
        after = pl.concat(calls)
    finally:
        emails.validate_email_values, emails.validate_email_domains = old
    return before, after, sum(domains)


def _best(run: Callable[[], pl.DataFrame], repeat: int) -> tuple[float, pl.DataFrame]:
    best, out = float("inf"), pl.DataFrame()
    for _ in range(repeat):
        started = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - started)
    return best, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--non-ascii", type=float, default=NON_ASCII_SHARE, help="0 times plain ASCII exports"
    )
    args = parser.parse_args()
    timing = measure(args.rows, args.seed, args.repeat, args.non_ascii)
    lines = [
        f"rows                 {timing.rows:,}",
        f"non-ASCII share      {timing.non_ascii:.1%}",
        f"before (per-row)     {timing.before_s:.2f} s",
        f"after                {timing.after_s:.2f} s",
        f"ratio before/after   {timing.ratio:.1f}x",
        f"same emails, errors  {'yes' if timing.same else 'NO'}",
        f"email-validator on   {timing.sent_before:,} distinct addresses before, "
        f"{timing.sent_after:,} after ({timing.sent_valid_after:,} of them valid) "
        f"and {timing.domains_after:,} distinct domains",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if timing.same else 1


if __name__ == "__main__":
    sys.exit(main())
