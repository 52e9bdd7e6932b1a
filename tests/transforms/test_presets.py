"""Presets against real export layouts: detection with a margin, and where each column lands.

The samples in tests/data/exports/ (written by make_samples.py, listed in layouts.toml) follow
each system's documented export columns. Their headers and cells are read here with the `csv`
module and fastexcel, not with `transforms.read`: some samples carry what the shared reader
does not handle yet (LinkedIn's `Notes:` lines above the header, HubSpot's repeated `Create
Date`).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import sys
import tomllib
from pathlib import Path
from typing import Any

import fastexcel
import phonenumbers
import pytest

from schemas.fields import CANONICAL_FIELDS, MAPPING_ONLY_FIELDS
from schemas.presets import (
    MappingSpecError,
    available_presets,
    distinctive_key,
    load_mapping_file,
    load_preset,
)
from transforms.mapping import detect_preset, resolve_mapping

EXPORTS = Path(__file__).resolve().parents[1] / "data" / "exports"
LAYOUTS: list[dict[str, Any]] = tomllib.loads((EXPORTS / "layouts.toml").read_text())["layout"]
BY_FILE = {layout["file"]: layout for layout in LAYOUTS}
NULL_WORDS = {"null", "n/a", "-", "none"}


def _header_and_rows(layout: dict[str, Any]) -> tuple[tuple[str, ...], list[list[str]]]:
    """The sample's header and records (blank lines skipped), every cell as text."""
    path = EXPORTS / layout["file"]
    if path.suffix == ".xlsx":
        sheet = fastexcel.read_excel(path).load_sheet_by_name(layout["sheet"], dtypes="string")
        frame = sheet.to_polars()
        return tuple(frame.columns), [[c or "" for c in row] for row in frame.rows()]
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    lines = lines[layout.get("header_row", 1) - 1 :]
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    header, *rows = csv.reader(lines, delimiter=delimiter)
    return tuple(header), [row for row in rows if any(cell.strip() for cell in row)]


def _headers(file: str) -> tuple[str, ...]:
    return _header_and_rows(BY_FILE[file])[0]


def test_the_manifest_lists_every_sample_with_its_record_count() -> None:
    samples = {p.name for p in EXPORTS.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert samples == set(BY_FILE)
    assert len(LAYOUTS) >= 18
    for layout in LAYOUTS:
        _, rows = _header_and_rows(layout)
        assert len(rows) == layout["rows"], layout["file"]
        assert 20 <= layout["rows"] <= 60, layout["file"]
        assert layout["region"] in phonenumbers.SUPPORTED_REGIONS, layout["file"]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout["file"])
def test_each_sample_detects_its_preset_by_its_own_headers(layout: dict[str, Any]) -> None:
    headers = _headers(layout["file"])
    preset, decided_by = detect_preset(headers)
    assert preset == layout["preset"]
    if preset == "generic":
        assert decided_by == ()
    else:
        assert len(decided_by) >= 2 and set(decided_by) <= set(headers)
        assert set(decided_by) <= {h for h in headers if load_preset(preset).distinctive_in((h,))}
    assert resolve_mapping(headers).decided_by == decided_by


@pytest.mark.parametrize(
    ("file", "deciding"),
    [
        ("google_contacts.csv", {"E-mail 1 - Value", "Phone 1 - Value", "File As"}),
        ("apollo_people.csv", {"Corporate Phone", "Work Direct Phone", "Person Linkedin Url"}),
        ("hubspot_contacts.csv", {"Record ID", "Lifecycle Stage", "Contact owner"}),
        ("hubspot_contacts_company.csv", {"Record ID - Contact", "Record ID - Company"}),
        ("salesforce_leads_api.csv", {"FirstName", "LeadSource", "HasOptedOutOfEmail"}),
        ("salesforce_dataloader.csv", {"FIRSTNAME", "LEADSOURCE", "ISDELETED"}),
        ("salesforce_report.csv", {"Lead ID", "Company / Account", "Zip/Postal Code"}),
        ("zoho_leads.csv", {"Record Id", "Designation", "Created Time"}),
        ("facebook_lead_ads.csv", {"ad_id", "form_name", "is_organic", "phone_number"}),
        ("linkedin_connections.csv", {"Connected On", "Position"}),
        ("outlook_contacts.csv", {"Business Phone", "E-mail 2 Address", "Car Phone"}),
        ("mailchimp_audience.csv", {"MEMBER_RATING", "LEID", "EUID"}),
        ("erpnext_leads.csv", {"Mobile No", "Territory", "WhatsApp"}),
        ("suitecrm_leads.csv", {"Office Phone", "Primary Address Country"}),
        ("close_leads.csv", {"primary_contact_primary_email", "status_label"}),
        ("copper_people.csv", {"Contact Type", "Work Email"}),
        ("pipedrive_people.csv", {"Person - Email - Work", "Person - Phone - Mobile"}),
    ],
)
def test_the_headers_that_decided_are_named(file: str, deciding: set[str]) -> None:
    assert deciding <= set(detect_preset(_headers(file))[1])


