"""A seeded corpus of phone inputs with the answer libphonenumber gives for each.

Numbers come from libphonenumber's own example numbers for every region and type, with their
last digits re-drawn (so some are valid, some not), written the ways people and spreadsheets
write them. `oracle_text` is what plain `phonenumbers` should be asked: the input itself, except
for float/scientific damage, where it is the digits the spreadsheet meant.
"""

from __future__ import annotations

import random
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
    """(E.164, extension) as plain phonenumbers says, or (None, None) when invalid."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_valid_number(number):
        return None, None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), number.extension or None


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
