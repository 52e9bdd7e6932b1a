"""Emails: the vectorised fast path accepts exactly what email-validator accepts."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence

import email_validator
import polars as pl
import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

import transforms.emails
from transforms.emails import (
    clean_email,
    normalise_emails,
    validate_email_domains,
    validate_email_values,
)

LOCALES = (
    "en_US",
    "de_DE",
    "fr_FR",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "ja_JP",
    "sv_SE",
    "pl_PL",
    "en_IN",
    "zh_CN",
)


def _run(values: Sequence[str | None]) -> pl.DataFrame:
    return normalise_emails(
        pl.LazyFrame({"email": list(values)}, schema={"email": pl.String})
    ).collect()


def _reference(raw: str) -> str | None:
    text = raw.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    try:
        return email_validator.validate_email(
            text.lower(), check_deliverability=False
        ).normalized.lower()
    except email_validator.EmailNotValidError:
        return None


def _mangle(email: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return email.upper()
    if roll < 0.15:
        return f"  mailto:{email} "
    if roll < 0.2:
        at = email.index("@")
        return email[:at] + ".." + email[at:]
    if roll < 0.25:
        return email.replace("@", rng.choice(("@@", " @", "")), 1)
    if roll < 0.3:
        return email.rsplit(".", 1)[0] + rng.choice(
            (".test", ".local", ".c", ".123", ".xn--p1ai", ".co-")
        )
    if roll < 0.35:
        return rng.choice("!#$%&'*+/=?^_`{|}~-\"(),:;<>[\\]é ü") + email
    if roll < 0.38:
        return "a" * rng.randint(60, 70) + email
    if roll < 0.4:
        return email.replace("@", "@ab--cd.", 1)
    return email


def test_parity_with_email_validator_on_a_corpus() -> None:
    """The ASCII corpus of Faker's own emails; internationalised ones are tested below."""
    rng = random.Random(11)
    fakers = [Faker(locale) for locale in LOCALES]
    for i, fake in enumerate(fakers):
        fake.seed_instance(i)
    raw = [_mangle(rng.choice(fakers).email(), rng) for _ in range(6000)]
    out = _run(raw)
    expected = [_reference(r) for r in raw]
    mismatches = [
        (r, e, g) for r, e, g in zip(raw, expected, out["email"].to_list(), strict=True) if e != g
    ]
    assert not mismatches[:20], f"{len(mismatches)} differ"
    assert 0.1 < sum(e is None for e in expected) / len(expected) < 0.6  # both kinds are exercised
    assert out.filter(pl.col("email").is_null() & pl.col("_err_email").is_null()).height == 0


_ATEXT = "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-"
_HOST = "abcdefghijklmnopqrstuvwxyz0123456789-"
_EDGE_LABELS = ("a---b", "ab--c", "a--b", "xn--abc", "-ab", "ab-", "1", "a" * 63, "a" * 64)
_ODD = ' .@"(),:;<>[\\]éü☃\t'


def _word(rng: random.Random, alphabet: str, longest: int) -> str:
    size = rng.choice((1, 2, 3, 5, 8, 12, rng.randint(1, longest)))
    return "".join(rng.choice(alphabet) for _ in range(size))


def _synthetic(rng: random.Random) -> str:
    """An address near the rules' edges: dots, hyphens, label lengths, TLD shapes, total length."""
    local = ".".join(_word(rng, _ATEXT, 70) for _ in range(rng.choice((1, 1, 2, 3))))
    labels = [
        _word(rng, _HOST, 64) if rng.random() < 0.8 else rng.choice(_EDGE_LABELS)
        for _ in range(rng.choice((1, 2, 2, 3, 4)))
    ]
    top = rng.choice(("com", "io", "c", "1a", "a1", "123", "co-", "test", "local", "xn--p1ai"))
    host = ".".join([*labels, top if rng.random() < 0.5 else _word(rng, _HOST, 64)])
    if rng.random() < 0.05:
        local = local * rng.randint(2, 6)  # past 64 characters, and sometimes past 254 in all
    return f"{local}@{host}"


def _mangled(rng: random.Random, email: str) -> str:
    roll = rng.random()
    if roll < 0.1 and email:
        at = rng.randrange(len(email))
        return email[:at] + rng.choice(_ODD) + email[at:]
    if roll < 0.15:
        return email.replace("@", rng.choice(("", "@@", " @", "@.", ".@", "@-")), 1)
    if roll < 0.2:
        return rng.choice(("", " ", "MAILTO:", " mailto: ")) + email.upper()
    return email