@pytest.mark.parametrize(
    "headers",
    [
        # A spreadsheet of common column names, as any system without a preset writes them.
        ("First Name", "Last Name", "Email", "Phone", "Company", "Status", "Lead Source"),
        ("Shoe size", "Favourite colour", "Tel", "e-mail"),
        ("Name", "Email", "Phone", "Lead Owner"),  # `Lead Owner`: Zoho, Salesforce, ERPNext
        ("Corporate Phone", "Email"),  # one distinctive header is not enough
        ("Record ID", "Lifecycle Stage", "Record Id", "Designation"),  # HubSpot 2, Zoho 2
        ("FirstName", "LeadSource", "MobilePhone", "Record Id", "Designation"),  # 3 vs 2
        ("firstName", "lastName", "email", "phone"),  # camelCase is not Salesforce's `FirstName`
        (),
    ],
)
def test_files_without_a_clear_lead_fall_to_generic(headers: tuple[str, ...]) -> None:
    assert detect_preset(headers) == ("generic", ())
    mapping = resolve_mapping(headers)
    assert (mapping.preset, mapping.detected, mapping.decided_by) == ("generic", True, ())


def test_a_lead_of_twice_the_runner_up_is_clear() -> None:
    headers = ("FirstName", "LastName", "LeadSource", "MobilePhone", "Record Id", "Designation")
    assert detect_preset(headers) == (
        "salesforce",
        ("FirstName", "LastName", "LeadSource", "MobilePhone"),
    )
    # Extra spaces around a distinctive header do not hide it; a different case does.
    assert detect_preset(("  E-mail 1 - Value ", "Phone 1  - Value"))[0] == "google_contacts"
    assert detect_preset(("e-mail 1 - value", "phone 1 - value"))[0] == "generic"


def test_every_preset_loads_names_canonical_targets_and_headers_of_its_own() -> None:
    expected = {
        "hubspot", "salesforce", "zoho", "pipedrive", "apollo", "google_contacts", "outlook",
        "linkedin", "facebook", "mailchimp", "close", "copper", "suitecrm", "erpnext", "omni",
        "apten", "octanist", "generic",
    }  # fmt: skip
    assert expected <= set(available_presets())
    owner: dict[str, str] = {}
    for name in available_presets():
        spec = load_preset(name)
        assert spec.fields, name
        for target in spec.fields:
            prefix, _, key = target.partition(".")
            assert (
                target in CANONICAL_FIELDS
                or target in MAPPING_ONLY_FIELDS
                or (prefix in ("custom", "checklist") and key)
            ), (name, target)
        assert bool(spec.distinctive) == (name != "generic"), name
        for header in spec.distinctive:
            # Distinctive means one system writes it: no header is two presets' evidence.
            assert owner.setdefault(distinctive_key(header), name) == name, (header, name)


