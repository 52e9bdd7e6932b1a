"""Write the sample exports in this folder: one small file per real-world export layout.

Each sample follows the columns its system documents (see README.md beside this file) and
carries the cell hygiene real exports have: null words (`null`, `N/A`, `-`, ...), phones in a
dozen spellings, country names as systems write them, a mistyped email domain here and there.
Every phone meant to be good is valid, by `phonenumbers`, for its row's country or, where the
row has none, for the file's home region; the generator checks that as it writes.

Run it from the repository root to rewrite the samples and `layouts.toml` (the manifest the
tests read); the output depends only on the seed, so a re-run changes nothing:

    .venv/bin/python tests/data/exports/make_samples.py [OUT_DIR]
"""

from __future__ import annotations

import csv
import io
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

SEED = 20260717
HERE = Path(__file__).resolve().parent
EPOCH = datetime(2026, 1, 5, 9, 0, 0)

# Country names as most exports spell them, including the ISO-style ones that trip lookups.
COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "FR": "France",
    "DE": "Germany",
    "AU": "Australia",
    "IN": "India",
    "KR": "Korea, Republic of",
    "SK": "Slovakia (Slovak Republic)",
    "FM": "Micronesia",
    "ES": "Spain",
    "BR": "Brazil",
    "NL": "Netherlands",
    "IE": "Ireland",
    "MX": "Mexico",
    "AE": "United Arab Emirates",
    "BE": "Belgium",
    "CH": "Switzerland",
}
FRENCH_COUNTRY_NAMES = {"FR": "France", "BE": "Belgique", "CH": "Suisse", "CA": "Canada"}
LOCALES = {
    "US": "en_US",
    "CA": "en_CA",
    "GB": "en_GB",
    "FR": "fr_FR",
    "DE": "de_DE",
    "AU": "en_AU",
    "IN": "en_IN",
    "SK": "sk_SK",
    "FM": "en_US",
    "ES": "es_ES",
    "BR": "pt_BR",
    "NL": "nl_NL",
    "IE": "en_IE",
    "MX": "es_MX",
    "AE": "en_US",
    "BE": "fr_BE",
    "CH": "fr_CH",
}
# Faker writes Korean names in Hangul; exports of Korean contacts mostly romanise them.
KOREAN_FIRST = ("Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun", "Do-yun", "Soo-ah", "Ye-jin", "Hyun-woo")
KOREAN_LAST = ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Yoon")
TLD = {"GB": "co.uk", "FR": "fr", "DE": "de", "AU": "com.au", "IN": "in", "KR": "co.kr"}
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com")
# Fictional US/Canadian numbers (NXX 555, lines 0100-0199) for US and CA rows.
AREA_CODES = {
    "US": ("415", "212", "646", "312", "617", "206", "512", "303", "404", "305"),
    "CA": ("416", "604", "514", "403"),
}
NULL_WORDS = ("null", "NULL", "N/A", "-", "none")


@dataclass(frozen=True)
class Person:
    """One made-up lead, with everything any layout may ask of it."""

    first: str
    last: str
    company: str
    domain: str
    title: str
    city: str
    state: str
    postcode: str
    region: str  # ISO 3166 alpha-2
    mobile: PhoneNumber
    work: PhoneNumber
    email: str  # at the company's domain
    personal_email: str  # at a free mail provider
    created: datetime

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Sample:
    """One sample file: what it is, its header and rows, and how it is written."""

    file: str
    system: str
    preset: str
    region: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    sheet: str | None = None
    header_row: int | None = None  # 1-based line of the header when lines come before it
    preamble: list[str] = field(default_factory=list)
    delimiter: str = ","
    bom: bool = False
    crlf: bool = False
    quote_all: bool = False
    trailing_blank_line: bool = False


