"""Seeded corpora of phone inputs, and the answer libphonenumber gives for each.

`corpus`: numbers from libphonenumber's own example numbers for a few regions and types, with
their last digits re-drawn (so some are valid, some not), written the ways people and
spreadsheets write them. `oracle_text` is what plain `phonenumbers` should be asked: the input
itself, except for float/scientific damage, where it is the digits the spreadsheet meant.

`mangled_examples` does the same for every region, every number type and the non-geographic
codes, with more kinds of damage and right, missing or wrong regions; `faker_phones` is what
Faker writes in many locales. Both give (text, region) pairs, for differential tests of the
phone engine against `phonenumbers`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

REGIONS = (
    "US",
    "CA",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "SE",
    "PL",
    "IN",
    "BR",
    "MX",
    "JP",
    "AU",
    "ZA",
    "NG",
    "CN",
)
TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.VOIP,
    PhoneNumberType.UAN,
)


@dataclass(frozen=True)
class Case:
    text: str
    region: str | None
    oracle_text: str


def oracle(text: str, region: str | None) -> tuple[str | None, str | None]:
    """(E.164, extension) as leadpipe should read the text: plain phonenumbers' answer, else
    that of `international_reading` (see `plain_oracle`), or (None, None) when invalid."""
    found = plain_oracle(text, region)
    if found[0] is not None:
        return found
    plus = international_reading(text, region)
    return plain_oracle(plus, None) if plus is not None else (None, None)


def plain_oracle(text: str, region: str | None) -> tuple[str | None, str | None]:
    """(E.164, extension) as plain phonenumbers says, or (None, None) when invalid."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_valid_number(number):
        return None, None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), number.extension or None


_ASCII_DIGITS = "0123456789"
_SEPARATORS = " .-()/"


def international_reading(text: str, region: str | None) -> str | None:
    """The text as the international number it may have been written as without `+`, by
    the rules `transforms.phones` documents, written out character by character: the digits
    before any `+`, letter or `#`; `011` or `00` first is an IDD, dropped; else 11 digits or
    more that start with a calling code (and not with the region's trunk prefix) get a `+`."""
    start = next((i for i, ch in enumerate(text) if ch in _ASCII_DIGITS or ch == "+"), None)
    if start is None or text[start] == "+":
        return None
    end = start
    while end < len(text) and (text[end] in _ASCII_DIGITS or text[end] in _SEPARATORS):
        end += 1
    digits = "".join(ch for ch in text[start:end] if ch in _ASCII_DIGITS)
    idd = next((p for p in ("011", "00") if digits.startswith(p)), None)
    if idd is not None:
        at, left = start, len(idd)
        while left:  # past the IDD's digits and the separators between and after them
            left -= text[at] in _ASCII_DIGITS
            at += 1
        while at < len(text) and text[at] in _SEPARATORS:
            at += 1
        return "+" + text[at:]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region((region or "").upper())
    trunk = metadata.national_prefix if metadata is not None else None
    coded = any(
        int(digits[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        for n in (1, 2, 3)
        if len(digits) >= n
    )
    if len(digits) >= 11 and coded and not (trunk and trunk[0] != "0" and digits.startswith(trunk)):
        return "+" + text[start:]
    return None


def _examples() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = []
    for region in REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append((region, number))
    return found


def _redraw(number: phonenumbers.PhoneNumber, rng: random.Random) -> phonenumbers.PhoneNumber:
    digits = str(number.national_number)
    keep = max(len(digits) - rng.randint(1, 5), 1)
    tail = "".join(rng.choice("0123456789") for _ in range(len(digits) - keep))
    change = rng.random()
    if change < 0.03:
        tail += rng.choice("0123456789")  # one digit too many
    elif change < 0.06:
        tail = tail[:-1]  # one too few
    fresh = phonenumbers.PhoneNumber(
        country_code=number.country_code, national_number=int(digits[:keep] + tail)
    )
    if number.italian_leading_zero:
        fresh.italian_leading_zero = True
    return fresh


def _write(
    number: phonenumbers.PhoneNumber, region: str, rng: random.Random
) -> tuple[str, str | None]:
    """A text form of the number and the region a row would carry with it."""
    style = rng.randrange(8)
    if style == 0:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), rng.choice(
            (None, region)
        )
    if style == 1:
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL), rng.choice(
            (None, "US", region)
        )
    if style == 2:
        return phonenumbers.format_number(number, PhoneNumberFormat.RFC3966), None
    if style == 3:
        caller = rng.choice(REGIONS)
        return phonenumbers.format_out_of_country_calling_number(number, caller), caller
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if style == 4:
        return "".join(ch for ch in national if ch.isdigit()), region
    if style == 5:
        return national.replace(" ", rng.choice(("-", ".", "  ", ""))), region
    return national, region