def test_distinctive_is_a_list_of_headers_and_is_never_inherited(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('distinctive = "Record ID"\n')
    with pytest.raises(MappingSpecError, match="`distinctive` must be a list of column names"):
        load_mapping_file(bad)
    user = tmp_path / "user.toml"
    user.write_text('extends = "hubspot"\n[fields]\nemail = "Work E-mail"\n')
    merged = load_mapping_file(user).merged_over(load_preset("hubspot"))
    assert merged.distinctive == ()
    assert merged.fields["email"] == ("Work E-mail",)


# Per sample, where its key columns land (targets in `mapping.sources`, columns in priority).
LANDS: dict[str, dict[str, tuple[str, ...]]] = {
    "hubspot_contacts.csv": {
        "external_id": ("Record ID",),
        "email": ("Email",),
        "phone": ("Phone Number", "Mobile Phone Number"),
        "country": ("Country/Region",),
        "business_name": ("Company Name",),
        "status": ("Lead Status",),
        "custom.lifecycle_stage": ("Lifecycle Stage",),
    },
    "hubspot_contacts_company.csv": {
        "external_id": ("Record ID - Contact",),
        "business_name": ("Company name",),
        "website": ("Company Domain Name",),
        "custom.company_id": ("Record ID - Company",),
        "custom.created_at": ("Create Date",),
    },
    "salesforce_leads_api.csv": {
        "external_id": ("Id",),
        "first_name": ("FirstName",),
        "phone": ("Phone", "MobilePhone"),
        "country": ("Country",),
        "business_name": ("Company",),
        "opted_out": ("HasOptedOutOfEmail",),
        "custom.lead_source": ("LeadSource",),
    },
    "salesforce_dataloader.csv": {
        "external_id": ("ID",),
        "last_name": ("LASTNAME",),
        "full_name": ("NAME",),
        "email": ("EMAIL",),
        "phone": ("PHONE", "MOBILEPHONE"),
        "country": ("COUNTRYCODE", "COUNTRY"),
    },
    "salesforce_report.csv": {
        "external_id": ("Lead ID",),
        "phone": ("Phone", "Mobile"),
        "business_name": ("Company / Account",),
        "status": ("Lead Status",),
        "custom.owner": ("Lead Owner",),
    },
    "zoho_leads.csv": {
        "external_id": ("Record Id",),
        "email": ("Email", "Secondary Email"),
        "phone": ("Phone", "Mobile"),
        "opted_out": ("Email Opt Out",),
        "tags": ("Tag",),
    },
    "apollo_people.csv": {
        "external_id": ("Apollo Contact Id",),
        "email": ("Email", "Secondary Email", "Tertiary Email"),
        "phone": (
            "Mobile Phone",
            "Work Direct Phone",
            "Home Phone",
            "Other Phone",
            "Corporate Phone",
        ),
        "country": ("Country", "Company Country"),
        "custom.company_phone": ("Company Phone",),
        "custom.linkedin_url": ("Person Linkedin Url",),
    },
    "google_contacts.csv": {
        "first_name": ("First Name",),
        "email": ("E-mail 1 - Value", "E-mail 2 - Value"),
        "phone": ("Phone 1 - Value", "Phone 2 - Value"),
        "business_name": ("Organization Name",),
        "country": ("Address 1 - Country",),
    },
    "facebook_lead_ads.csv": {
        "external_id": ("id",),
        "full_name": ("full_name",),
        "email": ("email",),
        "phone": ("phone_number",),
        "custom.form": ("form_name",),
    },
    "meta_leads_center.csv": {
        "full_name": ("Name",),
        "email": ("Email",),
        "phone": ("Phone",),
        "status": ("Stage",),
    },
    "linkedin_connections.csv": {
        "email": ("Email Address",),
        "business_name": ("Company",),
        "custom.linkedin_url": ("URL",),
        "custom.title": ("Position",),
    },
    "suitecrm_leads.csv": {
        "external_id": ("ID",),
        "email": ("Email Address",),
        "phone": ("Mobile Phone", "Office Phone", "Home Phone", "Other Phone"),
        "country": ("Primary Address Country",),
        "business_name": ("Account Name",),
    },
    "quickbooks_leads.xlsx": {
        "full_name": ("Full Name",),
        "email": ("Email",),
        "phone": ("Phone", "Mobile"),
        "business_name": ("Company",),
        "country": ("Country",),
    },
    "outlook_contacts.csv": {
        "email": ("E-mail Address", "E-mail 2 Address", "E-mail 3 Address"),
        "phone": (
            "Mobile Phone",
            "Business Phone",
            "Primary Phone",
            "Business Phone 2",
            "Home Phone",
            "Home Phone 2",
            "Other Phone",
            "Company Main Phone",
        ),  # fmt: skip
        "country": ("Business Country/Region", "Home Country/Region", "Other Country/Region"),
        "business_name": ("Company",),
    },
    "erpnext_leads.csv": {
        "external_id": ("ID",),
        "full_name": ("Full Name",),
        "email": ("Email",),
        "phone": ("Mobile No", "Phone", "WhatsApp"),
        "business_name": ("Organization Name",),
        "status": ("Status",),
    },
    "datablist_leads.csv": {
        "external_id": ("Account Id",),
        "email": ("Email 1", "Email 2"),
        "phone": ("Phone 1", "Phone 2"),
        "business_name": ("Company",),
    },
    "formulaire_contact.csv": {
        "first_name": ("Prénom",),
        "last_name": ("Nom",),
        "email": ("Courriel",),
        "phone": ("Téléphone",),
        "country": ("Pays",),
        "business_name": ("Société",),
        "note": ("Message",),
    },
    "scraped_businesses.csv": {
        "business_name": ("Business Name",),
        "email": ("Email", "Email 2"),
        "phone": ("Phone", "Phone 2"),
        "website": ("Website",),
        "country": ("Country",),
    },
    "pipedrive_people.csv": {
        "external_id": ("Person - ID",),
        "email": ("Person - Email - Work", "Person - Email - Home"),
        "phone": ("Person - Phone - Mobile", "Person - Phone - Work", "Person - Phone - Home"),
        "business_name": ("Organization - Name", "Person - Organization"),
    },
    "mailchimp_audience.csv": {
        "email": ("Email Address",),
        "phone": ("Phone Number",),
        "country": ("CC",),
        "timezone": ("TIMEZONE",),
        "tags": ("TAGS",),
    },
    "close_leads.csv": {
        "external_id": ("id",),
        "full_name": ("primary_contact_name",),
        "email": ("primary_contact_primary_email", "primary_contact_other_emails"),
        "phone": ("primary_contact_primary_phone", "primary_contact_other_phones"),
        "business_name": ("display_name",),
        "country": ("address_1_country",),
    },
    "copper_people.csv": {
        "email": ("Work Email", "Personal Email"),
        "phone": ("Mobile Phone", "Work Phone", "Home Phone"),
        "website": ("Work Website",),
        "country": ("Country",),
    },
}


def test_every_sample_has_its_expected_landing() -> None:
    assert set(LANDS) == set(BY_FILE)


@pytest.mark.parametrize("file", sorted(LANDS))
def test_sample_columns_land_where_expected(file: str) -> None:
    headers = _headers(file)
    mapping = resolve_mapping(headers)
    for target, columns in LANDS[file].items():
        assert mapping.sources.get(target) == columns, target
    claimed = [h for columns in mapping.sources.values() for h in columns]
    assert len(claimed) == len(set(claimed))  # each column feeds one target
    assert not set(claimed) & set(mapping.custom_columns)
    assert set(claimed) | set(mapping.custom_columns) | set(mapping.dropped) == set(headers)
    assert mapping.coverage == round(len(claimed) / len(headers), 3)


def test_generic_knows_numbered_typed_and_french_columns() -> None:
    headers = (
        "Prénom", "Nom", "Email 1", "E-mail 2 - Value", "Other Email", "Phone 1 - Value",
        "Work Phone", "Business Phone", "Home Phone", "Other Phone", "Téléphone", "Pays",
        "Société",
    )  # fmt: skip
    mapping = resolve_mapping(headers, preset="generic")
    assert mapping.sources["email"] == ("Email 1", "E-mail 2 - Value", "Other Email")
    # `Téléphone` is `Telephone` once accents are folded: it comes that early.
    assert mapping.sources["phone"] == (
        "Téléphone", "Work Phone", "Business Phone", "Phone 1 - Value", "Home Phone",
        "Other Phone",
    )  # fmt: skip
    assert mapping.sources["first_name"] == ("Prénom",)
    assert mapping.sources["last_name"] == ("Nom",)
    assert mapping.sources["country"] == ("Pays",)
    assert mapping.sources["business_name"] == ("Société",)
    assert mapping.custom_columns == ()


def _country_codes() -> dict[str, str]:
    make_samples = _load_make_samples()
    names = {**make_samples.COUNTRY_NAMES, **make_samples.FRENCH_COUNTRY_NAMES}
    codes = {name.casefold(): code for code, name in names.items()}
    codes.update({code.casefold(): code for code in names})
    codes.update({"usa": "US", "uk": "GB"})
    return codes


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout["file"])
def test_every_phone_in_the_samples_is_valid_where_its_row_is(layout: dict[str, Any]) -> None:
    """Phones are blank, a null word, or valid for the row's country or the file's region."""
    headers, rows = _header_and_rows(layout)
    mapping = resolve_mapping(headers, preset=layout["preset"])
    codes = _country_codes()
    at = {h: i for i, h in enumerate(headers)}
    checked = 0
    for row in rows:
        cells = dict(zip(headers, row + [""] * (len(headers) - len(row)), strict=True))
        country = next(
            (
                codes[c]
                for h in mapping.sources.get("country", ())
                if (c := cells[h].casefold()) in codes
            ),
            None,
        )
        for header in mapping.sources.get("phone", ()):
            for text in row[at[header]].split(" ::: ") if at[header] < len(row) else ():
                if text.strip().lower() in NULL_WORDS or not text.strip():
                    continue
                regions = [r for r in (country, layout["region"]) if r]
                assert any(_valid(text, r) for r in regions), (layout["file"], text, regions)
                checked += 1
    assert checked >= (0 if layout["preset"] == "linkedin" else layout["rows"] // 4)


def _valid(text: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


@functools.cache
def _load_make_samples() -> Any:
    """tests/data/exports/make_samples.py (a script beside its output, not a package)."""
    spec = importlib.util.spec_from_file_location("make_samples", EXPORTS / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_generator_reproduces_the_committed_samples(tmp_path: Path) -> None:
    pytest.importorskip("faker")
    pytest.importorskip("xlsxwriter")
    _load_make_samples().main(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted([*BY_FILE, "layouts.toml"])
    for name in written:
        assert (tmp_path / name).read_bytes() == (EXPORTS / name).read_bytes(), name