class Maker:
    """Seeded sources of people, phones, emails and messy cells for the layouts below."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._fakers: dict[str, Faker] = {}

    def faker(self, region: str) -> Faker:
        locale = LOCALES.get(region, "en_US")
        if locale not in self._fakers:
            fake = Faker(locale)
            fake.seed_instance(self.rng.randrange(2**31))
            self._fakers[locale] = fake
        return self._fakers[locale]

    def person(self, region: str) -> Person:
        fake = self.faker(region)
        if region == "KR":
            first, last = self.rng.choice(KOREAN_FIRST), self.rng.choice(KOREAN_LAST)
        else:
            first, last = fake.first_name(), fake.last_name()
        company = fake.company()
        slug = ascii_slug(company.split(",")[0].split(" ")[0]) or ascii_slug(last)
        domain = f"{slug}.{TLD.get(region, 'com')}"
        local = f"{ascii_slug(first)}.{ascii_slug(last)}".strip(".") or "contact"
        personal = f"{ascii_slug(first)}{ascii_slug(last)}{self.rng.randrange(10, 99)}"
        return Person(
            first=first,
            last=last,
            company=company,
            domain=domain,
            title=fake.job(),
            city=fake.city(),
            state=_state(fake),
            postcode=fake.postcode(),
            region=region,
            mobile=self.phone(region, mobile=True),
            work=self.phone(region, mobile=False),
            email=f"{local}@{domain}",
            personal_email=f"{personal}@{self.rng.choice(FREE_MAIL)}",
            created=EPOCH + timedelta(minutes=self.rng.randrange(60 * 24 * 120)),
        )

    def people(self, n: int, regions: Sequence[tuple[str, int]]) -> list[Person]:
        codes, weights = zip(*regions, strict=True)
        return [self.person(self.rng.choices(codes, weights)[0]) for _ in range(n)]

    def phone(self, region: str, *, mobile: bool) -> PhoneNumber:
        """A valid number of `region`, from a fictional range where the country has one."""
        for _ in range(200):
            number = phonenumbers.parse(self._national_digits(region, mobile), region)
            if phonenumbers.is_valid_number(number):
                return number
        raise AssertionError(f"no valid {region} number found")

    def _national_digits(self, region: str, mobile: bool) -> str:
        rng = self.rng
        if region in AREA_CODES:
            return f"{rng.choice(AREA_CODES[region])}55501{rng.randrange(100):02d}"
        if region == "GB" and not mobile:  # Ofcom's range for drama (its mobile one reads invalid)
            return f"02079460{rng.randrange(1000):03d}"
        kind = PhoneNumberType.MOBILE if mobile else PhoneNumberType.FIXED_LINE
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            raise AssertionError(f"phonenumbers has no example number for {region}")
        digits = str(example.national_number)
        return f"+{example.country_code}{digits[:-3]}{rng.randrange(1000):03d}"

    def street(self, region: str) -> str:
        """A street address on one line (some locales write a flat or studio on a line above)."""
        return ", ".join(self.faker(region).street_address().splitlines())

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def null_word(self) -> str:
        return self.rng.choice(NULL_WORDS)

    def maybe_null(self, value: str, p: float) -> str:
        """`value`, or (with probability `p`) a word that means nothing is there."""
        return self.null_word() if self.chance(p) else value

    def maybe_blank(self, value: str, p: float) -> str:
        return "" if self.chance(p) else value


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _state(fake: Faker) -> str:
    for attr in ("state_abbr", "administrative_unit", "region", "county"):
        if hasattr(fake, attr):
            return str(getattr(fake, attr)())
    return ""


# Phone spellings. Each is checked against the region the pipeline will parse the row with.
def spell(number: PhoneNumber, style: str, parse_region: str, rng: random.Random) -> str:
    """`number` written one of the ways exports write phones; valid for `parse_region`."""
    text = _spell(number, style, rng)
    parsed = phonenumbers.parse(text, parse_region)
    same = (parsed.country_code, parsed.national_number) == (
        number.country_code,
        number.national_number,
    )
    if not (same and phonenumbers.is_valid_number(parsed)):
        raise AssertionError(f"{text!r} is not {number} when read in {parse_region}")
    return text


def _spell(number: PhoneNumber, style: str, rng: random.Random) -> str:
    intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    digits = str(number.national_number)
    spellings: dict[str, Callable[[], str]] = {
        "e164": lambda: e164,
        "intl": lambda: intl,
        "national": lambda: national,
        "dots": lambda: f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
        "dashes": lambda: f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
        "plain": lambda: re.sub(r"\D", "", national),
        "intl_00": lambda: "00" + intl[1:],
        "intl_011": lambda: "011 " + intl[1:],
        "cc_no_plus": lambda: intl[1:],
        "apostrophe": lambda: "'" + intl,
        "fb": lambda: "p:" + e164,
        "ext": lambda: f"{national} x{rng.randrange(100, 9999)}",
        "dashed_intl": lambda: "+" + intl[1:].replace(" ", "-"),
    }
    return spellings[style]()


def phone_cell(m: Maker, number: PhoneNumber, styles: Sequence[str], parse_region: str) -> str:
    """A good phone in one of `styles` (the first that reads right in `parse_region`)."""
    choices = list(styles)
    m.rng.shuffle(choices)
    for style in [*choices, "intl"]:
        try:
            return spell(number, style, parse_region, m.rng)
        except (AssertionError, phonenumbers.NumberParseException):
            continue
    raise AssertionError("unreachable: the international format always reads right")


def typo(email: str, domain: str) -> str:
    """The address with its domain mistyped as `domain` (`gmail.comn`, `icloud.con`, ...)."""
    return f"{email.split('@')[0]}@{domain}"


def stamp(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.strftime(fmt)


def sf_id(rng: random.Random, prefix: str = "00Q") -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "5e00000" + "".join(rng.choice(alphabet) for _ in range(8))


# The layouts, one function each, in the order of the manifest.
def hubspot_contacts(m: Maker) -> Sample:
    s = Sample(
        "hubspot_contacts.csv",
        "HubSpot (contacts export)",
        "hubspot",
        "US",
        [
            "Record ID", "First Name", "Last Name", "Email", "Phone Number",
            "Mobile Phone Number", "Job Title", "Company Name", "Website URL", "Country/Region",
            "State/Region", "City", "Time Zone", "Lifecycle Stage", "Lead Status",
            "Contact owner", "Create Date", "Last Activity Date",
        ],
    )  # fmt: skip
    regions = [("US", 8), ("CA", 1), ("GB", 1), ("FM", 1)]
    statuses = ("NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "")
    for i, p in enumerate(m.people(36, regions)):
        record = str(152533000000 + m.rng.randrange(10**6))
        if i == 11:  # opened in Excel and saved: the id became a float in E notation
            record = "1.52533E+11"
        styles = ("national", "dashes", "intl") if p.region in ("US", "CA") else ("intl", "e164")
        # HubSpot writes `null` where a contact has no phone number.
        work = "null" if i in (3, 17, 30) else phone_cell(m, p.work, styles, p.region)
        s.rows.append(
            [
                record,
                p.first,
                p.last,
                p.email,
                work,
                m.maybe_blank(phone_cell(m, p.mobile, styles, p.region), 0.5),
                p.title,
                p.company,
                f"https://www.{p.domain}",
                COUNTRY_NAMES[p.region],
                p.state,
                p.city,
                m.rng.choice(("", "America/New_York", "America/Los_Angeles", "")),
                m.rng.choice(("lead", "subscriber", "marketingqualifiedlead")),
                m.rng.choice(statuses),
                m.faker("US").name(),
                stamp(p.created),
                m.maybe_blank(stamp(p.created + timedelta(days=3)), 0.4),
            ]
        )
    return s


def hubspot_contacts_company(m: Maker) -> Sample:
    s = Sample(
        "hubspot_contacts_company.csv",
        "HubSpot (contacts with associated company columns)",
        "hubspot",
        "US",
        [
            "Record ID - Contact", "First Name", "Last Name", "Email", "Phone Number",
            "Contact owner", "Lead Status", "Marketing contact status", "Create Date",
            "Record ID - Company", "Company name", "Company Domain Name", "Industry",
            "Create Date",
        ],
    )  # fmt: skip
    for p in m.people(28, [("US", 6), ("GB", 1), ("DE", 1)]):
        # No country column: every phone is read in the home region, so foreign ones need a +.
        styles = ("national", "e164") if p.region == "US" else ("intl", "e164")
        s.rows.append(
            [
                str(2100 + m.rng.randrange(900) * 7),
                p.first,
                p.last,
                p.email,
                m.maybe_null(phone_cell(m, p.work, styles, "US"), 0.1),
                m.faker("US").name(),
                m.rng.choice(("NEW", "OPEN", "OPEN_DEAL", "UNQUALIFIED")),
                m.rng.choice(("Marketing contact", "Non-marketing contact")),
                stamp(p.created),
                str(880000 + m.rng.randrange(9999)),
                p.company,
                p.domain,
                m.rng.choice(("COMPUTER_SOFTWARE", "RETAIL", "FINANCIAL_SERVICES", "")),
                stamp(p.created - timedelta(days=m.rng.randrange(30, 900))),
            ]
        )
    return s


def salesforce_api(m: Maker) -> Sample:
    s = Sample(
        "salesforce_leads_api.csv",
        "Salesforce (Lead, API field names)",
        "salesforce",
        "US",
        [
            "Id", "FirstName", "LastName", "Title", "Company", "Email", "Phone", "MobilePhone",
            "Website", "Street", "City", "State", "PostalCode", "Country", "LeadSource", "Status",
            "Industry", "HasOptedOutOfEmail", "OwnerId", "CreatedDate",
        ],
    )  # fmt: skip
    statuses = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                "Closed - Not Converted")  # fmt: skip
    for p in m.people(30, [("US", 7), ("CA", 2), ("MX", 1)]):
        s.rows.append(
            [
                sf_id(m.rng),
                p.first,
                p.last,
                p.title,
                p.company,
                p.email,
                phone_cell(m, p.work, ("national", "dashes", "intl"), p.region),
                m.maybe_blank(phone_cell(m, p.mobile, ("national", "e164"), p.region), 0.5),
                p.domain,
                m.street(p.region),
                p.city,
                p.state,
                p.postcode,
                COUNTRY_NAMES[p.region] if m.chance(0.7) else p.region,
                m.rng.choice(("Web", "Phone Inquiry", "Partner Referral", "Purchased List")),
                m.rng.choice(statuses),
                m.rng.choice(("Technology", "Retail", "Banking", "")),
                m.rng.choice(("false", "false", "true")),
                sf_id(m.rng, "005"),
                stamp(p.created, "%Y-%m-%dT%H:%M:%S.000+0000"),
            ]
        )
    return s


def salesforce_dataloader(m: Maker) -> Sample:
    header = [
        "ID", "ISDELETED", "MASTERRECORDID", "LASTNAME", "FIRSTNAME", "SALUTATION", "NAME",
        "TITLE", "COMPANY", "STREET", "CITY", "STATE", "POSTALCODE", "COUNTRY", "COUNTRYCODE",
        "PHONE", "MOBILEPHONE", "EMAIL", "WEBSITE", "DESCRIPTION", "LEADSOURCE", "STATUS",
        "OWNERID", "HASOPTEDOUTOFEMAIL", "ISCONVERTED", "CREATEDDATE", "SYSTEMMODSTAMP",
    ]  # fmt: skip
    s = Sample(
        "salesforce_dataloader.csv",
        "Salesforce (Data Loader / full-object export of Lead)",
        "salesforce",
        "US",
        header,
        quote_all=True,
        crlf=True,
    )
    for p in m.people(40, [("US", 6), ("CA", 2), ("GB", 1), ("AU", 1)]):
        s.rows.append(
            [
                sf_id(m.rng),
                "false",
                "",
                p.last,
                p.first,
                m.rng.choice(("Mr.", "Ms.", "Dr.", "")),
                p.full_name,
                p.title,
                p.company,
                m.street(p.region),
                p.city,
                p.state,
                p.postcode,
                COUNTRY_NAMES[p.region],
                p.region,
                phone_cell(m, p.work, ("national", "intl", "e164"), p.region),
                m.maybe_blank(phone_cell(m, p.mobile, ("national", "intl"), p.region), 0.6),
                p.email,
                f"www.{p.domain}",
                m.maybe_blank("Met at the spring trade show", 0.8),
                m.rng.choice(("Web", "Partner Referral", "Other")),
                m.rng.choice(("Open - Not Contacted", "Working - Contacted")),
                sf_id(m.rng, "005"),
                m.rng.choice(("false", "true")),
                "false",
                stamp(p.created, "%Y-%m-%dT%H:%M:%S.000Z"),
                stamp(p.created + timedelta(hours=5), "%Y-%m-%dT%H:%M:%S.000Z"),
            ]
        )
    return s


def salesforce_report(m: Maker) -> Sample:
    s = Sample(
        "salesforce_report.csv",
        "Salesforce (Leads report, Details Only, labels as headers)",
        "salesforce",
        "US",
        [
            "Lead Owner", "First Name", "Last Name", "Title", "Company / Account", "Email",
            "Phone", "Mobile", "Lead Source", "Lead Status", "Street", "City", "State/Province",
            "Zip/Postal Code", "Country", "Rating", "Create Date", "Last Activity", "Lead ID",
        ],
        crlf=True,
    )  # fmt: skip
    for p in m.people(25, [("US", 8), ("CA", 1)]):
        s.rows.append(
            [
                m.faker("US").name(),
                p.first,
                p.last,
                p.title,
                p.company,
                p.email,
                phone_cell(m, p.work, ("national", "dashes"), p.region),
                m.maybe_null(phone_cell(m, p.mobile, ("national", "dots"), p.region), 0.2),
                m.rng.choice(("Web", "Trade Show", "Employee Referral")),
                m.rng.choice(("Open - Not Contacted", "Working - Contacted", "Closed - Converted")),
                m.street(p.region),
                p.city,
                p.state,
                p.postcode,
                p.region,
                m.rng.choice(("Hot", "Warm", "Cold", "")),
                stamp(p.created, "%m/%d/%Y"),
                m.maybe_blank(stamp(p.created + timedelta(days=9), "%m/%d/%Y"), 0.5),
                sf_id(m.rng),
            ]
        )
    return s


def zoho_leads(m: Maker) -> Sample:
    s = Sample(
        "zoho_leads.csv",
        "Zoho CRM (Leads module export; US leads, no country column)",
        "zoho",
        "US",
        [
            "Record Id", "Lead Owner", "Salutation", "First Name", "Last Name", "Company",
            "Designation", "Email", "Secondary Email", "Phone", "Mobile", "Website", "Lead Source",
            "Lead Status", "Industry", "No. of Employees", "Annual Revenue", "Email Opt Out",
            "Created Time", "Modified Time", "City", "State", "Zip Code", "Description", "Tag",
        ],
    )  # fmt: skip
    paris = phonenumbers.parse("+33 1 42 68 53 00")
    for i, p in enumerate(m.people(33, [("US", 1)])):
        typos = {4: "icloud.con", 19: "gmail.comn"}
        secondary = typo(p.personal_email, typos[i]) if i in typos else p.personal_email
        work = phone_cell(m, p.work, ("national", "dots", "dashes", "plain"), "US")
        if i == 7:  # a US lead whose office is in Paris, dialled the American way
            work = spell(paris, "intl_011", "US", m.rng)
        s.rows.append(
            [
                f"zcrm_57257670000{m.rng.randrange(10**8):08d}",
                m.faker("US").name(),
                m.rng.choice(("Mr.", "Mrs.", "Ms.", "Dr.", "-None-")),
                p.first,
                p.last,
                p.company,
                p.title,
                p.email,
                secondary if i in typos else m.maybe_blank(secondary, 0.5),
                work,
                m.maybe_null(phone_cell(m, p.mobile, ("national", "e164"), "US"), 0.15),
                f"http://{p.domain}",
                m.rng.choice(("Advertisement", "Cold Call", "Web Download")),
                m.rng.choice(
                    (
                        "Not Contacted",
                        "Attempted to Contact",
                        "Contacted",
                        "Pre-Qualified",
                        "Junk Lead",
                    )
                ),
                m.rng.choice(("ASP", "Data/Telecom OEM", "ERP", "")),
                str(m.rng.choice((10, 50, 120, 500))),
                str(m.rng.randrange(1, 90) * 100000),
                m.rng.choice(("false", "false", "true")),
                stamp(p.created, "%Y-%m-%d %H:%M:%S"),
                stamp(p.created + timedelta(days=2), "%Y-%m-%d %H:%M:%S"),
                p.city,
                p.state,
                p.postcode,
                "",
                m.rng.choice(("", "webinar", "webinar;trade-show")),
            ]
        )
    return s


def apollo(m: Maker) -> Sample:
    s = Sample(
        "apollo_people.csv",
        "Apollo.io (people export)",
        "apollo",
        "US",
        [
            "First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
            "Email Status", "Primary Email Source", "Email Confidence", "Seniority", "Departments",
            "Contact Owner", "Work Direct Phone", "Home Phone", "Mobile Phone", "Corporate Phone",
            "Other Phone", "Stage", "Lists", "# Employees", "Industry", "Person Linkedin Url",
            "Website", "Company Linkedin Url", "City", "State", "Country", "Company Address",
            "Company City", "Company State", "Company Country", "Company Phone",
            "Apollo Contact Id", "Apollo Account Id", "Secondary Email", "Tertiary Email",
        ],
    )  # fmt: skip
    regions = [("US", 6), ("GB", 2), ("DE", 1), ("KR", 1), ("IN", 1)]
    for p in m.people(42, regions):
        styles = ("apostrophe", "intl", "e164")
        cells = {
            "work": m.maybe_blank(phone_cell(m, p.work, styles, p.region), 0.6),
            "home": m.maybe_blank(
                phone_cell(m, m.phone(p.region, mobile=False), styles, p.region), 0.85
            ),
            "mobile": m.maybe_blank(phone_cell(m, p.mobile, styles, p.region), 0.4),
            "corporate": m.maybe_blank(
                phone_cell(m, m.phone(p.region, mobile=False), styles, p.region), 0.3
            ),
            "other": m.maybe_blank(
                phone_cell(m, m.phone(p.region, mobile=True), styles, p.region), 0.85
            ),
        }
        company_phone = cells["corporate"] or phone_cell(m, p.work, ("apostrophe",), p.region)
        country = COUNTRY_NAMES[p.region]
        s.rows.append(
            [
                p.first,
                p.last,
                p.title,
                p.company,
                p.company.split(",")[0],
                m.maybe_blank(p.email, 0.1),
                m.rng.choice(("Verified", "Extrapolated", "Unavailable")),
                "Apollo",
                m.rng.choice(("", "90", "75")),
                m.rng.choice(("Director", "Manager", "VP", "C suite", "Senior")),
                m.rng.choice(("Sales", "Engineering & Technical", "Finance")),
                m.faker("US").name(),
                cells["work"],
                cells["home"],
                cells["mobile"],
                cells["corporate"],
                cells["other"],
                m.rng.choice(("Cold", "Approaching", "Replied", "Interested")),
                m.rng.choice(("Q3 outbound", "Q3 outbound, Webinar", "")),
                str(m.rng.choice((12, 48, 230, 1900))),
                m.rng.choice(("computer software", "retail")),
                f"http://www.linkedin.com/in/{ascii_slug(p.first)}-{ascii_slug(p.last)}-{m.rng.randrange(10**6):x}",
                f"http://www.{p.domain}",
                f"http://www.linkedin.com/company/{p.domain.split('.')[0]}",
                p.city,
                p.state,
                country,
                m.street(p.region),
                p.city,
                p.state,
                country,
                company_phone,
                f"{m.rng.randrange(16**24):024x}",
                f"{m.rng.randrange(16**24):024x}",
                m.maybe_blank(p.personal_email, 0.7),
                m.maybe_blank(f"{ascii_slug(p.first)}@{p.domain}", 0.9),
            ]
        )
    return s


def google_contacts(m: Maker) -> Sample:
    header = [
        "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name",
        "Phonetic Last Name", "Name Prefix", "Name Suffix", "Nickname", "File As",
        "Organization Name", "Organization Title", "Organization Department", "Birthday",
        "Notes", "Photo", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label",
        "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
        "Phone 2 - Value", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street",
        "Address 1 - City", "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code",
        "Address 1 - Country", "Address 1 - Extended Address", "Website 1 - Label",
        "Website 1 - Value",
    ]  # fmt: skip
    s = Sample(
        "google_contacts.csv",
        "Google Contacts (Google CSV export)",
        "google_contacts",
        "US",
        header,
    )
    regions = [("US", 6), ("KR", 1), ("FR", 1), ("GB", 1), ("ES", 1)]
    for i, p in enumerate(m.people(38, regions)):
        known_country = p.region != "US" or m.chance(0.5)
        read_as = p.region if known_country else "US"
        emails = [p.personal_email]
        if m.chance(0.4):  # several addresses of one label share a cell
            emails.append(p.email)
        if i in (9, 26):
            emails[0] = typo(p.personal_email, "gmail.comn" if i == 9 else "yahoo.co")
        phones = [phone_cell(m, p.mobile, ("intl", "e164", "national"), read_as)]
        if m.chance(0.35):
            phones.append(phone_cell(m, p.work, ("intl", "national"), read_as))
        country = COUNTRY_NAMES[p.region] if known_country else ""
        s.rows.append(
            [
                p.first,
                "",
                p.last,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                m.maybe_blank(p.company, 0.4),
                m.maybe_blank(p.title, 0.5),
                "",
                m.rng.choice(("", "", "--04-17", "1988-11-02")),
                m.maybe_blank("Met at a conference", 0.8),
                "",
                m.rng.choice(
                    ("* myContacts", "* myContacts ::: Clients", "* myContacts ::: Friends")
                ),
                "* Home" if len(emails) == 1 else "* Home ::: Work",
                " ::: ".join(emails),
                "",
                "",
                "Mobile" if len(phones) == 1 else "Mobile ::: Work",
                " ::: ".join(phones),
                "",
                "",
                "Home" if country else "",
                f"{p.city}, {country}" if country else "",
                "",
                p.city if country else "",
                "",
                "",
                "",
                country,
                "",
                "",
                "",
            ]
        )
    return s


def facebook_lead_ads(m: Maker) -> Sample:
    s = Sample(
        "facebook_lead_ads.csv",
        "Facebook Lead Ads (Ads Manager 'Download leads' CSV)",
        "facebook",
        "US",
        [
            "id", "created_time", "ad_id", "ad_name", "adset_id", "adset_name", "campaign_id",
            "campaign_name", "form_id", "form_name", "is_organic", "platform",
            "what_is_your_budget?", "full_name", "email", "phone_number", "city", "lead_status",
        ],
    )  # fmt: skip
    for p in m.people(45, [("US", 9), ("CA", 1)]):
        s.rows.append(
            [
                f"l:{m.rng.randrange(10**15, 10**16)}",
                stamp(p.created, "%Y-%m-%dT%H:%M:%S-08:00"),
                f"ag:{m.rng.randrange(10**16)}",
                m.rng.choice(("Spring promo - video", "Spring promo - carousel")),
                f"as:{m.rng.randrange(10**16)}",
                "Lookalike 1%",
                f"c:{m.rng.randrange(10**16)}",
                "Q2 leads",
                f"f:{m.rng.randrange(10**15)}",
                "Free quote form",
                m.rng.choice(("false", "false", "true")),
                m.rng.choice(("fb", "ig")),
                m.rng.choice(("under_$1,000", "$1,000_-_$5,000", "over_$5,000")),
                p.full_name,
                p.personal_email,
                phone_cell(m, p.mobile, ("fb",), "US"),
                p.city,
                m.rng.choice(("", "", "CREATED", "CONTACTED")),
            ]
        )
    return s


def meta_leads_center(m: Maker) -> Sample:
    s = Sample(
        "meta_leads_center.csv",
        "Meta Leads Center (Meta Business Suite lead download)",
        "generic",
        "AU",
        ["Created", "Name", "Email", "Phone", "Stage", "Source", "Owner"],
    )
    for p in m.people(24, [("AU", 1)]):
        s.rows.append(
            [
                stamp(p.created, "%d/%m/%Y %H:%M"),
                p.full_name,
                m.maybe_blank(p.personal_email, 0.15),
                phone_cell(m, p.mobile, ("intl", "national", "plain"), "AU"),
                m.rng.choice(("Intake", "Contacted", "Qualified", "Converted", "Lost")),
                m.rng.choice(("Facebook", "Instagram")),
                m.rng.choice(("Mehdi", "Jordan", "")),
            ]
        )
    return s


def linkedin_connections(m: Maker) -> Sample:
    s = Sample(
        "linkedin_connections.csv",
        "LinkedIn (Connections.csv from 'Get a copy of your data')",
        "linkedin",
        "US",
        ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"],
        header_row=4,
        preamble=[
            "Notes:",
            '"Email addresses are missing for connections who do not allow them to be exported;'
            ' see your privacy settings."',
            "",
        ],
    )
    for p in m.people(50, [("US", 5), ("GB", 2), ("IN", 1), ("DE", 1)]):
        s.rows.append(
            [
                p.first,
                p.last,
                f"https://www.linkedin.com/in/{ascii_slug(p.first)}{ascii_slug(p.last)}-{m.rng.randrange(10**6):x}",
                p.personal_email if m.chance(0.3) else "",
                p.company,
                p.title,
                stamp(p.created, "%d %b %Y"),
            ]
        )
    return s


def suitecrm_leads(m: Maker) -> Sample:
    s = Sample(
        "suitecrm_leads.csv",
        "SuiteCRM (Leads list view, Bulk Action > Export)",
        "suitecrm",
        "GB",
        [
            "ID", "Name", "Date Created", "Assigned User Name", "Salutation", "First Name",
            "Last Name", "Title", "Department", "Do Not Call", "Home Phone", "Mobile Phone",
            "Office Phone", "Other Phone", "Fax", "Email Address", "Primary Address Street",
            "Primary Address City", "Primary Address State", "Primary Address Postal Code",
            "Primary Address Country", "Status", "Lead Source", "Account Name", "Website",
            "Description",
        ],
    )  # fmt: skip
    regions = [("GB", 5), ("DE", 1), ("SK", 1), ("ES", 1), ("IE", 1)]
    for p in m.people(32, regions):
        styles = (
            ("national", "intl", "intl_00") if p.region == "GB" else ("intl", "intl_00", "e164")
        )
        s.rows.append(
            [
                f"{m.rng.randrange(16**8):08x}-{m.rng.randrange(16**4):04x}-{m.rng.randrange(16**4):04x}-"
                f"{m.rng.randrange(16**4):04x}-{m.rng.randrange(16**12):012x}",
                p.full_name,
                stamp(p.created, "%d/%m/%Y %H:%M"),
                "admin",
                m.rng.choice(("Mr.", "Ms.", "Dr.", "")),
                p.first,
                p.last,
                p.title,
                "",
                m.rng.choice(("0", "0", "1")),
                "",
                m.maybe_null(phone_cell(m, p.mobile, styles, p.region), 0.1),
                phone_cell(m, p.work, styles, p.region),
                "",
                "",
                p.email,
                m.street(p.region),
                p.city,
                "",
                p.postcode,
                COUNTRY_NAMES[p.region],
                m.rng.choice(("New", "Assigned", "In Process", "Dead")),
                m.rng.choice(("Cold Call", "Web Site", "Conference", "")),
                p.company,
                f"https://{p.domain}",
                "",
            ]
        )
    return s


def quickbooks_leads(m: Maker) -> Sample:
    s = Sample(
        "quickbooks_leads.xlsx",
        "QuickBooks (lead list kept in Excel, QuickBooks contact columns)",
        "generic",
        "US",
        [
            "Full Name", "Company", "Email", "Phone", "Mobile", "Fax", "Website", "Street", "City",
            "State", "ZIP code", "Country", "Notes",
        ],
        sheet="Leads",
    )  # fmt: skip
    for p in m.people(26, [("US", 1)]):
        s.rows.append(
            [
                p.full_name,
                p.company,
                m.maybe_blank(p.email, 0.1),
                phone_cell(m, p.work, ("national", "dashes"), "US"),
                m.maybe_blank(phone_cell(m, p.mobile, ("national", "dots"), "US"), 0.5),
                "",
                f"www.{p.domain}",
                m.street("US"),
                p.city,
                p.state,
                p.postcode,
                m.rng.choice(("USA", "United States", "US", "")),
                m.maybe_blank("Asked for a quote in March", 0.7),
            ]
        )
    return s


def outlook_contacts(m: Maker) -> Sample:
    header = [
        "First Name", "Middle Name", "Last Name", "Title", "Suffix", "Nickname", "Given Yomi",
        "Surname Yomi", "E-mail Address", "E-mail 2 Address", "E-mail 3 Address", "Home Phone",
        "Home Phone 2", "Business Phone", "Business Phone 2", "Mobile Phone", "Car Phone",
        "Other Phone", "Primary Phone", "Pager", "Business Fax", "Home Fax", "Other Fax",
        "Company Main Phone", "Callback", "Radio Phone", "Telex", "TTY/TDD Phone", "IMAddress",
        "Job Title", "Department", "Company", "Office Location", "Manager's Name",
        "Assistant's Name", "Assistant's Phone", "Company Yomi", "Business Street",
        "Business City", "Business State", "Business Postal Code", "Business Country/Region",
        "Home Street", "Home City", "Home State", "Home Postal Code", "Home Country/Region",
        "Other Street", "Other City", "Other State", "Other Postal Code", "Other Country/Region",
        "Personal Web Page", "Spouse", "Schools", "Hobby", "Location", "Web Page", "Birthday",
        "Anniversary", "Notes",
    ]  # fmt: skip
    s = Sample(
        "outlook_contacts.csv", "Outlook (contacts exported to CSV)", "outlook", "GB", header,
        crlf=True,
    )  # fmt: skip
    at = {h: i for i, h in enumerate(header)}
    for p in m.people(30, [("GB", 6), ("FR", 1), ("NL", 1), ("IE", 1)]):
        styles = ("national", "intl") if p.region == "GB" else ("intl", "intl_00")
        row = [""] * len(header)
        row[at["First Name"]], row[at["Last Name"]] = p.first, p.last
        row[at["E-mail Address"]] = p.email
        row[at["E-mail 2 Address"]] = m.maybe_blank(p.personal_email, 0.6)
        row[at["Business Phone"]] = phone_cell(m, p.work, styles, p.region)
        row[at["Mobile Phone"]] = m.maybe_blank(phone_cell(m, p.mobile, styles, p.region), 0.4)
        row[at["Job Title"]], row[at["Company"]] = p.title, p.company
        row[at["Business City"]], row[at["Business Postal Code"]] = p.city, p.postcode
        row[at["Business Country/Region"]] = COUNTRY_NAMES[p.region]
        row[at["Web Page"]] = m.maybe_blank(f"https://www.{p.domain}/", 0.5)
        if m.chance(0.4):  # Outlook leaves trailing empty fields off some rows
            while row and row[-1] == "":
                row.pop()
        s.rows.append(row)
    return s


def erpnext_leads(m: Maker) -> Sample:
    s = Sample(
        "erpnext_leads.csv",
        "ERPNext (Lead list, Report view > Export)",
        "erpnext",
        "IN",
        [
            "ID", "First Name", "Last Name", "Full Name", "Job Title", "Organization Name",
            "Email", "Mobile No", "Phone", "WhatsApp", "Website", "City", "State", "Country",
            "Status", "Source", "Lead Owner", "Territory", "Qualification Status",
        ],
    )  # fmt: skip
    statuses = ("Lead", "Open", "Replied", "Opportunity", "Interested", "Converted",
                "Do Not Contact")  # fmt: skip
    for i, p in enumerate(m.people(36, [("IN", 6), ("AE", 1)])):
        styles = ("intl", "national", "plain") if p.region == "IN" else ("intl", "e164")
        mobile = phone_cell(m, p.mobile, styles, p.region)
        s.rows.append(
            [
                f"CRM-LEAD-2026-{i + 1:05d}",
                p.first,
                p.last,
                p.full_name,
                p.title,
                p.company,
                m.maybe_null(p.email, 0.05),
                mobile,
                m.maybe_blank(phone_cell(m, p.work, styles, p.region), 0.6),
                mobile if m.chance(0.5) else "",
                f"https://{p.domain}",
                p.city,
                p.state,
                COUNTRY_NAMES[p.region],
                m.rng.choice(statuses),
                m.rng.choice(("Advertisement", "Cold Calling", "Website", "Reference")),
                "sales@example.com",
                m.rng.choice(("India", "Rest Of The World", "All Territories")),
                m.rng.choice(("Unqualified", "In Process", "Qualified")),
            ]
        )
    return s


def datablist_leads(m: Maker) -> Sample:
    s = Sample(
        "datablist_leads.csv",
        "Datablist (sample leads CSV)",
        "generic",
        "US",
        [
            "Index", "Account Id", "Lead Owner", "First Name", "Last Name", "Company", "Phone 1",
            "Phone 2", "Email 1", "Email 2", "Website", "Source", "Deal Stage", "Notes",
        ],
    )  # fmt: skip
    for i, p in enumerate(m.people(40, [("US", 1)])):
        s.rows.append(
            [
                str(i + 1),
                f"{m.rng.randrange(16**15):015X}",
                m.faker("US").name(),
                p.first,
                p.last,
                p.company,
                phone_cell(m, p.work, ("ext", "dashed_intl", "national", "dots"), "US"),
                m.maybe_blank(phone_cell(m, p.mobile, ("dashed_intl", "national"), "US"), 0.3),
                p.email,
                m.maybe_blank(p.personal_email, 0.3),
                f"https://{p.domain}/",
                m.rng.choice(("Website", "Referral", "Cold Call", "Trade Show")),
                m.rng.choice(("Prospecting", "Qualification", "Proposal", "Closed Won")),
                m.maybe_blank("Follow up next quarter", 0.6),
            ]
        )
    return s


def french_webform(m: Maker) -> Sample:
    s = Sample(
        "formulaire_contact.csv",
        "French web-form export (contact form plug-in, Excel-ready CSV)",
        "generic",
        "FR",
        [
            "Date de soumission", "Prénom", "Nom", "Courriel", "Téléphone", "Société", "Pays",
            "Code postal", "Ville", "Message", "Consentement RGPD",
        ],
        delimiter=";",
        bom=True,
        crlf=True,
    )  # fmt: skip
    fixed_cc = phonenumbers.parse("+33 5 62 15 66 00")
    for i, p in enumerate(m.people(34, [("FR", 7), ("BE", 1), ("CH", 1), ("CA", 1)])):
        styles = ("national", "intl", "intl_00", "cc_no_plus", "plain")
        phone = phone_cell(m, p.mobile if m.chance(0.7) else p.work, styles, p.region)
        if i == 5:  # the country code typed without its +
            phone = spell(fixed_cc, "cc_no_plus", "FR", m.rng)
        s.rows.append(
            [
                stamp(p.created, "%d/%m/%Y %H:%M"),
                p.first,
                p.last.upper() if m.chance(0.3) else p.last,
                p.personal_email if i != 14 else typo(p.personal_email, "hotmial.fr"),
                phone,
                m.maybe_null(p.company, 0.2),
                FRENCH_COUNTRY_NAMES[p.region],
                p.postcode,
                p.city,
                m.rng.choice(("Bonjour, je souhaite un devis.", "Merci de me rappeler.", "")),
                "Oui",
            ]
        )
    return s


def scraped_businesses(m: Maker) -> Sample:
    s = Sample(
        "scraped_businesses.csv",
        "Scraped business list (maps / directory scraper output)",
        "generic",
        "GB",
        [
            "Business Name", "Category", "Address", "City", "Postcode", "Country", "Phone",
            "Phone 2", "Email", "Email 2", "Website", "Rating", "Reviews", "Maps URL",
            "Scraped At",
        ],
    )  # fmt: skip
    categories = ("Plumber", "Accountant", "Dentist", "Estate agent", "Cafe")
    for p in m.people(55, [("GB", 1)]):
        s.rows.append(
            [
                p.company,
                m.rng.choice(categories),
                m.street("GB"),
                p.city,
                p.postcode,
                m.rng.choice(("United Kingdom", "UK", "")),
                phone_cell(m, p.work, ("national", "intl", "intl_00"), "GB"),
                m.maybe_null(phone_cell(m, p.mobile, ("national", "intl"), "GB"), 0.6),
                m.maybe_null(f"info@{p.domain}", 0.25),
                m.maybe_blank(p.email, 0.7),
                m.maybe_null(f"https://www.{p.domain}", 0.15),
                f"{m.rng.uniform(3, 5):.1f}",
                str(m.rng.randrange(0, 900)),
                f"https://maps.example.com/place/{m.rng.randrange(16**12):012x}",
                stamp(EPOCH + timedelta(days=60), "%Y-%m-%d"),
            ]
        )
    return s


def pipedrive_people(m: Maker) -> Sample:
    s = Sample(
        "pipedrive_people.csv",
        "Pipedrive (People list export)",
        "pipedrive",
        "DE",
        [
            "Person - ID", "Person - Name", "Person - First name", "Person - Last name",
            "Person - Label", "Person - Organization", "Person - Email - Work",
            "Person - Email - Home", "Person - Phone - Work", "Person - Phone - Mobile",
            "Person - Phone - Home", "Person - Owner", "Person - Person created",
            "Organization - Name", "Organization - Address",
        ],
    )  # fmt: skip
    for i, p in enumerate(m.people(27, [("DE", 5), ("CH", 1), ("NL", 1)])):
        # No country column: every phone is read in the home region (DE), where 00 dials out.
        styles = ("intl", "national", "intl_00") if p.region == "DE" else ("intl", "intl_00")
        s.rows.append(
            [
                str(300 + i),
                p.full_name,
                p.first,
                p.last,
                m.rng.choice(("Hot lead", "Warm lead", "")),
                p.company,
                p.email,
                m.maybe_blank(p.personal_email, 0.6),
                m.maybe_blank(phone_cell(m, p.work, styles, "DE"), 0.2),
                m.maybe_blank(phone_cell(m, p.mobile, styles, "DE"), 0.3),
                "",
                m.faker("DE").name(),
                stamp(p.created, "%Y-%m-%d %H:%M:%S"),
                p.company,
                f"{m.street(p.region)}, {p.postcode} {p.city}",
            ]
        )
    return s


def mailchimp_audience(m: Maker) -> Sample:
    s = Sample(
        "mailchimp_audience.csv",
        "Mailchimp (audience export, subscribed members)",
        "mailchimp",
        "US",
        [
            "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
            "Company", "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP",
            "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION",
            "LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS",
        ],
        trailing_blank_line=True,
    )  # fmt: skip
    zones = {"US": ("America/New_York", "-5", "-4"), "GB": ("Europe/London", "0", "1"),
             "CA": ("America/Toronto", "-5", "-4")}  # fmt: skip
    for p in m.people(46, [("US", 7), ("GB", 2), ("CA", 1)]):
        zone, gmt, dst = zones[p.region]
        s.rows.append(
            [
                p.personal_email,
                p.first,
                p.last,
                m.maybe_blank(mailchimp_address(m, p), 0.6),
                m.maybe_blank(phone_cell(m, p.mobile, ("national", "intl", "e164"), p.region), 0.5),
                m.rng.choice(("", "04/17", "11/02")),
                m.maybe_blank(p.company, 0.5),
                str(m.rng.randrange(1, 6)),
                stamp(p.created, "%Y-%m-%d %H:%M:%S"),
                f"203.0.113.{m.rng.randrange(255)}",
                stamp(p.created + timedelta(minutes=4), "%Y-%m-%d %H:%M:%S"),
                f"203.0.113.{m.rng.randrange(255)}",
                f"{m.rng.uniform(25, 55):.7f}",
                f"{m.rng.uniform(-120, -1):.7f}",
                gmt,
                dst,
                zone,
                p.region,
                p.state,
                stamp(p.created + timedelta(days=20), "%Y-%m-%d %H:%M:%S"),
                str(m.rng.randrange(10**8, 10**9)),
                f"{m.rng.randrange(16**10):010x}",
                "",
                m.rng.choice(("", '"Webinar"', '"Webinar","Customer"')),
            ]
        )
    return s


def mailchimp_address(m: Maker, p: Person) -> str:
    """Mailchimp's address field, exported as one cell of double-space-separated parts."""
    street = m.street(p.region)
    return "  ".join((street, p.city, p.state, p.postcode, p.region))