def _damage(text: str, region: str | None, rng: random.Random) -> Case:
    """What spreadsheets and people do to numbers; the oracle gets the undamaged meaning."""
    roll = rng.random()
    digits = "".join(ch for ch in text if ch.isdigit())
    if roll < 0.05:
        return Case("'" + text, region, "'" + text)
    if roll < 0.08:
        return Case(f"  {text}\t", region, text)
    if roll < 0.12:
        ext = f"{rng.choice((' x', ' ext. ', ' ext ', ' #'))}{rng.randint(1, 9999)}"
        return Case(text + ext, region, text + ext)
    if roll < 0.15 and text.startswith("+"):
        return Case(f"{digits}.0", region, digits)  # a number saved as a float
    if roll < 0.17 and text.startswith("+") and len(digits) > 1 and digits[0] != "0":
        return Case(f"{digits[0]}.{digits[1:]}E+{len(digits) - 1}", region, digits)
    if roll < 0.18 and len(digits) > 4:
        # scientific notation that lost digits: never a valid answer
        return Case(f"{digits[0]}.{digits[1:4]}E+{len(digits) - 1}", region, "not a number")
    return Case(text, region, text)


def corpus(size: int, seed: int = 20261122) -> list[Case]:
    """`size` cases, the same for the same seed."""
    rng = random.Random(seed)
    examples = _examples()
    cases = []
    for _ in range(size):
        region, example = rng.choice(examples)
        text, row_region = _write(_redraw(example, rng), region, rng)
        cases.append(_damage(text, row_region, rng))
    return cases


# Faker locales and the region their numbers belong to.
FAKER_LOCALES = {
    "en_US": "US",
    "en_GB": "GB",
    "de_DE": "DE",
    "fr_FR": "FR",
    "es_ES": "ES",
    "it_IT": "IT",
    "nl_NL": "NL",
    "pt_BR": "BR",
    "en_IN": "IN",
    "ja_JP": "JP",
    "en_AU": "AU",
    "en_CA": "CA",
    "sv_SE": "SE",
    "pl_PL": "PL",
    "es_MX": "MX",
    "es_AR": "AR",
    "ru_RU": "RU",
    "zh_CN": "CN",
    "ko_KR": "KR",
    "tr_TR": "TR",
    "cs_CZ": "CZ",
    "da_DK": "DK",
    "pt_PT": "PT",
    "el_GR": "GR",
    "he_IL": "IL",
    "th_TH": "TH",
    "de_CH": "CH",
    "uk_UA": "UA",
}
_EXTENSIONS = (" x", " ext. ", " ext ", " #", " Ext:", ";ext=", " extension ", ", ", "x")


def all_examples() -> list[tuple[str | None, phonenumbers.PhoneNumber]]:
    """libphonenumber's example number of every type in every region, and of every
    non-geographic calling code (region None)."""
    found: list[tuple[str | None, phonenumbers.PhoneNumber]] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(PhoneNumberType.UNKNOWN):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append((region, number))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            found.append((None, number))
    return found


