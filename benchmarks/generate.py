"""Generate a messy, HubSpot-style lead export for the benchmarks.

The export looks like what a sales team really hands over: phone numbers in the
formats of fourteen countries, country names spelled four different ways, time
zones in IANA, legacy and Windows spellings, and ~15 % of phone values damaged
the way spreadsheets damage them (apostrophes, ``tel:``, extensions, ``(0)``,
E.164 turned into a float).

Faker is slow per call, so names, companies and places come from small
per-locale pools; phone numbers and e-mail addresses are made per row so they
stay mostly distinct, as in a real export. Most phones start from a pool of
Faker numbers that ``phonenumbers`` accepts as valid and get their last five
digits redrawn per row (Faker invents area codes, so its raw output is often
invalid); ~10 % are raw Faker output, valid or not.

Run ``python -m benchmarks.generate ROWS [--seed N]`` to build (or find) one.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import phonenumbers
from faker import Faker

CACHE_DIR = Path(__file__).resolve().parent / ".cache"

HEADER: tuple[str, ...] = (
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Company Name",
    "Website URL",
    "Country/Region",
    "State/Region",
    "City",
    "Time Zone",
    "Lifecycle Stage",
    "Lead Status",
    "Create Date",
)


@dataclass(frozen=True)
class Country:
    """How one country shows up in an export: its locale, spellings and time zones."""

    locale: str
    region: str
    weight: int
    spellings: tuple[str, ...]  # alpha-2, alpha-3, English name, then aliases
    zones: tuple[str, ...]  # IANA first, then legacy and Windows names


COUNTRIES: tuple[Country, ...] = (
    Country(
        "en_US",
        "US",
        30,
        ("US", "USA", "United States", "United States of America", "U.S."),
        (
            "America/New_York",
            "America/Chicago",
            "America/Los_Angeles",
            "America/Denver",
            "US/Eastern",
            "US/Pacific",
            "Eastern Standard Time",
            "Pacific Standard Time",
        ),
    ),
    Country(
        "en_GB",
        "GB",
        12,
        ("GB", "GBR", "United Kingdom", "UK", "Great Britain"),
        ("Europe/London", "GB", "GMT Standard Time"),
    ),
    Country(
        "de_DE",
        "DE",
        8,
        ("DE", "DEU", "Germany", "Deutschland"),
        ("Europe/Berlin", "W. Europe Standard Time"),
    ),
    Country(
        "fr_FR",
        "FR",
        7,
        ("FR", "FRA", "France", "République française"),
        ("Europe/Paris", "Romance Standard Time"),
    ),
    Country(
        "es_ES",
        "ES",
        5,
        ("ES", "ESP", "Spain", "España"),
        ("Europe/Madrid", "Romance Standard Time"),
    ),
    Country(
        "it_IT",
        "IT",
        5,
        ("IT", "ITA", "Italy", "Italia"),
        ("Europe/Rome", "W. Europe Standard Time"),
    ),
    Country(
        "nl_NL",
        "NL",
        4,
        ("NL", "NLD", "Netherlands", "The Netherlands", "Holland"),
        ("Europe/Amsterdam", "W. Europe Standard Time"),
    ),
    Country(
        "pt_BR",
        "BR",
        5,
        ("BR", "BRA", "Brazil", "Brasil"),
        ("America/Sao_Paulo", "Brazil/East", "E. South America Standard Time"),
    ),
    Country(
        "en_IN",
        "IN",
        6,
        ("IN", "IND", "India", "Bharat"),
        ("Asia/Kolkata", "Asia/Calcutta", "India Standard Time"),
    ),
    Country(
        "ja_JP",
        "JP",
        3,
        ("JP", "JPN", "Japan", "Nippon"),
        ("Asia/Tokyo", "Japan", "Tokyo Standard Time"),
    ),
    Country(
        "en_AU",
        "AU",
        5,
        ("AU", "AUS", "Australia", "Oz"),
        ("Australia/Sydney", "Australia/Melbourne", "Australia/NSW", "AUS Eastern Standard Time"),
    ),
    Country(
        "en_CA",
        "CA",
        5,
        ("CA", "CAN", "Canada"),
        ("America/Toronto", "America/Vancouver", "Canada/Eastern", "Eastern Standard Time"),
    ),
    Country(
        "sv_SE",
        "SE",
        2,
        ("SE", "SWE", "Sweden", "Sverige"),
        ("Europe/Stockholm", "W. Europe Standard Time"),
    ),
    Country(
        "pl_PL",
        "PL",
        3,
        ("PL", "POL", "Poland", "Polska"),
        ("Europe/Warsaw", "Poland", "Central European Standard Time"),
    ),
)

LIFECYCLE_STAGES = (
    "Subscriber",
    "Lead",
    "Marketing Qualified Lead",
    "Sales Qualified Lead",
    "Opportunity",
    "Customer",
    "Evangelist",
    "Other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
FREE_MAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "libero.it",
    "yahoo.co.jp",
    "rediffmail.com",
    "uol.com.br",
)
JUNK_PHONES = ("n/a", "N/A", "123", "-", "none", "0", "tbd", "555", "?")
INVALID_EMAILS = ("john@", "a b@x.com", "@gmail.com", "info(at)example.com", "name@@mail.com")

PHONE_DAMAGE_RATE = 0.15
PHONE_BLANK_RATE = 0.03
PHONE_JUNK_RATE = 0.02
MOBILE_FILL_RATE = 0.35
EMAIL_INVALID_RATE = 0.02
EMAIL_DUPLICATE_RATE = 0.01
TIMEZONE_BLANK_RATE = 0.5
POOL_SIZE = 2000
PHONE_TEMPLATES = 1000
RAW_FAKER_PHONE_RATE = 0.10


@dataclass
class LocalePool:
    """Names, companies and places drawn once per locale, reused for every row."""

    country: Country
    faker: Faker
    first_names: list[str]
    last_names: list[str]
    user_names: list[str]
    companies: list[tuple[str, str]]  # (company, website)
    places: list[tuple[str, str]]  # (state, city)
    phone_templates: list[str]  # Faker numbers phonenumbers calls valid


def cache_path(rows: int, seed: int, directory: Path = CACHE_DIR) -> Path:
    """Where the export for ``rows`` and ``seed`` is cached."""
    return directory / f"export-{rows}-{seed}.csv"


def make_export(rows: int, seed: int, path: Path | None = None) -> Path:
    """Write (or reuse) a messy export of ``rows`` leads and return its path.

    ``path`` is the CSV file to write; a directory means
    ``DIR/export-<rows>-<seed>.csv``; ``None`` means the benchmark cache.
    An existing file is reused as is.
    """
    if path is None:
        path = cache_path(rows, seed)
    elif path.is_dir():
        path = cache_path(rows, seed, path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        _write_rows(partial, rows, seed)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _write_rows(path: Path, rows: int, seed: int) -> None:
    Faker.seed(seed)
    rng = random.Random(seed)
    pools = [_build_pool(country) for country in COUNTRIES]
    weights = [pool.country.weight for pool in pools]
    emails = _EmailMaker(rng)
    record_id = 1000 + rng.randrange(100_000)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for pool in rng.choices(pools, weights, k=rows):
            record_id += rng.randint(1, 40)
            writer.writerow(_make_row(rng, pool, emails, record_id))


def _build_pool(country: Country) -> LocalePool:
    fake = _stable_faker(country.locale)
    companies = [(fake.company(), fake.url()) for _ in range(POOL_SIZE // 2)]
    places = [(fake.administrative_unit(), fake.city()) for _ in range(POOL_SIZE // 2)]
    return LocalePool(
        country=country,
        faker=fake,
        first_names=[fake.first_name() for _ in range(POOL_SIZE)],
        last_names=[fake.last_name() for _ in range(POOL_SIZE)],
        user_names=[fake.user_name() for _ in range(POOL_SIZE)],
        companies=companies,
        places=places,
        phone_templates=_valid_phones(fake, country.region),
    )


def _stable_faker(locale: str) -> Faker:
    """A Faker whose output depends on the seed only.

    it_IT builds its city list from a set, so its order (and every city drawn
    from it) changes with PYTHONHASHSEED; sorting it makes the export reproducible.
    """
    fake = Faker(locale)
    address = fake.provider("faker.providers.address")
    cities = getattr(address, "cities", None)
    if address is not None and isinstance(cities, list):
        address.cities = sorted(cities)
    return fake


def _valid_phones(fake: Faker, region: str) -> list[str]:
    """Up to PHONE_TEMPLATES Faker numbers that are valid for ``region``."""
    found: list[str] = []
    for _ in range(3 * PHONE_TEMPLATES):
        phone = fake.phone_number()
        number = _parse(phone, region)
        if number is not None and phonenumbers.is_valid_number(number):
            found.append(phone)
            if len(found) == PHONE_TEMPLATES:
                break
    return found


def _make_row(
    rng: random.Random, pool: LocalePool, emails: _EmailMaker, record_id: int
) -> list[str]:
    company, website = rng.choice(pool.companies)
    state, city = rng.choice(pool.places)
    mobile = ""
    if rng.random() < MOBILE_FILL_RATE:
        mobile = _damage_phone(rng, _fresh_phone(rng, pool), pool.country.region)
    return [
        str(record_id),
        _messy_name(rng, rng.choice(pool.first_names)),
        _messy_name(rng, rng.choice(pool.last_names)),
        emails.make(rng.choice(pool.user_names), website),
        _make_phone(rng, pool),
        mobile,
        company,
        _messy_website(rng, website),
        _country_spelling(rng, pool.country),
        state,
        city,
        _time_zone(rng, pool.country),
        rng.choice(LIFECYCLE_STAGES),
        "" if rng.random() < 0.1 else rng.choice(LEAD_STATUSES),
        _create_date(rng),
    ]


def _make_phone(rng: random.Random, pool: LocalePool) -> str:
    roll = rng.random()
    if roll < PHONE_BLANK_RATE:
        return ""
    if roll < PHONE_BLANK_RATE + PHONE_JUNK_RATE:
        return rng.choice(JUNK_PHONES)
    return _damage_phone(rng, _fresh_phone(rng, pool), pool.country.region)


def _fresh_phone(rng: random.Random, pool: LocalePool) -> str:
    if rng.random() < RAW_FAKER_PHONE_RATE or not pool.phone_templates:
        return pool.faker.phone_number()
    return _redraw_tail(rng, rng.choice(pool.phone_templates))


def _redraw_tail(rng: random.Random, template: str, digits: int = 5) -> str:
    """Replace the last ``digits`` digits before any ``x`` extension with random ones."""
    number, separator, extension = template.partition("x")
    chars = list(number)
    position = len(chars)
    while digits and position:
        position -= 1
        if chars[position].isdigit():
            chars[position] = str(rng.randrange(10))
            digits -= 1
    return "".join(chars) + separator + extension


def _damage_phone(rng: random.Random, phone: str, region: str) -> str:
    """Apply one kind of spreadsheet damage to ~15 % of phone values."""
    if rng.random() >= PHONE_DAMAGE_RATE:
        return phone
    kind = rng.randrange(6)
    if kind == 0:
        return "'" + phone
    if kind == 1:
        return "tel:" + (_e164(phone, region) or phone.replace(" ", ""))
    if kind == 2 and "x" not in phone:
        return phone + rng.choice((" x", " ext. ", " #", " ext ")) + str(rng.randint(1, 999))
    if kind == 3 and region not in ("US", "CA"):
        trunk = _with_trunk_zero(phone, region)
        if trunk:
            return trunk
    if kind == 4:
        e164 = _e164(phone, region)
        if e164:
            return e164[1:] + ".0"
    return rng.choice(("  ", " ", "\t")) + phone + rng.choice((" ", "  ", ""))


def _parse(phone: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(phone: str, region: str) -> str | None:
    number = _parse(phone, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _with_trunk_zero(phone: str, region: str) -> str | None:
    """``+44 20 7946 0958`` -> ``+44 (0)20 7946 0958``."""
    number = _parse(phone, region)
    if number is None:
        return None
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    code, _, rest = text.partition(" ")
    return f"{code} (0){rest}" if rest else None


def _messy_name(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.02:
        return name.upper()
    if roll < 0.04:
        return f" {name} "
    return name


def _messy_website(rng: random.Random, url: str) -> str:
    roll = rng.random()
    if roll < 0.2:
        return ""
    if roll < 0.4:
        return url.split("://", 1)[-1].rstrip("/")
    return url


def _country_spelling(rng: random.Random, country: Country) -> str:
    roll = rng.random()
    spellings = country.spellings
    if roll < 0.02:
        return ""
    if roll < 0.37:
        return spellings[0]
    if roll < 0.52:
        return spellings[1]
    if roll < 0.82:
        return spellings[2]
    return rng.choice(spellings[2:])


def _time_zone(rng: random.Random, country: Country) -> str:
    if rng.random() < TIMEZONE_BLANK_RATE:
        return ""
    if rng.random() < 0.6:
        return country.zones[0]
    return rng.choice(country.zones)


_EPOCH = datetime(2019, 1, 1)
_SPAN_MINUTES = 6 * 365 * 24 * 60


def _create_date(rng: random.Random) -> str:
    moment = _EPOCH + timedelta(minutes=rng.randrange(_SPAN_MINUTES))
    return moment.strftime("%Y-%m-%d %H:%M")


class _EmailMaker:
    """Makes mostly distinct addresses with ~1 % duplicates and ~2 % invalid ones."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._made: list[str] = []
        self._seen: set[str] = set()

    def make(self, user: str, website: str) -> str:
        rng = self._rng
        roll = rng.random()
        if roll < EMAIL_INVALID_RATE:
            return rng.choice(INVALID_EMAILS)
        if roll < EMAIL_INVALID_RATE + EMAIL_DUPLICATE_RATE and self._made:
            return _messy_email(rng, rng.choice(self._made))
        address = self._fresh(user, website)
        self._made.append(address)
        return _messy_email(rng, address)

    def _fresh(self, user: str, website: str) -> str:
        rng = self._rng
        if rng.random() < 0.4:
            domain = website.split("://", 1)[-1].strip("/").removeprefix("www.")
        else:
            domain = rng.choice(FREE_MAIL_DOMAINS)
        address = f"{user}@{domain}"
        while address.lower() in self._seen:
            address = f"{user}{rng.randrange(10_000)}@{domain}"
        self._seen.add(address.lower())
        return address


def _messy_email(rng: random.Random, address: str) -> str:
    roll = rng.random()
    if roll < 0.05:
        return address.upper()
    if roll < 0.10:
        return address[0].upper() + address[1:]
    if roll < 0.15:
        return f" {address}  "
    if roll < 0.17:
        return "mailto:" + address
    return address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="CSV file or directory")
    args = parser.parse_args()
    print(make_export(args.rows, args.seed, args.out))


if __name__ == "__main__":
    main()