def close_leads(m: Maker) -> Sample:
    s = Sample(
        "close_leads.csv",
        "Close (leads export, CSV, one row per lead)",
        "close",
        "US",
        [
            "id", "display_name", "status_label", "url", "description", "date_created",
            "primary_contact_name", "primary_contact_title", "primary_contact_primary_phone",
            "primary_contact_primary_phone_type", "primary_contact_other_phones",
            "primary_contact_primary_email", "primary_contact_primary_email_type",
            "primary_contact_other_emails", "address_1_city", "address_1_state",
            "address_1_country", "custom.Lead Source",
        ],
    )  # fmt: skip
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for p in m.people(22, [("US", 6), ("CA", 1), ("GB", 1)]):
        other = m.maybe_blank(phone_cell(m, p.mobile, ("intl", "e164"), p.region), 0.6)
        s.rows.append(
            [
                "lead_" + "".join(m.rng.choice(alphabet) for _ in range(43)),
                p.company,
                m.rng.choice(("Potential", "Bad Fit", "Qualified", "Customer")),
                f"https://{p.domain}",
                "",
                stamp(p.created, "%Y-%m-%dT%H:%M:%S.%f+00:00"),
                p.full_name,
                p.title,
                phone_cell(m, p.work, ("e164", "intl"), p.region),
                "office",
                other,
                p.email,
                "office",
                m.maybe_blank(p.personal_email, 0.7),
                p.city,
                p.state,
                p.region,
                m.rng.choice(("Inbound", "Outbound", "")),
            ]
        )
    return s