def mangled_examples(size: int, seed: int = 20261123) -> list[tuple[str, str | None]]:
    """`size` (text, region) pairs: every example number, redrawn, damaged, any region."""
    rng = random.Random(seed)
    examples = all_examples()
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    pairs = []
    for i in range(size):
        home, example = examples[i % len(examples)]
        number = _redraw(example, rng)
        text = _mangle(number, rng, rng.choice(regions))
        roll = rng.random()
        region = home if roll < 0.5 else None if roll < 0.7 else rng.choice(regions)
        pairs.append((text, region))
    return pairs


def _mangle(number: phonenumbers.PhoneNumber, rng: random.Random, caller: str) -> str:
    """One of the ways a number reaches a spreadsheet cell."""
    text = rng.choice(_FORMS)(number, rng, caller)
    roll = rng.random()
    if roll < 0.12:
        text += rng.choice(_EXTENSIONS) + str(rng.randint(0, 10 ** rng.randint(1, 8)))
    elif roll < 0.18:
        text = "'" + text
    elif roll < 0.22:
        text = rng.choice(("tel:", "Tel: ", "(", " ")) + text
    return text


def _as(style: int) -> Callable[[phonenumbers.PhoneNumber], str]:
    return lambda number: phonenumbers.format_number(number, style)


_E164, _INTERNATIONAL, _NATIONAL = (
    _as(PhoneNumberFormat.E164),
    _as(PhoneNumberFormat.INTERNATIONAL),
    _as(PhoneNumberFormat.NATIONAL),
)
_Form = Callable[[phonenumbers.PhoneNumber, random.Random, str], str]
_FORMS: tuple[_Form, ...] = (
    lambda n, rng, caller: _E164(n),
    lambda n, rng, caller: _INTERNATIONAL(n),
    lambda n, rng, caller: _NATIONAL(n),
    lambda n, rng, caller: phonenumbers.format_number(n, PhoneNumberFormat.RFC3966),
    lambda n, rng, caller: phonenumbers.format_out_of_country_calling_number(n, caller),
    lambda n, rng, caller: "00" + _E164(n)[1:],
    lambda n, rng, caller: _INTERNATIONAL(n).replace(" ", " (0)", 1),
    lambda n, rng, caller: _NATIONAL(n).replace(" ", "."),
    lambda n, rng, caller: _INTERNATIONAL(n).replace(" ", "-"),
    lambda n, rng, caller: "".join(ch for ch in _NATIONAL(n) if ch.isdigit()),
    lambda n, rng, caller: _E164(n)[1:] + ".0",
    lambda n, rng, caller: f"{_E164(n)[1]}.{_E164(n)[2:]}E+{len(_E164(n)) - 2}",
    lambda n, rng, caller: _E164(n)[: -rng.randint(1, 3)],
    lambda n, rng, caller: _NATIONAL(n) + str(rng.randint(0, 999)),
    lambda n, rng, caller: _change_a_digit(_INTERNATIONAL(n), rng),
    # international numbers without their `+`: after another IDD, or bare
    lambda n, rng, caller: rng.choice(("011 ", "00", "(00) ", "0-1-1 ")) + _INTERNATIONAL(n)[1:],
    lambda n, rng, caller: _INTERNATIONAL(n)[1:].replace(" ", rng.choice((" ", "-", ".", ""))),
)


def _change_a_digit(text: str, rng: random.Random) -> str:
    places = [i for i, ch in enumerate(text) if ch.isdigit()]
    at = rng.choice(places)
    return text[:at] + rng.choice("0123456789") + text[at + 1 :]


def faker_phones(per_locale: int, seed: int = 7) -> list[tuple[str, str | None]]:
    """Faker's numbers for each of FAKER_LOCALES, with its region, none, or a wrong one."""
    from faker import Faker

    rng = random.Random(seed)
    pairs = []
    for locale, region in FAKER_LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        for _ in range(per_locale):
            roll = rng.random()
            row_region = region if roll < 0.7 else None if roll < 0.85 else rng.choice(REGIONS)
            pairs.append((fake.phone_number(), row_region))
    return pairs