def test_fast_path_decides_exactly_as_email_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(2024)
    fake = Faker("en_US")
    fake.seed_instance(7)
    raw = [_mangled(rng, _synthetic(rng)) for _ in range(50_000)]
    raw += [_mangled(rng, fake.email()) for _ in range(5_000)]
    sent: list[str] = []

    def recording(keys: pl.DataFrame) -> pl.DataFrame:
        sent.extend(keys["email_key"].to_list())
        return validate_email_values(keys)

    monkeypatch.setattr(transforms.emails, "validate_email_values", recording)
    out = _run(list(raw))
    expected = [_reference(r) for r in raw]
    got = out["email"].to_list()
    mismatches = [(r, e, g) for r, e, g in zip(raw, expected, got, strict=True) if e != g]
    assert not mismatches[:20], f"{len(mismatches)} of {len(raw)} differ"
    # The fast path is not a timid subset: every plain ASCII address email-validator accepts is
    # decided in polars, except the kinds left to it on purpose (Punycode, `ab--`, special use).
    sent_set = set(sent)
    undecided = ("xn--", "--", ".test", ".local", ".arpa", ".invalid", ".onion", ".localhost")
    missed = [
        e
        for e in expected
        if e and e.isascii() and e in sent_set and not any(u in e for u in undecided)
    ]
    assert not missed[:20], f"{len(missed)} valid ASCII addresses went to email-validator"
    accepted = sum(e is not None for e in expected)
    assert 0.2 < accepted / len(raw) < 0.8  # both kinds are exercised at scale
    assert len(set(raw) - sent_set) > 10_000  # and most accepted ones never left polars


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        (" Ann.Smith@Example.COM ", "ann.smith@example.com"),
        ("MAILTO:bob@example.org", "bob@example.org"),
        ("o'brien+tag@example.ie", "o'brien+tag@example.ie"),
        ("josé@example.es", "josé@example.es"),
        ("ann@", None),
        ("ann@example", None),
        ("ann@example.test", None),
        ("a..b@example.com", None),
    ],
)
def test_examples(raw: str, email: str | None) -> None:
    row = _run([raw]).row(0, named=True)
    assert row["email"] == email
    assert (row["_err_email"] is None) == (email is not None)
    if email is None:
        assert row["_err_email"].startswith("invalid_email|")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.emails(), st.text(), st.text(alphabet="ab.@-_+'\" xn")))
def test_any_text_is_an_email_or_a_reason(raw: str) -> None:
    row = _run([raw]).row(0, named=True)
    assert row["email"] == _reference(raw) if raw.strip() else True
    assert (row["email"] is None) != (row["_err_email"] is None) or not raw.strip()


# Locales whose native names make non-ASCII local parts (de_DE and tr_TR for umlauts and `İ`).
NATIVE_LOCALES = (
    "ru_RU",
    "el_GR",
    "zh_CN",
    "hi_IN",
    "ar_AA",
    "de_DE",
    "ja_JP",
    "ko_KR",
    "th_TH",
    "he_IL",
    "tr_TR",
    "uk_UA",
    "vi_VN",
)
IDN_DOMAINS = (
    "bücher.de",
    "BÜCHER.DE",
    "пример.рф",
    "例え.jp",
    "例え。jp",
    "xn--bcher-kva.de",
    "xn--e1afmkfd.xn--p1ai",
    "straße.de",
    "δοκιμή.gr",
    "ﬁrma.de",
    "ＥＸＡＭＰＬＥ．ＣＯＭ",
    "مثال.إختبار",
    "1.אב.com",
    "a\u200db.com",
    "xn--abc.de",
    "ab--cd.de",
    "пример.test",
    "пример",
    "😀.com",
    "я" * 40 + ".рф",
    ("ж" * 20 + ".") * 9 + "рф",
)
ASCII_DOMAINS = ("gmail.com", "mail.ru", "qq.com", "example.co.uk", "a-b.io")
# Characters that make a local part invalid, change under NFC or lower-casing, or are past U+2FFFF.
_TRICKY = (
    "\u0301",  # combining acute: unsafe first, fine after a letter
    "\u200d",  # zero-width joiner (format character)
    "\u200f",  # right-to-left mark
    "\u00a0",  # no-break space
    "\u037e",  # Greek question mark: `;` after NFC
    "\u212a",  # Kelvin sign: `k` after NFC
    "\u212b",  # Angstrom sign: `Å` after NFC
    "\u01c5",  # titlecase dz
    "\u0130",  # dotted capital I
    "\u1e9e",  # capital sharp s
    "Σ",
    "＠",  # full-width at-sign
    "😀",  # past the BMP: email-validator decides
    "\U00020000",  # CJK extension B
    "\ue000",  # private use
    '"',
    " ",
    ".",
)