def copper_people(m: Maker) -> Sample:
    s = Sample(
        "copper_people.csv",
        "Copper (People export)",
        "copper",
        "US",
        [
            "Name", "First Name", "Last Name", "Title", "Company", "Contact Type", "Owner", "Tags",
            "Work Email", "Personal Email", "Work Phone", "Mobile Phone", "Home Phone", "Street",
            "City", "State", "Postal Code", "Country", "Work Website", "LinkedIn", "Details",
            "Date Added", "Last Contacted", "Interaction Count",
        ],
    )  # fmt: skip
    for p in m.people(29, [("US", 6), ("CA", 2), ("AU", 1)]):
        s.rows.append(
            [
                p.full_name,
                p.first,
                p.last,
                p.title,
                p.company,
                m.rng.choice(("Potential Customer", "Current Customer", "Other")),
                m.faker("US").name(),
                m.rng.choice(("", "vip", "vip, newsletter")),
                m.maybe_null(p.email, 0.1),
                m.maybe_blank(p.personal_email, 0.5),
                m.maybe_blank(phone_cell(m, p.work, ("national", "intl"), p.region), 0.3),
                m.maybe_blank(phone_cell(m, p.mobile, ("national", "e164"), p.region), 0.3),
                "",
                m.street(p.region),
                p.city,
                p.state,
                p.postcode,
                COUNTRY_NAMES[p.region] if m.chance(0.6) else p.region,
                f"https://{p.domain}",
                "",
                "",
                stamp(p.created, "%m/%d/%Y"),
                m.maybe_blank(stamp(p.created, "%m/%d/%Y"), 0.5),
                str(m.rng.randrange(0, 40)),
            ]
        )
    return s


