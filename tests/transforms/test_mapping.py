"""Mapping: presets, detection, header matching, user files, value maps, custom and checklist."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from schemas.fields import CANONICAL_FIELDS
from schemas.presets import MappingSpecError, available_presets, load_preset
from transforms.exceptions import MappingError
from transforms.mapping import apply_mapping, detect_preset, resolve_mapping

HUBSPOT = (
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


@pytest.mark.parametrize(
    ("headers", "preset"),
    [
        (HUBSPOT, "hubspot"),
        (
            (
                "Id",
                "FirstName",
                "LastName",
                "Email",
                "Phone",
                "MobilePhone",
                "Company",
                "Website",
                "Country",
                "Status",
                "LeadSource",
            ),
            "salesforce",
        ),
        (
            (
                "Lead ID",
                "First Name",
                "Last Name",
                "Email",
                "Mobile",
                "Company / Account",
                "Lead Status",
                "Lead Source",
            ),
            "salesforce",
        ),
        (
            (
                "Person - Name",
                "Person - Email - Work",
                "Person - Phone - Work",
                "Organization - Name",
                "Lead - Value",
                "Lead - Labels",
            ),
            "pipedrive",
        ),
        (
            (
                "Record Id",
                "First Name",
                "Last Name",
                "Email",
                "Phone",
                "Mobile",
                "Company",
                "Lead Status",
                "Lead Source",
                "Email Opt Out",
                "Tag",
                "Designation",
            ),
            "zoho",
        ),
        (
            (
                "id",
                "firstName",
                "lastName",
                "email",
                "phoneNumber",
                "externalLeadId",
                "businessName",
                "didOptOut",
                "assigneeType",
            ),
            "omni",
        ),
        (
            (
                "id",
                "firstName",
                "lastName",
                "phone",
                "email",
                "customerProfile",
                "timeZone",
                "externalLeadId",
                "followUpStep",
            ),
            "apten",
        ),
        (
            (
                "id",
                "name",
                "email",
                "phone",
                "status",
                "value",
                "note",
                "lossReason",
                "source",
                "createdAt",
            ),
            "octanist",
        ),
        (("e-mail", "Tel", "Given Name", "Surname"), "generic"),
    ],
)
def test_detects_the_preset_that_fits(headers: tuple[str, ...], preset: str) -> None:
    assert detect_preset(headers)[0] == preset


def test_a_detected_mapping_names_the_headers_that_decided_and_its_coverage() -> None:
    detected = resolve_mapping(HUBSPOT)
    assert (detected.preset, detected.detected) == ("hubspot", True)
    assert detected.decided_by == (
        "Record ID",
        "Mobile Phone Number",
        "Website URL",
        "Country/Region",
        "State/Region",
        "Lifecycle Stage",
    )
    assert detected.coverage == 1.0  # every column has a target
    chosen = resolve_mapping(HUBSPOT + ("Shoe Size",), preset="hubspot")
    assert (chosen.detected, chosen.decided_by, chosen.coverage) == (False, (), 0.938)
    fallback = resolve_mapping(("E-mail", "Tel", "Shoe Size"))
    assert (fallback.preset, fallback.decided_by, fallback.coverage) == ("generic", (), 0.667)


def test_every_preset_loads_and_names_only_canonical_targets() -> None:
    assert {
        "hubspot",
        "salesforce",
        "pipedrive",
        "zoho",
        "omni",
        "apten",
        "octanist",
        "generic",
    } <= set(available_presets())
    for name in available_presets():
        spec = load_preset(name)
        assert spec.fields, name


def test_header_matching_ignores_case_spaces_and_punctuation() -> None:
    m = resolve_mapping((" EMAIL-ADDRESS ", "phone_number", "first.name"), preset="generic")
    assert m.sources["email"] == (" EMAIL-ADDRESS ",)
    assert m.sources["phone"] == ("phone_number",)
    assert m.sources["first_name"] == ("first.name",)


def _map(headers: dict[str, list[str | None]], **kw: object) -> pl.DataFrame:
    frame = pl.DataFrame(headers).with_columns(
        pl.lit("f.csv").alias("source_file"),
        (pl.int_range(pl.len()) + 2).alias("source_row"),
        pl.lit(None, pl.String).alias("_read_error"),
    )
    mapping = resolve_mapping(tuple(headers), **kw)  # type: ignore[arg-type]
    return apply_mapping(frame.lazy(), mapping).collect()


def test_apply_builds_every_canonical_column_with_coalesce_values_and_custom() -> None:
    out = _map(
        {
            "Record ID": ["1", "2"],
            "Phone Number": ["  ", "+1 212 555 0100"],
            "Mobile Phone Number": ["+44 20 7946 0958", "+1 646 555 0100"],
            "Lead Status": ["Open Deal", "weird"],
            "City": ["Oslo", None],
            "Shoe Size": ["42", ""],
        },
        preset="hubspot",
    )
    assert out.columns == [
        "source_file",
        "source_row",
        *CANONICAL_FIELDS,
        "_phone_candidates",
        "_read_error",
    ]
    assert out["phone"].to_list() == ["+44 20 7946 0958", "+1 212 555 0100"]
    assert out["_phone_candidates"].to_list() == [
        ["+44 20 7946 0958"],
        ["+1 212 555 0100", "+1 646 555 0100"],
    ]
    assert out["status"].to_list() == ["qualified", "weird"]
    assert out["custom"].to_list() == [
        [{"key": "city", "value": "Oslo"}, {"key": "Shoe Size", "value": "42"}],
        [],
    ]


def test_full_name_splits_when_first_and_last_are_blank() -> None:
    out = _map({"name": ["Ann Marie Smith", "Cher", None]}, preset="octanist")
    assert out.select("first_name", "last_name").rows() == [
        ("Ann Marie", "Smith"),
        ("Cher", None),
        (None, None),
    ]


def test_user_mapping_file_overrides_preset_adds_constants_checklist_and_drops(
    tmp_path: Path,
) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'extends = "hubspot"\ndrop = ["Create Date"]\n'
        '[fields]\nemail = "Work E-mail"\n"checklist.tax_id" = "Tax ID"\n'
        '[values.status]\n"Hot" = "qualified"\n[constants]\ncountry = "US"\n'
    )
    out = _map(
        {
            "Email": ["x@y.io"],
            "Work E-mail": ["w@y.io"],
            "Tax ID": ["12-345"],
            "Lead Status": ["hot"],
            "Create Date": ["2026-01-01"],
        },
        mapping_file=mapping,
    )
    row = out.row(0, named=True)
    assert row["email"] == "w@y.io"
    assert row["country"] == "US"
    assert row["status"] == "qualified"
    assert row["checklist"] == [{"code": "tax_id", "value": "12-345", "status": None}]
    assert row["custom"] == [{"key": "Email", "value": "x@y.io"}]


def test_mapping_file_naming_an_absent_column_is_a_clear_error(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[fields]\nemail = "E-Mail Addr"\n')
    with pytest.raises(
        MappingError, match="maps email to 'E-Mail Addr', which the file does not have"
    ) as info:
        resolve_mapping(("Email",), mapping_file=mapping)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fields]\nshoe = 'Shoe'\n", "'shoe' is not a canonical field"),
        ("[fields]\nemail = 3\n", "must name a column"),
        ("[fields\n", "not valid TOML"),
        ("[colums]\n", "unknown section"),
    ],
)
def test_malformed_mapping_files(tmp_path: Path, text: str, message: str) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(text)
    with pytest.raises(MappingSpecError, match=message):
        resolve_mapping(("Email",), mapping_file=mapping)


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(MappingSpecError, match="unknown preset 'hubspt'.*hubspot"):
        resolve_mapping(("Email",), preset="hubspt")


def test_null_words_are_blanks_in_fields_custom_and_candidates() -> None:
    headers = ["Email", "Phone", "Mobile", "City", "Lead Status"]
    frame = pl.DataFrame(
        {
            "Email": ["null", " a@x.io ::: b@y.io "],
            "Phone": ["N/A", "-"],
            "Mobile": ["+1 212 555 0100", "none"],
            "City": ["NULL", "Oslo"],
            "Lead Status": ["-", "Open"],
        }
    ).with_columns(
        pl.lit("f.csv").alias("source_file"),
        (pl.int_range(pl.len()) + 2).alias("source_row"),
        pl.lit(None, pl.String).alias("_read_error"),
        pl.lit(None, pl.String).alias("_warn_row"),
    )
    mapping = resolve_mapping(tuple(headers), preset="generic")
    out = apply_mapping(frame.lazy(), mapping, null_tokens=("null", "n/a", "-", "none")).collect()
    assert out["email"].to_list() == [None, "a@x.io"]
    assert out["_email_candidates"].to_list() == [[], ["a@x.io", "b@y.io"]]
    assert out["phone"].to_list() == ["+1 212 555 0100", None]
    assert out["_phone_candidates"].to_list() == [["+1 212 555 0100"], []]
    assert out["status"].to_list() == [None, "Open"]
    assert out["custom"].to_list() == [[], [{"key": "City", "value": "Oslo"}]]
    assert "_warn_row" in out.columns  # the reader's notes travel on
    # Without null words, a `null` is a value like any other.
    plain = apply_mapping(frame.lazy(), mapping).collect()
    assert plain["email"].to_list() == ["null", "a@x.io"]