def _native_names(seed: int) -> list[str]:
    names = []
    for i, locale in enumerate(NATIVE_LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        names += [fake.first_name() for _ in range(60)] + [fake.last_name() for _ in range(60)]
    return names


def _intl_address(rng: random.Random, names: list[str]) -> str:
    local = rng.choice(names)
    roll = rng.random()
    if roll < 0.15:
        local = unicodedata.normalize("NFD", local)  # as macOS writes it
    elif roll < 0.3:
        at = rng.randrange(len(local) + 1)
        local = local[:at] + rng.choice(_TRICKY) + local[at:]
    elif roll < 0.4:
        local = f"{local}.{rng.choice(names)}{rng.randrange(100)}"
    elif roll < 0.45:
        local = local * rng.randint(20, 60)  # past 254 bytes sooner than 254 characters
    domain = rng.choice(IDN_DOMAINS if rng.random() < 0.5 else ASCII_DOMAINS)
    return _mangled(rng, f"{local}@{domain}")


def _oracle(raw: Sequence[str | None]) -> list[tuple[str | None, str | None]]:
    """email-validator on each value as `normalise_emails` cleans it: (email, error)."""
    keys = pl.Series(raw, dtype=pl.String).to_frame("email").select(clean_email("email"))
    distinct = keys["email"].drop_nulls().unique().to_frame("email_key")
    found = {k: (e, r) for k, e, r in validate_email_values(distinct).iter_rows()}
    return [found.get(k, (None, None)) for k in keys["email"].to_list()]


def _differences(raw: Sequence[str | None], out: pl.DataFrame) -> list[tuple[object, ...]]:
    got = zip(out["email"].to_list(), out["_err_email"].to_list(), strict=True)
    return [(r, e, g) for r, e, g in zip(raw, _oracle(raw), got, strict=True) if e != g]


def test_internationalised_addresses_are_decided_in_polars_as_email_validator_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(5)
    names = _native_names(3)
    raw = [_intl_address(rng, names) for _ in range(20_000)]
    # Lengths around 254 bytes in each of the three forms email-validator measures.
    raw += [
        f"{'д' * n}@{d}" for n in range(105, 128) for d in ("пример.рф", "xn--e1afmkfd.xn--p1ai")
    ]
    raw += [f"{'a' * n}@{'я' * 40}.рф" for n in range(150, 175)]
    sent: list[str] = []
    domains: list[str] = []

    def recording(keys: pl.DataFrame) -> pl.DataFrame:
        sent.extend(keys["email_key"].to_list())
        return validate_email_values(keys)

    def recording_domains(keys: pl.DataFrame) -> pl.DataFrame:
        domains.extend(keys["_email_domain_key"].to_list())
        return validate_email_domains(keys)

    monkeypatch.setattr(transforms.emails, "validate_email_values", recording)
    monkeypatch.setattr(transforms.emails, "validate_email_domains", recording_domains)
    out = _run(list(raw))
    mismatches = _differences(raw, out)
    assert not mismatches[:20], f"{len(mismatches)} of {len(raw)} differ"
    accepted = out["email"].drop_nulls().to_list()
    assert sum(not e.isascii() for e in accepted) > 8_000  # valid non-ASCII addresses abound
    assert 0.1 < out["email"].null_count() / len(raw) < 0.5  # and so do rejected ones
    # Only what polars cannot settle reaches email-validator whole: characters past U+2FFFF
    # (or that NFC or lower-casing would change) beside the rejected addresses.
    sent_valid = [e for e in accepted if e in set(sent)]
    assert all(max(map(ord, e)) >= 0x30000 for e in sent_valid), sent_valid[:5]
    # Domains are checked once each, and there are far fewer of them than addresses.
    assert len(domains) == len(set(domains)) < len(raw) / 10


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(
                "{}@{}".format,
                st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
                st.sampled_from(IDN_DOMAINS + ASCII_DOMAINS),
            ),
            st.builds(
                "{}@{}".format,
                st.text(st.characters(max_codepoint=0x2FF, codec="utf-8")),
                st.text(st.characters(max_codepoint=0x44F, codec="utf-8")),
            ),
            st.text(),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_unicode_is_decided_as_email_validator_decides(raw: list[str]) -> None:
    out = _run(list(raw))
    assert not _differences(raw, out)