LAYOUTS: tuple[Callable[[Maker], Sample], ...] = (
    hubspot_contacts,
    hubspot_contacts_company,
    salesforce_api,
    salesforce_dataloader,
    salesforce_report,
    zoho_leads,
    apollo,
    google_contacts,
    facebook_lead_ads,
    meta_leads_center,
    linkedin_connections,
    suitecrm_leads,
    quickbooks_leads,
    outlook_contacts,
    erpnext_leads,
    datablist_leads,
    french_webform,
    scraped_businesses,
    pipedrive_people,
    mailchimp_audience,
    close_leads,
    copper_people,
)


def write_csv(sample: Sample, path: Path) -> None:
    """The sample as its system writes it: delimiter, quoting, line ends, BOM, preamble."""
    newline = "\r\n" if sample.crlf else "\n"
    out = io.StringIO()
    for line in sample.preamble:
        out.write(line + newline)
    writer = csv.writer(
        out,
        delimiter=sample.delimiter,
        lineterminator=newline,
        quoting=csv.QUOTE_ALL if sample.quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(sample.header)
    writer.writerows(sample.rows)
    if sample.trailing_blank_line:
        out.write(newline)
    encoding = "utf-8-sig" if sample.bom else "utf-8"
    path.write_bytes(out.getvalue().encode(encoding))


def write_xlsx(sample: Sample, path: Path) -> None:
    """A workbook whose first sheet is notes and whose second holds the list."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": EPOCH, "author": "Sales team"})
    notes = book.add_worksheet("Notes")
    notes.write(0, 0, "Lead list exported from QuickBooks, cleaned up by hand.")
    notes.write(1, 0, "The list is on the next sheet. Do not sort column A.")
    sheet = book.add_worksheet(sample.sheet or "Sheet2")
    sheet.write_row(0, 0, sample.header)
    for r, row in enumerate(sample.rows, start=1):
        sheet.write_row(r, 0, row)
    book.close()


def manifest(samples: Sequence[Sample]) -> str:
    lines = [
        "# Written by make_samples.py: one [[layout]] per sample file. `preset` is the preset",
        "# detection must choose, `rows` the number of records, `region` the file's home region",
        "# (the --default-region an analyst would give), `sheet` the worksheet holding the list,",
        "# `header_row` the 1-based line of the header when lines come before it.",
    ]
    for sample in samples:
        lines += ["", "[[layout]]", f'file = "{sample.file}"', f'system = "{sample.system}"']
        lines += [f'preset = "{sample.preset}"', f"rows = {len(sample.rows)}"]
        lines += [f'region = "{sample.region}"']
        if sample.sheet:
            lines.append(f'sheet = "{sample.sheet}"')
        if sample.header_row:
            lines.append(f"header_row = {sample.header_row}")
    return "\n".join(lines) + "\n"


def main(out: Path = HERE) -> list[Sample]:
    """Write every sample and the manifest into `out`; return what was written."""
    maker = Maker(SEED)
    samples = [layout(maker) for layout in LAYOUTS]
    out.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        if not 20 <= len(sample.rows) <= 60:
            raise AssertionError(f"{sample.file}: {len(sample.rows)} rows")
        if sample.file.endswith(".xlsx"):
            write_xlsx(sample, out / sample.file)
        else:
            write_csv(sample, out / sample.file)
    (out / "layouts.toml").write_text(manifest(samples), encoding="utf-8")
    return samples


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
